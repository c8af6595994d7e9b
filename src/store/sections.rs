//! The sections table.

use crate::domain::Section;
use std::sync::Arc;

use super::memo::Version;
use super::{Db, Reader, Tx};

/// Every section holding at least one article, by slug: every page's
/// navigation shows this list, in an order a new article never changes
/// (so it does not make every page stale). It changes only with a write, so
/// it is read from the database once per write (and per minute, for
/// writes by another process such as `gazette import`).
pub async fn list(db: &Db) -> sqlx::Result<Arc<[Section]>> {
    let version = Version::now(db);
    if let Some(sections) = db.sections.get(&(), version) {
        return Ok(sections);
    }
    let sections: Arc<[Section]> = read_list(&db.reader).await?.into();
    db.sections.put((), version, Arc::clone(&sections));
    Ok(sections)
}

/// The section list as last read.
pub type ListMemo = super::memo::Memo<(), Arc<[Section]>>;

operations! {
    sections;
    /// Every section holding a published article, by slug (byte order on
    /// both databases), as `list` caches it.
    pub(crate) async fn read_list(db: &Reader) -> sqlx::Result<Vec<Section>>;
    /// The section with this slug, if any.
    pub async fn by_slug(db: &Reader, slug: &str) -> sqlx::Result<Option<Section>>;

    /// Creates the sections named by (name, slug) that do not exist yet.
    /// Names that slugify alike ("Football" and "football!") are one section,
    /// named as it was first sent.
    pub async fn ensure_many(conn: &mut Tx<'_>, sections: &[(&str, &str)], now: i64) -> sqlx::Result<()>;

    /// Renames a section; its slug, and so its address, stays.
    pub async fn rename(conn: &mut Tx<'_>, id: i64, name: &str) -> sqlx::Result<bool>;
}
