-- Site rules (issue 27): an admin's rules over what enters the library,
-- each kept as the JSON the API takes, with how often and when last it
-- acted. Applied in id order.
CREATE TABLE site_rules (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL,
    spec            TEXT    NOT NULL,
    matched         INTEGER NOT NULL DEFAULT 0,
    last_matched_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
