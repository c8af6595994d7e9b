//! Private mode (`--private`): the whole site is for signed-in people.
//! Checked in front of the page cache, so a page cached for one signed-in
//! reader is never handed to an anonymous one. What stays open: signing
//! in, the probes, robots.txt (which disallows everything), static files,
//! /metrics (it has its own guard), /api/v1/me (its key or session), and
//! the rest of the API to a valid token.

use axum::extract::{Request, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::accounts::session;
use crate::error::AppError;
use crate::web::auth::bearer_token;
use crate::web::session::{SignedIn, cookie_value};
use crate::{AppState, tokens};

fn open_to_all(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/logout" | "/healthz" | "/readyz" | "/robots.txt" | "/metrics"
    ) || path.starts_with("/static/")
        // A reader's own API checks its key or session itself.
        || path == "/api/v1/me"
        || path.starts_with("/api/v1/me/")
        // Reader apps sign in with app passwords.
        || crate::web::apps::is_app_path(path)
}

pub async fn gate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if !state.site.private || open_to_all(request.uri().path()) {
        return next.run(request).await;
    }
    // What the check needs, taken out first: a request body is not Sync,
    // so a reference to the request may not be held across an await.
    let path = request.uri().path().to_owned();
    let headers = request.headers().clone();
    match admitted(&state, &path, &headers).await {
        Ok(Admitted::Session(signed_in)) => {
            // Handed on, so the handler does not look the session up again.
            request.extensions_mut().insert(signed_in);
            next.run(request).await
        }
        Ok(Admitted::Token) => next.run(request).await,
        Ok(Admitted::No) if path.starts_with("/api/") => AppError::Unauthorized.into_response(),
        Ok(Admitted::No) => {
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

enum Admitted {
    Session(SignedIn),
    /// A valid ingest token, on the API.
    Token,
    No,
}

async fn admitted(state: &AppState, path: &str, headers: &HeaderMap) -> Result<Admitted, AppError> {
    if let Some(value) = cookie_value(headers)
        && let Some(session) = session::find(&state.db, &value).await?
    {
        return Ok(Admitted::Session(SignedIn(session)));
    }
    match bearer_token(headers) {
        Some(token)
            if path.starts_with("/api/")
                && tokens::is_valid(&state.db, state.site.configured_token_hash.as_ref(), token).await? =>
        {
            Ok(Admitted::Token)
        }
        _ => Ok(Admitted::No),
    }
}
