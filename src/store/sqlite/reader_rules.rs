//! Reader rules, in SQLite's dialect.

use sqlx::{SqliteConnection, SqlitePool};

use crate::store::reader_rules::{OwnedRule, Subject};
use crate::store::rules::RuleRow;

fn json(ids: &[i64]) -> sqlx::Result<String> {
    serde_json::to_string(ids).map_err(|err| sqlx::Error::Encode(err.into()))
}

pub async fn list(db: &SqlitePool, user_id: i64) -> sqlx::Result<Vec<RuleRow>> {
    sqlx::query_as!(
        RuleRow,
        r#"SELECT id AS "id!", name, spec, matched, last_matched_at, created_at, updated_at
           FROM reader_rules WHERE user_id = ? ORDER BY id"#,
        user_id
    )
    .fetch_all(db)
    .await
}

pub async fn everyone(db: &SqlitePool) -> sqlx::Result<Vec<OwnedRule>> {
    sqlx::query_as!(
        OwnedRule,
        r#"SELECT id AS "id!", user_id, spec FROM reader_rules ORDER BY user_id, id"#
    )
    .fetch_all(db)
    .await
}

pub async fn get(db: &SqlitePool, user_id: i64, id: i64) -> sqlx::Result<Option<RuleRow>> {
    sqlx::query_as!(
        RuleRow,
        r#"SELECT id AS "id!", name, spec, matched, last_matched_at, created_at, updated_at
           FROM reader_rules WHERE user_id = ? AND id = ?"#,
        user_id,
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn count(conn: &mut SqliteConnection, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM reader_rules WHERE user_id = ?"#,
        user_id
    )
    .fetch_one(conn)
    .await
}

pub async fn insert(conn: &mut SqliteConnection, user_id: i64, name: &str, spec: &str, now: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"INSERT INTO reader_rules (user_id, name, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
           RETURNING id AS "id!""#,
        user_id,
        name,
        spec,
        now,
        now
    )
    .fetch_one(conn)
    .await
}

pub async fn update(
    conn: &mut SqliteConnection,
    user_id: i64,
    id: i64,
    name: &str,
    spec: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE reader_rules SET name = ?, spec = ?, updated_at = ? WHERE user_id = ? AND id = ?",
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

pub async fn delete(conn: &mut SqliteConnection, user_id: i64, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!("DELETE FROM reader_rules WHERE user_id = ? AND id = ?", user_id, id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn unmute(conn: &mut SqliteConnection, user_id: i64, rule_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE article_states SET muted_by = NULL WHERE user_id = ? AND muted_by = ?",
        user_id,
        rule_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM article_states WHERE user_id = ? AND read IS NULL AND saved_at IS NULL AND muted_by IS NULL",
        user_id
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn mute(conn: &mut SqliteConnection, user_id: i64, rule_id: i64, article_ids: &[i64]) -> sqlx::Result<()> {
    if article_ids.is_empty() {
        return Ok(());
    }
    let ids = json(article_ids)?;
    sqlx::query!(
        "INSERT INTO article_states (user_id, article_id, muted_by)
         SELECT ?, a.id, ? FROM articles a WHERE a.id IN (SELECT value FROM json_each(?))
         ON CONFLICT (user_id, article_id) DO UPDATE SET muted_by = coalesce(muted_by, excluded.muted_by)",
        user_id,
        rule_id,
        ids
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn add_matches(conn: &mut SqliteConnection, rule_id: i64, n: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE reader_rules SET matched = matched + ?, last_matched_at = ? WHERE id = ?",
        n,
        now,
        rule_id
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn subjects(db: &SqlitePool, ids: &[i64]) -> sqlx::Result<Vec<Subject>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = json(ids)?;
    sqlx::query_as!(
        Subject,
        r#"SELECT a.id AS "id!", a.section_id, s.slug AS section_slug, a.title, a.summary, a.author, a.source,
                  a.url, a.tags, a.external_id
           FROM articles a JOIN sections s ON s.id = a.section_id
           WHERE a.id IN (SELECT value FROM json_each(?))
           ORDER BY a.id"#,
        ids
    )
    .fetch_all(db)
    .await
}

pub async fn section_ids(db: &SqlitePool, slugs: &[String]) -> sqlx::Result<Vec<i64>> {
    if slugs.is_empty() {
        return Ok(Vec::new());
    }
    let slugs = serde_json::to_string(slugs).map_err(|err| sqlx::Error::Encode(err.into()))?;
    sqlx::query_scalar!(
        r#"SELECT id AS "id!" FROM sections WHERE slug IN (SELECT value FROM json_each(?))"#,
        slugs
    )
    .fetch_all(db)
    .await
}
