-- Each node of a cluster says here that it is alive, every second (`seen_ms`, ms since the
-- Unix epoch, by its own clock): what tells another node that a node NATS still delivers to
-- is gone (its machine stopped, and NATS has not noticed yet), so its co-browse sessions
-- may be taken over (`cobrowse::remote::heartbeat`).
CREATE TABLE IF NOT EXISTS cluster_nodes (
    node TEXT PRIMARY KEY,
    seen_ms BIGINT NOT NULL
);
