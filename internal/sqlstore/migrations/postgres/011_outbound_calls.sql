-- What an outbound call carries beyond the call record (seed 002): how it is
-- placed, its limits, where its callbacks go, and the other fields of its
-- schedule request, kept for the dialer.
CREATE TABLE outbound_calls (
    call_id               TEXT PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    tenant_id             TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    duration_minutes      BIGINT NOT NULL DEFAULT 15,
    recording_enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    transcription_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    callback_url          TEXT NOT NULL DEFAULT '',
    time_zone             TEXT NOT NULL DEFAULT '',
    provider              TEXT NOT NULL DEFAULT '{}',
    dialer                TEXT NOT NULL DEFAULT '',
    provider_session_id   TEXT NOT NULL DEFAULT '',
    placed_at             TIMESTAMPTZ,
    attempts              BIGINT NOT NULL DEFAULT 0,
    cost                  DOUBLE PRECISION,
    waiting               TEXT NOT NULL DEFAULT ''
);
CREATE INDEX calls_tenant_user_scheduled ON calls (tenant_id, user_id, scheduled_at, id);

-- The lines a tenant's placed calls hold: one row per call from placing to
-- its end. A row whose call got stuck stops counting when it expires.
CREATE TABLE outbound_lines (
    call_id    TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX outbound_lines_tenant ON outbound_lines (tenant_id, expires_at);

-- The first answer to each Idempotency-Key, per tenant, scope (the
-- Auto-Caller userId) and operation; the key is unique so that requests
-- racing with one key make one change.
CREATE TABLE idempotency_keys (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    scope        TEXT NOT NULL,
    operation    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, scope, operation, key)
);

-- A tenant's callback credentials: the token sent in a header and the
-- Standard Webhooks signing secret, both sealed.
CREATE TABLE callback_secrets (
    tenant_id               TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    token                   TEXT NOT NULL,
    signing_secret          TEXT NOT NULL,
    previous_signing_secret TEXT NOT NULL DEFAULT '',
    previous_expires_at     TIMESTAMPTZ,
    created_at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX outbound_calls_waiting ON outbound_calls (tenant_id, waiting, call_id) WHERE waiting <> '';
CREATE INDEX calls_scheduled_due ON calls (scheduled_at) WHERE status = 'scheduled';
