//! Personal API keys: how a script or an app reaches its owner's reading
//! state (/api/v1/me) without a browser session. Like ingest tokens, a key
//! carries 256 random bits and only its SHA-256 digest is stored.

use crate::accounts::{Role, User};
use crate::error::AppError;
use crate::store::{self, Db};

/// A key's name is for its owner to tell keys apart.
const MAX_NAME_CHARS: usize = 64;
/// How stale `last_used_at` may get: a write per request would be a write
/// per request.
const TOUCH_AFTER_SECS: i64 = 300;

/// Creates a key for a user and returns it: the only time it is visible.
pub async fn create(db: &Db, user_id: i64, name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::invalid(
            "name",
            format!("a key's name must have 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    let key = format!("gzk_{}", hex::encode(rand::random::<[u8; 32]>()));
    let hash = hex::encode(crate::tokens::digest(&key));
    db.writer
        .transaction(async |conn| store::reading::insert_api_key(conn, user_id, name, &hash, store::now_unix()).await)
        .await?;
    Ok(key)
}

/// Revokes one of a user's keys; NotFound if they have no such one.
pub async fn revoke(db: &Db, user_id: i64, id: i64) -> Result<(), AppError> {
    let removed = db
        .writer
        .transaction(async |conn| store::reading::delete_api_key(conn, user_id, id).await)
        .await?;
    if removed {
        Ok(())
    } else {
        Err(AppError::NotFound("key"))
    }
}

/// The user a presented key belongs to, and their state's version. The lookup is by digest, so the
/// secret itself is never compared byte by byte.
pub async fn owner(db: &Db, presented: &str) -> Result<Option<(User, i64)>, AppError> {
    let hash = hex::encode(crate::tokens::digest(presented));
    let Some(found) = store::reading::api_key_owner(&db.reader, &hash).await? else {
        return Ok(None);
    };
    let now = store::now_unix();
    if found.last_used_at.is_none_or(|at| now - at > TOUCH_AFTER_SECS) {
        db.writer
            .transaction(async |conn| store::reading::touch_api_key(conn, found.key_id, now).await)
            .await?;
    }
    let user = User {
        id: found.user_id,
        name: found.name,
        role: Role::from_stored(&found.role),
    };
    Ok(Some((user, found.state_version)))
}
