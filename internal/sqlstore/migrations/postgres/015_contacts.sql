-- A tenant's contact book. Numbers are E.164 and name at most one contact
-- of the tenant. created_by_api lists the fields a person entered through
-- the API, which post-call enrichment never overwrites.
CREATE TABLE contacts (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    organization TEXT NOT NULL DEFAULT '',
    time_zone    TEXT NOT NULL DEFAULT '',
    do_not_call  BOOLEAN NOT NULL DEFAULT FALSE,
    notes        TEXT NOT NULL DEFAULT '',
    entered      TEXT NOT NULL DEFAULT '[]',
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX contacts_tenant ON contacts (tenant_id, id);

CREATE TABLE contact_numbers (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    number     TEXT NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, number)
);
CREATE INDEX contact_numbers_contact ON contact_numbers (contact_id, position);

-- Where post-call enrichment took a contact's field from: one row per
-- filled field. Erasing the call deletes its rows.
CREATE TABLE contact_sources (
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    field      TEXT NOT NULL,
    call_id    TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (contact_id, field)
);
CREATE INDEX contact_sources_call ON contact_sources (call_id);

-- The contact a call is with, linked by the remote party's number.
ALTER TABLE calls ADD COLUMN contact_id TEXT NOT NULL DEFAULT '';
CREATE INDEX calls_contact ON calls (tenant_id, contact_id, id);

-- To-dos of calls: extracted by the pipeline (one per call and text) or
-- added by a person.
CREATE TABLE todos (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id    TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    text       TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'open',
    assignee   TEXT NOT NULL DEFAULT '',
    due_date   TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX todos_call_text ON todos (call_id, text);
CREATE INDEX todos_tenant ON todos (tenant_id, id);
