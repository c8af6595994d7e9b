//! A cache of rendered pages and feeds, so a hot page costs a lookup.
//!
//! An entry is served only while two things hold: nothing has been written
//! since it was rendered (the database's change count is the same), and
//! the clock is in the same minute, because pages carry "N mins ago"
//! strings computed for that minute. Entries hold the uncompressed body and
//! its ETag, so conditional requests are answered from the cache too.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Bounds on what the cache holds: a busy site's hot pages, a bounded
/// amount of memory. Past either, the cache starts over.
const MAX_ENTRIES: usize = 4_096;
const MAX_BYTES: usize = 64 * 1024 * 1024;
/// Larger answers (big sitemaps) are not worth keeping.
const MAX_ENTRY_BYTES: usize = 2 * 1024 * 1024;

struct Entry {
    generation: u64,
    minute: i64,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Default)]
pub struct PageCache {
    entries: RwLock<HashMap<String, Entry>>,
    bytes: std::sync::atomic::AtomicUsize,
}

fn cacheable(request: &Request) -> bool {
    if request.method() != Method::GET {
        return false;
    }
    let path = request.uri().path();
    !(path.starts_with("/api/") || path.starts_with("/static/") || matches!(path, "/metrics" | "/healthz" | "/readyz"))
}

fn current_minute() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(60)
}

pub async fn serve_cached(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(cache) = state.page_cache.as_deref() else {
        return next.run(request).await;
    };
    if !cacheable(&request) {
        return next.run(request).await;
    }
    let key = request.uri().to_string();
    let generation = state.db.generation();
    let minute = current_minute();
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let if_modified_since = request.headers().get(header::IF_MODIFIED_SINCE).cloned();
    if let Some(hit) = cache.lookup(&key, generation, minute) {
        let (headers, body) = hit;
        let fresh = super::conditional::is_fresh(if_none_match.as_ref(), if_modified_since.as_ref(), &headers);
        let mut response = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            Response::new(Body::from(body))
        };
        for (name, value) in &headers {
            if !(fresh && name == header::CONTENT_TYPE) {
                response.headers_mut().insert(name, value.clone());
            }
        }
        return response;
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ENTRY_BYTES).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "response too large to cache").into_response();
    };
    cache.store(
        key,
        Entry {
            generation,
            minute,
            headers: parts.headers.clone(),
            body: bytes.clone(),
        },
    );
    Response::from_parts(parts, Body::from(bytes))
}

impl PageCache {
    fn lookup(&self, key: &str, generation: u64, minute: i64) -> Option<(HeaderMap, Bytes)> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(key)?;
        (entry.generation == generation && entry.minute == minute).then(|| (entry.headers.clone(), entry.body.clone()))
    }

    fn store(&self, key: String, entry: Entry) {
        use std::sync::atomic::Ordering;
        let size = entry.body.len() + key.len();
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES || self.bytes.load(Ordering::Relaxed) + size > MAX_BYTES {
            entries.clear();
            self.bytes.store(0, Ordering::Relaxed);
        }
        if let Some(old) = entries.insert(key, entry) {
            self.bytes.fetch_sub(old.body.len(), Ordering::Relaxed);
        }
        self.bytes.fetch_add(size, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(generation: u64, minute: i64) -> Entry {
        Entry {
            generation,
            minute,
            headers: HeaderMap::new(),
            body: Bytes::from_static(b"page"),
        }
    }

    #[test]
    fn entries_expire_with_a_write_or_the_minute() {
        let cache = PageCache::default();
        cache.store("/".into(), entry(7, 100));
        assert!(cache.lookup("/", 7, 100).is_some());
        assert!(cache.lookup("/", 8, 100).is_none(), "a write made it stale");
        assert!(
            cache.lookup("/", 7, 101).is_none(),
            "its relative times are a minute old"
        );
        assert!(cache.lookup("/other", 7, 100).is_none());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = PageCache::default();
        for i in 0..(MAX_ENTRIES + 10) {
            cache.store(format!("/{i}"), entry(1, 1));
        }
        assert!(cache.entries.read().unwrap().len() <= MAX_ENTRIES);
    }
}
