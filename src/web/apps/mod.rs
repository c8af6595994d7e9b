//! The protocols reader apps speak: Google Reader (`greader`) and Fever
//! (`fever`). Both sign in with app passwords (`accounts::app_passwords`)
//! and read and write the same reading state as the web pages
//! (`reading`), so an item read in an app is read on the site and back.

pub mod fever;
pub mod greader;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

/// Request parameters from the query string and, for a POST, a form body
/// (URL-encoded or multipart): these protocols put the same parameters in
/// either place, and apps differ in which they use.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// An integer parameter: None when absent, an error naming it when
    /// it is not a number.
    pub fn int(&self, key: &str) -> Result<Option<i64>, AppError> {
        match self.get(key).map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|_| AppError::invalid(key, format!("{key} must be a whole number, not {text:?}"))),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let mut pairs: Vec<(String, String)> = request
            .uri()
            .query()
            .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        if request.method() != Method::POST {
            return Ok(Params(pairs));
        }
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            let mut form = Multipart::from_request(request, state)
                .await
                .map_err(|err| AppError::invalid("body", format!("unreadable multipart form: {err}")))?;
            while let Some(field) = form
                .next_field()
                .await
                .map_err(|err| AppError::invalid("body", format!("unreadable multipart form: {err}")))?
            {
                let name = field.name().unwrap_or_default().to_owned();
                let value = field
                    .text()
                    .await
                    .map_err(|err| AppError::invalid("body", format!("unreadable multipart form: {err}")))?;
                pairs.push((name, value));
            }
        } else {
            let body = axum::body::Bytes::from_request(request, state)
                .await
                .map_err(|err| AppError::invalid("body", format!("unreadable body: {err}")))?;
            // Apps send forms without a content type too: a body that
            // parses as a form is taken as one.
            pairs.extend(url::form_urlencoded::parse(&body).into_owned());
        }
        Ok(Params(pairs))
    }
}

/// An error as plain text, for protocols whose clients show the body as
/// it is (Google Reader): the status and message of the one error type.
pub struct PlainError(pub AppError);

impl<E: Into<AppError>> From<E> for PlainError {
    fn from(err: E) -> Self {
        PlainError(err.into())
    }
}

impl IntoResponse for PlainError {
    fn into_response(self) -> Response {
        let message = self.0.body().message;
        let mut response = in_protocol(self.0, "text/plain; charset=utf-8", format!("{message}\n"));
        if response.status() == axum::http::StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("GoogleLogin"),
            );
        }
        response
    }
}

/// An error answered in a protocol's own shape: the one error type's
/// status, headers (Retry-After, …) and logged detail, with this body.
pub fn in_protocol(err: AppError, content_type: &'static str, body: String) -> Response {
    let (mut parts, _) = err.into_response().into_parts();
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// The sections as apps list them (feeds): by name, so the list stays put
/// as stories arrive (the site's own navigation puts the latest first).
pub async fn sections_by_name(db: &crate::store::Db) -> Result<Vec<crate::domain::Section>, AppError> {
    let mut sections = crate::store::sections::list(db).await?.to_vec();
    sections.sort_by_cached_key(|s| (s.name.to_lowercase(), s.id));
    Ok(sections)
}

/// Whether a path belongs to a reader app's protocol: they authenticate
/// themselves, are never cached, and have no pages to personalise.
pub fn is_app_path(path: &str) -> bool {
    path.starts_with("/api/greader/")
        || path.starts_with("/reader/api/")
        || path == "/accounts/ClientLogin"
        || path == "/api/fever"
        || path.starts_with("/api/fever/")
        || path == "/fever"
        || path.starts_with("/fever/")
}
