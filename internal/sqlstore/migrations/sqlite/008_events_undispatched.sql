-- Events waiting for dispatch, found without scanning the rest.
CREATE INDEX events_undispatched ON events (id) WHERE dispatched_at IS NULL;
