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

/// A section as both databases read it.
pub struct SectionRow {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub article_count: i64,
    pub latest_at: Option<i64>,
    pub description: Option<String>,
    pub position: Option<i64>,
    pub hidden: bool,
}

impl From<SectionRow> for Section {
    fn from(r: SectionRow) -> Section {
        Section {
            id: r.id,
            name: r.name,
            slug: r.slug,
            article_count: r.article_count,
            latest_at: r.latest_at.map(crate::domain::listing::from_unix),
            description: r.description,
            position: r.position,
            hidden: r.hidden,
        }
    }
}

/// What an admin may change of a section (all of it, as it is to be).
pub struct SectionChange<'a> {
    pub name: &'a str,
    pub slug: &'a str,
    pub description: Option<&'a str>,
    pub position: Option<i64>,
    pub hidden: bool,
}

/// A slug a section answered to before, and the section it leads to.
#[derive(Debug, Clone)]
pub struct Alias {
    pub alias: String,
    pub slug: String,
    pub name: String,
}

/// Every alias, by its slug: read once per write, like the list.
pub async fn aliases(db: &Db) -> sqlx::Result<Arc<std::collections::HashMap<String, Alias>>> {
    let version = Version::now(db);
    if let Some(aliases) = db.section_aliases.get(&(), version) {
        return Ok(aliases);
    }
    let aliases: Arc<std::collections::HashMap<String, Alias>> = Arc::new(
        read_aliases(&db.reader)
            .await?
            .into_iter()
            .map(|a| (a.alias.clone(), a))
            .collect(),
    );
    db.section_aliases.put((), version, Arc::clone(&aliases));
    Ok(aliases)
}

/// The aliases as last read.
pub type AliasMemo = super::memo::Memo<(), Arc<std::collections::HashMap<String, Alias>>>;

operations! {
    sections;
    /// Every section holding a published article, in the navigation's
    /// order (an admin's positions first, then by slug in byte order on
    /// both databases), as `list` caches it.
    pub(crate) async fn read_list(db: &Reader) -> sqlx::Result<Vec<Section>>;
    /// Every section, empty ones too, in the navigation's order: the
    /// admin's list.
    pub async fn read_all(db: &Reader) -> sqlx::Result<Vec<Section>>;
    /// The section with this slug, if any.
    pub async fn by_slug(db: &Reader, slug: &str) -> sqlx::Result<Option<Section>>;

    /// Creates the sections named by (name, slug) that do not exist yet.
    /// Names that slugify alike ("Football" and "football!") are one section,
    /// named as it was first sent.
    pub async fn ensure_many(conn: &mut Tx<'_>, sections: &[(&str, &str)], now: i64) -> sqlx::Result<()>;

    /// Renames a section; its slug, and so its address, stays.
    pub async fn rename(conn: &mut Tx<'_>, id: i64, name: &str) -> sqlx::Result<bool>;

    /// Changes what an admin may change of a section; false when it is gone.
    pub async fn update(conn: &mut Tx<'_>, id: i64, change: &SectionChange<'_>) -> sqlx::Result<bool>;

    /// Every alias (see [`aliases`]).
    pub(crate) async fn read_aliases(db: &Reader) -> sqlx::Result<Vec<Alias>>;

    /// Makes `slug` lead to section `section_id` (instead of wherever it
    /// led), and forgets any alias named like the section's own slug.
    pub async fn add_alias(conn: &mut Tx<'_>, slug: &str, section_id: i64) -> sqlx::Result<()>;

    /// Moves everything of section `from` into section `into` and deletes
    /// `from`: its articles (each reader's read marks kept as they were:
    /// where `into`'s horizon would say otherwise, the article is marked),
    /// its aliases, and its slug as an alias of `into`. Two versions of a
    /// story now in one section are listed once.
    pub async fn merge(conn: &mut Tx<'_>, from: i64, into: i64) -> sqlx::Result<()>;

    /// The section names feeds file their articles under, each once.
    pub async fn feed_section_names(conn: &mut Tx<'_>) -> sqlx::Result<Vec<String>>;

    /// Files the feeds that name any of `names` under `name` instead.
    pub async fn rename_in_feeds(conn: &mut Tx<'_>, names: &[String], name: &str) -> sqlx::Result<()>;
}
