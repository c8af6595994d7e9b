//! Reading state: read horizons, per-article read and saved marks, the
//! hide-read setting, and personal API keys. The rules they encode are in
//! the migration (0008) and in `reading::Snapshot`.

use crate::store::reading::{ApiKeyRow, KeyOwner, MarkRow, SnapshotRows};

use sqlx::{SqliteConnection, SqlitePool};

use crate::store::articles::Shown;

pub async fn snapshot(db: &SqlitePool, user_id: i64) -> sqlx::Result<SnapshotRows> {
    let (version, mutes_version, hide_read, show_copies, show_muted) = sqlx::query!(
        r#"SELECT state_version, mutes_version, hide_read AS "hide!: bool", show_copies AS "copies!: bool",
                  show_muted AS "muted!: bool"
           FROM users WHERE id = ?"#,
        user_id
    )
    .fetch_optional(db)
    .await?
    .map_or((0, 0, false, false, false), |r| {
        (r.state_version, r.mutes_version, r.hide, r.copies, r.muted)
    });
    let horizons = sqlx::query!(
        r#"SELECT section_id AS "section_id!", read_through FROM read_horizons WHERE user_id = ?"#,
        user_id
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.section_id, r.read_through))
    .collect();
    let marks = sqlx::query!(
        r#"SELECT article_id AS "article_id!", read AS "read: bool", saved_at IS NOT NULL AS "saved!: bool"
           FROM article_states WHERE user_id = ? AND (read IS NOT NULL OR saved_at IS NOT NULL)"#,
        user_id
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| MarkRow {
        article_id: r.article_id,
        read: r.read,
        saved: r.saved,
    })
    .collect();
    Ok(SnapshotRows {
        version,
        mutes_version,
        hide_read,
        show_copies,
        show_muted,
        horizons,
        marks,
    })
}

pub async fn bump_mutes(conn: &mut SqliteConnection, user_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET state_version = state_version + 1, mutes_version = mutes_version + 1 WHERE id = ?",
        user_id
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn muted(db: &SqlitePool, user_id: i64, after: i64) -> sqlx::Result<Vec<(i64, i64)>> {
    Ok(sqlx::query!(
        r#"SELECT st.article_id AS "article_id!", a.section_id
           FROM article_states st JOIN articles a ON a.id = st.article_id
           WHERE st.user_id = ? AND st.article_id > ? AND st.muted_by IS NOT NULL"#,
        user_id,
        after
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.article_id, r.section_id))
    .collect())
}

pub async fn bump_version(conn: &mut SqliteConnection, user_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET state_version = state_version + 1 WHERE id = ?",
        user_id
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn read_mark(conn: &mut SqliteConnection, user_id: i64, article_id: i64) -> sqlx::Result<Option<bool>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT read AS "read: bool" FROM article_states WHERE user_id = ? AND article_id = ?"#,
        user_id,
        article_id
    )
    .fetch_optional(conn)
    .await?
    .flatten())
}

pub async fn published_section(conn: &mut SqliteConnection, article_id: i64) -> sqlx::Result<Option<i64>> {
    let until = Shown::Published.until();
    sqlx::query_scalar!(
        "SELECT section_id FROM articles WHERE id = ? AND published_at <= ?",
        article_id,
        until
    )
    .fetch_optional(conn)
    .await
}

pub async fn set_read(conn: &mut SqliteConnection, user_id: i64, article_id: i64, read: bool) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO article_states (user_id, article_id, read) VALUES (?, ?, ?)
         ON CONFLICT (user_id, article_id) DO UPDATE SET read = excluded.read",
        user_id,
        article_id,
        read
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn set_saved(
    conn: &mut SqliteConnection,
    user_id: i64,
    article_id: i64,
    saved: bool,
    now: i64,
) -> sqlx::Result<()> {
    if saved {
        sqlx::query!(
            "INSERT INTO article_states (user_id, article_id, saved_at) VALUES (?, ?, ?)
             ON CONFLICT (user_id, article_id) DO UPDATE SET saved_at = coalesce(saved_at, excluded.saved_at)",
            user_id,
            article_id,
            now
        )
        .execute(&mut *conn)
        .await?;
    } else {
        sqlx::query!(
            "UPDATE article_states SET saved_at = NULL WHERE user_id = ? AND article_id = ?",
            user_id,
            article_id
        )
        .execute(&mut *conn)
        .await?;
        // Unsaved and never marked: the row says nothing any more.
        sqlx::query!(
            "DELETE FROM article_states WHERE user_id = ? AND article_id = ? AND read IS NULL AND saved_at IS NULL AND muted_by IS NULL",
            user_id,
            article_id
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Rows that say nothing any more (neither a read mark nor saved) go.
async fn forget_empty(conn: &mut SqliteConnection, user_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "DELETE FROM article_states WHERE user_id = ? AND read IS NULL AND saved_at IS NULL AND muted_by IS NULL",
        user_id
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn last_id_stored_by(conn: &mut SqliteConnection, section_id: i64, time: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        r#"SELECT max(id) AS "id: i64" FROM articles WHERE section_id = ? AND created_at <= ?"#,
        section_id,
        time
    )
    .fetch_one(conn)
    .await
}

pub async fn mark_section_read(
    conn: &mut SqliteConnection,
    user_id: i64,
    section_id: i64,
    through_id: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO read_horizons (user_id, section_id, read_through) VALUES (?, ?, ?)
         ON CONFLICT (user_id, section_id) DO UPDATE SET read_through = max(read_through, excluded.read_through)",
        user_id,
        section_id,
        through_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE article_states SET read = NULL
         WHERE user_id = ? AND read IS NOT NULL
           AND article_id IN (SELECT id FROM articles WHERE section_id = ? AND id <= ?)",
        user_id,
        section_id,
        through_id
    )
    .execute(&mut *conn)
    .await?;
    forget_empty(conn, user_id).await
}

pub async fn section_exists(conn: &mut SqliteConnection, section_id: i64) -> sqlx::Result<bool> {
    Ok(
        sqlx::query_scalar!(r#"SELECT 1 AS "one!: i64" FROM sections WHERE id = ?"#, section_id)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

pub async fn section_ids(conn: &mut SqliteConnection) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(r#"SELECT id AS "id!" FROM sections"#)
        .fetch_all(conn)
        .await
}

pub async fn count_above(db: &SqlitePool, section_id: i64, horizon: i64, cap: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!: i64" FROM
             (SELECT 1 FROM articles WHERE section_id = ? AND id > ? LIMIT ?)"#,
        section_id,
        horizon,
        cap
    )
    .fetch_one(db)
    .await
}

pub async fn scheduled(db: &SqlitePool) -> sqlx::Result<Vec<(i64, i64)>> {
    let until = Shown::Published.until();
    Ok(sqlx::query!(
        r#"SELECT id AS "id!", section_id FROM articles WHERE published_at > ?"#,
        until
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.id, r.section_id))
    .collect())
}

pub async fn sections_of(db: &SqlitePool, ids: &[i64]) -> sqlx::Result<Vec<(i64, i64, bool)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let until = Shown::Published.until();
    let ids_json = serde_json::to_string(ids).map_err(|err| sqlx::Error::Encode(err.into()))?;
    Ok(sqlx::query!(
        r#"SELECT id AS "id!", section_id, published_at <= ? AS "published!: bool"
           FROM articles WHERE id IN (SELECT value FROM json_each(?))"#,
        until,
        ids_json
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.id, r.section_id, r.published))
    .collect())
}

pub async fn saved_ids(db: &SqlitePool, user_id: i64, before: (i64, i64), limit: u32) -> sqlx::Result<Vec<(i64, i64)>> {
    let until = Shown::Published.until();
    let limit = i64::from(limit);
    Ok(sqlx::query!(
        r#"SELECT st.article_id AS "article_id!", st.saved_at AS "saved_at!"
           FROM article_states st JOIN articles a ON a.id = st.article_id
           WHERE st.user_id = ? AND st.saved_at IS NOT NULL AND (st.saved_at, st.article_id) < (?, ?)
             AND a.published_at <= ?
           ORDER BY st.saved_at DESC, st.article_id DESC
           LIMIT ?"#,
        user_id,
        before.0,
        before.1,
        until,
        limit
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.article_id, r.saved_at))
    .collect())
}

pub async fn set_settings(
    conn: &mut SqliteConnection,
    user_id: i64,
    hide_read: bool,
    show_copies: bool,
    show_muted: bool,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET hide_read = ?, show_copies = ?, show_muted = ? WHERE id = ?",
        hide_read,
        show_copies,
        show_muted,
        user_id
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn shows_copies(conn: &mut SqliteConnection, user_id: i64) -> sqlx::Result<bool> {
    let shows = sqlx::query_scalar!(r#"SELECT show_copies AS "s!: bool" FROM users WHERE id = ?"#, user_id)
        .fetch_optional(conn)
        .await?;
    Ok(shows.unwrap_or(false))
}

pub async fn insert_api_key(
    conn: &mut SqliteConnection,
    user_id: i64,
    name: &str,
    key_hash: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO api_keys (user_id, name, key_hash, created_at) VALUES (?, ?, ?, ?)",
        user_id,
        name,
        key_hash,
        now
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn api_keys(db: &SqlitePool, user_id: i64) -> sqlx::Result<Vec<ApiKeyRow>> {
    sqlx::query_as!(
        ApiKeyRow,
        r#"SELECT id AS "id!", name, created_at, last_used_at FROM api_keys WHERE user_id = ? ORDER BY id"#,
        user_id
    )
    .fetch_all(db)
    .await
}

pub async fn delete_api_key(conn: &mut SqliteConnection, user_id: i64, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!("DELETE FROM api_keys WHERE id = ? AND user_id = ?", id, user_id)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(done == 1)
}

pub async fn api_key_owner(db: &SqlitePool, key_hash: &str) -> sqlx::Result<Option<KeyOwner>> {
    sqlx::query_as!(
        KeyOwner,
        r#"SELECT k.id AS "key_id!", k.last_used_at, u.id AS "user_id!", u.name, u.role, u.state_version
           FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?"#,
        key_hash
    )
    .fetch_optional(db)
    .await
}

pub async fn touch_api_key(conn: &mut SqliteConnection, key_id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query!("UPDATE api_keys SET last_used_at = ? WHERE id = ?", now, key_id)
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn newest_id(db: &SqlitePool, section_id: Option<i64>) -> sqlx::Result<Option<i64>> {
    let until = Shown::Published.until();
    match section_id {
        Some(section_id) => {
            sqlx::query_scalar!(
                r#"SELECT max(id) AS "id: i64" FROM articles WHERE section_id = ? AND published_at <= ?"#,
                section_id,
                until
            )
            .fetch_one(db)
            .await
        }
        None => {
            sqlx::query_scalar!(
                r#"SELECT max(id) AS "id: i64" FROM articles WHERE published_at <= ?"#,
                until
            )
            .fetch_one(db)
            .await
        }
    }
}
