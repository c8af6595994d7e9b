//! Feed subscriptions and their polling state.

use crate::store::feeds::{Feed, FeedSettings, NewFeed, PollRecord};

use sqlx::{SqliteConnection, SqlitePool};

pub async fn insert(conn: &mut SqliteConnection, feed: &NewFeed<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"INSERT INTO feeds (url, section, title, interval_secs, created_at, next_fetch_at, full_content, extraction)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id AS "id!""#,
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

pub async fn list(db: &SqlitePool) -> sqlx::Result<Vec<Feed>> {
    sqlx::query_as!(
        Feed,
        r#"SELECT id AS "id!", url, section, title, interval_secs, etag, last_modified, created_at, last_fetch_at,
                  last_success_at, next_fetch_at, error_count, last_error, articles_ingested, entries_filtered,
                  full_content AS "full_content: bool", extraction
           FROM feeds ORDER BY id"#
    )
    .fetch_all(db)
    .await
}

pub async fn get(db: &SqlitePool, id: i64) -> sqlx::Result<Option<Feed>> {
    sqlx::query_as!(
        Feed,
        r#"SELECT id AS "id!", url, section, title, interval_secs, etag, last_modified, created_at, last_fetch_at,
                  last_success_at, next_fetch_at, error_count, last_error, articles_ingested, entries_filtered,
                  full_content AS "full_content: bool", extraction
           FROM feeds WHERE id = ?"#,
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn claim_due(conn: &mut SqliteConnection, now: i64, limit: i64, _lease: i64) -> sqlx::Result<Vec<Feed>> {
    sqlx::query_as!(
        Feed,
        r#"SELECT id AS "id!", url, section, title, interval_secs, etag, last_modified, created_at, last_fetch_at,
                  last_success_at, next_fetch_at, error_count, last_error, articles_ingested, entries_filtered,
                  full_content AS "full_content: bool", extraction
           FROM feeds WHERE next_fetch_at <= ? ORDER BY next_fetch_at LIMIT ?"#,
        now,
        limit
    )
    .fetch_all(conn)
    .await
}

pub async fn next_due_at(db: &SqlitePool) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(r#"SELECT MIN(next_fetch_at) AS "at: i64" FROM feeds"#)
        .fetch_one(db)
        .await
}

pub async fn update_settings(conn: &mut SqliteConnection, id: i64, settings: &FeedSettings<'_>) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE feeds SET section = ?, title = ?, interval_secs = ?, full_content = ?, extraction = ? WHERE id = ?",
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

pub async fn delete(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<bool> {
    Ok(sqlx::query!("DELETE FROM feeds WHERE id = ?", id)
        .execute(conn)
        .await?
        .rows_affected()
        > 0)
}

pub async fn record_poll(conn: &mut SqliteConnection, poll: &PollRecord<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        r#"UPDATE feeds SET
               last_fetch_at = ?1,
               last_success_at = CASE WHEN ?2 THEN ?1 ELSE last_success_at END,
               next_fetch_at = ?3,
               error_count = CASE WHEN ?2 THEN 0 ELSE error_count + 1 END,
               last_error = CASE WHEN ?2 THEN NULL ELSE ?4 END,
               etag = CASE WHEN ?2 THEN COALESCE(?5, etag) ELSE etag END,
               last_modified = CASE WHEN ?2 THEN COALESCE(?6, last_modified) ELSE last_modified END,
               url = COALESCE(?7, url),
               title = COALESCE(title, ?8),
               articles_ingested = articles_ingested + ?9,
               entries_filtered = entries_filtered + ?11
           WHERE id = ?10"#,
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
