-- Outbound campaigns: a list of contacts dialled under a concurrency limit,
-- with redial rules by outcome and calling windows. A campaign's contacts
-- and counted calls are the campaign_contacts and campaign_calls of voice-bot
-- campaigns (006); a voice-bot campaign has contacts but no campaigns row
-- and no dialling.
CREATE TABLE campaigns (
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               TEXT NOT NULL,
    name             TEXT NOT NULL,
    state            TEXT NOT NULL,
    user_id          TEXT NOT NULL DEFAULT '',
    title            TEXT NOT NULL DEFAULT '',
    purpose          TEXT NOT NULL DEFAULT '',
    script           TEXT NOT NULL DEFAULT '',
    concurrency      INTEGER NOT NULL,
    redial           TEXT NOT NULL DEFAULT '{}',
    calling_window   TEXT NOT NULL DEFAULT '',
    time_zone        TEXT NOT NULL DEFAULT '',
    duration_minutes INTEGER NOT NULL DEFAULT 15,
    provider         TEXT NOT NULL DEFAULT '{}',
    recording_enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    transcription_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX campaigns_state ON campaigns (state, tenant_id, id);

-- What dialling needs of a contact: its name, time zone and script
-- variables, where it stands (state '' for a voice-bot contact), when it
-- may be called next and its place in the list.
ALTER TABLE campaign_contacts ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE campaign_contacts ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
ALTER TABLE campaign_contacts ADD COLUMN variables TEXT NOT NULL DEFAULT '{}';
ALTER TABLE campaign_contacts ADD COLUMN state TEXT NOT NULL DEFAULT '';
ALTER TABLE campaign_contacts ADD COLUMN next_at TIMESTAMP;
ALTER TABLE campaign_contacts ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
CREATE INDEX campaign_contacts_state ON campaign_contacts (tenant_id, campaign_id, state, next_at, position);

-- Every attempt, outcome and skip of a campaign, with its reason.
CREATE TABLE campaign_log (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    campaign_id TEXT NOT NULL,
    contact     TEXT NOT NULL,
    call_id     TEXT NOT NULL DEFAULT '',
    attempt     INTEGER NOT NULL DEFAULT 0,
    event       TEXT NOT NULL,
    outcome     TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    at          TIMESTAMP NOT NULL
);
CREATE INDEX campaign_log_campaign ON campaign_log (tenant_id, campaign_id, id);
CREATE INDEX campaign_log_call ON campaign_log (call_id) WHERE call_id <> '';

-- A tenant's do-not-call list: numbers never dialled. source is "api" or
-- "opt_out" (call_id the call whose transcript asked for it).
CREATE TABLE do_not_call (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    number     TEXT NOT NULL,
    source     TEXT NOT NULL,
    call_id    TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, number)
);
