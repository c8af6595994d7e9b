//! All SQL lives here. Each domain module (`articles`, `reading`, `feeds`,
//! …) declares its operations and the types they pass; `sqlite/` and
//! `postgres/` write every operation in their own dialect (see
//! `operations.rs` for how the two meet). [`Db`] holds one backend: a
//! SQLite file (the default) or a PostgreSQL database shared by several
//! instances (`postgres/peers.rs` keeps their caches right).
//!
//! SQLite settings, and why:
//! - WAL: readers never block the writer and the writer never blocks
//!   readers, which is what a news site under ingest needs.
//! - `synchronous = FULL`: every commit is fsynced before the API answers,
//!   so an acknowledged article survives a process crash *and* a power
//!   loss (NORMAL would survive only the first). Batches amortise the cost.
//! - One writer connection: all writes queue on it in order, so concurrent
//!   ingests wait their turn instead of failing with "database is locked";
//!   the busy timeout covers the rare checkpoint overlap with readers. Every
//!   write is a transaction of [`Writer`], which acknowledges nothing that
//!   SQLite did not report committed (see writer.rs for why).
//! - Foreign keys on, so a section can never lose an article it holds.

#[macro_use]
mod operations;

pub mod app_passwords;
pub mod articles;
pub mod backup;
pub mod copy;
pub mod feeds;
pub mod health;
pub mod memo;
pub mod page_fetches;
pub mod postgres;
pub mod reader_rules;
pub mod reading;
pub mod rules;
pub mod search;
pub mod sections;
pub mod site;
pub mod sqlite;
pub mod stories;
pub mod streams;
pub mod tokens;
pub mod topics;
pub mod users;
pub mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, SqliteConnection, SqlitePool};

pub use writer::{WriteError, Writer};

/// Readers are cheap in WAL mode; a few cover two cores with room for
/// requests that wait on the network.
const READ_CONNECTIONS: u32 = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The database: a pool of read-only connections and the single write path.
#[derive(Clone)]
pub struct Db {
    pub reader: Reader,
    pub writer: Writer,
    /// Bumped after every committed change to what the site shows, so
    /// caches of what was read from it know they are stale.
    generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Bumped after a change whose pages cannot be named (an edit, a
    /// deletion, a sweep): every rendered page is stale.
    pages_generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// What new articles touched, for the pages made from it.
    topics: std::sync::Arc<topics::Topics>,
    /// The section list every page shows, read once per change.
    sections: std::sync::Arc<sections::ListMemo>,
    /// The sections' aliases, read once per change.
    section_aliases: std::sync::Arc<sections::AliasMemo>,
    /// Each section's article sidebar (the newest stories elsewhere), read
    /// once per change.
    sidebars: std::sync::Arc<articles::SidebarMemo>,
    /// Bumped after every change to accounts or sessions made here.
    accounts_generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Sessions as recently read (see `users::SessionCache`).
    pub sessions: std::sync::Arc<users::SessionCache>,
    /// This process among the instances sharing a PostgreSQL database:
    /// it tells the others of its changes and ignores its own.
    instance: u64,
    /// Uncached searches running at once (see [`Db::search_slots`]).
    search_slots: usize,
    /// Bumped after every change to the site's rules.
    rules_generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The site's rules as compiled, until they change (see
    /// `crate::rules::current`).
    pub(crate) compiled_rules: std::sync::Arc<memo::Memo<(), std::sync::Arc<crate::rules::set::RuleSet>>>,
    /// Every reader's rules as compiled for new articles, until one
    /// changes (see `crate::reading::rules::compiled`).
    pub(crate) compiled_reader_rules: std::sync::Arc<memo::Memo<(), std::sync::Arc<crate::reading::rules::Compiled>>>,
    /// What the write path tells the worker that places new articles in
    /// stories (see `crate::stories::placing`).
    pub(crate) placing: std::sync::Arc<crate::stories::placing::Signals>,
}

/// What a change touched, as caches care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// What the site shows: articles, sections, feeds' output.
    Articles,
    /// Accounts and sessions.
    Accounts,
    /// A reader's own state (read, saved, labels).
    Reading,
    /// The site's rules.
    Rules,
}

/// Where the data lives: a SQLite file (the default) or a PostgreSQL
/// database, told apart by the `postgres://` (or `postgresql://`) scheme.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl FromStr for Location {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(
            if text.starts_with("postgres://") || text.starts_with("postgresql://") {
                Location::Postgres(text.to_owned())
            } else {
                Location::Sqlite(text.into())
            },
        )
    }
}

impl From<std::path::PathBuf> for Location {
    fn from(path: std::path::PathBuf) -> Self {
        Location::Sqlite(path)
    }
}

impl From<&std::path::Path> for Location {
    fn from(path: &std::path::Path) -> Self {
        Location::Sqlite(path.to_owned())
    }
}

impl From<&std::path::PathBuf> for Location {
    fn from(path: &std::path::PathBuf) -> Self {
        Location::Sqlite(path.clone())
    }
}

impl From<&str> for Location {
    fn from(text: &str) -> Self {
        match text.parse() {
            Ok(location) => location,
            Err(never) => match never {},
        }
    }
}

/// Shown in logs and messages: a PostgreSQL URL without its password.
impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("***"));
                    }
                    write!(f, "{parsed}")
                }
                Err(_) => f.write_str("postgres://(unreadable URL)"),
            },
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl Db {
    /// Opens and migrates the database wherever it lives; on PostgreSQL
    /// with a pool of `connections`.
    pub async fn connect(location: &Location, connections: u32) -> anyhow::Result<Self> {
        match location {
            Location::Sqlite(path) => Db::open(path).await,
            Location::Postgres(url) => Db::open_postgres(url, connections).await,
        }
    }

    /// Like [`Db::connect`], for a command that works on a database that
    /// should be there already (`user`, `token`, `feed`, `copy`'s source):
    /// a SQLite file that does not exist is an error naming the path, not
    /// a new empty database (and folder) made from a typo. Only `serve`
    /// and `import` make a new one.
    pub async fn connect_existing(location: &Location, connections: u32) -> anyhow::Result<Self> {
        if let Location::Sqlite(path) = location {
            anyhow::ensure!(
                path.is_file(),
                "no Gazette database at {}: check --database (GAZETTE_DATABASE); `gazette serve` creates one \
                 there on its first start",
                path.display()
            );
        }
        Db::connect(location, connections).await
    }

    /// Connects to a PostgreSQL database and brings it to the current
    /// schema (several instances starting at once take turns).
    pub async fn open_postgres(url: &str, connections: u32) -> anyhow::Result<Self> {
        let shown = Location::Postgres(url.to_owned());
        let pool = postgres::connect_patiently(url, connections.max(2))
            .await
            .map_err(|err| anyhow::anyhow!("cannot connect to {shown}: {err}"))?;
        postgres::migrate(&pool)
            .await
            .map_err(|err| anyhow::anyhow!("cannot migrate {shown}: {err}"))?;
        if !postgres::folds_accents(&pool).await? {
            tracing::warn!(
                "PostgreSQL's unaccent extension could not be created: search tells accented letters \
                 from plain ones (\"qarabag\" does not find \"Qarabağ\"). Folding is set up when Gazette \
                 creates its schema: have an administrator create the extension before a fresh start"
            );
        }
        // Half the pool: a burst of slow searches waits its turn here,
        // leaving connections for pages and ingest (and not timing out in
        // the pool's queue as if the database were down).
        let searches = (connections as usize / 2).max(1);
        Ok(Db::on(
            Reader::Postgres(pool.clone()),
            Writer::Postgres(postgres::Writer::new(pool)),
            searches,
        ))
    }

    /// A database on `reader` and `writer`, its caches empty, running at
    /// most `searches` searches at once.
    fn on(reader: Reader, writer: Writer, searches: usize) -> Db {
        Db {
            reader,
            writer,
            generation: Default::default(),
            pages_generation: Default::default(),
            topics: Default::default(),
            sections: Default::default(),
            section_aliases: Default::default(),
            sidebars: Default::default(),
            accounts_generation: Default::default(),
            sessions: Default::default(),
            instance: rand::random(),
            search_slots: searches,
            rules_generation: Default::default(),
            compiled_rules: Default::default(),
            compiled_reader_rules: Default::default(),
            placing: Default::default(),
        }
    }

    /// Opens (creating it and its folder if missing) and migrates the
    /// SQLite database at `path`.
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|err| anyhow::anyhow!("cannot create database folder {}: {err}", dir.display()))?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            // Takes effect when the file is created. Articles are a couple
            // of kilobytes: 8 KiB pages hold several, where 4 KiB pages
            // would hold one and leave the rest of the page empty.
            .page_size(8192)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("temp_store", "memory");

        let writer = sqlite::Writer::open(options.clone())
            .await
            .map_err(|err| anyhow::anyhow!("cannot open database {}: {err}", path.display()))?;
        sqlite::MIGRATOR.run(writer.pool()).await?;

        let reader = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            // A local file needs no liveness check: it saves a round trip
            // to the connection's thread on every query.
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Db::on(
            Reader::Sqlite(reader),
            Writer::Sqlite(writer),
            (READ_CONNECTIONS as usize / 2).max(1),
        ))
    }

    /// How many searches may run at once: a search over a common word
    /// reads thousands of rows, and a burst of them must neither take
    /// every connection from pages nor wait in the pool's queue (on
    /// PostgreSQL a request that waits there too long is answered as if
    /// the database were down). Half the read connections.
    pub fn search_slots(&self) -> usize {
        self.search_slots
    }

    /// Records that articles changed in ways no [`Topic`](topics::Topic)
    /// names, so every cached page is stale; called after the commit.
    pub fn changed(&self) {
        self.note(Change::Articles);
        self.tell_peers(Change::Articles);
    }

    /// Records that new articles were committed, touching `topics`: the
    /// pages made from other topics stay current.
    pub fn articles_added<'a>(&self, topics: impl IntoIterator<Item = topics::Topic<'a>>) {
        let slots = topics::slots(topics);
        self.note_topics(&slots);
        if let Writer::Postgres(writer) = &self.writer {
            postgres::peers::tell_topics(writer.pool(), self.instance, &slots);
        }
    }

    /// Makes the pages of these topic counters stale in this process only.
    pub(crate) fn note_topics(&self, slots: &[u32]) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Release);
        self.topics.touch(slots);
    }

    /// The current change count: equal values mean nothing was written.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The count of changes that made every page stale.
    pub fn pages_generation(&self) -> u64 {
        self.pages_generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The current versions of `topics` (see [`topics`]).
    pub fn stamp(&self, topics: &[topics::Topic]) -> topics::Stamp {
        self.topics.stamp(topics)
    }

    /// Whether no new article touched the topics of `stamp` since.
    pub fn unchanged_since(&self, stamp: &topics::Stamp) -> bool {
        self.topics.unchanged(stamp)
    }

    /// Records that an account or a session changed: cached sessions are
    /// read again.
    pub fn accounts_changed(&self) {
        self.note(Change::Accounts);
        self.tell_peers(Change::Accounts);
    }

    pub fn accounts_generation(&self) -> u64 {
        self.accounts_generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Records that a reader's state changed. This process keeps its own
    /// copy right (`reading::Reading`); other instances read the reader's
    /// session again, which carries the state's version.
    pub fn reading_changed(&self) {
        self.tell_peers(Change::Reading);
    }

    /// Records that readers' state was changed by other hands than their
    /// own (their rules acting on articles): every process reads their
    /// sessions, which carry the state's version, again.
    pub fn readers_changed(&self) {
        self.note(Change::Reading);
        self.tell_peers(Change::Reading);
    }

    /// Makes caches of `change` stale in this process only.
    pub(crate) fn note(&self, change: Change) {
        use std::sync::atomic::Ordering::Release;
        match change {
            Change::Articles => {
                self.generation.fetch_add(1, Release);
                self.pages_generation.fetch_add(1, Release)
            }
            Change::Accounts | Change::Reading => self.accounts_generation.fetch_add(1, Release),
            Change::Rules => self.rules_generation.fetch_add(1, Release),
        };
    }

    /// Records that the site's rules changed; called after the commit.
    pub fn rules_changed(&self) {
        self.note(Change::Rules);
        self.tell_peers(Change::Rules);
    }

    /// The current count of rule changes.
    pub fn rules_generation(&self) -> u64 {
        self.rules_generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Tells the other instances on a PostgreSQL database (see
    /// `postgres::peers`); one SQLite file has no others.
    fn tell_peers(&self, change: Change) {
        if let Writer::Postgres(writer) = &self.writer {
            postgres::peers::tell(writer.pool(), self.instance, change);
        }
    }

    /// Listens to the other instances' changes until `shutdown`, on
    /// PostgreSQL; returns at once on SQLite.
    pub async fn follow_peers(&self, shutdown: tokio::sync::watch::Receiver<bool>) {
        if let Writer::Postgres(writer) = &self.writer {
            postgres::peers::follow(self, writer.pool(), self.instance, shutdown).await;
        }
    }

    /// Whether the database answers a query: the readiness probe.
    pub async fn ping(&self) -> sqlx::Result<()> {
        match &self.reader {
            Reader::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()),
            Reader::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()),
        }
    }

    /// Checkpoints the WAL into the main file and closes every connection.
    /// Says whether the checkpoint succeeded: when it did not, the WAL file
    /// stays beside the database holding the latest commits, and SQLite
    /// replays it at the next start, so nothing committed is lost.
    pub async fn close(&self) -> Checkpoint {
        let Writer::Sqlite(writer) = &self.writer else {
            self.reader.close().await;
            self.writer.close().await;
            return Checkpoint::Done;
        };
        let outcome = match writer.execute_alone("PRAGMA wal_checkpoint(TRUNCATE)").await {
            Ok(()) => Checkpoint::Done,
            Err(err) => {
                tracing::warn!(
                    %err,
                    "WAL checkpoint on close failed: the WAL file is kept beside the database and holds \
                     every committed write; it is replayed at the next start (this is safe)"
                );
                Checkpoint::WalKept
            }
        };
        self.reader.close().await;
        self.writer.close().await;
        outcome
    }
}

/// Where reads go: the read pool of the database in use.
#[derive(Clone, Debug)]
pub enum Reader {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Reader {
    /// Connection pool figures for /metrics: (size, idle).
    pub fn pool_figures(&self) -> (u32, usize) {
        match self {
            Reader::Sqlite(pool) => (pool.size(), pool.num_idle()),
            Reader::Postgres(pool) => (pool.size(), pool.num_idle()),
        }
    }

    pub async fn close(&self) {
        match self {
            Reader::Sqlite(pool) => pool.close().await,
            Reader::Postgres(pool) => pool.close().await,
        }
    }
}

/// An open write transaction on the database in use (see [`Writer::transaction`]).
pub enum Tx<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

/// A handle on one backend or the other: what every store operation
/// takes apart to run its SQL in that backend's dialect.
pub enum Backend<S, P> {
    Sqlite(S),
    Postgres(P),
}

impl<'a> From<&'a Reader> for Backend<&'a SqlitePool, &'a PgPool> {
    fn from(reader: &'a Reader) -> Self {
        match reader {
            Reader::Sqlite(pool) => Backend::Sqlite(pool),
            Reader::Postgres(pool) => Backend::Postgres(pool),
        }
    }
}

impl<'a, 'c> From<&'a mut Tx<'c>> for Backend<&'a mut SqliteConnection, &'a mut PgConnection> {
    fn from(tx: &'a mut Tx<'c>) -> Self {
        match tx {
            Tx::Sqlite(conn) => Backend::Sqlite(&mut **conn),
            Tx::Postgres(conn) => Backend::Postgres(&mut **conn),
        }
    }
}

/// How closing the database went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoint {
    /// Every commit is in the main file; the WAL is empty.
    Done,
    /// The final checkpoint failed; the WAL keeps the latest commits.
    WalKept,
}

/// The current time as stored: unix seconds.
pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The current minute since the epoch: what is rendered with relative
/// times ("5 mins ago") stays right within it, so caches keep to it.
pub fn current_minute() -> i64 {
    now_unix().div_euclid(60)
}
