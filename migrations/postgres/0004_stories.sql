-- One story, many sources: see migrations/0011_stories.sql.
CREATE TABLE stories (
    id              BIGINT PRIMARY KEY,
    lead_article_id BIGINT NOT NULL,
    article_count   BIGINT NOT NULL,
    source_count    BIGINT NOT NULL,
    first_at        BIGINT NOT NULL,
    last_at         BIGINT NOT NULL,
    centroid        TEXT   NOT NULL DEFAULT '{}'
);

CREATE TABLE story_members (
    article_id   BIGINT PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    story_id     BIGINT NOT NULL,
    duplicate_of BIGINT,
    source_key   TEXT   NOT NULL
);
CREATE INDEX story_members_by_story ON story_members (story_id, article_id);
CREATE INDEX story_members_by_original ON story_members (duplicate_of) WHERE duplicate_of IS NOT NULL;

CREATE TABLE story_terms (
    term     TEXT   NOT NULL,
    at       BIGINT NOT NULL,
    story_id BIGINT NOT NULL,
    PRIMARY KEY (term, at, story_id)
);

CREATE TABLE term_counts (
    term     TEXT   PRIMARY KEY,
    articles BIGINT NOT NULL
);

CREATE TABLE article_fingerprints (
    article_id BIGINT PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    shingles   BIGINT NOT NULL,
    signature  BYTEA  NOT NULL
);
CREATE TABLE fingerprint_bands (
    band       BIGINT NOT NULL,
    article_id BIGINT NOT NULL,
    PRIMARY KEY (band, article_id)
);

ALTER TABLE articles ADD COLUMN listed BOOLEAN NOT NULL DEFAULT TRUE;

INSERT INTO stories (id, lead_article_id, article_count, source_count, first_at, last_at)
    SELECT id, id, 1, 1, published_at, published_at FROM articles;
INSERT INTO story_members (article_id, story_id, duplicate_of, source_key)
    SELECT id, id, NULL, COALESCE(lower(source), '#' || id) FROM articles;

ALTER TABLE users ADD COLUMN show_copies BOOLEAN NOT NULL DEFAULT FALSE;
