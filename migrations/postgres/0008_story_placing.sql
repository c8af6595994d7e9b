-- Articles are placed in stories after they are stored, in id order, by a
-- background worker (issue 26): this is how far it has come. Every article
-- stored so far was placed by the write path.
ALTER TABLE site_state ADD COLUMN stories_placed_through BIGINT NOT NULL DEFAULT 0;
UPDATE site_state SET stories_placed_through = COALESCE((SELECT MAX(article_id) FROM story_members), 0);
