//! Reading state: read horizons, per-article read and saved marks, the
//! hide-read setting, and personal API keys. The rules they encode are in
//! the migration (0008) and in `reading::Snapshot`.

use super::{Reader, Tx};

/// Everything that decides what one reader has read and saved, loaded at
/// once: a reader's horizons are one per section, and their marks are only
/// the articles they touched, so this stays small.
pub struct SnapshotRows {
    pub version: i64,
    /// Changes when the reader's mutes do (see [`muted`]).
    pub mutes_version: i64,
    pub hide_read: bool,
    pub show_copies: bool,
    pub show_muted: bool,
    pub horizons: Vec<(i64, i64)>,
    pub marks: Vec<MarkRow>,
}

pub struct MarkRow {
    pub article_id: i64,
    pub read: Option<bool>,
    pub saved: bool,
}

/// A personal API key as listed to its owner.
pub struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// The user a key digest belongs to, with the key's id and when it was
/// last used.
pub struct KeyOwner {
    pub key_id: i64,
    pub state_version: i64,
    pub last_used_at: Option<i64>,
    pub user_id: i64,
    pub name: String,
    pub role: String,
}

operations! {
    reading;
    pub async fn snapshot(db: &Reader, user_id: i64) -> sqlx::Result<SnapshotRows>;

    /// Records that a reader's state changed: part of every write below.
    pub async fn bump_version(conn: &mut Tx<'_>, user_id: i64) -> sqlx::Result<()>;

    /// Records that a reader's mutes changed other than by new articles
    /// muted as they are placed (and so their state).
    pub async fn bump_mutes(conn: &mut Tx<'_>, user_id: i64) -> sqlx::Result<()>;

    /// The articles with an id above `after` a reader's rules muted, with
    /// their sections.
    pub async fn muted(db: &Reader, user_id: i64, after: i64) -> sqlx::Result<Vec<(i64, i64)>>;

    /// A reader's read mark on an article (None: none, or as the horizon says).
    pub async fn read_mark(conn: &mut Tx<'_>, user_id: i64, article_id: i64) -> sqlx::Result<Option<bool>>;

    /// The section of a published article: what a mark needs to exist.
    pub async fn published_section(conn: &mut Tx<'_>, article_id: i64) -> sqlx::Result<Option<i64>>;

    /// Marks one article read or unread for a reader, whatever the horizon says.
    pub async fn set_read(conn: &mut Tx<'_>, user_id: i64, article_id: i64, read: bool) -> sqlx::Result<()>;

    /// Saves an article for a reader (keeping the first save's time), or
    /// unsaves it. Setting, never toggling: a repeated request changes nothing.
    pub async fn set_saved(conn: &mut Tx<'_>, user_id: i64, article_id: i64, saved: bool, now: i64) -> sqlx::Result<()>;

    /// The highest article id of a section stored at or before `time`: the
    /// horizon that "read up to this time" means. Walks down from the newest,
    /// so a recent time costs a few rows.
    pub async fn last_id_stored_by(conn: &mut Tx<'_>, section_id: i64, time: i64) -> sqlx::Result<Option<i64>>;

    /// Marks a section read up to an article id: the horizon moves up (never
    /// down: a stale page cannot unread what a newer one marked), and marks
    /// at or below it give way, so an article marked unread before is read.
    pub async fn mark_section_read(conn: &mut Tx<'_>, user_id: i64, section_id: i64, through_id: i64) -> sqlx::Result<()>;

    pub async fn section_exists(conn: &mut Tx<'_>, section_id: i64) -> sqlx::Result<bool>;

    /// The sections that hold articles, for "mark everything read".
    pub async fn section_ids(conn: &mut Tx<'_>) -> sqlx::Result<Vec<i64>>;

    /// How many of a section's articles lie above a horizon, counting at most
    /// `cap`: the index walk stops there, so a reader who never reads costs
    /// the same as one who keeps up.
    pub async fn count_above(db: &Reader, section_id: i64, horizon: i64, cap: i64) -> sqlx::Result<i64>;

    /// Articles not yet published (scheduled), with their sections: they are
    /// nobody's unread stories until their time comes.
    pub async fn scheduled(db: &Reader) -> sqlx::Result<Vec<(i64, i64)>>;

    /// The sections and publication state of articles (those a reader marked
    /// read or unread): what the horizon counts must be corrected by.
    pub async fn sections_of(db: &Reader, ids: &[i64]) -> sqlx::Result<Vec<(i64, i64, bool)>>;

    /// A page of a reader's saved articles, newest save first: (article id,
    /// saved at), after the (saved at, article id) cursor.
    pub async fn saved_ids(db: &Reader, user_id: i64, before: (i64, i64), limit: u32) -> sqlx::Result<Vec<(i64, i64)>>;

    /// A reader's settings: hide what they have read; keep copies of a
    /// story they read unread; show what their rules muted.
    pub async fn set_settings(conn: &mut Tx<'_>, user_id: i64, hide_read: bool, show_copies: bool, show_muted: bool) -> sqlx::Result<()>;

    /// Whether a reader keeps copies of what they read unread.
    pub async fn shows_copies(conn: &mut Tx<'_>, user_id: i64) -> sqlx::Result<bool>;

    pub async fn insert_api_key(conn: &mut Tx<'_>, user_id: i64, name: &str, key_hash: &str, now: i64) -> sqlx::Result<()>;

    pub async fn api_keys(db: &Reader, user_id: i64) -> sqlx::Result<Vec<ApiKeyRow>>;

    pub async fn delete_api_key(conn: &mut Tx<'_>, user_id: i64, id: i64) -> sqlx::Result<bool>;

    pub async fn api_key_owner(db: &Reader, key_hash: &str) -> sqlx::Result<Option<KeyOwner>>;

    pub async fn touch_api_key(conn: &mut Tx<'_>, key_id: i64, now: i64) -> sqlx::Result<()>;

    /// The newest published article id of a section, or of all: how far a
    /// "mark all as read" on a page that shows it reaches.
    pub async fn newest_id(db: &Reader, section_id: Option<i64>) -> sqlx::Result<Option<i64>>;
}
