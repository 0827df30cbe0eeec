-- Analyzer runs appended by a job carry the job's run key, so that a job
-- that runs again (a retry, a resumed backfill) appends nothing twice.
-- Runs without a key (the pipeline's own) never conflict: NULLs are
-- distinct in a unique index.
ALTER TABLE analyzer_runs ADD COLUMN run_key TEXT;
CREATE UNIQUE INDEX analyzer_runs_key ON analyzer_runs (call_id, analyzer_id, run_key);

-- Backfills: one analyzer re-run over past calls by a durable job, with
-- progress, a cursor to resume from, and cancellation.
CREATE TABLE backfills (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    analyzer_id   TEXT NOT NULL,
    filter        TEXT NOT NULL DEFAULT '{}',
    status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'cancelled', 'failed')),
    total         INTEGER NOT NULL DEFAULT 0,
    done          INTEGER NOT NULL DEFAULT 0,
    failed_count  INTEGER NOT NULL DEFAULT 0,
    resume_after  TEXT NOT NULL DEFAULT '',
    last_error    TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    started_at    TIMESTAMP,
    finished_at   TIMESTAMP,
    cancelled_at  TIMESTAMP,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX backfills_analyzer ON backfills (tenant_id, analyzer_id, id);
