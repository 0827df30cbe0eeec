-- Reviewers' corrections of calls' categories, kept to teach each tenant's
-- learned classifier. text is the transcript the correction was made on.
CREATE TABLE classification_corrections (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id           TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    taxonomy          TEXT NOT NULL DEFAULT '',
    previous_category TEXT NOT NULL DEFAULT '',
    category          TEXT NOT NULL,
    note              TEXT NOT NULL DEFAULT '',
    reviewer          TEXT NOT NULL DEFAULT '',
    key_id            TEXT NOT NULL DEFAULT '',
    text              TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX classification_corrections_tenant ON classification_corrections (tenant_id, id);
CREATE INDEX classification_corrections_call ON classification_corrections (call_id, id);
