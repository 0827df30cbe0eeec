CREATE TABLE webhook_endpoints (
    id                          TEXT PRIMARY KEY,
    tenant_id                   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url                         TEXT NOT NULL,
    description                 TEXT NOT NULL DEFAULT '',
    event_types                 TEXT NOT NULL DEFAULT '[]',
    enabled                     BOOLEAN NOT NULL DEFAULT TRUE,
    secret                      TEXT NOT NULL,
    previous_secret             TEXT NOT NULL DEFAULT '',
    previous_secret_expires_at  TIMESTAMP,
    disabled_reason             TEXT NOT NULL DEFAULT '',
    created_at                  TIMESTAMP NOT NULL,
    updated_at                  TIMESTAMP NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id);

CREATE TABLE delivery_attempts (
    id           TEXT PRIMARY KEY,
    delivery_id  TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    status_code  INTEGER NOT NULL DEFAULT 0,
    latency_ms   INTEGER NOT NULL DEFAULT 0,
    response     TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, attempt);

ALTER TABLE deliveries ADD COLUMN endpoint_id TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, id);
