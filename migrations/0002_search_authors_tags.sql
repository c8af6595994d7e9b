-- Search, author pages and tag pages.

-- The body as plain text, derived at ingest: what search indexes and what
-- snippets quote (the stored body may be Markdown or HTML).
ALTER TABLE articles ADD COLUMN body_text TEXT NOT NULL DEFAULT '';
-- For the reading time shown on article pages.
ALTER TABLE articles ADD COLUMN word_count INTEGER NOT NULL DEFAULT 0;
-- Author pages are keyed by a slug of the byline.
ALTER TABLE articles ADD COLUMN author_slug TEXT;
CREATE INDEX articles_by_author_time ON articles (author_slug, published_at DESC, id DESC)
    WHERE author_slug IS NOT NULL;

-- One row per tag of an article. published_at is copied here so a tag page
-- pages by keyset on this index alone.
CREATE TABLE article_tags (
    tag_slug     TEXT    NOT NULL,
    published_at INTEGER NOT NULL,
    article_id   INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    tag_name     TEXT    NOT NULL,
    PRIMARY KEY (tag_slug, published_at, article_id)
) WITHOUT ROWID;
CREATE INDEX article_tags_by_article ON article_tags (article_id);

-- Full-text search over the articles table (external content: the text is
-- stored once, in articles). remove_diacritics 2 makes "Qarabag" find
-- "Qarabağ"; the title column is weighted highest at query time.
CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, summary, body_text, author, tags,
    content = 'articles', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Kept in sync by triggers, so every write path (API, batch, feeds,
-- retention) keeps search right. The update trigger fires only when an
-- indexed column changes.
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, summary, body_text, author, tags)
    VALUES (NEW.id, NEW.title, NEW.summary, NEW.body_text, NEW.author, NEW.tags);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, summary, body_text, author, tags)
    VALUES ('delete', OLD.id, OLD.title, OLD.summary, OLD.body_text, OLD.author, OLD.tags);
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, summary, body_text, author, tags ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, summary, body_text, author, tags)
    VALUES ('delete', OLD.id, OLD.title, OLD.summary, OLD.body_text, OLD.author, OLD.tags);
    INSERT INTO articles_fts (rowid, title, summary, body_text, author, tags)
    VALUES (NEW.id, NEW.title, NEW.summary, NEW.body_text, NEW.author, NEW.tags);
END;

-- One row: when anything the site shows last changed, for Last-Modified.
CREATE TABLE site_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    last_write_at INTEGER NOT NULL
);
INSERT INTO site_state (id, last_write_at) VALUES (1, CAST(strftime('%s', 'now') AS INTEGER));
CREATE TRIGGER site_state_insert AFTER INSERT ON articles BEGIN
    UPDATE site_state SET last_write_at = NEW.updated_at WHERE id = 1;
END;
CREATE TRIGGER site_state_update AFTER UPDATE ON articles BEGIN
    UPDATE site_state SET last_write_at = NEW.updated_at WHERE id = 1;
END;
CREATE TRIGGER site_state_delete AFTER DELETE ON articles BEGIN
    UPDATE site_state SET last_write_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE id = 1;
END;
