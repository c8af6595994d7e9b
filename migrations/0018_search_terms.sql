-- How many articles hold each word of the search index, counted in the
-- background from the index itself (`upkeep::count_terms`): what a
-- search's cost is judged on before it runs, and what a prefix is
-- narrowed to when it begins too many words (issue 33).

-- The index's own view of its words: one row per word, with the number of
-- documents holding it (read in full only by the background count).
CREATE VIRTUAL TABLE articles_fts_terms USING fts5vocab(articles_fts, 'row');

-- Words in at least `floor` articles; a word not here is in fewer.
CREATE TABLE search_terms (
    term TEXT PRIMARY KEY,
    docs INTEGER NOT NULL
) WITHOUT ROWID;

-- The one row saying when the words were counted, and at what size.
CREATE TABLE search_terms_counted (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    articles INTEGER NOT NULL,
    floor INTEGER NOT NULL,
    counted_at INTEGER NOT NULL
);
