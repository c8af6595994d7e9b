//! Conditional GET for every page, feed and JSON answer: an ETag from the
//! bytes of the response, and 304 Not Modified when the client already
//! has them. A handler that knows when its content last changed sets
//! Last-Modified, and If-Modified-Since is honoured against it.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use chrono::DateTime;
use sha2::{Digest, Sha256};

use super::buffered;

/// A streamed answer longer than this is passed on as it comes, without an
/// ETag, rather than held in memory to be hashed. Answers rendered whole
/// (every page, feed, sitemap and JSON list) are hashed whatever their size.
const MAX_HASHED_STREAM_BYTES: usize = 8 * 1024 * 1024;

pub async fn conditional_get(request: Request, next: Next) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return next.run(request).await;
    }
    let if_none_match = request.headers().get(IF_NONE_MATCH).cloned();
    let if_modified_since = request.headers().get(IF_MODIFIED_SINCE).cloned();
    let response = next.run(request).await;
    if response.status() != StatusCode::OK || response.headers().contains_key(ETAG) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match buffered::whole(body, MAX_HASHED_STREAM_BYTES).await {
        Ok(bytes) => bytes,
        Err(stream) => return Response::from_parts(parts, stream),
    };
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&bytes))[..20]);
    if let Ok(value) = HeaderValue::from_str(&etag) {
        parts.headers.insert(ETAG, value);
    }
    let not_modified = is_fresh(if_none_match.as_ref(), if_modified_since.as_ref(), &parts.headers);
    if not_modified {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Whether the client's copy (named by its validators) is still the one
/// in `headers` (the response's ETag and Last-Modified). If-None-Match,
/// when sent, decides alone, as RFC 9110 says.
pub fn is_fresh(
    if_none_match: Option<&HeaderValue>,
    if_modified_since: Option<&HeaderValue>,
    headers: &HeaderMap,
) -> bool {
    match (if_none_match, if_modified_since) {
        (Some(tags), _) => {
            let Some(etag) = headers.get(ETAG).and_then(|e| e.to_str().ok()) else {
                return false;
            };
            tags.to_str().is_ok_and(|tags| {
                tags.split(',')
                    .any(|t| t.trim() == "*" || t.trim().trim_start_matches("W/") == etag)
            })
        }
        (None, Some(since)) => modified_since(headers.get(LAST_MODIFIED), since),
        (None, None) => false,
    }
}

/// Whether the content is unchanged since the client's copy.
fn modified_since(last_modified: Option<&HeaderValue>, since: &HeaderValue) -> bool {
    let parse = |value: &HeaderValue| value.to_str().ok().and_then(|v| DateTime::parse_from_rfc2822(v).ok());
    match (last_modified.and_then(parse), parse(since)) {
        (Some(modified), Some(since)) => modified <= since,
        _ => false,
    }
}
