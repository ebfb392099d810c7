-- The co-browse audit's hash chain: each entry keeps its hash (SHA-256 over the one before
-- and its own fields, see cobrowse/audit_chain.rs); an ended session's row keeps the last
-- hash and the entry count, so a cut-off tail is found too. Rows from before this migration
-- have NULL here and are reported "not chained" by `relay audit verify`.
ALTER TABLE audit_log ADD COLUMN hash TEXT;
ALTER TABLE cobrowse_sessions ADD COLUMN audit_head TEXT;
ALTER TABLE cobrowse_sessions ADD COLUMN audit_count BIGINT;
