-- The processes working the job queue, and when each last showed it is
-- alive: jobs held by a process that stopped showing it go back to the
-- queue within seconds (internal/job). Times are the database's own clock,
-- so that replicas with skewed clocks agree.
CREATE TABLE queue_clients (
    client_id TEXT PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL
);
