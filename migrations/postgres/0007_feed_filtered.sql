-- How many of a feed's entries the site's rules kept out (issue 27).
ALTER TABLE feeds ADD COLUMN entries_filtered BIGINT NOT NULL DEFAULT 0;
