-- The live feed behind the Server-Sent Events endpoints: a copy of every
-- event, plus the transcript segments and progressive-analysis snapshots
-- of calls in progress, in the order of their time-ordered ids. It is read
-- by every replica, so a subscriber sees what any replica wrote; rows
-- older than the feed's retention are pruned.
CREATE TABLE live_events (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    call_id    TEXT NOT NULL DEFAULT '',
    type       TEXT NOT NULL,
    data       JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX live_events_tenant ON live_events (tenant_id, id);
CREATE INDEX live_events_call ON live_events (call_id, id);
CREATE INDEX live_events_created ON live_events (created_at);
