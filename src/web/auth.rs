//! The bearer-token guard of every write route.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::AppState;
use crate::error::AppError;
use crate::tokens;

/// The token of an `Authorization: Bearer …` header, if any.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty())
}

/// Proof that the request carried a valid ingest token. Taking it as a
/// handler argument is what makes a route a write route.
#[derive(Debug)]
pub struct IngestToken;

impl IngestToken {
    /// The request's token, if it is one: `Unauthorized` otherwise.
    async fn check<'a>(parts: &'a Parts, state: &AppState) -> Result<&'a str, AppError> {
        let presented = bearer_token(&parts.headers).ok_or(AppError::Unauthorized)?;
        if !tokens::is_valid(&state.db, state.site.configured_token_hash.as_ref(), presented).await? {
            return Err(AppError::Unauthorized);
        }
        Ok(presented)
    }
}

/// On a write route the token's ingest rate limit applies.
impl FromRequestParts<AppState> for IngestToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let presented = Self::check(parts, state).await?;
        if let Some(limiter) = &state.ingest_limiter
            && let Err(not_until) = limiter.check_key(&tokens::digest(presented))
        {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
            return Err(AppError::RateLimited {
                retry_after_secs: wait.as_secs_f64().ceil() as u64,
            });
        }
        Ok(IngestToken)
    }
}

/// A read route that shows more to a sender holding a token (its scheduled
/// articles) takes `Option<IngestToken>`: no Authorization header is an
/// anonymous reader, a wrong token is still refused. Reads do not count
/// against the token's ingest rate: a sender reading back what it posted
/// is no more limited than an anonymous reader is.
impl OptionalFromRequestParts<AppState> for IngestToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        if !parts.headers.contains_key(AUTHORIZATION) {
            return Ok(None);
        }
        Self::check(parts, state).await.map(|_| Some(IngestToken))
    }
}
