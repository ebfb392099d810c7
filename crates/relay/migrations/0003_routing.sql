-- Routing: queues, agents' routing profiles, telephony connector tokens, finished interactions,
-- the routing event log and agents' presence log (the inputs of historical reporting).
-- Portable SQL: runs on SQLite and PostgreSQL alike (TEXT, BIGINT, INTEGER only; ids are
-- assigned by the application; times are milliseconds since the Unix epoch).

CREATE TABLE IF NOT EXISTS routing_queues (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- The queue's configuration as JSON (priority, skills, rings, strategy, timeouts, codes).
    config TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS routing_profiles (
    agent_id TEXT PRIMARY KEY REFERENCES agents (id),
    -- Skills, capacity per media and queue memberships as JSON.
    profile TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS telephony_connectors (
    name TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS routing_interactions (
    interaction_id TEXT NOT NULL,
    media TEXT NOT NULL,
    queue_id INTEGER NOT NULL,
    last_queue_id INTEGER NOT NULL,
    arrived_at BIGINT NOT NULL,
    first_offered_at BIGINT,
    answered_at BIGINT,
    answered_by TEXT,
    -- Store ids of every agent connected to it, comma-separated, in order.
    agents TEXT NOT NULL,
    abandoned_at BIGINT,
    ended_at BIGINT,
    finished_at BIGINT NOT NULL,
    talk_ms BIGINT NOT NULL,
    hold_ms BIGINT NOT NULL,
    wrap_up_ms BIGINT NOT NULL,
    offers INTEGER NOT NULL,
    transfers INTEGER NOT NULL,
    disposition TEXT,
    outcome TEXT NOT NULL,
    PRIMARY KEY (interaction_id, arrived_at)
);

CREATE INDEX IF NOT EXISTS routing_interactions_by_arrival ON routing_interactions (arrived_at);

CREATE TABLE IF NOT EXISTS routing_events (
    at_ms BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    interaction_id TEXT,
    agent_id TEXT,
    queue_id INTEGER,
    detail TEXT NOT NULL,
    PRIMARY KEY (at_ms, seq)
);

CREATE TABLE IF NOT EXISTS agent_presence_log (
    agent_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    -- available, busy, away, wrap_up or offline: the status reporting shows.
    status TEXT NOT NULL,
    PRIMARY KEY (agent_id, at_ms, seq)
);
