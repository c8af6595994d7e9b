//! Feed subscriptions and their polling state.

use crate::store::feeds::{Feed, FeedSettings, NewFeed, PollRecord};

use sqlx::{PgConnection, PgPool};

pub async fn insert(conn: &mut PgConnection, feed: &NewFeed<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"INSERT INTO feeds (url, section, title, interval_secs, created_at, next_fetch_at, full_content, extraction)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id AS "id!""#,
        feed.url,
        feed.section,
        feed.title,
        feed.interval_secs,
        feed.now,
        feed.first_fetch_at,
        feed.full_content,
        feed.extraction
    )
    .fetch_one(conn)
    .await
}

pub async fn list(db: &PgPool) -> sqlx::Result<Vec<Feed>> {
    sqlx::query_as!(
        Feed,
        r#"SELECT id AS "id!", url, section, title, interval_secs, etag, last_modified, created_at, last_fetch_at,
                  last_success_at, next_fetch_at, error_count, last_error, articles_ingested, entries_filtered,
                     full_content, extraction
           FROM feeds ORDER BY id ASC"#
    )
    .fetch_all(db)
    .await
}

pub async fn get(db: &PgPool, id: i64) -> sqlx::Result<Option<Feed>> {
    sqlx::query_as!(
        Feed,
        r#"SELECT id AS "id!", url, section, title, interval_secs, etag, last_modified, created_at, last_fetch_at,
                  last_success_at, next_fetch_at, error_count, last_error, articles_ingested, entries_filtered,
                     full_content, extraction
           FROM feeds WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn claim_due(conn: &mut PgConnection, now: i64, limit: i64, lease: i64) -> sqlx::Result<Vec<Feed>> {
    // SKIP LOCKED: a feed another instance is claiming right now is its.
    let mut feeds = sqlx::query_as!(
        Feed,
        r#"UPDATE feeds SET claimed_until = $1 + $3
           WHERE id IN (SELECT id FROM feeds
                        WHERE next_fetch_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
                        ORDER BY next_fetch_at LIMIT $2
                        FOR UPDATE SKIP LOCKED)
           RETURNING id AS "id!", url, section, title, interval_secs, etag, last_modified, created_at, last_fetch_at,
                     last_success_at, next_fetch_at, error_count, last_error, articles_ingested, entries_filtered,
                     full_content, extraction"#,
        now,
        limit,
        lease
    )
    .fetch_all(conn)
    .await?;
    feeds.sort_by_key(|feed| (feed.next_fetch_at, feed.id));
    Ok(feeds)
}

pub async fn next_due_at(db: &PgPool) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(r#"SELECT min(next_fetch_at) AS "at" FROM feeds"#)
        .fetch_one(db)
        .await
}

pub async fn update_settings(conn: &mut PgConnection, id: i64, settings: &FeedSettings<'_>) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE feeds SET section = $1, title = $2, interval_secs = $3, full_content = $4, extraction = $5 WHERE id = $6",
        settings.section,
        settings.title,
        settings.interval_secs,
        settings.full_content,
        settings.extraction,
        id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn delete(conn: &mut PgConnection, id: i64) -> sqlx::Result<bool> {
    Ok(sqlx::query!("DELETE FROM feeds WHERE id = $1", id)
        .execute(conn)
        .await?
        .rows_affected()
        > 0)
}

pub async fn record_poll(conn: &mut PgConnection, poll: &PollRecord<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        r#"UPDATE feeds SET
               last_fetch_at = $1,
               last_success_at = CASE WHEN $2 THEN $1 ELSE last_success_at END,
               next_fetch_at = $3,
               error_count = CASE WHEN $2 THEN 0 ELSE error_count + 1 END,
               last_error = CASE WHEN $2 THEN NULL ELSE $4 END,
               etag = CASE WHEN $2 THEN COALESCE($5, etag) ELSE etag END,
               last_modified = CASE WHEN $2 THEN COALESCE($6, last_modified) ELSE last_modified END,
               url = COALESCE($7, url),
               title = COALESCE(title, $8),
               articles_ingested = articles_ingested + $9,
               entries_filtered = entries_filtered + $11,
               claimed_until = NULL
           WHERE id = $10"#,
        poll.now,
        poll.success,
        poll.next_fetch_at,
        poll.error,
        poll.etag,
        poll.last_modified,
        poll.moved_to,
        poll.title,
        poll.ingested,
        poll.id,
        poll.filtered
    )
    .execute(conn)
    .await
    .map(|_| ())
}
