-- Accounts: people who sign in to read (and, as admins, to manage
-- Gazette), and their sessions. Articles stay one shared library; what a
-- person has read or saved will hang off users (issue 12).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    -- Compared without regard to case: "Ada" and "ada" are one account.
    name          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    -- An Argon2id hash in PHC string form (algorithm, parameters, salt).
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'reader')),
    created_at    INTEGER NOT NULL
);

-- A signed-in browser. The cookie holds 256 random bits; only their
-- SHA-256 digest is stored, so a copy of the database signs nobody in.
-- Removing a user removes their sessions with them, at once.
CREATE TABLE sessions (
    id_hash       TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The token every form this session posts must carry (CSRF).
    csrf_token    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (user_id);
