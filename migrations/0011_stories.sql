-- One story, many sources (src/stories/): near-duplicate copies and the
-- stories articles about one event are grouped into.
--
-- Every article belongs to one story: a story of one until another
-- article joins it. A story's id is allocated by the write path (the
-- largest so far plus one), never reused while it lives.
CREATE TABLE stories (
    id              INTEGER PRIMARY KEY,
    -- The first-seen article still stored: the version lists show.
    lead_article_id INTEGER NOT NULL,
    article_count   INTEGER NOT NULL,
    source_count    INTEGER NOT NULL,
    -- The publication times of its first and latest articles: an article
    -- joins only a story active within the quiet period of its own time.
    first_at        INTEGER NOT NULL,
    last_at         INTEGER NOT NULL,
    -- The summed term weights of its members' titles and leads (JSON
    -- object), what a new article is compared with.
    centroid        TEXT    NOT NULL DEFAULT '{}'
);

-- Which story each article is in, and which article it is a copy of.
CREATE TABLE story_members (
    article_id   INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    story_id     INTEGER NOT NULL,
    -- The first-seen article this one is a near-duplicate of (NULL: none).
    duplicate_of INTEGER,
    -- Its source as counted in "N sources": the sender's source, else the
    -- host of its URL, else the article itself.
    source_key   TEXT    NOT NULL
);
CREATE INDEX story_members_by_story ON story_members (story_id, article_id);
CREATE INDEX story_members_by_original ON story_members (duplicate_of) WHERE duplicate_of IS NOT NULL;

-- An article's most telling terms, by story and time: how a new article
-- finds the stories it may belong to without scanning them.
CREATE TABLE story_terms (
    term     TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    story_id INTEGER NOT NULL,
    PRIMARY KEY (term, at, story_id)
) WITHOUT ROWID;

-- How many articles each term has appeared in (the row '' counts all
-- articles): the document frequencies that weigh terms.
CREATE TABLE term_counts (
    term     TEXT    PRIMARY KEY,
    articles INTEGER NOT NULL
) WITHOUT ROWID;

-- MinHash signatures of article texts, and their LSH band keys: a copy's
-- candidates come from an index lookup per band, not a scan.
CREATE TABLE article_fingerprints (
    article_id INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    shingles   INTEGER NOT NULL,
    signature  BLOB    NOT NULL
);
CREATE TABLE fingerprint_bands (
    band       INTEGER NOT NULL,
    article_id INTEGER NOT NULL,
    PRIMARY KEY (band, article_id)
) WITHOUT ROWID;

-- Lists show a story once per section: its first version there. Set by
-- the write path for later versions; a deleted first version hands over.
ALTER TABLE articles ADD COLUMN listed INTEGER NOT NULL DEFAULT 1;

-- The stories of the articles stored before: one each.
INSERT INTO stories (id, lead_article_id, article_count, source_count, first_at, last_at)
    SELECT id, id, 1, 1, published_at, published_at FROM articles;
INSERT INTO story_members (article_id, story_id, duplicate_of, source_key)
    SELECT id, id, NULL, COALESCE(lower(source), '#' || id) FROM articles;

-- A reader's choice: after reading one version, are its copies still
-- shown as unread (1) or marked read with it (0, the default)?
ALTER TABLE users ADD COLUMN show_copies INTEGER NOT NULL DEFAULT 0 CHECK (show_copies IN (0, 1));
