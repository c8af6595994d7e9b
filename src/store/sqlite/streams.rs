//! Article ids in id order, for reader apps' streams (`reading::streams`):
//! a section's ids in a range, a tag's, a reader's labels, and ingestion
//! time turned into ids. Ids travel as one comma-separated string per
//! query (`group_concat`): a sync asks for thousands at a time, and one row
//! costs far less than thousands.

use sqlx::{SqliteConnection, SqlitePool};

fn parse_ids(joined: Option<String>) -> Vec<i64> {
    joined
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter_map(|id| id.parse().ok())
        .collect()
}

pub async fn section_ids(
    db: &SqlitePool,
    section_id: i64,
    (above, below): (i64, i64),
    oldest_first: bool,
    limit: i64,
) -> sqlx::Result<Vec<i64>> {
    // The (section_id) index holds the rowid, so neither walk reads a row.
    let joined = if oldest_first {
        sqlx::query_scalar!(
            r#"SELECT group_concat(id) AS "ids: String" FROM
                 (SELECT id FROM articles INDEXED BY articles_by_section_id
                  WHERE section_id = ? AND id > ? AND id < ? ORDER BY id LIMIT ?)"#,
            section_id,
            above,
            below,
            limit
        )
        .fetch_one(db)
        .await?
    } else {
        sqlx::query_scalar!(
            r#"SELECT group_concat(id) AS "ids: String" FROM
                 (SELECT id FROM articles INDEXED BY articles_by_section_id
                  WHERE section_id = ? AND id > ? AND id < ? ORDER BY id DESC LIMIT ?)"#,
            section_id,
            above,
            below,
            limit
        )
        .fetch_one(db)
        .await?
    };
    Ok(parse_ids(joined))
}

pub async fn label_ids(
    db: &SqlitePool,
    user_id: i64,
    tag_slug: &str,
    label: &str,
    (above, below): (i64, i64),
    oldest_first: bool,
    limit: i64,
) -> sqlx::Result<Vec<(i64, i64)>> {
    let rows = if oldest_first {
        sqlx::query!(
            r#"SELECT a.id AS "id!", a.section_id FROM articles a
               WHERE a.id > ? AND a.id < ? AND a.id IN
                 (SELECT article_id FROM article_tags WHERE tag_slug = ?
                  UNION SELECT article_id FROM user_labels WHERE user_id = ? AND label = ?)
               ORDER BY a.id LIMIT ?"#,
            above,
            below,
            tag_slug,
            user_id,
            label,
            limit
        )
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.section_id))
        .collect()
    } else {
        sqlx::query!(
            r#"SELECT a.id AS "id!", a.section_id FROM articles a
               WHERE a.id > ? AND a.id < ? AND a.id IN
                 (SELECT article_id FROM article_tags WHERE tag_slug = ?
                  UNION SELECT article_id FROM user_labels WHERE user_id = ? AND label = ?)
               ORDER BY a.id DESC LIMIT ?"#,
            above,
            below,
            tag_slug,
            user_id,
            label,
            limit
        )
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.section_id))
        .collect()
    };
    Ok(rows)
}

pub async fn first_id_stored_from(db: &SqlitePool, time: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        r#"SELECT id AS "id!" FROM articles INDEXED BY articles_by_created
           WHERE created_at >= ? ORDER BY created_at, id LIMIT 1"#,
        time
    )
    .fetch_optional(db)
    .await
}

pub async fn last_id_stored_by(db: &SqlitePool, time: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        r#"SELECT id AS "id!" FROM articles INDEXED BY articles_by_created
           WHERE created_at <= ? ORDER BY created_at DESC, id DESC LIMIT 1"#,
        time
    )
    .fetch_optional(db)
    .await
}

pub async fn tags(db: &SqlitePool, limit: i64) -> sqlx::Result<Vec<(String, String)>> {
    Ok(sqlx::query!(
        r#"WITH RECURSIVE t(slug) AS (
               SELECT min(tag_slug) FROM article_tags
               UNION ALL
               SELECT (SELECT min(tag_slug) FROM article_tags WHERE tag_slug > t.slug) FROM t
               WHERE t.slug IS NOT NULL
           )
           SELECT slug AS "slug!: String",
                  (SELECT tag_name FROM article_tags WHERE tag_slug = t.slug LIMIT 1) AS "name!: String"
           FROM t WHERE slug IS NOT NULL LIMIT ?"#,
        limit
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.slug, r.name))
    .collect())
}

pub async fn labels(db: &SqlitePool, user_id: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"SELECT DISTINCT label AS "label!" FROM user_labels WHERE user_id = ? ORDER BY label"#,
        user_id
    )
    .fetch_all(db)
    .await
}

pub async fn labels_on(db: &SqlitePool, user_id: i64, ids: &[i64]) -> sqlx::Result<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids_json = serde_json::to_string(ids).map_err(|err| sqlx::Error::Encode(err.into()))?;
    Ok(sqlx::query!(
        r#"SELECT article_id AS "article_id!", label AS "label!" FROM user_labels
           WHERE user_id = ? AND article_id IN (SELECT value FROM json_each(?))"#,
        user_id,
        ids_json
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.article_id, r.label))
    .collect())
}

pub async fn add_label(conn: &mut SqliteConnection, user_id: i64, label: &str, article_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT OR IGNORE INTO user_labels (user_id, label, article_id) VALUES (?, ?, ?)",
        user_id,
        label,
        article_id
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn remove_label(conn: &mut SqliteConnection, user_id: i64, label: &str, article_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "DELETE FROM user_labels WHERE user_id = ? AND label = ? AND article_id = ?",
        user_id,
        label,
        article_id
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn rename_label(conn: &mut SqliteConnection, user_id: i64, from: &str, to: &str) -> sqlx::Result<u64> {
    sqlx::query!(
        "INSERT OR IGNORE INTO user_labels (user_id, label, article_id)
         SELECT user_id, ?, article_id FROM user_labels WHERE user_id = ? AND label = ?",
        to,
        user_id,
        from
    )
    .execute(&mut *conn)
    .await?;
    delete_label(conn, user_id, from).await
}

pub async fn delete_label(conn: &mut SqliteConnection, user_id: i64, label: &str) -> sqlx::Result<u64> {
    Ok(sqlx::query!(
        "DELETE FROM user_labels WHERE user_id = ? AND label = ?",
        user_id,
        label
    )
    .execute(conn)
    .await?
    .rows_affected())
}

pub async fn stored_at(db: &SqlitePool, ids: &[i64]) -> sqlx::Result<std::collections::HashMap<i64, i64>> {
    let ids_json = serde_json::to_string(ids).map_err(|err| sqlx::Error::Encode(err.into()))?;
    Ok(sqlx::query!(
        r#"SELECT id AS "id!", created_at FROM articles WHERE id IN (SELECT value FROM json_each(?))"#,
        ids_json
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.id, r.created_at))
    .collect())
}
