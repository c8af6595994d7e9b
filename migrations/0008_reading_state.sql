-- What each reader has read and saved, on top of the one shared library.
--
-- Read state is a horizon per reader and section plus exceptions, so it
-- costs nothing per article a reader never touched: an article is read
-- when its id is at or below the reader's horizon for its section (ids
-- grow with ingestion, so "mark all read" leaves later arrivals unread),
-- unless a row below says otherwise. A reader with no horizon row for a
-- section has read nothing in it.

CREATE TABLE read_horizons (
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    section_id   INTEGER NOT NULL REFERENCES sections (id) ON DELETE CASCADE,
    read_through INTEGER NOT NULL,
    PRIMARY KEY (user_id, section_id)
) WITHOUT ROWID;

-- One row per reader and article they did something to: `read` 1 or 0
-- overrides the horizon (NULL: as the horizon says); `saved_at` is when it
-- was saved. A deleted article or a removed reader takes its rows along.
CREATE TABLE article_states (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    read       INTEGER CHECK (read IN (0, 1)),
    saved_at   INTEGER,
    PRIMARY KEY (user_id, article_id)
) WITHOUT ROWID;
-- Deleting an article finds its rows; retention finds saved articles.
CREATE INDEX article_states_by_article ON article_states (article_id, saved_at);
CREATE INDEX article_states_saved ON article_states (user_id, saved_at DESC, article_id DESC)
    WHERE saved_at IS NOT NULL;

-- Counting a section's articles above a horizon walks this index (the
-- rowid is the article id), never the table.
CREATE INDEX articles_by_section_id ON articles (section_id);

ALTER TABLE users ADD COLUMN hide_read INTEGER NOT NULL DEFAULT 0 CHECK (hide_read IN (0, 1));
-- Bumped with every change to a reader's state, and read with their
-- session: a copy of the state kept in memory is used only while it is
-- as new as this, whichever process made the change.
ALTER TABLE users ADD COLUMN state_version INTEGER NOT NULL DEFAULT 0;

-- Personal API keys, for the /api/v1/me endpoints: shown once, stored as
-- their SHA-256 digest, like ingest tokens.
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    key_hash     TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX api_keys_by_user ON api_keys (user_id);
