-- Sites' co-browse rules (mask, block and read-only selectors, pause patterns, masked typing),
-- kept in the database and changed by admins in the console or by `relay site import`; one
-- validated JSON document per site, read by `GET /api/cobrowse/sites/{key}/config`.
CREATE TABLE IF NOT EXISTS site_rules (
    site_key TEXT PRIMARY KEY REFERENCES sites (site_key),
    rules_json TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
