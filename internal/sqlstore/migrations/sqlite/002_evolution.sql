-- Evolution snapshots: what live progressive analysis concluded after each
-- window of a call (entities, classification, translation). A window is
-- written once per kind; writing it again replaces it, so a re-run pass is
-- harmless.
CREATE TABLE evolution_snapshots (
    call_id      TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    tenant_id    TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('entity', 'classification', 'translation')),
    window_index INTEGER NOT NULL,
    window_start REAL NOT NULL DEFAULT 0,
    window_end   REAL NOT NULL DEFAULT 0,
    data         TEXT NOT NULL DEFAULT '{}',
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (call_id, kind, window_index)
);
