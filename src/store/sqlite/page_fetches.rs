//! The queue of article pages to fetch.

use sqlx::{SqliteConnection, SqlitePool};

use crate::store::page_fetches::{Attempt, PageFetch, PageJob, PageRequest};

pub async fn request(
    conn: &mut SqliteConnection,
    page: &PageRequest,
    feed_id: Option<i64>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"INSERT INTO page_fetches (article_id, url, feed_id, state, attempts, requested_at, next_attempt_at,
                                     fill_title, fill_date)
           VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4, ?5, ?6)
           ON CONFLICT (article_id) DO UPDATE SET url = excluded.url, feed_id = COALESCE(excluded.feed_id, feed_id),
               state = 'pending', reason = NULL, attempts = 0, requested_at = excluded.requested_at,
               next_attempt_at = excluded.next_attempt_at,
               fill_title = fill_title OR excluded.fill_title, fill_date = fill_date OR excluded.fill_date"#,
        page.article_id,
        page.url,
        feed_id,
        now,
        page.fill_title,
        page.fill_date
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn due(db: &SqlitePool, now: i64, limit: i64) -> sqlx::Result<Vec<PageJob>> {
    sqlx::query_as!(
        PageJob,
        r#"SELECT article_id AS "article_id!", url, feed_id, attempts, fill_title AS "fill_title: bool",
                  fill_date AS "fill_date: bool" FROM page_fetches
           WHERE next_attempt_at <= ?1 AND (claimed_until IS NULL OR claimed_until <= ?1)
           ORDER BY next_attempt_at LIMIT ?2"#,
        now,
        limit
    )
    .fetch_all(db)
    .await
}

pub async fn claim(
    conn: &mut SqliteConnection,
    article_id: i64,
    now: i64,
    lease: i64,
) -> sqlx::Result<Option<PageJob>> {
    sqlx::query_as!(
        PageJob,
        r#"UPDATE page_fetches SET claimed_until = ?2 + ?3
           WHERE article_id = ?1 AND next_attempt_at <= ?2 AND (claimed_until IS NULL OR claimed_until <= ?2)
           RETURNING article_id AS "article_id!", url, feed_id, attempts, fill_title AS "fill_title: bool",
                     fill_date AS "fill_date: bool""#,
        article_id,
        now,
        lease
    )
    .fetch_optional(conn)
    .await
}

pub async fn record(conn: &mut SqliteConnection, attempt: &Attempt<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        r#"UPDATE page_fetches SET state = ?2, reason = ?3, attempts = attempts + 1, next_attempt_at = ?4,
               claimed_until = NULL, fetched_at = ?5
           WHERE article_id = ?1"#,
        attempt.article_id,
        attempt.state,
        attempt.reason,
        attempt.next_attempt_at,
        attempt.now
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn get(db: &SqlitePool, article_id: i64) -> sqlx::Result<Option<PageFetch>> {
    sqlx::query_as!(
        PageFetch,
        r#"SELECT article_id AS "article_id!", state, reason, attempts, next_attempt_at, fetched_at
           FROM page_fetches WHERE article_id = ?"#,
        article_id
    )
    .fetch_optional(db)
    .await
}

pub async fn next_due_at(db: &SqlitePool) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(r#"SELECT MIN(next_attempt_at) AS "at: i64" FROM page_fetches"#)
        .fetch_one(db)
        .await
}
