CREATE TABLE tenants (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    results_secret TEXT NOT NULL DEFAULT '',
    settings       JSONB NOT NULL DEFAULT '{}',
    created_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    prefix       TEXT NOT NULL UNIQUE,
    hash         BYTEA NOT NULL,
    admin        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);

CREATE TABLE calls (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id              TEXT NOT NULL DEFAULT '',
    direction            TEXT NOT NULL,
    from_number          TEXT NOT NULL DEFAULT '',
    to_number            TEXT NOT NULL DEFAULT '',
    contact_name         TEXT NOT NULL DEFAULT '',
    title                TEXT NOT NULL DEFAULT '',
    purpose              TEXT NOT NULL DEFAULT '',
    script               TEXT NOT NULL DEFAULT '',
    campaign_id          TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL,
    scheduled_at         TIMESTAMPTZ,
    started_at           TIMESTAMPTZ,
    answered_at          TIMESTAMPTZ,
    ended_at             TIMESTAMPTZ,
    completed_at         TIMESTAMPTZ,
    duration_seconds     DOUBLE PRECISION NOT NULL DEFAULT 0,
    disconnected_by      TEXT NOT NULL DEFAULT '',
    error_info           TEXT NOT NULL DEFAULT '',
    processing_mode      TEXT NOT NULL DEFAULT 'postcall_only',
    connection_info      JSONB,
    last_activity        TIMESTAMPTZ,
    audio_seconds        DOUBLE PRECISION NOT NULL DEFAULT 0,
    language             TEXT NOT NULL DEFAULT '',
    translation          TEXT NOT NULL DEFAULT '',
    translation_language TEXT NOT NULL DEFAULT '',
    entities             JSONB,
    classification       JSONB,
    summary              JSONB,
    qa                   JSONB,
    insights             JSONB,
    todos                JSONB,
    raw                  JSONB NOT NULL DEFAULT '{}',
    metadata             JSONB NOT NULL DEFAULT '{}',
    processing_status    TEXT NOT NULL DEFAULT '',
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX calls_tenant ON calls (tenant_id, id);
CREATE INDEX calls_tenant_status ON calls (tenant_id, status, id);
CREATE INDEX calls_tenant_user ON calls (tenant_id, user_id, id);

CREATE TABLE call_external_ids (
    tenant_id TEXT NOT NULL,
    value     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    call_id   TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    position  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, value)
);
CREATE INDEX call_external_ids_call ON call_external_ids (call_id);

CREATE TABLE segments (
    call_id    TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    segment_id BIGINT NOT NULL,
    speaker    TEXT NOT NULL DEFAULT '',
    start_time DOUBLE PRECISION NOT NULL,
    end_time   DOUBLE PRECISION NOT NULL,
    text       TEXT NOT NULL,
    confidence DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (call_id, segment_id)
);
CREATE INDEX segments_call_time ON segments (call_id, start_time, segment_id);

CREATE TABLE recordings (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id          TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    format           TEXT NOT NULL DEFAULT '',
    content_type     TEXT NOT NULL DEFAULT '',
    channels         BIGINT NOT NULL DEFAULT 1,
    duration_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    size_bytes       BIGINT NOT NULL DEFAULT 0,
    storage_key      TEXT NOT NULL DEFAULT '',
    source_url       TEXT NOT NULL DEFAULT '',
    access_token     TEXT UNIQUE,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX recordings_call ON recordings (call_id, id);

CREATE TABLE processing (
    call_id          TEXT PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    tenant_id        TEXT NOT NULL,
    status           TEXT NOT NULL,
    current_stage    TEXT NOT NULL DEFAULT '',
    stages_completed JSONB NOT NULL DEFAULT '[]',
    stages_remaining JSONB NOT NULL DEFAULT '[]',
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    attempts         BIGINT NOT NULL DEFAULT 0,
    errors           JSONB NOT NULL DEFAULT '[]',
    stages           JSONB NOT NULL DEFAULT '[]',
    config           JSONB NOT NULL DEFAULT '{}',
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX processing_tenant_status ON processing (tenant_id, status);

CREATE TABLE analyzers (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    prompt        TEXT NOT NULL DEFAULT '',
    output_schema JSONB,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    version       BIGINT NOT NULL DEFAULT 1,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE analyzer_runs (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    call_id          TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    analyzer_id      TEXT NOT NULL,
    analyzer_name    TEXT NOT NULL,
    analyzer_version BIGINT NOT NULL,
    analysis_text    TEXT NOT NULL DEFAULT '',
    output           JSONB,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX analyzer_runs_call ON analyzer_runs (call_id, analyzer_id, id);

CREATE TABLE events (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id       TEXT NOT NULL DEFAULT '',
    type          TEXT NOT NULL,
    data          JSONB NOT NULL DEFAULT '{}',
    created_at    TIMESTAMPTZ NOT NULL,
    dispatched_at TIMESTAMPTZ
);
CREATE INDEX events_tenant ON events (tenant_id, id);
CREATE INDEX events_call ON events (call_id, id);

CREATE TABLE deliveries (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id      TEXT NOT NULL DEFAULT '',
    event_id     TEXT NOT NULL DEFAULT '',
    channel      TEXT NOT NULL,
    target       TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    payload      JSONB,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    delivered_at TIMESTAMPTZ
);
CREATE INDEX deliveries_tenant ON deliveries (tenant_id, id);
CREATE INDEX deliveries_call ON deliveries (call_id, id);
