-- What phone and desktop reader apps need (the Google Reader and Fever
-- APIs, src/web/greader.rs and src/web/fever.rs).
--
-- App passwords: typed into an app instead of the account's password, one
-- per app, revocable on their own. Each is random (120 bits), so a plain
-- SHA-256 digest is as strong as a password hash here, and a request's
-- credential is found by its digest in one indexed lookup. Three digests,
-- one per way an app presents it: the password itself (Google Reader's
-- ClientLogin), the auth token derived from it (every later Google Reader
-- request), and Fever's api_key, md5("name:password") as that protocol
-- fixes, never stored as such.
CREATE TABLE app_passwords (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL UNIQUE,
    auth_hash     TEXT    NOT NULL UNIQUE,
    fever_hash    TEXT    NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);
CREATE INDEX app_passwords_by_user ON app_passwords (user_id);

-- Labels a reader puts on stories from an app (Google Reader's
-- user/-/label/NAME): their own, beside the tags articles arrive with.
CREATE TABLE user_labels (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label      TEXT    NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, label, article_id)
) WITHOUT ROWID;
CREATE INDEX user_labels_by_article ON user_labels (article_id);

-- Apps ask for "items crawled since T": ingestion time to the first id
-- stored at or after it, in one index lookup.
CREATE INDEX articles_by_created ON articles (created_at);
