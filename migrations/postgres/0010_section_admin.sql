-- Sections managed by an admin (issue 29): a description shown on the
-- section's page and in its feed, a place in the navigation (NULL: after
-- the placed ones, by slug), hidden from the navigation and the front page
-- (its page and feed still answer).
ALTER TABLE sections ADD COLUMN description TEXT;
ALTER TABLE sections ADD COLUMN position BIGINT;
ALTER TABLE sections ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT FALSE;

-- Slugs a section answered to before: its own before a rename, and those
-- of the sections merged into it. Their pages redirect to it, and an
-- article or feed naming one lands in it.
CREATE TABLE section_aliases (
    slug       TEXT   PRIMARY KEY,
    section_id BIGINT NOT NULL REFERENCES sections (id) ON DELETE CASCADE
);
CREATE INDEX section_aliases_by_section ON section_aliases (section_id);
