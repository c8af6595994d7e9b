-- The indexes a new article's story and copies are looked up in are
-- keyed by the week first (unix seconds / 604800, rounded down): news
-- arrives in time order, so writes and lookups stay in the newest weeks'
-- pages however many years the library holds, instead of touching pages
-- all over indexes that grow with it.
CREATE TABLE story_terms_by_week (
    week     INTEGER NOT NULL,
    term     TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    story_id INTEGER NOT NULL,
    PRIMARY KEY (week, term, at, story_id)
) WITHOUT ROWID;
INSERT INTO story_terms_by_week (week, term, at, story_id)
SELECT (at - (((at % 604800) + 604800) % 604800)) / 604800, term, at, story_id FROM story_terms;
DROP TABLE story_terms;
ALTER TABLE story_terms_by_week RENAME TO story_terms;

CREATE TABLE fingerprint_bands_by_week (
    week       INTEGER NOT NULL,
    band       INTEGER NOT NULL,
    article_id INTEGER NOT NULL,
    PRIMARY KEY (week, band, article_id)
) WITHOUT ROWID;
INSERT INTO fingerprint_bands_by_week (week, band, article_id)
SELECT (a.published_at - (((a.published_at % 604800) + 604800) % 604800)) / 604800, b.band, b.article_id
FROM fingerprint_bands b JOIN articles a ON a.id = b.article_id;
DROP TABLE fingerprint_bands;
ALTER TABLE fingerprint_bands_by_week RENAME TO fingerprint_bands;
