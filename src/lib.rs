//! Gazette: a self-hosted news site fed by an ingest API.
//!
//! This file builds the shared state and the application; `main.rs` and
//! every integration test start Gazette through [`Application::build`].

// The two passes of .ci/prepare-sqlx compile one backend's queries each;
// what the other backend's code would have used is unused there.
#![cfg_attr(
    any(feature = "prepare-sqlite", feature = "prepare-postgres"),
    allow(dead_code, unused)
)]

pub mod accounts;
pub mod allocator;
pub mod config;
pub mod domain;
pub mod error;
pub mod feeds;
pub mod full_content;
pub mod ingest;
pub mod reading;
pub mod retention;
pub mod rules;
pub mod sections;
pub mod store;
pub mod stories;
pub mod tokens;
pub mod upkeep;
pub mod web;

use std::fs::File;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::store::Db;

/// What every handler can reach. Cloned for every request (by each
/// middleware that takes it, cache hits included), so it is one pointer:
/// copying the parts themselves cost 7% of a busy server's time in
/// reference counts alone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    pub db: Db,
    pub site: Arc<Site>,
    /// Per-token ingest limits, keyed by the token's digest; None when off.
    pub ingest_limiter: Option<Arc<DefaultKeyedRateLimiter<[u8; 32]>>>,
    pub fetcher: Arc<feeds::fetch::Fetcher>,
    /// Fetches articles' pages for their full stories.
    pub pages: Arc<full_content::PageFetcher>,
    /// Rendered pages and feeds; None when switched off (--page-cache false).
    pub page_cache: Option<Arc<web::cache::PageCache>>,
    /// Where single articles queue to be committed together.
    pub commits: Arc<ingest::GroupCommit>,
    /// Memory that batches in flight may take (`--memory-budget`).
    pub memory: ingest::budget::MemoryBudget,
    /// Sign-in attempts, per account and per client address.
    pub login_limits: Arc<web::account::LoginLimits>,
    /// Turns to run searches, shared fairly between clients.
    pub search_turns: Arc<web::search_turns::SearchTurns>,
    /// Readers' read and saved marks, kept in memory while they read.
    pub reading: Arc<reading::Reading>,
    /// Site rules being run over what is stored.
    pub rule_jobs: Arc<rules::apply::Jobs>,
    /// Readers' `mute` rules being run over what is stored.
    pub reader_rule_jobs: Arc<rules::apply::Jobs>,
}

/// Settings the pages and the API read on every request, resolved once.
#[derive(Debug)]
pub struct Site {
    pub name: String,
    /// Absolute base URL without a trailing slash.
    pub base_url: String,
    /// SHA-256 of the token given in the configuration, if any.
    pub configured_token_hash: Option<[u8; 32]>,
    pub max_body_bytes: usize,
    /// For batches and OPML imports.
    pub max_batch_body_bytes: usize,
    /// Article URLs per sitemap file.
    pub sitemap_file_urls: i64,
    pub max_concurrent_requests: usize,
    pub request_timeout: Duration,
    /// Private mode: only signed-in people see the site.
    pub private: bool,
    /// SHA-256 of the configured metrics token, if any.
    pub metrics_token_hash: Option<[u8; 32]>,
    /// The most index entries one search may read.
    pub search_cost_limit: i64,
}

/// A bound, ready-to-serve Gazette.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    retention: retention::Policy,
    retention_interval: Duration,
    shutdown_grace: Duration,
    connection_limits: web::server::ConnectionLimits,
    trusted_proxies: Arc<web::client::TrustedProxies>,
    feed_concurrency: usize,
    term_count_interval: Duration,
    /// Held while serving: `gazette restore` refuses to replace a database
    /// a server is using.
    /// The lock file beside a SQLite database (PostgreSQL takes several
    /// instances).
    _lock: Option<File>,
}

/// Takes the lock file beside the database, or says who holds it.
pub fn lock_database(database: &std::path::Path) -> anyhow::Result<File> {
    let mut path = database.as_os_str().to_owned();
    path.push(".lock");
    let path = std::path::PathBuf::from(path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let file = File::options().create(true).truncate(false).write(true).open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            anyhow::bail!("{} is in use by another Gazette process", database.display())
        }
        Err(std::fs::TryLockError::Error(err)) => Err(err.into()),
    }
}

impl Application {
    /// Opens the database, makes sure an ingest token exists, and binds
    /// the listener (port 0 picks a free port, as the tests do).
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let lock = match &config.database {
            store::Location::Sqlite(path) => Some(lock_database(path)?),
            store::Location::Postgres(_) => None,
        };
        let db = Db::connect(&config.database, config.database_connections).await?;
        db.writer.set_max_size(config.max_database_size).await?;
        let configured = config.configured_token()?;
        tokens::ensure_first_token(&db, configured.is_some(), &config.public_base_url()).await?;
        if let Some(admin) = config.admin_user.as_deref().filter(|name| !name.is_empty()) {
            accounts::ensure_first_admin(&db, admin, config.admin_password()?).await?;
        }
        // The decoy hash is made beside the start, not in its way.
        tokio::task::spawn_blocking(accounts::password::prepare);
        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|err| anyhow::anyhow!("cannot listen on {}: {err}", config.bind))?;
        let bound = listener.local_addr()?;
        let base_url = match &config.base_url {
            Some(_) => config.public_base_url(),
            None => format!("http://{}", config.local_addr_for(bound)),
        };
        let site = Site {
            name: config.site_name.clone(),
            base_url,
            configured_token_hash: configured.as_deref().map(tokens::digest),
            max_body_bytes: config.max_body_bytes,
            max_batch_body_bytes: config.max_batch_body_bytes,
            sitemap_file_urls: config.sitemap_file_urls,
            max_concurrent_requests: config.max_concurrent_requests.max(1),
            request_timeout: Duration::from_secs(config.request_timeout_secs.max(1)),
            private: config.private,
            metrics_token_hash: config.configured_metrics_token()?.as_deref().map(tokens::digest),
            search_cost_limit: config.search_cost_limit.max(1),
        };
        let ingest_limiter = NonZeroU32::new(config.ingest_rate_limit)
            .map(|per_second| Arc::new(RateLimiter::keyed(Quota::per_second(per_second))));
        web::metrics::handle();
        let commits = ingest::GroupCommit::new(db.clone());
        let memory = ingest::budget::MemoryBudget::new(config.memory_budget);
        let fetcher = Arc::new(feeds::fetch::Fetcher::new(config.fetch_settings(), memory.clone())?);
        let search_turns = web::search_turns::SearchTurns::new(db.search_slots());
        let page_cache = config
            .page_cache
            .then(|| Arc::new(web::cache::PageCache::new(db.clone())));
        Ok(Application {
            listener,
            state: AppState(Arc::new(Shared {
                db,
                site: Arc::new(site),
                ingest_limiter,
                fetcher: fetcher.clone(),
                pages: Arc::new(full_content::PageFetcher::new(
                    fetcher,
                    full_content::rules::SiteRules::load(config.site_rules.as_deref())?,
                    Duration::from_millis(config.page_fetch_pace_ms),
                    memory.clone(),
                )),
                page_cache,
                commits,
                memory,
                login_limits: web::account::limits(),
                search_turns,
                reading: Arc::default(),
                rule_jobs: Arc::default(),
                reader_rule_jobs: Arc::default(),
            })),
            feed_concurrency: config.feed_concurrency,
            term_count_interval: Duration::from_secs(config.term_count_interval_secs.max(1)),
            retention: retention::Policy {
                default_days: config.retention_days,
                section_days: config.section_retention.iter().cloned().collect(),
            },
            retention_interval: Duration::from_secs(config.retention_interval_secs.max(1)),
            shutdown_grace: Duration::from_secs(config.shutdown_grace_secs),
            connection_limits: config.connection_limits(),
            trusted_proxies: Arc::new(config.trusted_proxies.clone()),
            _lock: lock,
        })
    }

    /// The database it serves: what an embedding program (or a test)
    /// reaches to change a setting at run time.
    pub fn db(&self) -> &Db {
        &self.state.db
    }

    /// The limits its server applies to client connections.
    pub fn connection_limits(&self) -> web::server::ConnectionLimits {
        self.connection_limits
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes; then stops accepting, gives
    /// requests in flight the grace period to finish, stops background
    /// jobs, and closes the database (checkpointing the WAL), saying how
    /// the final checkpoint went.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<crate::store::Checkpoint> {
        let db = self.state.db.clone();
        let (stop_tx, stop_rx) = watch::channel(false);
        let jobs = self.retention.is_active().then(|| {
            tokio::spawn(retention::run(
                db.clone(),
                self.retention.clone(),
                self.retention_interval,
                stop_rx.clone(),
            ))
        });
        let upkeep = tokio::spawn(upkeep::run(db.clone(), stop_rx.clone()));
        let term_counts = tokio::spawn(upkeep::count_terms(
            db.clone(),
            self.term_count_interval,
            stop_rx.clone(),
        ));
        let peers = {
            let (db, stop) = (db.clone(), stop_rx.clone());
            tokio::spawn(async move { db.follow_peers(stop).await })
        };
        let poller = tokio::spawn(feeds::poller::run(
            db.clone(),
            self.state.fetcher.clone(),
            self.feed_concurrency,
            stop_rx.clone(),
        ));
        let page_fetcher = tokio::spawn(full_content::worker::run(
            db.clone(),
            self.state.pages.clone(),
            stop_rx.clone(),
        ));
        let placer = tokio::spawn(stories::placing::run(
            db.clone(),
            self.state.memory.clone(),
            stop_rx.clone(),
        ));
        let signal = async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        };
        let app = web::app(self.state);
        let server = web::server::serve(self.listener, app, self.connection_limits, self.trusted_proxies, signal);
        let grace = self.shutdown_grace;
        let mut stopping = stop_rx;
        let deadline = async move {
            let _ = stopping.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            () = server => {}
            () = deadline => tracing::warn!("requests still in flight after the shutdown grace period; closing anyway"),
        }
        if let Some(jobs) = jobs {
            jobs.abort();
        }
        poller.abort();
        page_fetcher.abort();
        placer.abort();
        upkeep.abort();
        term_counts.abort();
        peers.abort();
        Ok(db.close().await)
    }
}
