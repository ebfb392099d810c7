-- Agents, their sign-in tokens, sites, co-browse sessions and the audit log.
-- Portable SQL: runs on SQLite and PostgreSQL alike (TEXT, BIGINT, INTEGER only; ids are
-- assigned by the application; times are milliseconds since the Unix epoch).

CREATE TABLE IF NOT EXISTS agents (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS agent_tokens (
    token_hash TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS agent_tokens_by_agent ON agent_tokens (agent_id);

CREATE TABLE IF NOT EXISTS sites (
    site_key TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS site_origins (
    site_key TEXT NOT NULL REFERENCES sites (site_key),
    origin TEXT NOT NULL,
    PRIMARY KEY (site_key, origin)
);

CREATE TABLE IF NOT EXISTS cobrowse_sessions (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents (id),
    interaction TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    pairing TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    site_key TEXT,
    paired_at BIGINT,
    ended_at BIGINT,
    end_reason TEXT
);

CREATE INDEX IF NOT EXISTS cobrowse_sessions_by_interaction ON cobrowse_sessions (interaction_id);

CREATE TABLE IF NOT EXISTS audit_log (
    session_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
