-- Reader rules (issue 27): a reader's own rules over what they see. Each
-- is kept as the JSON the API takes (the site rules' shape, with the
-- reader's actions), with how often and when last it acted.
CREATE TABLE reader_rules (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    spec            TEXT    NOT NULL,
    matched         INTEGER NOT NULL DEFAULT 0,
    last_matched_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX reader_rules_by_user ON reader_rules (user_id, id);

-- The rule that muted an article for its reader: a mark beside read and
-- saved, taken away with the rule. (A muted section is not marked article
-- by article: the reader's snapshot holds the section.)
ALTER TABLE article_states ADD COLUMN muted_by INTEGER;

-- "Show muted": muted articles come back, for this reader only.
ALTER TABLE users ADD COLUMN show_muted INTEGER NOT NULL DEFAULT 0 CHECK (show_muted IN (0, 1));

-- Bumped whenever the reader's mutes change (with state_version): the set
-- of muted articles, which can be large, is read again only then, not at
-- every read or save.
ALTER TABLE users ADD COLUMN mutes_version INTEGER NOT NULL DEFAULT 0;
