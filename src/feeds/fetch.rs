//! A polite, guarded HTTP client for feeds.
//!
//! Polite: it names itself, sends the validators of the last answer
//! (ETag, Last-Modified) so an unchanged feed costs a 304, accepts gzip and
//! brotli, and keeps at most a few requests per host in flight. Guarded:
//! every request has a timeout and a size limit, redirects are followed by
//! hand (at most a few, loops refused), and unless private feeds are
//! allowed, loopback, private and link-local addresses are refused both
//! after DNS resolution and for literal IPs, on every hop.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{StatusCode, Url};
use tokio::sync::Semaphore;

use crate::ingest::budget::{MemoryBudget, Reserved};

/// How the server identifies itself to the sites it polls.
pub const USER_AGENT: &str = concat!(
    "Gazette/",
    env!("CARGO_PKG_VERSION"),
    " (self-hosted news reader; feeds and their stories' pages)"
);
/// What a feed request accepts: feeds first, a web page (to discover
/// its feed) last.
const FEED_ACCEPT: &str = "application/atom+xml, application/rss+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, text/html;q=0.5, */*;q=0.1";
/// What a page request accepts.
const PAGE_ACCEPT: &str = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1";
/// Redirect hops followed before giving up.
const MAX_REDIRECTS: usize = 5;
/// Requests in flight to one host at once.
const PER_HOST: usize = 2;
/// How long a fetched document waits for room in the memory budget.
const BUSY_WAIT: Duration = Duration::from_secs(20);
/// When a feed postponed for want of memory is fetched again.
const BUSY_RETRY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub timeout: Duration,
    pub max_bytes: usize,
    pub allow_private: bool,
}

/// Why a fetch failed, in words an admin can act on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("refused: {0} is a private, loopback or link-local address (set --allow-private-feeds to allow)")]
    PrivateAddress(String),
    #[error("the server answered {status}")]
    Status { status: u16, retry_after: Option<Duration> },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the response is larger than {0} bytes")]
    TooLarge(usize),
    #[error("redirect loop at {0}")]
    RedirectLoop(String),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("cannot reach the feed: {0}")]
    Network(String),
    #[error("not an http or https URL: {0}")]
    BadUrl(String),
    /// Parsing and storing the document would take Gazette past its
    /// memory budget (`--memory-budget`), which other work holds: tried
    /// again later.
    #[error("postponed: the memory budget is in use (the feed is fetched again in a minute)")]
    Busy,
}

impl FetchError {
    /// The wait a 429 or 503 asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status {
                status: 429 | 503,
                retry_after,
            } => *retry_after,
            FetchError::Busy => Some(BUSY_RETRY),
            _ => None,
        }
    }
}

/// What a successful request returned.
#[derive(Debug)]
pub enum Fetched {
    NotModified {
        moved_to: Option<Url>,
        cache_floor: Option<Duration>,
    },
    Body {
        bytes: Vec<u8>,
        content_type: Option<String>,
        etag: Option<String>,
        last_modified: Option<String>,
        /// The URL the content came from, after redirects.
        final_url: Url,
        /// Set when every redirect was permanent: the feed has moved.
        moved_to: Option<Url>,
        /// Cache-Control max-age or Expires: no point polling sooner.
        cache_floor: Option<Duration>,
        /// The memory budget's room for parsing and storing `bytes`, held
        /// until the document is done with.
        room: Box<Reserved>,
    },
}

pub struct Fetcher {
    client: reqwest::Client,
    settings: FetchSettings,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    budget: MemoryBudget,
}

/// The roots to trust when the system has none: a bare container image
/// without a CA bundle would otherwise stop Gazette from starting at all
/// (the TLS verifier refuses to build with no roots), though only feed
/// fetching needs them. The bundled Mozilla roots keep HTTPS feeds
/// working there; a system bundle, when present, is used alone, so a
/// private CA installed on the machine is trusted as before.
fn fallback_roots() -> Vec<reqwest::Certificate> {
    if !rustls_native_certs::load_native_certs().certs.is_empty() {
        return Vec::new();
    }
    tracing::warn!(
        "no CA certificates found on this system (install ca-certificates, or set SSL_CERT_FILE); \
         HTTPS feeds are checked against Gazette's bundled Mozilla roots instead"
    );
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok())
        .collect()
}

impl Fetcher {
    /// A fetcher whose documents take their room in `budget`.
    pub fn new(settings: FetchSettings, budget: MemoryBudget) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            // No timeout for the whole request: the answer and the body
            // each get `settings.timeout` (below), and the wait for room
            // in the memory budget between them counts against neither (a
            // feed that waited its turn timed out while being read).
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .gzip(true)
            .brotli(true)
            .dns_resolver(GuardedResolver {
                allow_private: settings.allow_private,
            })
            .tls_certs_merge(fallback_roots())
            .build()?;
        Ok(Fetcher {
            client,
            settings,
            hosts: Mutex::new(HashMap::new()),
            budget,
        })
    }

    fn host_permit(&self, url: &Url) -> Arc<Semaphore> {
        let host = url.host_str().unwrap_or_default().to_owned();
        let mut hosts = self.hosts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        hosts
            .entry(host)
            .or_insert_with(|| Arc::new(Semaphore::new(PER_HOST)))
            .clone()
    }

    /// GETs a feed at `url`, conditionally when validators are given.
    pub async fn fetch(
        &self,
        url: &Url,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<Fetched, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(FEED_ACCEPT));
        if let Some(value) = etag.and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(header::IF_NONE_MATCH, value);
        }
        if let Some(value) = last_modified.and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(header::IF_MODIFIED_SINCE, value);
        }
        self.get(url, headers).await
    }

    /// GETs a web page at `url` (an article's, for its full story), with
    /// the same guards as a feed, and any `extra` headers a site rule sends.
    pub async fn fetch_page(&self, url: &Url, extra: &[(String, String)]) -> Result<Fetched, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(PAGE_ACCEPT));
        for (name, value) in extra {
            if let (Ok(name), Ok(value)) = (
                header::HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.insert(name, value);
            }
        }
        self.get(url, headers).await
    }

    async fn get(&self, url: &Url, headers: HeaderMap) -> Result<Fetched, FetchError> {
        let mut current = url.clone();
        let mut visited = HashSet::new();
        let mut all_permanent = true;
        for _ in 0..=MAX_REDIRECTS {
            if !matches!(current.scheme(), "http" | "https") {
                return Err(FetchError::BadUrl(current.to_string()));
            }
            if !visited.insert(current.to_string()) {
                return Err(FetchError::RedirectLoop(current.to_string()));
            }
            self.check_literal_host(&current)?;
            let permit = self.host_permit(&current);
            let _permit = permit
                .acquire()
                .await
                .map_err(|err| FetchError::Network(err.to_string()))?;
            let request = self.client.get(current.clone()).headers(headers.clone());
            let response = tokio::time::timeout(self.settings.timeout, request.send())
                .await
                .map_err(|_| FetchError::Timeout(self.settings.timeout))?
                .map_err(|err| self.describe(err))?;
            let status = response.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| FetchError::Network(format!("{status} without a Location")))?;
                let next = current
                    .join(location)
                    .map_err(|_| FetchError::BadUrl(location.to_owned()))?;
                all_permanent &= matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT);
                current = next;
                continue;
            }
            let moved_to = (all_permanent && current != *url).then(|| current.clone());
            let headers = response.headers().clone();
            let cache_floor = cache_floor(&headers);
            if status == StatusCode::NOT_MODIFIED {
                return Ok(Fetched::NotModified { moved_to, cache_floor });
            }
            if !status.is_success() {
                return Err(FetchError::Status {
                    status: status.as_u16(),
                    retry_after: retry_after(&headers),
                });
            }
            // Reading, parsing and storing a document costs several times
            // its size, so it waits its turn in the memory budget: before
            // reading when its length is declared, else once it is read (at
            // most `max_bytes`, at most the poller's concurrency at once).
            let declared = response
                .content_length()
                .filter(|&length| length <= self.settings.max_bytes as u64);
            let room = match declared {
                Some(length) => Some(self.reserve(length).await?),
                None => None,
            };
            let bytes = tokio::time::timeout(self.settings.timeout, self.read_limited(response))
                .await
                .map_err(|_| FetchError::Timeout(self.settings.timeout))??;
            let room = match room {
                Some(room) => room,
                None => self.reserve(bytes.len() as u64).await?,
            };
            let text_header =
                |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            return Ok(Fetched::Body {
                bytes,
                content_type: text_header(header::CONTENT_TYPE),
                etag: text_header(header::ETAG),
                last_modified: text_header(header::LAST_MODIFIED),
                final_url: current,
                moved_to,
                cache_floor,
                room: Box::new(room),
            });
        }
        Err(FetchError::TooManyRedirects)
    }

    /// Room in the memory budget for a document of `length` bytes.
    async fn reserve(&self, length: u64) -> Result<Reserved, FetchError> {
        self.budget
            .reserve(crate::ingest::budget::document_cost(length), BUSY_WAIT)
            .await
            .ok_or_else(|| {
                metrics::counter!("gazette_memory_budget_refused_total").increment(1);
                FetchError::Busy
            })
    }

    async fn read_limited(&self, mut response: reqwest::Response) -> Result<Vec<u8>, FetchError> {
        let limit = self.settings.max_bytes;
        if response.content_length().is_some_and(|len| len as usize > limit) {
            return Err(FetchError::TooLarge(limit));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|err| self.describe(err))? {
            if bytes.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge(limit));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    fn check_literal_host(&self, url: &Url) -> Result<(), FetchError> {
        if self.settings.allow_private {
            return Ok(());
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(url::Host::Domain(name)) if name.eq_ignore_ascii_case("localhost") => {
                return Err(FetchError::PrivateAddress(name.to_owned()));
            }
            _ => return Ok(()),
        };
        if is_private(ip) {
            Err(FetchError::PrivateAddress(ip.to_string()))
        } else {
            Ok(())
        }
    }

    fn describe(&self, err: reqwest::Error) -> FetchError {
        if err.is_timeout() {
            return FetchError::Timeout(self.settings.timeout);
        }
        // The resolver's refusal arrives wrapped; find it in the chain.
        let mut source: Option<&dyn std::error::Error> = Some(&err);
        while let Some(cause) = source {
            if let Some(refused) = cause.downcast_ref::<PrivateRefusal>() {
                return FetchError::PrivateAddress(refused.0.clone());
            }
            source = cause.source();
        }
        FetchError::Network(error_chain(&err))
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Loopback, private (RFC 1918, unique local), link-local, carrier-grade
/// NAT, unspecified and broadcast addresses: never a public feed.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (a == 100 && (64..128).contains(&b))
                || a == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback() || v6.is_unspecified() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

#[derive(Debug)]
struct PrivateRefusal(String);

impl std::fmt::Display for PrivateRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} resolves only to private addresses", self.0)
    }
}

impl std::error::Error for PrivateRefusal {}

/// DNS that drops private addresses (unless allowed), so a public name
/// pointing inside the network is refused at connect time, on every hop.
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| allow_private || !is_private(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(PrivateRefusal(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().ok()
}

/// How long the server said its answer stays fresh.
fn cache_floor(headers: &HeaderMap) -> Option<Duration> {
    let max_age = headers
        .get(header::CACHE_CONTROL)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|d| d.trim().strip_prefix("max-age=")?.trim().parse::<u64>().ok())
        })
        .map(Duration::from_secs);
    max_age.or_else(|| {
        let expires = headers.get(header::EXPIRES)?.to_str().ok()?;
        let at = chrono::DateTime::parse_from_rfc2822(expires).ok()?;
        (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::is_private;

    #[test]
    fn private_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }
}
