-- A customer message looks up its identity's latest conversation (newest `created_at`, ties
-- broken by `id`). With `id` in the index both orderings come from the index itself: no sort
-- per message on the ingest path.
CREATE INDEX IF NOT EXISTS msg_conversations_latest
    ON msg_conversations (channel, external_id, created_at, id);
DROP INDEX IF EXISTS msg_conversations_by_identity;
