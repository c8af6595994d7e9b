//! The sections table.

use sqlx::{SqliteConnection, SqlitePool};

use crate::domain::{Section, listing::from_unix};

// `latest_at` comes from the (section_id, published_at) index: one seek
// per section, never a scan. A section whose articles are all scheduled
// is not listed yet.
pub async fn read_list(db: &SqlitePool) -> sqlx::Result<Vec<Section>> {
    let now = crate::store::now_unix();
    let rows = sqlx::query!(
        r#"SELECT id AS "id!", name, slug, article_count, latest_at AS "latest_at: i64"
           FROM (SELECT s.id, s.name, s.slug, s.article_count,
                        (SELECT MAX(a.published_at) FROM articles a
                         WHERE a.section_id = s.id AND a.published_at <= ?) AS latest_at
                 FROM sections s
                 WHERE s.article_count > 0)
           WHERE latest_at IS NOT NULL
           ORDER BY slug"#,
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

pub async fn by_slug(db: &SqlitePool, slug: &str) -> sqlx::Result<Option<Section>> {
    let now = crate::store::now_unix();
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

pub async fn rename(conn: &mut SqliteConnection, id: i64, name: &str) -> sqlx::Result<bool> {
    let done = sqlx::query!("UPDATE sections SET name = ? WHERE id = ?", name, id)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(done == 1)
}
