//! Password hashing: Argon2id (the `argon2` crate's defaults, RFC 9106's
//! second recommended parameters: 19 MiB, 2 passes), on a blocking thread
//! so a sign-in never stalls the server's other requests.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::AppError;

pub const MIN_CHARS: usize = 10;
/// Hashing is deliberately slow; an enormous "password" must not make it slower.
pub const MAX_CHARS: usize = 1024;

/// A hash of a random password nobody knows: an unknown name is checked
/// against it, so "no such user" costs what "wrong password" costs.
static DECOY: LazyLock<String> = LazyLock::new(|| {
    let random: [u8; 32] = rand::random();
    hash_now(&hex::encode(random)).unwrap_or_default()
});

/// The password rules, named in the error.
pub fn check(password: &str) -> Result<(), AppError> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(AppError::invalid(
            "password",
            format!("the password must have at least {MIN_CHARS} characters"),
        ));
    }
    if chars > MAX_CHARS {
        return Err(AppError::invalid(
            "password",
            format!("the password must have at most {MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

fn hash_now(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| AppError::Internal(anyhow::anyhow!("hashing a password failed: {err}")))
}

/// Checks the rules, then hashes.
pub async fn hash(password: String) -> Result<String, AppError> {
    check(&password)?;
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(anyhow::Error::from)?
}

/// Whether `password` matches `stored` (a PHC string); with no stored hash
/// (an unknown user) the decoy is checked, and the answer is false.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DECOY.clone());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        let matches = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        known && matches
    })
    .await
    .unwrap_or(false)
}

/// Makes the decoy now rather than on the first sign-in with an unknown
/// name, whose answer would otherwise take twice as long.
pub fn prepare() {
    LazyLock::force(&DECOY);
}
