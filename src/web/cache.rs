//! A cache of rendered pages and feeds, so a hot page costs a lookup.
//!
//! It wraps every other layer of the router, so a hit skips them all: the
//! stored answer already carries the headers they added (security headers,
//! ETag, Last-Modified). It answers conditional requests, and keeps each
//! page precompressed (brotli and gzip, made on first demand), so a hit
//! never compresses.
//!
//! An entry is served only while two things hold: nothing has been written
//! since it was rendered (the database's change count is the same), and
//! the clock is in the same minute, because pages carry "N mins ago"
//! strings computed for that minute.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service, ServiceExt};

use crate::store::{Db, current_minute};

/// Bounds on what the cache holds: a busy site's hot pages, a bounded
/// amount of memory. Past either, the cache starts over. The byte bound
/// counts the uncompressed pages; their compressed copies add a third at
/// most.
const MAX_ENTRIES: usize = 4_096;
const MAX_BYTES: usize = 32 * 1024 * 1024;
/// Larger answers (big sitemaps) are not worth keeping.
const MAX_ENTRY_BYTES: usize = 2 * 1024 * 1024;
/// Below this, compressing saves less than it costs.
const MIN_COMPRESSED_BYTES: usize = 256;
/// Entries live a minute at most: fast levels, not the smallest output.
const BROTLI_QUALITY: u32 = 5;
const GZIP_LEVEL: u32 = 6;

struct Entry {
    generation: u64,
    minute: i64,
    headers: HeaderMap,
    body: Bytes,
    brotli: OnceLock<Option<Bytes>>,
    gzip: OnceLock<Option<Bytes>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

pub struct PageCache {
    entries: RwLock<HashMap<String, Arc<Entry>>>,
    bytes: AtomicUsize,
    /// One lock per page being rendered: requests that miss the same page
    /// at once wait for one rendering instead of each starting their own
    /// (at the turn of every minute, all hot pages expire together).
    rendering: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    db: Db,
    hits: metrics::Counter,
    misses: metrics::Counter,
}

impl PageCache {
    pub fn new(db: Db) -> Self {
        PageCache {
            entries: RwLock::default(),
            bytes: AtomicUsize::new(0),
            rendering: Mutex::default(),
            db,
            hits: metrics::counter!("gazette_page_cache_total", "result" => "hit"),
            misses: metrics::counter!("gazette_page_cache_total", "result" => "miss"),
        }
    }

    fn lookup(&self, key: &str, generation: u64, minute: i64) -> Option<Arc<Entry>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(key)?;
        (entry.generation == generation && entry.minute == minute).then(|| Arc::clone(entry))
    }

    /// Waits for the turn to render `key`; the turn ends when dropped.
    async fn turn_to_render(self: &Arc<Self>, key: &str) -> RenderTurn {
        let gate = {
            let mut rendering = self.rendering.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(rendering.entry(key.to_owned()).or_default())
        };
        let guard = Arc::clone(&gate).lock_owned().await;
        RenderTurn {
            cache: Arc::clone(self),
            key: key.to_owned(),
            gate,
            guard: Some(guard),
        }
    }

    fn store(&self, key: String, entry: Arc<Entry>) {
        let size = entry.body.len() + key.len();
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES || self.bytes.load(Ordering::Relaxed) + size > MAX_BYTES {
            entries.clear();
            self.bytes.store(0, Ordering::Relaxed);
        }
        let key_len = key.len();
        if let Some(old) = entries.insert(key, entry) {
            self.bytes.fetch_sub(old.body.len() + key_len, Ordering::Relaxed);
        }
        self.bytes.fetch_add(size, Ordering::Relaxed);
    }
}

struct RenderTurn {
    cache: Arc<PageCache>,
    key: String,
    gate: Arc<tokio::sync::Mutex<()>>,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for RenderTurn {
    fn drop(&mut self) {
        self.guard.take();
        let mut rendering = self.cache.rendering.lock().unwrap_or_else(|p| p.into_inner());
        // The map's handle and this one: nobody else is waiting.
        if Arc::strong_count(&self.gate) <= 2 {
            rendering.remove(&self.key);
        }
    }
}

/// Puts the cache in front of everything else; a `None` cache (switched
/// off) passes every request through.
#[derive(Clone)]
pub struct PageCacheLayer(pub Option<Arc<PageCache>>);

impl<S> Layer<S> for PageCacheLayer {
    type Service = PageCacheService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PageCacheService {
            inner,
            cache: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct PageCacheService<S> {
    inner: S,
    cache: Option<Arc<PageCache>>,
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S> Service<Request> for PageCacheService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The inner service is driven ready on a clone, per request.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request) -> BoxFuture {
        let Some(cache) = self.cache.clone().filter(|_| cacheable(&request)) else {
            return Box::pin(self.inner.clone().oneshot(request));
        };
        let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
        // The page with marks for signed-in readers is kept beside the
        // anonymous one, never in its place.
        let personal_key;
        let key = match request.extensions().get::<CacheAs>() {
            Some(CacheAs::Personal) => {
                personal_key = format!("~{path}");
                personal_key.as_str()
            }
            _ => path,
        };
        let generation = cache.db.generation();
        let minute = current_minute();
        if let Some(entry) = cache.lookup(key, generation, minute) {
            cache.hits.increment(1);
            let response = answer(&entry, request.headers());
            return Box::pin(std::future::ready(Ok(response)));
        }
        let key = key.to_owned();
        let inner = self.inner.clone();
        Box::pin(async move {
            let _turn = cache.turn_to_render(&key).await;
            // Whoever had the turn before may have rendered it.
            let generation = cache.db.generation();
            let minute = current_minute();
            if let Some(entry) = cache.lookup(&key, generation, minute) {
                cache.hits.increment(1);
                return Ok(answer(&entry, request.headers()));
            }
            cache.misses.increment(1);
            let client_headers = request.headers().clone();
            // Rendered once, uncompressed; each encoding is made from it.
            request.headers_mut().remove(header::ACCEPT_ENCODING);
            let Ok(response) = inner.oneshot(request).await;
            if response.status() != StatusCode::OK || forbids_storing(response.headers()) {
                return Ok(response);
            }
            let (mut parts, body) = response.into_parts();
            let Ok(body) = to_bytes(body, MAX_ENTRY_BYTES).await else {
                return Ok((StatusCode::INTERNAL_SERVER_ERROR, "response too large to cache").into_response());
            };
            parts.headers.remove(header::CONTENT_LENGTH);
            parts
                .headers
                .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            let entry = Arc::new(Entry {
                generation,
                minute,
                headers: parts.headers,
                body,
                brotli: OnceLock::new(),
                gzip: OnceLock::new(),
            });
            cache.store(key, Arc::clone(&entry));
            Ok(answer(&entry, &client_headers))
        })
    }
}

/// How a request's page may be kept, when it is not the anonymous page
/// of its address (set by `web::personal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheAs {
    /// The page with marks for every signed-in reader.
    Personal,
    /// A page for one reader alone.
    Never,
}

fn cacheable(request: &Request) -> bool {
    if request.method() != Method::GET || request.extensions().get::<CacheAs>() == Some(&CacheAs::Never) {
        return false;
    }
    let path = request.uri().path();
    // Personal pages (signing in, the account, a reader's lists, the
    // admin's) are never shared.
    !(path.starts_with("/api/")
        || crate::web::apps::is_app_path(path)
        || path.starts_with("/static/")
        || path.starts_with("/account")
        || path.starts_with("/admin")
        || matches!(
            path,
            "/metrics" | "/healthz" | "/readyz" | "/login" | "/logout" | "/unread" | "/saved"
        ))
}

/// Whether a response says no cache may keep it.
fn forbids_storing(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("no-store") || v.contains("private"))
}

/// The entry as this client should get it: 304 if its copy is current,
/// else the body in the best encoding it accepts.
fn answer(entry: &Entry, client: &HeaderMap) -> Response {
    let fresh = super::conditional::is_fresh(
        client.get(header::IF_NONE_MATCH),
        client.get(header::IF_MODIFIED_SINCE),
        &entry.headers,
    );
    if fresh {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        for (name, value) in &entry.headers {
            if name != header::CONTENT_TYPE {
                response.headers_mut().insert(name, value.clone());
            }
        }
        return response;
    }
    let (variant, name) = match preferred_encoding(client.get(header::ACCEPT_ENCODING)) {
        Encoding::Brotli => (
            entry.brotli.get_or_init(|| compress(&entry.body, Encoding::Brotli)),
            "br",
        ),
        Encoding::Gzip => (entry.gzip.get_or_init(|| compress(&entry.body, Encoding::Gzip)), "gzip"),
        Encoding::Identity => (&None, "identity"),
    };
    let variant = variant.as_ref().filter(|bytes| bytes.len() < entry.body.len());
    let mut response = Response::new(Body::from(variant.unwrap_or(&entry.body).clone()));
    *response.headers_mut() = entry.headers.clone();
    if variant.is_some() {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
    }
    response
}

/// The client's best accepted encoding of those we make; brotli first,
/// as it is the smaller. `q=0` refuses an encoding.
fn preferred_encoding(accept: Option<&HeaderValue>) -> Encoding {
    let Some(accept) = accept.and_then(|a| a.to_str().ok()) else {
        return Encoding::Identity;
    };
    let mut best = Encoding::Identity;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if refused {
            continue;
        }
        let encoding = if name.eq_ignore_ascii_case("br") {
            Encoding::Brotli
        } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            Encoding::Gzip
        } else {
            continue;
        };
        if encoding == Encoding::Brotli || best == Encoding::Identity {
            best = encoding;
        }
    }
    best
}

fn compress(body: &[u8], encoding: Encoding) -> Option<Bytes> {
    if body.len() < MIN_COMPRESSED_BYTES {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() / 3);
    match encoding {
        Encoding::Brotli => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: BROTLI_QUALITY as i32,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut &body[..], &mut out, &params).ok()?;
        }
        Encoding::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(&mut out, flate2::Compression::new(GZIP_LEVEL));
            encoder.write_all(body).ok()?;
            encoder.finish().ok()?;
        }
        Encoding::Identity => return None,
    }
    Some(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(generation: u64, minute: i64) -> Arc<Entry> {
        Arc::new(Entry {
            generation,
            minute,
            headers: HeaderMap::new(),
            body: Bytes::from_static(b"page"),
            brotli: OnceLock::new(),
            gzip: OnceLock::new(),
        })
    }

    async fn cache() -> PageCache {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("cache.db")).await.unwrap();
        PageCache::new(db)
    }

    #[tokio::test]
    async fn entries_expire_with_a_write_or_the_minute() {
        let cache = cache().await;
        cache.store("/".into(), entry(7, 100));
        assert!(cache.lookup("/", 7, 100).is_some());
        assert!(cache.lookup("/", 8, 100).is_none(), "a write made it stale");
        assert!(
            cache.lookup("/", 7, 101).is_none(),
            "its relative times are a minute old"
        );
        assert!(cache.lookup("/other", 7, 100).is_none());
    }

    #[tokio::test]
    async fn the_cache_stays_bounded() {
        let cache = cache().await;
        for i in 0..(MAX_ENTRIES + 10) {
            cache.store(format!("/{i}"), entry(1, 1));
        }
        assert!(cache.entries.read().unwrap().len() <= MAX_ENTRIES);
    }

    #[tokio::test]
    async fn replacing_an_entry_keeps_the_byte_count() {
        let cache = cache().await;
        for _ in 0..3 {
            cache.store("/".into(), entry(1, 1));
        }
        assert_eq!(cache.bytes.load(Ordering::Relaxed), "page".len() + "/".len());
    }

    #[test]
    fn encodings_are_negotiated() {
        let pick = |value: &str| preferred_encoding(Some(&HeaderValue::from_str(value).unwrap()));
        assert_eq!(preferred_encoding(None), Encoding::Identity);
        assert_eq!(pick("gzip, deflate, br, zstd"), Encoding::Brotli);
        assert_eq!(pick("gzip"), Encoding::Gzip);
        assert_eq!(pick("br;q=0, gzip;q=0.5"), Encoding::Gzip);
        assert_eq!(pick("gzip;q=0"), Encoding::Identity);
        assert_eq!(pick("deflate, identity"), Encoding::Identity);
        assert_eq!(pick("BR"), Encoding::Brotli);
    }
}
