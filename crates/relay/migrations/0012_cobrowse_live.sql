-- The co-browse sessions a customer has paired with, while they live: what a node takes a
-- session over from when its home died (`cobrowse::remote::adopt`). `home` is the node that
-- holds it; `control` its control state as carried (`protocol::CarriedControl`, JSON) at
-- `updated_at` (ms since the Unix epoch). Deleted when the session ends.
CREATE TABLE IF NOT EXISTS cobrowse_live (
    session_id TEXT PRIMARY KEY,
    resume_token TEXT NOT NULL UNIQUE,
    home TEXT NOT NULL,
    control TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
