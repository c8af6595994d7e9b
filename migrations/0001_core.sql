-- Gazette's core schema: sections, articles, the tombstones of deleted
-- articles, and hashed ingest tokens.
--
-- Times are unix seconds (UTC) in INTEGER columns: compact, and they sort
-- and compare without parsing, which keyset paging relies on.

CREATE TABLE sections (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    slug          TEXT    NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    -- Kept by the triggers below so that listing sections never counts
    -- over the articles table.
    article_count INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE articles (
    id            INTEGER PRIMARY KEY,
    section_id    INTEGER NOT NULL REFERENCES sections (id),
    -- The identity a sender re-posts under: 'id:' || external_id, or
    -- 'url:' || url when only a URL is given; NULL means "always new".
    ingest_key    TEXT    UNIQUE,
    external_id   TEXT,
    url           TEXT,
    slug          TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    summary       TEXT,
    author        TEXT,
    source        TEXT,
    body_format   TEXT    NOT NULL CHECK (body_format IN ('text', 'markdown', 'html')),
    body          TEXT    NOT NULL,
    -- The body rendered and sanitised once at ingest, so pages never pay
    -- for Markdown or the sanitiser.
    body_html     TEXT    NOT NULL,
    image_url     TEXT,
    image_caption TEXT,
    tags          TEXT    NOT NULL DEFAULT '[]',   -- JSON array of strings
    published_at  INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    -- SHA-256 of the sender's content, to answer "unchanged" cheaply.
    content_hash  TEXT    NOT NULL
);

-- Keyset paging, newest first: the whole site and each section.
CREATE INDEX articles_by_time ON articles (published_at DESC, id DESC);
CREATE INDEX articles_by_section_time ON articles (section_id, published_at DESC, id DESC);

CREATE TRIGGER articles_count_insert AFTER INSERT ON articles BEGIN
    UPDATE sections SET article_count = article_count + 1 WHERE id = NEW.section_id;
END;
CREATE TRIGGER articles_count_delete AFTER DELETE ON articles BEGIN
    UPDATE sections SET article_count = article_count - 1 WHERE id = OLD.section_id;
END;
CREATE TRIGGER articles_count_move AFTER UPDATE OF section_id ON articles
WHEN OLD.section_id <> NEW.section_id BEGIN
    UPDATE sections SET article_count = article_count - 1 WHERE id = OLD.section_id;
    UPDATE sections SET article_count = article_count + 1 WHERE id = NEW.section_id;
END;

-- A deleted article's key stays here so a scraper re-posting it does not
-- bring it back.
CREATE TABLE tombstones (
    ingest_key TEXT    PRIMARY KEY,
    article_id INTEGER NOT NULL,
    deleted_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    -- Hex SHA-256 of the token; the token itself is never stored.
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL
);
