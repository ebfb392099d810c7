-- Rich messages: a card or carousel an agent or bot sent (JSON, see messaging/rich.rs), and
-- the postback button a customer pressed ({payload, label}). NULL on every plain message,
-- including all rows from before this migration.
ALTER TABLE msg_messages ADD COLUMN rich TEXT;
ALTER TABLE msg_messages ADD COLUMN postback TEXT;
