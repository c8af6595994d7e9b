//! The sections table.

use std::sync::Arc;

use sqlx::{SqliteConnection, SqlitePool};

use super::Db;

use crate::domain::{Section, listing::from_unix};

/// Every section holding at least one article, the most recently active
/// first. Every page shows this list, and it changes only with a write, so
/// it is read from the database once per write (and per minute, for
/// writes by another process such as `gazette import`).
pub async fn list(db: &Db) -> sqlx::Result<Arc<[Section]>> {
    let version = (db.generation(), super::current_minute());
    if let Some(sections) = db.sections.get(version) {
        return Ok(sections);
    }
    let sections: Arc<[Section]> = read_list(&db.reader).await?.into();
    db.sections.put(version, Arc::clone(&sections));
    Ok(sections)
}

/// `latest_at` comes from the (section_id, published_at) index: one seek
/// per section, never a scan. A section whose articles are all scheduled
/// is not listed yet.
async fn read_list(db: &SqlitePool) -> sqlx::Result<Vec<Section>> {
    let now = super::now_unix();
    let rows = sqlx::query!(
        r#"SELECT id AS "id!", name, slug, article_count, latest_at AS "latest_at: i64"
           FROM (SELECT s.id, s.name, s.slug, s.article_count,
                        (SELECT MAX(a.published_at) FROM articles a
                         WHERE a.section_id = s.id AND a.published_at <= ?) AS latest_at
                 FROM sections s
                 WHERE s.article_count > 0)
           WHERE latest_at IS NOT NULL
           ORDER BY latest_at DESC, name"#,
        now
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Section {
            id: r.id,
            name: r.name,
            slug: r.slug,
            article_count: r.article_count,
            latest_at: r.latest_at.map(from_unix),
        })
        .collect())
}

/// The section with this slug, if any.
pub async fn by_slug(db: &SqlitePool, slug: &str) -> sqlx::Result<Option<Section>> {
    let now = super::now_unix();
    let row = sqlx::query!(
        r#"SELECT s.id AS "id!", s.name, s.slug, s.article_count,
                  (SELECT MAX(a.published_at) FROM articles a
                   WHERE a.section_id = s.id AND a.published_at <= ?) AS "latest_at: i64"
           FROM sections s WHERE s.slug = ?"#,
        now,
        slug
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Section {
        id: r.id,
        name: r.name,
        slug: r.slug,
        article_count: r.article_count,
        latest_at: r.latest_at.map(from_unix),
    }))
}

/// Creates the sections named by (name, slug) that do not exist yet.
/// Names that slugify alike ("Football" and "football!") are one section,
/// named as it was first sent.
pub async fn ensure_many(conn: &mut SqliteConnection, sections: &[(&str, &str)], now: i64) -> sqlx::Result<()> {
    let json = serde_json::to_string(sections).map_err(|err| sqlx::Error::Encode(err.into()))?;
    sqlx::query!(
        "INSERT OR IGNORE INTO sections (name, slug, created_at)
         SELECT value ->> 0, value ->> 1, ? FROM json_each(?) ORDER BY key",
        now,
        json
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a cached list is good for: the database's change count and the minute.
type Version = (u64, i64);

/// The last section list read, and the version it is good for.
#[derive(Default)]
pub struct ListCache(std::sync::Mutex<Option<(Version, Arc<[Section]>)>>);

impl ListCache {
    fn get(&self, version: Version) -> Option<Arc<[Section]>> {
        let cached = self.0.lock().unwrap_or_else(|p| p.into_inner());
        cached
            .as_ref()
            .filter(|(at, _)| *at == version)
            .map(|(_, sections)| Arc::clone(sections))
    }

    fn put(&self, version: Version, sections: Arc<[Section]>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((version, sections));
    }
}

/// Renames a section; its slug, and so its address, stays.
pub async fn rename(conn: &mut SqliteConnection, id: i64, name: &str) -> sqlx::Result<bool> {
    let done = sqlx::query!("UPDATE sections SET name = ? WHERE id = ?", name, id)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(done == 1)
}
