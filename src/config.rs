//! Every setting of the server: its flag, its environment variable and its
//! default, in one place.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// Two MiB: room for a long article with inline HTML, small enough that a
/// runaway sender cannot make the server buffer much.
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// 32 MiB for batches (JSON or NDJSON) and OPML imports: 1,000 articles,
/// the most a batch may hold, of 30 KB each, a long feature with markup.
pub const DEFAULT_MAX_BATCH_BODY_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, global = true, env = "GAZETTE_BIND", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,

    /// Path of the SQLite database file (it and its folder are created if
    /// missing), or a postgres:// URL of a PostgreSQL database.
    #[arg(
        long,
        global = true,
        env = "GAZETTE_DATABASE",
        default_value = "data/gazette.db",
        hide_env_values = true
    )]
    pub database: crate::store::Location,

    /// An ingest token accepted in addition to the ones stored in the database.
    #[arg(long, global = true, env = "GAZETTE_INGEST_TOKEN", hide_env_values = true)]
    pub ingest_token: Option<String>,

    /// A file holding the ingest token (for Docker secrets).
    #[arg(long, global = true, env = "GAZETTE_INGEST_TOKEN_FILE")]
    pub ingest_token_file: Option<PathBuf>,

    /// Only signed-in people see the site (pages, feeds, search, sitemaps, the read API); the API still takes tokens.
    #[arg(long, global = true, env = "GAZETTE_PRIVATE", default_value_t = false)]
    pub private: bool,

    /// A bearer token that may read /metrics (for a Prometheus scraper) once accounts exist.
    #[arg(long, global = true, env = "GAZETTE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Creates this admin account at start when no account exists yet (never changes an existing one).
    #[arg(long, global = true, env = "GAZETTE_ADMIN_USER")]
    pub admin_user: Option<String>,

    /// The password of --admin-user.
    #[arg(long, global = true, env = "GAZETTE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// A file holding the password of --admin-user (for Docker secrets).
    #[arg(long, global = true, env = "GAZETTE_ADMIN_PASSWORD_FILE")]
    pub admin_password_file: Option<PathBuf>,

    /// Public URL of the site, used for absolute links (feeds, canonical URLs).
    #[arg(long, global = true, env = "GAZETTE_BASE_URL")]
    pub base_url: Option<String>,

    /// Name shown in the masthead and page titles.
    #[arg(long, global = true, env = "GAZETTE_SITE_NAME", default_value = "Gazette")]
    pub site_name: String,

    /// Largest request body accepted, in bytes (batches and OPML imports have their own).
    #[arg(long, global = true, env = "GAZETTE_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// Largest body of a batch (JSON or NDJSON) or an OPML import, in bytes.
    #[arg(long, global = true, env = "GAZETTE_MAX_BATCH_BODY_BYTES", default_value_t = DEFAULT_MAX_BATCH_BODY_BYTES)]
    pub max_batch_body_bytes: usize,

    /// Log format: "text" for people, "json" for log collectors.
    #[arg(long, global = true, env = "GAZETTE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Requests served at once; past it, new requests get 503 with Retry-After.
    #[arg(long, global = true, env = "GAZETTE_MAX_CONCURRENT_REQUESTS", default_value_t = 512)]
    pub max_concurrent_requests: usize,

    /// Ingest requests per second allowed per token (bursts of the same size); 0 disables.
    #[arg(long, global = true, env = "GAZETTE_INGEST_RATE_LIMIT", default_value_t = 200)]
    pub ingest_rate_limit: u32,

    /// Longest time one request may take, in seconds.
    #[arg(long, global = true, env = "GAZETTE_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// Longest a client may take to send a request's header, in seconds; then it is disconnected.
    #[arg(long, global = true, env = "GAZETTE_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,

    /// How long an idle keep-alive connection is kept open, in seconds.
    #[arg(long, global = true, env = "GAZETTE_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub idle_timeout_secs: u64,

    /// Reverse proxies whose Forwarded / X-Forwarded-For headers are believed: addresses and CIDR ranges, comma-separated (default: none).
    #[arg(long, global = true, env = "GAZETTE_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: crate::web::client::TrustedProxies,

    /// Connections open at once; past it, new ones wait until one closes (0: as many as the open-file limit allows).
    #[arg(long, global = true, env = "GAZETTE_MAX_CONNECTIONS", default_value_t = 0)]
    pub max_connections: usize,

    /// On SIGTERM or SIGINT, how long requests in flight may take to finish, in seconds.
    #[arg(long, global = true, env = "GAZETTE_SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    pub shutdown_grace_secs: u64,

    /// Delete articles published more than this many days ago (unset: keep everything).
    #[arg(long, global = true, env = "GAZETTE_RETENTION_DAYS")]
    pub retention_days: Option<u32>,

    /// Per-section retention overriding --retention-days, as SLUG=DAYS (repeatable, or comma-separated).
    #[arg(long, global = true, env = "GAZETTE_SECTION_RETENTION", value_delimiter = ',', value_parser = parse_section_retention)]
    pub section_retention: Vec<(String, u32)>,

    /// The most index entries (a document holding a word, once per word searched) one search may read; past it the search is refused with 400.
    #[arg(long, global = true, env = "GAZETTE_SEARCH_COST_LIMIT", default_value_t = crate::domain::search::COST_LIMIT)]
    pub search_cost_limit: i64,

    /// How often to look whether the search index's words need counting again (what the cost limit is judged on), in seconds.
    #[arg(long, global = true, env = "GAZETTE_TERM_COUNT_INTERVAL_SECS", default_value_t = 60)]
    pub term_count_interval_secs: u64,

    /// Keep rendered pages and feeds until the next write or the next minute.
    #[arg(long, global = true, env = "GAZETTE_PAGE_CACHE", default_value_t = true, action = clap::ArgAction::Set)]
    pub page_cache: bool,

    /// Let feeds live on loopback, private and link-local addresses (refused by default).
    #[arg(long, global = true, env = "GAZETTE_ALLOW_PRIVATE_FEEDS", default_value_t = false)]
    pub allow_private_feeds: bool,

    /// Feeds fetched at once, across all hosts.
    #[arg(long, global = true, env = "GAZETTE_FEED_CONCURRENCY", default_value_t = 8)]
    pub feed_concurrency: usize,

    /// Longest a feed fetch may take, in seconds.
    #[arg(long, global = true, env = "GAZETTE_FEED_TIMEOUT_SECS", default_value_t = 20)]
    pub feed_timeout_secs: u64,

    /// Largest feed document accepted, in bytes.
    #[arg(long, global = true, env = "GAZETTE_FEED_MAX_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub feed_max_bytes: usize,

    /// A JSON file of site rules for full-content fetch: where the story
    /// is on a site the generic extractor reads wrongly (README, "Full
    /// stories").
    #[arg(long, global = true, env = "GAZETTE_SITE_RULES")]
    pub site_rules: Option<std::path::PathBuf>,

    /// Pause between the starts of two page fetches from one site, in
    /// milliseconds (full-content fetch; at most two at once per site).
    #[arg(long, global = true, env = "GAZETTE_PAGE_FETCH_PACE_MS", default_value_t = 1000)]
    pub page_fetch_pace_ms: u64,

    /// Largest size the database may grow to, such as "2GiB" or "500MB"
    /// (unset: until the disk is full). Past it, writes are refused with 507
    /// as on a full disk, while reads go on.
    #[arg(long, global = true, env = "GAZETTE_MAX_DATABASE_SIZE", value_parser = parse_size)]
    pub max_database_size: Option<u64>,

    /// Connections each instance keeps to PostgreSQL, reads and writes
    /// together (one more listens for other instances' changes). Several
    /// instances together must stay under the server's max_connections.
    #[arg(long, global = true, env = "GAZETTE_DATABASE_CONNECTIONS", default_value_t = 10)]
    pub database_connections: u32,

    /// Article URLs per sitemap file (the protocol allows up to 50,000). At
    /// the default a file is about 1.5 MB, small enough for the page cache
    /// to keep, so a crawl of a large site costs one build per file and change.
    #[arg(long, global = true, env = "GAZETTE_SITEMAP_FILE_URLS", default_value_t = 10_000,
          value_parser = clap::value_parser!(i64).range(1..=50_000))]
    pub sitemap_file_urls: i64,

    /// Memory that work in flight may take together, such as "256MiB":
    /// a batch or a fetched feed reserves what it will hold before it
    /// starts, and waits for room (up to 20 s, then 503 with Retry-After,
    /// or a scheduled poll postponed a minute).
    #[arg(long, global = true, env = "GAZETTE_MEMORY_BUDGET", default_value = "256MiB", value_parser = parse_size)]
    pub memory_budget: u64,

    /// How often the retention sweep runs, in seconds.
    #[arg(long, global = true, env = "GAZETTE_RETENTION_INTERVAL_SECS", default_value_t = 3600)]
    pub retention_interval_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn parse_size(text: &str) -> Result<u64, String> {
    let size: bytesize::ByteSize = text
        .trim()
        .parse()
        .map_err(|err| format!("{text:?} is not a size such as 2GiB or 500MB: {err}"))?;
    Ok(size.as_u64())
}

fn parse_section_retention(text: &str) -> Result<(String, u32), String> {
    let (slug, days) = text
        .split_once('=')
        .ok_or_else(|| format!("expected SLUG=DAYS, got {text:?}"))?;
    let days = days
        .trim()
        .parse()
        .map_err(|_| format!("{days:?} is not a number of days"))?;
    Ok((slug.trim().to_owned(), days))
}

impl Config {
    /// A configuration with every default, for the given database.
    pub fn for_database(database: impl Into<crate::store::Location>) -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 3000)),
            database: database.into(),
            ingest_token: None,
            ingest_token_file: None,
            private: false,
            metrics_token: None,
            admin_user: None,
            admin_password: None,
            admin_password_file: None,
            base_url: None,
            site_name: "Gazette".to_owned(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_batch_body_bytes: DEFAULT_MAX_BATCH_BODY_BYTES,
            log_format: LogFormat::Text,
            max_concurrent_requests: 512,
            ingest_rate_limit: 200,
            request_timeout_secs: 30,
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
            trusted_proxies: crate::web::client::TrustedProxies::default(),
            max_connections: 0,
            shutdown_grace_secs: 20,
            retention_days: None,
            section_retention: Vec::new(),
            retention_interval_secs: 3600,
            sitemap_file_urls: 10_000,
            memory_budget: 256 * 1024 * 1024,
            max_database_size: None,
            database_connections: 10,
            search_cost_limit: crate::domain::search::COST_LIMIT,
            term_count_interval_secs: 60,
            page_cache: true,
            allow_private_feeds: false,
            feed_concurrency: 8,
            feed_timeout_secs: 20,
            feed_max_bytes: 10 * 1024 * 1024,
            site_rules: None,
            page_fetch_pace_ms: 1000,
        }
    }

    /// The configured ingest token, read from its file when one is given.
    /// An empty value counts as unset, so a compose file may pass an empty
    /// variable through; a value that only looks like a token is refused
    /// (see [`check_token`]).
    pub fn configured_token(&self) -> anyhow::Result<Option<String>> {
        let inline = self.ingest_token.clone().filter(|t| !t.is_empty());
        if let Some(token) = &inline {
            check_token(token, "GAZETTE_INGEST_TOKEN")?;
        }
        let file = self.ingest_token_file.as_ref().filter(|p| !p.as_os_str().is_empty());
        if let Some(path) = file {
            anyhow::ensure!(
                inline.is_none(),
                "give the ingest token either inline (GAZETTE_INGEST_TOKEN) or as a file (GAZETTE_INGEST_TOKEN_FILE), not both"
            );
            let token = std::fs::read_to_string(path)
                .map_err(|err| anyhow::anyhow!("cannot read ingest token file {}: {err}", path.display()))?;
            let token = token.trim().to_owned();
            anyhow::ensure!(!token.is_empty(), "ingest token file {} is empty", path.display());
            check_token(&token, &format!("the ingest token file {}", path.display()))?;
            return Ok(Some(token));
        }
        Ok(inline)
    }

    /// The configured metrics token, held to the same rules as the ingest token.
    pub fn configured_metrics_token(&self) -> anyhow::Result<Option<String>> {
        match self.metrics_token.clone().filter(|t| !t.is_empty()) {
            Some(token) => {
                check_token(&token, "GAZETTE_METRICS_TOKEN")?;
                Ok(Some(token))
            }
            None => Ok(None),
        }
    }

    /// The first admin's password, inline or from its file.
    pub fn admin_password(&self) -> anyhow::Result<Option<String>> {
        let inline = self.admin_password.clone().filter(|p| !p.is_empty());
        match self.admin_password_file.as_ref().filter(|p| !p.as_os_str().is_empty()) {
            Some(path) => {
                anyhow::ensure!(
                    inline.is_none(),
                    "give the admin password either inline (GAZETTE_ADMIN_PASSWORD) or as a file (GAZETTE_ADMIN_PASSWORD_FILE), not both"
                );
                let password = std::fs::read_to_string(path)
                    .map_err(|err| anyhow::anyhow!("cannot read admin password file {}: {err}", path.display()))?;
                Ok(Some(password.trim_end_matches(['\n', '\r']).to_owned()))
            }
            None => Ok(inline),
        }
    }

    /// The base URL without a trailing slash: the configured one, else one
    /// derived from the bind address. Never derived from a request's Host
    /// header, which a client controls.
    pub fn public_base_url(&self) -> String {
        match &self.base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.local_addr_for(self.bind)),
        }
    }

    /// An address a local client can reach the server on: a wildcard bind
    /// is reached through loopback.
    pub fn local_addr_for(&self, bind: SocketAddr) -> SocketAddr {
        let mut addr = bind;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        addr
    }
}

impl Config {
    /// The limits on client connections. The connection limit never
    /// exceeds what the open-file limit allows: past that, accept() would
    /// fail instead of new clients waiting their turn.
    pub fn connection_limits(&self) -> crate::web::server::ConnectionLimits {
        let budget = crate::web::server::connection_budget();
        let max_connections = match self.max_connections {
            0 => budget,
            wanted if wanted > budget => {
                tracing::warn!(
                    wanted,
                    allowed = budget,
                    "--max-connections is more than the open-file limit allows; using the lower figure"
                );
                budget
            }
            wanted => wanted,
        };
        crate::web::server::ConnectionLimits {
            header_timeout: std::time::Duration::from_secs(self.header_timeout_secs.max(1)),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_secs.max(1)),
            max_connections,
        }
    }

    /// The feed fetcher's settings.
    pub fn fetch_settings(&self) -> crate::feeds::fetch::FetchSettings {
        crate::feeds::fetch::FetchSettings {
            timeout: std::time::Duration::from_secs(self.feed_timeout_secs.max(1)),
            max_bytes: self.feed_max_bytes,
            allow_private: self.allow_private_feeds,
        }
    }
}

/// The shortest configured token accepted: guessing 16 random characters
/// is out of reach; a shorter value is a placeholder or a typo.
pub const MIN_TOKEN_CHARS: usize = 16;

/// Refuses a configured token that is not a secret: a compose tool can hand
/// Gazette an uninterpolated `${VAR}` (anyone who reads the compose file
/// could then post), a `.env` file a pair of quotes, a person a short word.
fn check_token(token: &str, origin: &str) -> anyhow::Result<()> {
    let how = "use a long random value, e.g. `openssl rand -hex 32`";
    anyhow::ensure!(
        !token.contains("${") && !token.starts_with('$'),
        "{origin} holds {token:?}, an uninterpolated placeholder, not a token: the tool that started Gazette \
         did not substitute the variable; {how}"
    );
    anyhow::ensure!(
        !token.chars().all(|c| c.is_whitespace() || c == '"' || c == '\''),
        "{origin} looks empty (only spaces or quotes); leave it unset to have Gazette create a token, or {how}"
    );
    let chars = token.trim().chars().count();
    anyhow::ensure!(
        chars >= MIN_TOKEN_CHARS,
        "{origin} is too short ({chars} characters, at least {MIN_TOKEN_CHARS} needed); {how}"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn an_empty_token_counts_as_unset() {
        let mut config = Config::for_database("x.db");
        config.ingest_token = Some(String::new());
        assert_eq!(config.configured_token().unwrap(), None);
    }

    #[test]
    fn placeholders_and_weak_tokens_are_refused_with_the_reason() {
        let mut config = Config::for_database("x.db");
        for (token, reason) in [
            ("${GAZETTE_INGEST_TOKEN:-}", "uninterpolated placeholder"),
            ("$GAZETTE_INGEST_TOKEN", "uninterpolated placeholder"),
            ("  ", "looks empty"),
            ("\"\"", "looks empty"),
            ("changeme", "too short (8 characters"),
        ] {
            config.ingest_token = Some(token.into());
            let err = config.configured_token().unwrap_err().to_string();
            assert!(err.contains(reason), "{token:?}: {err}");
            assert!(err.contains("GAZETTE_INGEST_TOKEN"), "{err}");
        }
        config.ingest_token = Some("a-long-enough-secret-0123".into());
        assert_eq!(
            config.configured_token().unwrap().as_deref(),
            Some("a-long-enough-secret-0123")
        );
    }

    #[test]
    fn a_token_inline_and_in_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "from-file-0123456789\n").unwrap();
        let mut config = Config::for_database("x.db");
        config.ingest_token_file = Some(file);
        assert_eq!(
            config.configured_token().unwrap().as_deref(),
            Some("from-file-0123456789")
        );
        config.ingest_token = Some("inline-0123456789abc".into());
        assert!(config.configured_token().is_err());
    }
}
