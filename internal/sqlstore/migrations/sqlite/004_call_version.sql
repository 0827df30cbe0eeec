ALTER TABLE calls ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
-- Live-session listings read only ids and versions: keep them in the index.
DROP INDEX calls_tenant_status;
CREATE INDEX calls_tenant_status ON calls (tenant_id, status, id, version);
