-- A scratch table for the write probe: while writes are failing (a full
-- disk), Gazette writes and deletes a row here every few seconds to learn
-- when space has returned, without touching any article. It is empty
-- whenever no probe is running.
CREATE TABLE write_probe (
    id INTEGER PRIMARY KEY,
    filler BLOB NOT NULL
);
