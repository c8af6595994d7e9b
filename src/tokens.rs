//! Ingest tokens: creating them, and checking a presented one.
//!
//! Only SHA-256 digests are stored. A token carries 256 random bits, so a
//! plain (unsalted) digest is as strong as a password hash would be here,
//! and lets the server find a token by its digest in one indexed lookup.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::store::{self, Db};

/// Makes a new random token: 32 bytes from the OS generator, hex-encoded.
pub fn generate() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("gz_{}", hex::encode(bytes))
}

pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Creates and stores a named token, returning it (the only time it is
/// ever visible).
pub async fn create(db: &Db, name: &str) -> anyhow::Result<String> {
    let token = generate();
    let hash = hex::encode(digest(&token));
    db.writer
        .transaction(async |conn| store::tokens::insert(conn, name, &hash, store::now_unix()).await)
        .await
        .map_err(|err| match err {
            sqlx::Error::Database(db_err) if db_err.is_unique_violation() => {
                anyhow::anyhow!("a token named {name:?} already exists")
            }
            other => other.into(),
        })?;
    Ok(token)
}

/// Whether `presented` is the configured token or a stored one.
pub async fn is_valid(db: &Db, configured_hash: Option<&[u8; 32]>, presented: &str) -> sqlx::Result<bool> {
    let presented_hash = digest(presented);
    if let Some(configured) = configured_hash
        && bool::from(configured.ct_eq(&presented_hash))
    {
        return Ok(true);
    }
    store::tokens::exists(&db.reader, &hex::encode(presented_hash)).await
}

/// On a fresh install with no token at all, creates one and prints it once
/// with a ready-to-paste command, so the first article is a copy away.
pub async fn ensure_first_token(db: &Db, has_configured: bool, base_url: &str) -> anyhow::Result<()> {
    if has_configured || store::tokens::count(&db.reader).await? > 0 {
        return Ok(());
    }
    let token = create(db, "default").await?;
    tracing::info!(
        "created the first ingest token (shown only this once; stored as a hash):\n\n    {token}\n\n\
         Post a first article with:\n\n    curl -X POST {base_url}/api/v1/articles \\\n      \
         -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n      \
         -d '{{\"title\":\"Hello from Gazette\",\"section\":\"News\",\"body\":\"It works.\"}}'\n"
    );
    Ok(())
}
