-- Which node owns the routing decisions of a cluster (`routing::node`): one row per lease,
-- held by `owner` until `until_ms` (ms since the Unix epoch) unless renewed; `epoch` counts
-- the changes of owner, for logs and metrics.
CREATE TABLE IF NOT EXISTS routing_lease (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until_ms BIGINT NOT NULL,
    epoch BIGINT NOT NULL
);

-- Routed work that only routing knows of (calls and chats from connectors, calls placed
-- from a conversation; messaging keeps its own conversations): what a node taking routing
-- over restores. `agent_id` is set while an agent holds it (connected, parked, wrap-up).
CREATE TABLE IF NOT EXISTS routing_live (
    interaction_id TEXT PRIMARY KEY,
    media TEXT NOT NULL,
    queue TEXT NOT NULL,
    priority INTEGER,
    agent_id TEXT,
    parked INTEGER NOT NULL,
    updated_at BIGINT NOT NULL
);
