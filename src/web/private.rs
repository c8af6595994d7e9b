//! Private mode (`--private`): the whole site is for signed-in people.
//! Checked in front of the page cache, so a page cached for one signed-in
//! reader is never handed to an anonymous one. What stays open: signing
//! in, the probes, robots.txt (which disallows everything), static files,
//! /metrics (it has its own guard), and the API to a valid token.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::accounts::session;
use crate::error::AppError;
use crate::web::session::cookie_value;
use crate::{AppState, tokens};

fn open_to_all(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/logout" | "/healthz" | "/readyz" | "/robots.txt" | "/metrics"
    ) || path.starts_with("/static/")
}

pub async fn gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.site.private || open_to_all(request.uri().path()) {
        return next.run(request).await;
    }
    // What the check needs, taken out first: a request body is not Sync,
    // so a reference to the request may not be held across an await.
    let path = request.uri().path().to_owned();
    let headers = request.headers().clone();
    match admitted(&state, &path, &headers).await {
        Ok(true) => next.run(request).await,
        Ok(false) if path.starts_with("/api/") => AppError::Unauthorized.into_response(),
        Ok(false) => {
            let here = request.uri().path_and_query().map_or("/", |p| p.as_str());
            let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(location) = HeaderValue::from_str(&format!("/login?next={next}")) {
                response.headers_mut().insert(LOCATION, location);
            }
            response
        }
        Err(err) => err.into_response(),
    }
}

/// A live session, or (for the API) a valid ingest token.
async fn admitted(state: &AppState, path: &str, headers: &HeaderMap) -> Result<bool, AppError> {
    if let Some(value) = cookie_value(headers)
        && session::find(&state.db, &value).await?.is_some()
    {
        return Ok(true);
    }
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    match bearer {
        Some(token) if path.starts_with("/api/") => {
            Ok(tokens::is_valid(&state.db, state.site.configured_token_hash.as_ref(), token).await?)
        }
        _ => Ok(false),
    }
}
