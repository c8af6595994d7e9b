//! Article ids in id order, for reader apps' streams (`reading::streams`):
//! a section's ids in a range, a tag's, a reader's labels, and ingestion
//! time turned into ids.

use sqlx::{PgConnection, PgPool};

pub async fn section_ids(
    db: &PgPool,
    section_id: i64,
    (above, below): (i64, i64),
    oldest_first: bool,
    limit: i64,
) -> sqlx::Result<Vec<i64>> {
    // Both walks read only the (section_id, id) index.
    if oldest_first {
        sqlx::query_scalar!(
            r#"SELECT id AS "id!" FROM articles WHERE section_id = $1 AND id > $2 AND id < $3 ORDER BY id LIMIT $4"#,
            section_id,
            above,
            below,
            limit
        )
        .fetch_all(db)
        .await
    } else {
        sqlx::query_scalar!(
            r#"SELECT id AS "id!" FROM articles WHERE section_id = $1 AND id > $2 AND id < $3
               ORDER BY id DESC LIMIT $4"#,
            section_id,
            above,
            below,
            limit
        )
        .fetch_all(db)
        .await
    }
}

pub async fn label_ids(
    db: &PgPool,
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
               WHERE a.id > $1 AND a.id < $2 AND a.id IN
                 (SELECT article_id FROM article_tags WHERE tag_slug = $3
                  UNION SELECT article_id FROM user_labels WHERE user_id = $4 AND label = $5)
               ORDER BY a.id LIMIT $6"#,
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
               WHERE a.id > $1 AND a.id < $2 AND a.id IN
                 (SELECT article_id FROM article_tags WHERE tag_slug = $3
                  UNION SELECT article_id FROM user_labels WHERE user_id = $4 AND label = $5)
               ORDER BY a.id DESC LIMIT $6"#,
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

pub async fn first_id_stored_from(db: &PgPool, time: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        r#"SELECT id AS "id!" FROM articles WHERE created_at >= $1 ORDER BY created_at, id LIMIT 1"#,
        time
    )
    .fetch_optional(db)
    .await
}

pub async fn last_id_stored_by(db: &PgPool, time: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        r#"SELECT id AS "id!" FROM articles WHERE created_at <= $1 ORDER BY created_at DESC, id DESC LIMIT 1"#,
        time
    )
    .fetch_optional(db)
    .await
}

pub async fn tags(db: &PgPool, limit: i64) -> sqlx::Result<Vec<(String, String)>> {
    Ok(sqlx::query!(
        r#"WITH RECURSIVE t(slug) AS (
               SELECT min(tag_slug) FROM article_tags
               UNION ALL
               SELECT (SELECT min(tag_slug) FROM article_tags WHERE tag_slug > t.slug) FROM t
               WHERE t.slug IS NOT NULL
           )
           SELECT slug AS "slug!: String",
                  (SELECT tag_name FROM article_tags WHERE tag_slug = t.slug LIMIT 1) AS "name!: String"
           FROM t WHERE slug IS NOT NULL LIMIT $1"#,
        limit
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.slug, r.name))
    .collect())
}

pub async fn labels(db: &PgPool, user_id: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"SELECT DISTINCT label AS "label!" FROM user_labels WHERE user_id = $1 ORDER BY label"#,
        user_id
    )
    .fetch_all(db)
    .await
}

pub async fn labels_on(db: &PgPool, user_id: i64, ids: &[i64]) -> sqlx::Result<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query!(
        r#"SELECT article_id AS "article_id!", label AS "label!" FROM user_labels
           WHERE user_id = $1 AND article_id = ANY($2)"#,
        user_id,
        ids
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.article_id, r.label))
    .collect())
}

pub async fn add_label(conn: &mut PgConnection, user_id: i64, label: &str, article_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO user_labels (user_id, label, article_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        user_id,
        label,
        article_id
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn remove_label(conn: &mut PgConnection, user_id: i64, label: &str, article_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "DELETE FROM user_labels WHERE user_id = $1 AND label = $2 AND article_id = $3",
        user_id,
        label,
        article_id
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn rename_label(conn: &mut PgConnection, user_id: i64, from: &str, to: &str) -> sqlx::Result<u64> {
    sqlx::query!(
        "INSERT INTO user_labels (user_id, label, article_id)
         SELECT user_id, $1, article_id FROM user_labels WHERE user_id = $2 AND label = $3
         ON CONFLICT DO NOTHING",
        to,
        user_id,
        from
    )
    .execute(&mut *conn)
    .await?;
    delete_label(conn, user_id, from).await
}

pub async fn delete_label(conn: &mut PgConnection, user_id: i64, label: &str) -> sqlx::Result<u64> {
    Ok(sqlx::query!(
        "DELETE FROM user_labels WHERE user_id = $1 AND label = $2",
        user_id,
        label
    )
    .execute(conn)
    .await?
    .rows_affected())
}

pub async fn stored_at(db: &PgPool, ids: &[i64]) -> sqlx::Result<std::collections::HashMap<i64, i64>> {
    Ok(sqlx::query!(
        r#"SELECT id AS "id!", created_at FROM articles WHERE id = ANY($1)"#,
        ids
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.id, r.created_at))
    .collect())
}
