-- Full stories from summary-only feeds (src/full_content/).
--
-- A feed may ask for the page behind each new entry to be fetched and its
-- story extracted (`full_content`), optionally with its own extraction
-- rule (`extraction`: JSON {"body": selector, "strip": [selectors]}) for a
-- site the generic extractor reads wrongly.
ALTER TABLE feeds ADD COLUMN full_content INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN extraction TEXT;

-- One row per article whose page is (to be) fetched: the queue and its
-- outcome. `next_attempt_at` is set while an attempt is due or planned
-- (NULL once done, or failed for good); several instances sharing a
-- database claim a row until `claimed_until`, as feeds are claimed.
CREATE TABLE page_fetches (
    article_id      INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    url             TEXT    NOT NULL,
    feed_id         INTEGER REFERENCES feeds (id) ON DELETE SET NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    reason          TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    requested_at    INTEGER NOT NULL,
    next_attempt_at INTEGER,
    claimed_until   INTEGER,
    fetched_at      INTEGER,
    -- What the feed's entry lacked, to be taken from the page: its title
    -- (the article has the opening words of its text) and its date (the
    -- article is dated when it was first fetched).
    fill_title      INTEGER NOT NULL DEFAULT 0,
    fill_date       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX page_fetches_due ON page_fetches (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
