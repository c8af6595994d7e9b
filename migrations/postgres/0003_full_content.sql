-- Full stories from summary-only feeds: see migrations/0010_full_content.sql.
ALTER TABLE feeds ADD COLUMN full_content BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE feeds ADD COLUMN extraction TEXT;

CREATE TABLE page_fetches (
    article_id      BIGINT PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    url             TEXT   NOT NULL,
    feed_id         BIGINT REFERENCES feeds (id) ON DELETE SET NULL,
    state           TEXT   NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    reason          TEXT,
    attempts        BIGINT NOT NULL DEFAULT 0,
    requested_at    BIGINT NOT NULL,
    next_attempt_at BIGINT,
    claimed_until   BIGINT,
    fetched_at      BIGINT,
    fill_title      BOOLEAN NOT NULL DEFAULT FALSE,
    fill_date       BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX page_fetches_due ON page_fetches (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
