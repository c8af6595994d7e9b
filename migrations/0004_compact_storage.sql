-- Each article's text is stored once for reading, and the search index
-- stops keeping a second copy of it.
--
-- Search moves to a contentless FTS5 table: it holds the index alone and
-- is written by the write path, which derives the body's plain text at
-- ingest and hands it to the index without storing it. Snippets are cut
-- from the stored HTML at query time, for the page of hits only.
CREATE VIRTUAL TABLE articles_search USING fts5 (
    title, summary, body_text, author, tags,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO articles_search (rowid, title, summary, body_text, author, tags)
    SELECT id, title, summary, body_text, author, tags FROM articles;

DROP TRIGGER articles_fts_insert;
DROP TRIGGER articles_fts_delete;
DROP TRIGGER articles_fts_update;
DROP TABLE articles_fts;
ALTER TABLE articles_search RENAME TO articles_fts;

-- Deletes (the API, retention) leave the index through this trigger;
-- inserts and updates are written with the body text by the write path.
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    DELETE FROM articles_fts WHERE rowid = OLD.id;
END;

ALTER TABLE articles DROP COLUMN body_text;

-- The sender's body, kept so it can be rendered again when the rules for
-- rendering change, but never read to serve a page: deflate-compressed
-- (zlib) from now on. Articles stored before this migration keep it as
-- text in `body`; new ones store '' there.
ALTER TABLE articles ADD COLUMN body_deflated BLOB;

-- Merging the index's segments is left to a background job
-- (src/store/search.rs, `merge_step`) instead of the write that happens to
-- tip a level over: on a large index such a merge stalled an ingest for
-- seconds.
INSERT INTO articles_fts (articles_fts, rank) VALUES ('automerge', 0);
