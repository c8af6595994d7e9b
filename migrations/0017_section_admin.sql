-- Sections managed by an admin (issue 29): a description shown on the
-- section's page and in its feed, a place in the navigation (NULL: after
-- the placed ones, by slug), hidden from the navigation and the front page
-- (its page and feed still answer).
ALTER TABLE sections ADD COLUMN description TEXT;
ALTER TABLE sections ADD COLUMN position INTEGER;
ALTER TABLE sections ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1));

-- Slugs a section answered to before: its own before a rename, and those
-- of the sections merged into it. Their pages redirect to it, and an
-- article or feed naming one lands in it.
CREATE TABLE section_aliases (
    slug       TEXT    PRIMARY KEY,
    section_id INTEGER NOT NULL REFERENCES sections (id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX section_aliases_by_section ON section_aliases (section_id);
