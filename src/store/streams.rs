//! Article ids in id order, for reader apps' streams (`reading::streams`):
//! a section's ids in a range, a tag's, a reader's labels, and ingestion
//! time turned into ids. Ids travel as one comma-separated string per
//! query (`group_concat`): a sync asks for thousands at a time, and one row
//! costs far less than thousands.

use super::{Reader, Tx};

operations! {
    streams;
    /// A section's article ids strictly between `above` and `below`, from the
    /// newest (or, with `oldest_first`, the oldest) end, at most `limit`, in
    /// no particular order (sorting them again inside `group_concat` cost more
    /// than the walk). Published or not: the caller drops scheduled ones.
    pub async fn section_ids(db: &Reader, section_id: i64, range: (i64, i64), oldest_first: bool, limit: i64) -> sqlx::Result<Vec<i64>>;

    /// Ids with sections, strictly between `above` and `below`, of the
    /// articles carrying a tag (by slug) or a reader's own label (by name),
    /// from the newest (or oldest) end, at most `limit`.
    pub async fn label_ids(db: &Reader, user_id: i64, tag_slug: &str, label: &str, range: (i64, i64), oldest_first: bool, limit: i64) -> sqlx::Result<Vec<(i64, i64)>>;

    /// The first article id stored at or after a time (unix seconds).
    pub async fn first_id_stored_from(db: &Reader, time: i64) -> sqlx::Result<Option<i64>>;

    /// The last article id stored at or before a time (unix seconds).
    pub async fn last_id_stored_by(db: &Reader, time: i64) -> sqlx::Result<Option<i64>>;

    /// The tags articles carry, as (slug, name), at most `limit`: one index
    /// seek per distinct tag rather than a walk over every article's tags.
    pub async fn tags(db: &Reader, limit: i64) -> sqlx::Result<Vec<(String, String)>>;

    /// A reader's own labels, by name.
    pub async fn labels(db: &Reader, user_id: i64) -> sqlx::Result<Vec<String>>;

    /// A reader's labels on some articles, as (article id, label).
    pub async fn labels_on(db: &Reader, user_id: i64, ids: &[i64]) -> sqlx::Result<Vec<(i64, String)>>;

    pub async fn add_label(conn: &mut Tx<'_>, user_id: i64, label: &str, article_id: i64) -> sqlx::Result<()>;

    pub async fn remove_label(conn: &mut Tx<'_>, user_id: i64, label: &str, article_id: i64) -> sqlx::Result<()>;

    /// Renames a reader's label, merging into one of the new name; returns
    /// how many articles carried it.
    pub async fn rename_label(conn: &mut Tx<'_>, user_id: i64, from: &str, to: &str) -> sqlx::Result<u64>;

    pub async fn delete_label(conn: &mut Tx<'_>, user_id: i64, label: &str) -> sqlx::Result<u64>;

    /// When each of some articles was stored (unix seconds), by id.
    pub async fn stored_at(db: &Reader, ids: &[i64]) -> sqlx::Result<std::collections::HashMap<i64, i64>>;
}
