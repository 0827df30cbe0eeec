-- One row per campaign contact: how often it was called and what to do next.
CREATE TABLE campaign_contacts (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    campaign_id  TEXT NOT NULL,
    contact      TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    last_status  TEXT NOT NULL DEFAULT '',
    last_call_id TEXT NOT NULL DEFAULT '',
    next_action  TEXT NOT NULL DEFAULT '',
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, campaign_id, contact)
);
-- The calls already counted, so that reconciling a call twice counts it once.
CREATE TABLE campaign_calls (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id     TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    contact     TEXT NOT NULL,
    status      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, call_id)
);
