-- Feed subscriptions, and URL identity shared by the API and the poller.

-- The article's URL after normalisation (scheme and host case, default
-- port, fragment and tracking parameters removed): the same story reached
-- through two feeds, or through a feed and the API, is one article.
ALTER TABLE articles ADD COLUMN url_key TEXT;
CREATE INDEX articles_by_url_key ON articles (url_key) WHERE url_key IS NOT NULL;

CREATE TABLE feeds (
    id                INTEGER PRIMARY KEY,
    url               TEXT    NOT NULL UNIQUE,
    -- Display name of the section its articles go to.
    section           TEXT    NOT NULL,
    title             TEXT,
    interval_secs     INTEGER NOT NULL,
    -- Validators from the last 200, for conditional GET.
    etag              TEXT,
    last_modified     TEXT,
    created_at        INTEGER NOT NULL,
    last_fetch_at     INTEGER,
    last_success_at   INTEGER,
    next_fetch_at     INTEGER NOT NULL,
    -- Consecutive failures; drives the back-off and marks a failing feed.
    error_count       INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    articles_ingested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX feeds_due ON feeds (next_fetch_at);
