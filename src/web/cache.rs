//! A cache of rendered pages and feeds, so a hot page costs a lookup.
//!
//! It wraps every other layer of the router, so a hit skips them all: the
//! stored answer already carries the headers they added (security headers,
//! ETag, Last-Modified). It answers conditional requests, and keeps each
//! page precompressed (brotli and gzip, made on first demand), so a hit
//! never compresses.
//!
//! An entry is served only while it is current: no write since it was
//! rendered changed what it was made from, and the clock has not reached
//! the moment its relative times ("5 mins ago") would read differently.
//! What a page was made from is its handler's to say ([`MadeFrom`]); a
//! page that says nothing is made from the newest stories, which every new
//! article changes. An edit, a deletion or a sweep makes every page stale.
//!
//! A page may leave a hole for a fragment that changes more often than the
//! rest (an article's sidebar of the newest stories elsewhere): the page
//! and the fragment are kept and made stale apart, and a hit answers them
//! stitched together, so a new article costs one sidebar, not every
//! article page.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service, ServiceExt};

use super::buffered;
use super::metrics::Route;
use crate::store::topics::{Stamp, Topic};
use crate::store::{Db, current_minute, now_unix};

/// Bounds on what the cache holds: a busy site's hot pages, a bounded
/// amount of memory. Past either, the cache starts over. The byte bound
/// counts the uncompressed pages; their compressed copies add a third at
/// most.
const MAX_ENTRIES: usize = 4_096;
const MAX_BYTES: usize = 32 * 1024 * 1024;
/// Larger answers are served but not kept: one very long article must not
/// push a site's worth of hot pages out. A bound on memory, never on what
/// the site may serve.
const MAX_ENTRY_BYTES: usize = 2 * 1024 * 1024;
/// Below this, compressing saves less than it costs.
const MIN_COMPRESSED_BYTES: usize = 256;
/// Entries live a minute at most: fast levels, not the smallest output.
const BROTLI_QUALITY: u32 = 5;
const GZIP_LEVEL: u32 = 6;

struct Entry {
    /// The database's count of changes that made every page stale.
    generation: u64,
    made_from: Stamp,
    /// Unix seconds from which its relative times read differently.
    fresh_until: i64,
    headers: HeaderMap,
    body: Bytes,
    brotli: OnceLock<Option<Bytes>>,
    gzip: OnceLock<Option<Bytes>>,
    hole: Option<Hole>,
    /// The page with its hole filled, for the fragment last put in it.
    filled: Mutex<Option<Arc<Filled>>>,
    /// False for an answer too large to keep: it is served once, with its
    /// hole filled and compressed as asked, like any other.
    keep: bool,
}

/// Where a page's fragment goes: the byte offset of [`HOLE`] in its body,
/// and the fragment's address.
struct Hole {
    at: usize,
    fragment: String,
}

/// A page with its hole filled by one rendering of its fragment.
struct Filled {
    fragment: Arc<Entry>,
    headers: HeaderMap,
    brotli: OnceLock<Option<Bytes>>,
    gzip: OnceLock<Option<Bytes>>,
}

/// What a page was made from, as its handler says (a response extension):
/// the versions of the topics it read, taken before reading them.
#[derive(Clone)]
pub struct MadeFrom(pub Stamp);

/// When the page's relative times will read differently (unix seconds), as
/// its handler says (a response extension); by default, the next minute.
#[derive(Clone, Copy)]
pub struct FreshUntil(pub i64);

/// Says the page's body holds [`HOLE`], to be filled with the fragment at
/// this address (a response extension).
#[derive(Clone)]
pub struct FillWith(pub String);

/// In a request: the cache will fill a page's hole, so its handler may
/// leave one. Also what lets a fragment's address answer at all: no
/// client's request carries it.
#[derive(Clone, Copy)]
pub struct Stitching;

/// The placeholder a page leaves for its fragment.
pub const HOLE: &str = "<!--gazette:fragment-->";

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
    /// (a write or the clock makes a hot page stale for everyone at once).
    rendering: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    db: Db,
    hits: metrics::Counter,
    misses: metrics::Counter,
    too_large: metrics::Counter,
    /// Routes already logged as answering more than the cache keeps.
    too_large_routes: Mutex<std::collections::HashSet<String>>,
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
            too_large: metrics::counter!("gazette_page_cache_total", "result" => "too_large"),
            too_large_routes: Mutex::default(),
        }
    }

    /// The entry for `key`, if it is current.
    fn lookup(&self, key: &str) -> Option<Arc<Entry>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(key)?;
        self.is_current(entry).then(|| Arc::clone(entry))
    }

    fn is_current(&self, entry: &Entry) -> bool {
        entry.generation == self.db.pages_generation()
            && now_unix() < entry.fresh_until
            && self.db.unchanged_since(&entry.made_from)
    }

    /// The page `entry` as a client gets it, its hole filled if it has one;
    /// `None` when the fragment is not cached (or no longer current).
    fn complete(&self, entry: Arc<Entry>, client: &HeaderMap) -> Option<Response> {
        let Some(hole) = &entry.hole else {
            return Some(answer(&entry, client));
        };
        let fragment = self.lookup(&hole.fragment)?;
        Some(answer_filled(&entry, hole, &fill(&entry, fragment), client))
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
        if let Some(response) = cache
            .lookup(key)
            .and_then(|entry| cache.complete(entry, request.headers()))
        {
            cache.hits.increment(1);
            return Box::pin(std::future::ready(Ok(response)));
        }
        let key = key.to_owned();
        let inner = self.inner.clone();
        Box::pin(async move {
            let client_headers = request.headers().clone();
            // The inner service is moved into the renderings, never shared
            // across an await (it need not be Sync).
            let (renderer, page_inner) = (Arc::clone(&cache), inner.clone());
            let page = cache
                .current_or_rendered(&key, async move || {
                    renderer.misses.increment(1);
                    // Rendered once, uncompressed; each encoding is made from it.
                    request.headers_mut().remove(header::ACCEPT_ENCODING);
                    request.extensions_mut().insert(Stitching);
                    renderer.render(page_inner, request).await
                })
                .await;
            let entry = match page {
                Ok(entry) => entry,
                Err(response) => return Ok(response),
            };
            let Some(hole) = &entry.hole else {
                return Ok(answer(&entry, &client_headers));
            };
            let (renderer, address) = (Arc::clone(&cache), hole.fragment.clone());
            let fragment = cache
                .current_or_rendered(&hole.fragment, async move || {
                    let Ok(mut request) = Request::get(&address).body(Body::empty()) else {
                        return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
                    };
                    request.extensions_mut().insert(Stitching);
                    renderer.render(inner, request).await
                })
                .await;
            match fragment {
                Ok(fragment) => Ok(answer_filled(&entry, hole, &fill(&entry, fragment), &client_headers)),
                Err(response) => Ok(response),
            }
        })
    }
}

impl PageCache {
    /// The current entry for `key`, or the one `render` makes and the cache
    /// keeps; requests that miss the same key at once wait for one
    /// rendering. `Err` is an answer not to be kept, handed back as it is.
    async fn current_or_rendered(
        self: &Arc<Self>,
        key: &str,
        render: impl AsyncFnOnce() -> Result<Arc<Entry>, Response>,
    ) -> Result<Arc<Entry>, Response> {
        let _turn = self.turn_to_render(key).await;
        // Whoever had the turn before may have rendered it.
        if let Some(entry) = self.lookup(key) {
            return Ok(entry);
        }
        let entry = render().await?;
        if entry.keep {
            self.store(key.to_owned(), Arc::clone(&entry));
        }
        Ok(entry)
    }

    /// Renders `request` by the inner service into an entry, with what its
    /// handler says it was made from; an answer that is not to be kept
    /// (an error, a private page) is handed back as it is.
    async fn render<S>(&self, inner: S, request: Request) -> Result<Arc<Entry>, Response>
    where
        S: Service<Request, Response = Response, Error = Infallible>,
    {
        // Taken before the page reads anything: a write that lands while
        // it renders leaves it stale, never a stale page current.
        let generation = self.db.pages_generation();
        let newest = self.db.stamp(&[Topic::Newest]);
        let next_minute = (current_minute() + 1) * 60;
        let Ok(response) = inner.oneshot(request).await;
        if response.status() != StatusCode::OK || forbids_storing(response.headers()) {
            return Err(response);
        }
        let (mut parts, body) = response.into_parts();
        let body = match buffered::whole(body, MAX_ENTRY_BYTES).await {
            Ok(body) => body,
            Err(stream) => {
                self.note_too_large(&parts.extensions, None);
                return Err(Response::from_parts(parts, stream));
            }
        };
        let keep = body.len() <= MAX_ENTRY_BYTES;
        if !keep {
            self.note_too_large(&parts.extensions, Some(body.len()));
        }
        parts.headers.remove(header::CONTENT_LENGTH);
        parts
            .headers
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        let hole = parts.extensions.remove::<FillWith>().and_then(|FillWith(fragment)| {
            let at = body.windows(HOLE.len()).position(|w| w == HOLE.as_bytes())?;
            Some(Hole { at, fragment })
        });
        Ok(Arc::new(Entry {
            generation,
            made_from: parts.extensions.remove::<MadeFrom>().map_or(newest, |m| m.0),
            fresh_until: parts.extensions.get::<FreshUntil>().map_or(next_minute, |f| f.0),
            headers: parts.headers,
            body,
            brotli: OnceLock::new(),
            gzip: OnceLock::new(),
            hole,
            filled: Mutex::default(),
            keep,
        }))
    }

    /// Counts an answer too large to keep, and logs it once per route, so
    /// an operator learns which pages are never cached (and why).
    fn note_too_large(&self, extensions: &axum::http::Extensions, bytes: Option<usize>) {
        self.too_large.increment(1);
        let route = extensions.get::<Route>().map_or("unmatched", |Route(r)| r.as_str());
        let mut logged = self.too_large_routes.lock().unwrap_or_else(|p| p.into_inner());
        if logged.insert(route.to_owned()) {
            tracing::info!(
                route,
                bytes,
                limit = MAX_ENTRY_BYTES,
                "an answer is larger than the page cache keeps: it is served whole and not cached \
                 (counted in gazette_page_cache_total{{result=\"too_large\"}}; logged once per route)"
            );
        }
    }
}

/// `page` filled with `fragment`: made once per fragment rendering, so its
/// compressed copies are too.
fn fill(page: &Entry, fragment: Arc<Entry>) -> Arc<Filled> {
    let mut filled = page.filled.lock().unwrap_or_else(|p| p.into_inner());
    match &*filled {
        Some(done) if Arc::ptr_eq(&done.fragment, &fragment) => Arc::clone(done),
        _ => {
            let done = Arc::new(Filled::new(page, fragment));
            *filled = Some(Arc::clone(&done));
            done
        }
    }
}

impl Filled {
    /// `page` with `fragment` in its hole. Its ETag names both, so a client
    /// holding the page with an older fragment gets the new one.
    fn new(page: &Entry, fragment: Arc<Entry>) -> Filled {
        let mut headers = page.headers.clone();
        let tag = |entry: &Entry| {
            entry
                .headers
                .get(header::ETAG)
                .and_then(|t| t.to_str().ok())
                .map(|t| t.trim_matches('"').to_owned())
        };
        let both = match (tag(page), tag(&fragment)) {
            (Some(a), Some(b)) => HeaderValue::from_str(&format!("\"{a}-{b}\"")).ok(),
            _ => None,
        };
        match both {
            Some(value) => headers.insert(header::ETAG, value),
            None => headers.remove(header::ETAG),
        };
        Filled {
            fragment,
            headers,
            brotli: OnceLock::new(),
            gzip: OnceLock::new(),
        }
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
        // Fragments are asked for by the cache itself, never by a client.
        || path.starts_with("/_fragments/")
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
    respond(
        &entry.headers,
        std::slice::from_ref(&entry.body),
        [&entry.brotli, &entry.gzip],
        client,
    )
}

/// A page with a hole, answered with `filled`'s fragment in it. Without
/// compression the three pieces are sent as they are, never copied.
fn answer_filled(entry: &Entry, hole: &Hole, filled: &Filled, client: &HeaderMap) -> Response {
    let pieces = [
        entry.body.slice(..hole.at),
        filled.fragment.body.clone(),
        entry.body.slice(hole.at + HOLE.len()..),
    ];
    respond(&filled.headers, &pieces, [&filled.brotli, &filled.gzip], client)
}

/// The page made of `pieces` with `headers`, or 304; its compressed
/// copies (brotli, gzip) are made on first demand.
fn respond(
    headers: &HeaderMap,
    pieces: &[Bytes],
    [brotli, gzip]: [&OnceLock<Option<Bytes>>; 2],
    client: &HeaderMap,
) -> Response {
    let fresh = super::conditional::is_fresh(
        client.get(header::IF_NONE_MATCH),
        client.get(header::IF_MODIFIED_SINCE),
        headers,
    );
    if fresh {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        for (name, value) in headers {
            if name != header::CONTENT_TYPE {
                response.headers_mut().insert(name, value.clone());
            }
        }
        return response;
    }
    let length: usize = pieces.iter().map(Bytes::len).sum();
    let whole = || pieces.concat();
    let (variant, name) = match preferred_encoding(client.get(header::ACCEPT_ENCODING)) {
        Encoding::Brotli => (brotli.get_or_init(|| compress(&whole(), Encoding::Brotli)), "br"),
        Encoding::Gzip => (gzip.get_or_init(|| compress(&whole(), Encoding::Gzip)), "gzip"),
        Encoding::Identity => (&None, "identity"),
    };
    let variant = variant.as_ref().filter(|bytes| bytes.len() < length);
    let body = match (variant, pieces) {
        (Some(bytes), _) => Body::from(bytes.clone()),
        (None, [one]) => Body::from(one.clone()),
        (None, _) => Body::new(Pieces(pieces.iter().cloned().collect())),
    };
    let mut response = Response::new(body);
    *response.headers_mut() = headers.clone();
    if variant.is_some() {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
    }
    response
}

/// A body sent as the pieces it is made of, its length known.
struct Pieces(std::collections::VecDeque<Bytes>);

impl http_body::Body for Pieces {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|piece| Ok(http_body::Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.0.iter().map(|piece| piece.len() as u64).sum())
    }
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
    use axum::body::to_bytes;

    fn entry(generation: u64, fresh_until: i64) -> Arc<Entry> {
        Arc::new(Entry {
            generation,
            made_from: Stamp::default(),
            fresh_until,
            headers: HeaderMap::new(),
            body: Bytes::from_static(b"page"),
            brotli: OnceLock::new(),
            gzip: OnceLock::new(),
            hole: None,
            filled: Mutex::default(),
            keep: true,
        })
    }

    async fn cache() -> PageCache {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("cache.db")).await.unwrap();
        PageCache::new(db)
    }

    #[tokio::test]
    async fn entries_expire_with_a_write_or_their_time() {
        let cache = cache().await;
        let later = now_unix() + 60;
        cache.store("/".into(), entry(0, later));
        assert!(cache.lookup("/").is_some());
        cache.store("/old".into(), entry(0, now_unix()));
        assert!(
            cache.lookup("/old").is_none(),
            "its relative times read differently now"
        );
        assert!(cache.lookup("/other").is_none());
        cache.db.changed();
        assert!(cache.lookup("/").is_none(), "a change to everything made it stale");
    }

    #[tokio::test]
    async fn a_new_article_makes_stale_only_what_it_touched() {
        let cache = cache().await;
        let later = now_unix() + 60;
        let made_from = |topics: &[Topic]| {
            let mut e = Arc::into_inner(entry(0, later)).unwrap();
            e.made_from = cache.db.stamp(topics);
            Arc::new(e)
        };
        cache.store("/sections/boxing".into(), made_from(&[Topic::Section("boxing")]));
        cache.store("/sections/rugby".into(), made_from(&[Topic::Section("rugby")]));
        cache.store("/articles/1/a".into(), made_from(&[Topic::Article(1)]));
        cache
            .db
            .articles_added([Topic::Article(2), Topic::Section("boxing"), Topic::Newest]);
        assert!(cache.lookup("/sections/boxing").is_none());
        assert!(cache.lookup("/sections/rugby").is_some());
        assert!(cache.lookup("/articles/1/a").is_some());
    }

    #[tokio::test]
    async fn a_filled_page_is_sent_in_pieces_and_named_by_both() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ETAG, HeaderValue::from_static("\"page\""));
        let body = format!("<main>story</main>{HOLE}<footer>end</footer>");
        let page = Entry {
            headers: headers.clone(),
            body: Bytes::from(body),
            hole: Some(Hole {
                at: 18,
                fragment: "/_fragments/x".into(),
            }),
            ..Arc::into_inner(entry(0, 0)).unwrap()
        };
        headers.insert(header::ETAG, HeaderValue::from_static("\"side\""));
        let fragment = Arc::new(Entry {
            headers,
            body: Bytes::from_static(b"<aside>newest</aside>"),
            ..Arc::into_inner(entry(0, 0)).unwrap()
        });
        let filled = fill(&page, fragment);
        let response = answer_filled(&page, page.hole.as_ref().unwrap(), &filled, &HeaderMap::new());
        assert_eq!(response.headers()[header::ETAG], "\"page-side\"");
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        assert_eq!(
            &body[..],
            b"<main>story</main><aside>newest</aside><footer>end</footer>"
        );
        let mut client = HeaderMap::new();
        client.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"page-side\""));
        let again = answer_filled(&page, page.hole.as_ref().unwrap(), &filled, &client);
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
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
