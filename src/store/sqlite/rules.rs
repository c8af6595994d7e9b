//! Site rules, in SQLite's dialect.

use sqlx::{SqliteConnection, SqlitePool};

use crate::store::rules::RuleRow;

pub async fn list(db: &SqlitePool) -> sqlx::Result<Vec<RuleRow>> {
    sqlx::query_as!(
        RuleRow,
        r#"SELECT id AS "id!", name, spec, matched, last_matched_at, created_at, updated_at
           FROM site_rules ORDER BY id"#
    )
    .fetch_all(db)
    .await
}

pub async fn get(db: &SqlitePool, id: i64) -> sqlx::Result<Option<RuleRow>> {
    sqlx::query_as!(
        RuleRow,
        r#"SELECT id AS "id!", name, spec, matched, last_matched_at, created_at, updated_at
           FROM site_rules WHERE id = ?"#,
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn count(conn: &mut SqliteConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT COUNT(*) AS "n!: i64" FROM site_rules"#)
        .fetch_one(conn)
        .await
}

pub async fn insert(conn: &mut SqliteConnection, name: &str, spec: &str, now: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"INSERT INTO site_rules (name, spec, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
           RETURNING id AS "id!: i64""#,
        name,
        spec,
        now
    )
    .fetch_one(conn)
    .await
}

pub async fn update(conn: &mut SqliteConnection, id: i64, name: &str, spec: &str, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE site_rules SET name = ?, spec = ?, updated_at = ? WHERE id = ?",
        name,
        spec,
        now,
        id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn delete(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!("DELETE FROM site_rules WHERE id = ?", id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn count_matches(conn: &mut SqliteConnection, counts: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE site_rules
         SET matched = matched + (SELECT SUM(value ->> 1) FROM json_each(?1) WHERE value ->> 0 = site_rules.id),
             last_matched_at = ?2
         WHERE id IN (SELECT value ->> 0 FROM json_each(?1))",
        counts,
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}
