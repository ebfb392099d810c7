-- Messaging: contacts and their channel identities, conversations, messages, the interaction
-- timeline, open-messaging integrations and the outbound webhook outbox.
-- Portable SQL: runs on SQLite and PostgreSQL alike (TEXT and BIGINT only, so every number is
-- an i64 on both; ids are assigned by the application; times are ms since the Unix epoch).

CREATE TABLE IF NOT EXISTS msg_contacts (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- One row per way of reaching a contact: channel `web` with the hash of the guest token, or
-- channel `open:<integration>` with the integration's `from.id`.
CREATE TABLE IF NOT EXISTS msg_identities (
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    contact_id TEXT NOT NULL REFERENCES msg_contacts (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel, external_id)
);

CREATE INDEX IF NOT EXISTS msg_identities_by_contact ON msg_identities (contact_id);

CREATE TABLE IF NOT EXISTS msg_conversations (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES msg_contacts (id),
    channel TEXT NOT NULL,
    -- The identity the conversation came in on, so replies go back the same way.
    external_id TEXT NOT NULL,
    state TEXT NOT NULL,
    agent_id TEXT,
    created_at BIGINT NOT NULL,
    last_customer_at BIGINT NOT NULL,
    last_message_at BIGINT NOT NULL,
    -- Highest message seq each side has read.
    agent_read_seq BIGINT NOT NULL DEFAULT 0,
    customer_read_seq BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX IF NOT EXISTS msg_conversations_by_contact ON msg_conversations (contact_id, created_at);
CREATE INDEX IF NOT EXISTS msg_conversations_by_identity ON msg_conversations (channel, external_id, created_at);
CREATE INDEX IF NOT EXISTS msg_conversations_by_agent ON msg_conversations (agent_id, state);
CREATE INDEX IF NOT EXISTS msg_conversations_by_state ON msg_conversations (state, created_at);

CREATE TABLE IF NOT EXISTS msg_messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES msg_conversations (id),
    seq BIGINT NOT NULL,
    author TEXT NOT NULL,
    author_id TEXT,
    text TEXT NOT NULL,
    -- JSON arrays: attachments ({id, name, mime, bytes}) and quick-reply choices.
    attachments TEXT NOT NULL,
    quick_replies TEXT NOT NULL,
    delivery TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (conversation_id, seq)
);

CREATE TABLE IF NOT EXISTS msg_events (
    conversation_id TEXT NOT NULL REFERENCES msg_conversations (id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);

CREATE TABLE IF NOT EXISTS msg_integrations (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    webhook_url TEXT NOT NULL,
    bot_url TEXT,
    created_at BIGINT NOT NULL
);

-- Inbound delivery ids already accepted, so a replayed webhook is refused.
CREATE TABLE IF NOT EXISTS msg_inbound_deliveries (
    integration TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (integration, delivery_id)
);

CREATE TABLE IF NOT EXISTS msg_outbox (
    delivery_id TEXT PRIMARY KEY,
    integration TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS msg_outbox_due ON msg_outbox (next_at);
