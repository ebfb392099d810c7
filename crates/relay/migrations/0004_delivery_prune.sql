-- Inbound delivery ids are kept only as long as a replay of them could still pass the
-- timestamp check; pruning them by age needs this index.
CREATE INDEX IF NOT EXISTS msg_inbound_deliveries_received
    ON msg_inbound_deliveries (received_at);
