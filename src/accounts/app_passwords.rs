//! App passwords: what a person types into a reader app (Google Reader or
//! Fever protocol) instead of their account's password. One per app, made
//! on the account page or with `gazette user app-password NAME`, shown
//! once, revocable on its own; revoking one signs that app out at once.

use md5::{Digest as _, Md5};
use subtle::ConstantTimeEq;

use crate::accounts::{Role, User};
use crate::error::AppError;
use crate::store::app_passwords::{Digests, Owner, Presented};
use crate::store::{self, Db};
use crate::tokens::digest;

const MAX_NAME_CHARS: usize = 64;
/// How stale `last_used_at` may get (a write per sync request is too many).
const TOUCH_AFTER_SECS: i64 = 300;
/// Letters and digits that cannot be mistaken for one another when typed
/// from a screen into a phone: no 0 or o, no 1 or l.
const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
const GROUPS: usize = 6;
const GROUP_CHARS: usize = 4;

/// An app password as its owner sees it listed.
pub struct Listed {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// The account an app's credential belongs to, with its state's version.
pub struct AppUser {
    pub user: User,
    pub state_version: i64,
}

fn generate() -> String {
    let bytes: [u8; GROUPS * GROUP_CHARS] = rand::random();
    // 5 bits of each random byte: 24 characters carry 120 bits.
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect();
    chars
        .chunks(GROUP_CHARS)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The Google Reader auth token of an app password: derived, so signing
/// in again gives the app the same token, and revoking the password ends it.
pub fn greader_token(password: &str) -> String {
    hex::encode(digest(&format!("greader-auth:{password}")))
}

/// The write token (`T`) that goes with an auth token.
pub fn greader_write_token(auth_token: &str) -> String {
    hex::encode(&digest(&format!("greader-write:{auth_token}"))[..20])
}

/// Fever's api_key for an account name and app password, as the protocol
/// defines it: md5("name:password"), in lowercase hex.
pub fn fever_key(name: &str, password: &str) -> String {
    hex::encode(Md5::digest(format!("{name}:{password}").as_bytes()))
}

/// Makes an app password for a user and returns it: the only time it is
/// visible.
pub async fn create(db: &Db, user: &User, name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::invalid(
            "name",
            format!("an app password's name must have 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    let password = generate();
    let password_hash = hex::encode(digest(&password));
    let auth_hash = hex::encode(digest(&greader_token(&password)));
    let fever_hash = hex::encode(digest(&fever_key(&user.name, &password)));
    let digests = Digests {
        password: &password_hash,
        auth: &auth_hash,
        fever: &fever_hash,
    };
    db.writer
        .transaction(async |conn| store::app_passwords::insert(conn, user.id, name, &digests, store::now_unix()).await)
        .await?;
    Ok(password)
}

pub async fn list(db: &Db, user_id: i64) -> Result<Vec<Listed>, AppError> {
    Ok(store::app_passwords::list(&db.reader, user_id)
        .await?
        .into_iter()
        .map(|r| Listed {
            id: r.id,
            name: r.name,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        })
        .collect())
}

/// Revokes one of a user's app passwords; NotFound if they have no such one.
pub async fn revoke(db: &Db, user_id: i64, id: i64) -> Result<(), AppError> {
    let removed = db
        .writer
        .transaction(async |conn| store::app_passwords::delete(conn, user_id, id).await)
        .await?;
    if removed {
        Ok(())
    } else {
        Err(AppError::NotFound("app password"))
    }
}

/// Google Reader's ClientLogin: the account name and one of its app
/// passwords. The account's own password is never accepted here.
pub async fn sign_in(db: &Db, name: &str, password: &str) -> Result<Option<AppUser>, AppError> {
    let found = find(db, Presented::Password, password).await?;
    // The digest found the row; the name must match too, compared in
    // constant time like every other part of a credential.
    Ok(found.filter(|app| bool::from(app.user.name.as_bytes().ct_eq(name.trim().as_bytes()))))
}

/// The account behind a Google Reader auth token.
pub async fn by_greader_token(db: &Db, token: &str) -> Result<Option<AppUser>, AppError> {
    find(db, Presented::AuthToken, token).await
}

/// The account behind a Fever api_key (hex, any case).
pub async fn by_fever_key(db: &Db, key: &str) -> Result<Option<AppUser>, AppError> {
    find(db, Presented::FeverKey, &key.trim().to_ascii_lowercase()).await
}

/// Looks a credential up by its digest: the secret is never compared byte
/// by byte, so its timing tells nothing of it.
async fn find(db: &Db, by: Presented, secret: &str) -> Result<Option<AppUser>, AppError> {
    if secret.is_empty() {
        return Ok(None);
    }
    let Some(owner) = store::app_passwords::owner(&db.reader, by, &hex::encode(digest(secret))).await? else {
        return Ok(None);
    };
    touch(db, &owner).await?;
    Ok(Some(AppUser {
        state_version: owner.state_version,
        user: User {
            id: owner.user_id,
            name: owner.name,
            role: Role::from_stored(&owner.role),
        },
    }))
}

async fn touch(db: &Db, owner: &Owner) -> Result<(), AppError> {
    let now = store::now_unix();
    if owner.last_used_at.is_none_or(|at| now - at > TOUCH_AFTER_SECS) {
        let id = owner.app_id;
        db.writer
            .transaction(async |conn| store::app_passwords::touch(conn, id, now).await)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_and_easy_to_type() {
        let password = generate();
        assert_eq!(password.len(), GROUPS * GROUP_CHARS + GROUPS - 1);
        assert!(password.chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
        assert_ne!(password, generate());
    }

    #[test]
    fn the_fever_key_is_the_protocols() {
        // md5("reader:secret"), computed independently.
        assert_eq!(fever_key("reader", "secret"), "d86e2552797d076a6178f7b038ad6b69");
    }
}
