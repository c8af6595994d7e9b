//! Static files, compiled into the binary so a deployment is one file.
//! Each is served with a content-hash ETag and a year-long cache lifetime;
//! pages link to them with the hash in the query, so a new release is
//! fetched at once while an unchanged file is never fetched twice.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
    etag: String,
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    [
        (
            "gazette.css",
            "text/css; charset=utf-8",
            include_bytes!("../../static/gazette.css").as_slice(),
        ),
        (
            "gazette.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../static/gazette.js").as_slice(),
        ),
        (
            "favicon.svg",
            "image/svg+xml",
            include_bytes!("../../static/favicon.svg").as_slice(),
        ),
    ]
    .into_iter()
    .map(|(name, content_type, bytes)| Asset {
        name,
        content_type,
        bytes,
        etag: format!("\"{}\"", &hex::encode(Sha256::digest(bytes))[..16]),
    })
    .collect()
});

fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// The cache-busting URL of a static file.
pub fn href(name: &str) -> String {
    match find(name) {
        Some(asset) => format!("/static/{}?v={}", asset.name, asset.etag.trim_matches('"')),
        None => format!("/static/{name}"),
    }
}

pub fn stylesheet_href() -> String {
    href("gazette.css")
}

pub fn script_href() -> String {
    href("gazette.js")
}

/// Serves a static file by exact name: nothing outside the table above can
/// be reached, whatever the path holds.
pub async fn serve(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = find(&name) else {
        return crate::web::pages::not_found().await.into_response();
    };
    let etag = HeaderValue::from_str(&asset.etag).unwrap_or(HeaderValue::from_static("\"0\""));
    let cache = HeaderValue::from_static("public, max-age=31536000, immutable");
    let fresh = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim().trim_start_matches("W/") == asset.etag)
        });
    if fresh {
        return (StatusCode::NOT_MODIFIED, [(ETAG, etag), (CACHE_CONTROL, cache)]).into_response();
    }
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (ETAG, etag),
            (CACHE_CONTROL, cache),
        ],
        asset.bytes,
    )
        .into_response()
}
