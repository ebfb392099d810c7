-- Which node owns the routing decisions of a cluster (`routing::node`): one row per lease,
-- held by `owner` until `until_ms` (ms since the Unix epoch) unless renewed; `epoch` counts
-- the changes of owner, for logs and metrics.
CREATE TABLE IF NOT EXISTS routing_lease (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until_ms BIGINT NOT NULL,
    epoch BIGINT NOT NULL
);
