//! Reader rules, in PostgreSQL's dialect.

use sqlx::{PgConnection, PgPool};

use crate::store::reader_rules::{OwnedRule, Subject};
use crate::store::rules::RuleRow;

pub async fn list(db: &PgPool, user_id: i64) -> sqlx::Result<Vec<RuleRow>> {
    sqlx::query_as!(
        RuleRow,
        "SELECT id, name, spec, matched, last_matched_at, created_at, updated_at
         FROM reader_rules WHERE user_id = $1 ORDER BY id",
        user_id
    )
    .fetch_all(db)
    .await
}

pub async fn everyone(db: &PgPool) -> sqlx::Result<Vec<OwnedRule>> {
    sqlx::query_as!(
        OwnedRule,
        "SELECT id, user_id, spec FROM reader_rules ORDER BY user_id, id"
    )
    .fetch_all(db)
    .await
}

pub async fn get(db: &PgPool, user_id: i64, id: i64) -> sqlx::Result<Option<RuleRow>> {
    sqlx::query_as!(
        RuleRow,
        "SELECT id, name, spec, matched, last_matched_at, created_at, updated_at
         FROM reader_rules WHERE user_id = $1 AND id = $2",
        user_id,
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn count(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!" FROM reader_rules WHERE user_id = $1"#,
        user_id
    )
    .fetch_one(conn)
    .await
}

pub async fn insert(conn: &mut PgConnection, user_id: i64, name: &str, spec: &str, now: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO reader_rules (user_id, name, spec, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
         RETURNING id",
        user_id,
        name,
        spec,
        now
    )
    .fetch_one(conn)
    .await
}

pub async fn update(
    conn: &mut PgConnection,
    user_id: i64,
    id: i64,
    name: &str,
    spec: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE reader_rules SET name = $1, spec = $2, updated_at = $3 WHERE user_id = $4 AND id = $5",
        name,
        spec,
        now,
        user_id,
        id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn delete(conn: &mut PgConnection, user_id: i64, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!("DELETE FROM reader_rules WHERE user_id = $1 AND id = $2", user_id, id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn unmute(conn: &mut PgConnection, user_id: i64, rule_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE article_states SET muted_by = NULL WHERE user_id = $1 AND muted_by = $2",
        user_id,
        rule_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM article_states WHERE user_id = $1 AND read IS NULL AND saved_at IS NULL AND muted_by IS NULL",
        user_id
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn mute(conn: &mut PgConnection, user_id: i64, rule_id: i64, article_ids: &[i64]) -> sqlx::Result<()> {
    if article_ids.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "INSERT INTO article_states (user_id, article_id, muted_by)
         SELECT $1, a.id, $2 FROM articles a WHERE a.id = ANY($3)
         ON CONFLICT (user_id, article_id) DO UPDATE SET muted_by = coalesce(article_states.muted_by, excluded.muted_by)",
        user_id,
        rule_id,
        article_ids
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn add_matches(conn: &mut PgConnection, rule_id: i64, n: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE reader_rules SET matched = matched + $1, last_matched_at = $2 WHERE id = $3",
        n,
        now,
        rule_id
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn subjects(db: &PgPool, ids: &[i64]) -> sqlx::Result<Vec<Subject>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as!(
        Subject,
        "SELECT a.id, a.section_id, s.slug AS section_slug, a.title, a.summary, a.author, a.source,
                a.url, a.tags, a.external_id
         FROM articles a JOIN sections s ON s.id = a.section_id
         WHERE a.id = ANY($1)
         ORDER BY a.id",
        ids
    )
    .fetch_all(db)
    .await
}

pub async fn section_ids(db: &PgPool, slugs: &[String]) -> sqlx::Result<Vec<i64>> {
    if slugs.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar!("SELECT id FROM sections WHERE slug = ANY($1)", slugs)
        .fetch_all(db)
        .await
}
