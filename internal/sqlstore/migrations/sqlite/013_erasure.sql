-- Calls under legal hold: deleting them is refused and retention skips them.
CREATE TABLE legal_holds (
    call_id    TEXT PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    reason     TEXT NOT NULL DEFAULT '',
    set_by     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX legal_holds_tenant ON legal_holds (tenant_id, call_id);

-- The audit log of erasure: who deleted which call, and what each
-- retention run removed. It keeps the call's own id and counts, nothing of
-- the call's content.
CREATE TABLE deletions (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id    TEXT NOT NULL DEFAULT '',
    actor      TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    removed    TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX deletions_tenant ON deletions (tenant_id, id);

-- Retention finds old recordings and deliveries without scanning.
CREATE INDEX recordings_created ON recordings (tenant_id, created_at);
CREATE INDEX deliveries_created ON deliveries (tenant_id, created_at);
CREATE INDEX calls_created ON calls (tenant_id, created_at);
