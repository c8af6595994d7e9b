//! The sections table.

use sqlx::{SqliteConnection, SqlitePool};

use crate::domain::{Section, listing::from_unix};

/// Every section holding at least one article, the most recently active
/// first. `latest_at` comes from the (section_id, published_at) index: one
/// seek per section, never a scan.
pub async fn list(db: &SqlitePool) -> sqlx::Result<Vec<Section>> {
    let rows = sqlx::query!(
        r#"SELECT s.id AS "id!", s.name, s.slug, s.article_count,
                  (SELECT MAX(a.published_at) FROM articles a WHERE a.section_id = s.id) AS "latest_at: i64"
           FROM sections s
           WHERE s.article_count > 0
           ORDER BY "latest_at: i64" DESC, s.name"#
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
    let row = sqlx::query!(
        r#"SELECT s.id AS "id!", s.name, s.slug, s.article_count,
                  (SELECT MAX(a.published_at) FROM articles a WHERE a.section_id = s.id) AS "latest_at: i64"
           FROM sections s WHERE s.slug = ?"#,
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

/// The id of the section with this slug, created with `name` on first use.
/// Names that slugify alike ("Football" and "football!") are one section,
/// named as it was first sent.
pub async fn ensure(conn: &mut SqliteConnection, name: &str, slug: &str, now: i64) -> sqlx::Result<i64> {
    if let Some(id) = sqlx::query_scalar!(r#"SELECT id AS "id!" FROM sections WHERE slug = ?"#, slug)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(id);
    }
    sqlx::query_scalar!(
        r#"INSERT INTO sections (name, slug, created_at) VALUES (?, ?, ?) RETURNING id AS "id!""#,
        name,
        slug,
        now
    )
    .fetch_one(&mut *conn)
    .await
}
