//! Site rules, in PostgreSQL's dialect.

use sqlx::{PgConnection, PgPool};

use crate::store::rules::RuleRow;

pub async fn list(db: &PgPool) -> sqlx::Result<Vec<RuleRow>> {
    sqlx::query_as!(
        RuleRow,
        "SELECT id, name, spec, matched, last_matched_at, created_at, updated_at FROM site_rules ORDER BY id"
    )
    .fetch_all(db)
    .await
}

pub async fn get(db: &PgPool, id: i64) -> sqlx::Result<Option<RuleRow>> {
    sqlx::query_as!(
        RuleRow,
        "SELECT id, name, spec, matched, last_matched_at, created_at, updated_at FROM site_rules WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn count(conn: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT COUNT(*) AS "n!" FROM site_rules"#)
        .fetch_one(conn)
        .await
}

pub async fn insert(conn: &mut PgConnection, name: &str, spec: &str, now: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO site_rules (name, spec, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id",
        name,
        spec,
        now
    )
    .fetch_one(conn)
    .await
}

pub async fn update(conn: &mut PgConnection, id: i64, name: &str, spec: &str, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE site_rules SET name = $1, spec = $2, updated_at = $3 WHERE id = $4",
        name,
        spec,
        now,
        id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn delete(conn: &mut PgConnection, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!("DELETE FROM site_rules WHERE id = $1", id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn count_matches(conn: &mut PgConnection, counts: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE site_rules SET matched = matched + c.n, last_matched_at = $2
         FROM (SELECT (v ->> 0)::bigint AS id, SUM((v ->> 1)::bigint)::bigint AS n
               FROM jsonb_array_elements($1::jsonb) AS d(v) GROUP BY 1) c
         WHERE site_rules.id = c.id",
        counts as &str,
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}
