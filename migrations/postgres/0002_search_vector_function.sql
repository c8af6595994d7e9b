-- The search vector of an article, in one place for the two statements
-- that write it: an article's INSERT (so a new row is written once, not
-- inserted and then updated) and the UPDATE of a changed article.
--
-- Weighted A to D in the spirit of SQLite's bm25 weights (10, 4, 3, 3, 1):
-- headline, summary, byline and tags, body. The body is indexed up to
-- 250,000 characters: a tsvector holds at most 1 MB, and a longer body
-- would make the whole write fail.
CREATE FUNCTION article_search(title TEXT, summary TEXT, author TEXT, tags TEXT, body TEXT)
RETURNS TSVECTOR
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN setweight(to_tsvector('gazette', title), 'A')
    || setweight(to_tsvector('gazette', COALESCE(summary, '')), 'B')
    || setweight(to_tsvector('gazette', COALESCE(author, '') || ' ' || tags), 'C')
    || setweight(to_tsvector('gazette', left(body, 250000)), 'D');
