//! The sections table.

use sqlx::{SqliteConnection, SqlitePool};

use crate::domain::Section;
use crate::store::sections::{Alias, SectionChange, SectionRow};

// `latest_at` and the scheduled count come from the (section_id,
// published_at) index: seeks per section, never a scan. A section whose
// articles are all scheduled is not listed yet.
pub async fn read_list(db: &SqlitePool) -> sqlx::Result<Vec<Section>> {
    Ok(read_all(db)
        .await?
        .into_iter()
        .filter(|s| s.article_count > 0 && s.latest_at.is_some())
        .collect())
}

pub async fn read_all(db: &SqlitePool) -> sqlx::Result<Vec<Section>> {
    let now = crate::store::now_unix();
    let rows = sqlx::query_as!(
        SectionRow,
        r#"SELECT s.id AS "id!", s.name, s.slug, s.description, s.position, s.hidden AS "hidden: bool",
                  s.article_count - (SELECT COUNT(*) FROM articles a
                                     WHERE a.section_id = s.id AND a.published_at > ?1) AS "article_count!: i64",
                  (SELECT MAX(a.published_at) FROM articles a
                   WHERE a.section_id = s.id AND a.published_at <= ?1) AS "latest_at: i64"
           FROM sections s
           ORDER BY s.position IS NULL, s.position, s.slug"#,
        now
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Section::from).collect())
}

pub async fn by_slug(db: &SqlitePool, slug: &str) -> sqlx::Result<Option<Section>> {
    let now = crate::store::now_unix();
    let row = sqlx::query_as!(
        SectionRow,
        r#"SELECT s.id AS "id!", s.name, s.slug, s.description, s.position, s.hidden AS "hidden: bool",
                  s.article_count - (SELECT COUNT(*) FROM articles a
                                     WHERE a.section_id = s.id AND a.published_at > ?1) AS "article_count!: i64",
                  (SELECT MAX(a.published_at) FROM articles a
                   WHERE a.section_id = s.id AND a.published_at <= ?1) AS "latest_at: i64"
           FROM sections s WHERE s.slug = ?2"#,
        now,
        slug
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(Section::from))
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

pub async fn update(conn: &mut SqliteConnection, id: i64, change: &SectionChange<'_>) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE sections SET name = ?, slug = ?, description = ?, position = ?, hidden = ? WHERE id = ?",
        change.name,
        change.slug,
        change.description,
        change.position,
        change.hidden,
        id
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

pub async fn read_aliases(db: &SqlitePool) -> sqlx::Result<Vec<Alias>> {
    sqlx::query_as!(
        Alias,
        r#"SELECT a.slug AS alias, s.slug, s.name FROM section_aliases a JOIN sections s ON s.id = a.section_id"#
    )
    .fetch_all(db)
    .await
}

pub async fn add_alias(conn: &mut SqliteConnection, slug: &str, section_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO section_aliases (slug, section_id) VALUES (?, ?)
         ON CONFLICT (slug) DO UPDATE SET section_id = excluded.section_id",
        slug,
        section_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM section_aliases WHERE slug IN (SELECT slug FROM sections WHERE id = ?)",
        section_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn merge(conn: &mut SqliteConnection, from: i64, into: i64) -> sqlx::Result<()> {
    // Each reader's read marks as they were: where `into`'s horizon says
    // otherwise than `from`'s did, the article is marked (a mark already
    // there stays).
    sqlx::query!(
        "INSERT INTO article_states (user_id, article_id, read)
         SELECT r.user_id, a.id, a.id <= COALESCE(hf.read_through, 0)
         FROM (SELECT DISTINCT user_id FROM read_horizons WHERE section_id IN (?1, ?2)) r
         JOIN articles a ON a.section_id = ?1
         LEFT JOIN read_horizons hf ON hf.user_id = r.user_id AND hf.section_id = ?1
         LEFT JOIN read_horizons hi ON hi.user_id = r.user_id AND hi.section_id = ?2
         WHERE (a.id <= COALESCE(hf.read_through, 0)) <> (a.id <= COALESCE(hi.read_through, 0))
         ON CONFLICT (user_id, article_id) DO UPDATE SET read = COALESCE(article_states.read, excluded.read)",
        from,
        into
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE users SET state_version = state_version + 1
         WHERE id IN (SELECT user_id FROM read_horizons WHERE section_id IN (?1, ?2))",
        from,
        into
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("UPDATE articles SET section_id = ? WHERE section_id = ?", into, from)
        .execute(&mut *conn)
        .await?;
    // A story both sections listed is listed once: its first version.
    sqlx::query!(
        "UPDATE articles SET listed = 0
         WHERE section_id = ?1 AND listed = 1
           AND EXISTS (SELECT 1 FROM story_members m
                       JOIN story_members o ON o.story_id = m.story_id AND o.article_id < m.article_id
                       JOIN articles b ON b.id = o.article_id AND b.section_id = ?1 AND b.listed = 1
                       WHERE m.article_id = articles.id)",
        into
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE section_aliases SET section_id = ? WHERE section_id = ?",
        into,
        from
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO section_aliases (slug, section_id) SELECT slug, ? FROM sections WHERE id = ?
         ON CONFLICT (slug) DO UPDATE SET section_id = excluded.section_id",
        into,
        from
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM sections WHERE id = ?", from)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn feed_section_names(conn: &mut SqliteConnection) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!("SELECT DISTINCT section FROM feeds")
        .fetch_all(conn)
        .await
}

pub async fn rename_in_feeds(conn: &mut SqliteConnection, names: &[String], name: &str) -> sqlx::Result<()> {
    let names = serde_json::to_string(names).map_err(|err| sqlx::Error::Encode(err.into()))?;
    sqlx::query!(
        "UPDATE feeds SET section = ? WHERE section IN (SELECT value FROM json_each(?))",
        name,
        names
    )
    .execute(conn)
    .await?;
    Ok(())
}
