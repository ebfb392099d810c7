-- Inbound open-messaging messages by the id their channel gave them, so a redelivery of one
-- (a replay, or the channel's own retry) is answered as the first was and stores nothing.
CREATE TABLE IF NOT EXISTS msg_inbound_messages (
    integration TEXT NOT NULL,
    external_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (integration, external_id)
);

-- When an integration first signed a delivery with the timestamped form. From then on the hub
-- form alone is refused: dropping the timestamped headers from a captured request must not
-- turn it into one without a timestamp to check. Cleared when the secret changes.
ALTER TABLE msg_integrations ADD COLUMN timestamped_at BIGINT;
