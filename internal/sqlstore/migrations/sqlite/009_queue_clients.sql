-- The processes working the job queue, and when each last showed it is
-- alive: jobs held by a process that stopped showing it go back to the
-- queue within seconds (internal/job). Times are UTC text in River's format
-- (YYYY-MM-DD HH:MM:SS.SSS), so that they compare with River's columns.
CREATE TABLE queue_clients (
    client_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
);
