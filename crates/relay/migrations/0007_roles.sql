-- Roles (a person may hold several) and the refusals the policy answered, for audit.
CREATE TABLE IF NOT EXISTS agent_roles (
    agent_id TEXT NOT NULL REFERENCES agents (id),
    role TEXT NOT NULL,
    PRIMARY KEY (agent_id, role)
);

-- Everyone who was an agent before roles existed keeps working as one.
INSERT INTO agent_roles (agent_id, role) SELECT id, 'agent' FROM agents;

-- Each request the policy refused: who, what it asked (method and path, or the socket), the
-- permission it lacked and the resource it named.
CREATE TABLE IF NOT EXISTS access_refusals (
    id TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    agent_id TEXT NOT NULL,
    permission TEXT NOT NULL,
    request TEXT NOT NULL,
    resource TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS access_refusals_by_time ON access_refusals (at_ms);
