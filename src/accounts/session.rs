//! Sessions: a signed-in browser. Its cookie carries 256 random bits; the
//! database keeps their digest, the user, and the session's CSRF token.
//! Sessions end after a week without use, or a month in all, whichever
//! comes first; a new one is made at every sign-in (never reused from
//! before it, so a planted cookie signs nobody in).

use sha2::{Digest, Sha256};

use super::{Role, User};
use crate::error::AppError;
use crate::store::{self, Db};

pub const IDLE_SECS: i64 = 7 * 24 * 3600;
pub const ABSOLUTE_SECS: i64 = 30 * 24 * 3600;
/// How stale `last_seen_at` may get before a request records it: a write
/// per page view would be a write per page view.
const TOUCH_AFTER_SECS: i64 = 300;

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    /// Every form this session posts must carry it.
    pub csrf_token: String,
    /// How new the user's reading state is (see `reading::Reading`).
    pub state_version: i64,
    id_hash: String,
}

/// What a new session hands the browser: its cookie value, once.
pub struct Started {
    pub cookie_value: String,
}

fn digest(cookie_value: &str) -> String {
    hex::encode(Sha256::digest(cookie_value.as_bytes()))
}

pub async fn start(db: &Db, user: &User) -> Result<Started, AppError> {
    let cookie_value = hex::encode(rand::random::<[u8; 32]>());
    let csrf_token = hex::encode(rand::random::<[u8; 32]>());
    let id_hash = digest(&cookie_value);
    db.writer
        .transaction(async |conn| {
            store::users::insert_session(conn, &id_hash, user.id, &csrf_token, store::now_unix()).await
        })
        .await?;
    db.accounts_changed();
    Ok(Started { cookie_value })
}

/// The live session a cookie names, if any; an expired one is removed.
pub async fn find(db: &Db, cookie_value: &str) -> Result<Option<Session>, AppError> {
    let id_hash = digest(cookie_value);
    let generation = db.accounts_generation();
    let row = match db.sessions.get(&id_hash, generation) {
        Some(row) => row,
        None => {
            let row = store::users::session(&db.reader, &id_hash).await?;
            db.sessions.put(&id_hash, generation, row.clone());
            row
        }
    };
    let Some(row) = row else {
        return Ok(None);
    };
    let now = store::now_unix();
    if now - row.last_seen_at > IDLE_SECS || now - row.created_at > ABSOLUTE_SECS {
        db.writer
            .transaction(async |conn| store::users::delete_session(conn, &id_hash).await)
            .await?;
        db.accounts_changed();
        return Ok(None);
    }
    if now - row.last_seen_at > TOUCH_AFTER_SECS {
        db.writer
            .transaction(async |conn| store::users::touch_session(conn, &id_hash, now).await)
            .await?;
        db.accounts_changed();
    }
    Ok(Some(Session {
        user: User {
            id: row.user_id,
            name: row.name,
            role: Role::from_stored(&row.role),
        },
        csrf_token: row.csrf_token,
        state_version: row.state_version,
        id_hash,
    }))
}

/// Signs this browser out.
pub async fn end(db: &Db, session: &Session) -> Result<(), AppError> {
    db.writer
        .transaction(async |conn| store::users::delete_session(conn, &session.id_hash).await)
        .await?;
    db.accounts_changed();
    Ok(())
}

/// Signs every browser of the user out.
pub async fn end_all(db: &Db, user_id: i64) -> Result<(), AppError> {
    db.writer
        .transaction(async |conn| store::users::delete_sessions_of(conn, user_id).await)
        .await?;
    db.accounts_changed();
    Ok(())
}
