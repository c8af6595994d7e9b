//! Starts the real Gazette on a random port with a fresh database, the
//! same way `main` does, and talks HTTP to it. The database is a SQLite
//! file, or with GAZETTE_TEST_BACKEND=postgres a fresh PostgreSQL
//! database (see `postgres`): .ci/run runs the suites that are not about
//! SQLite itself on both.
#![allow(dead_code)]

use std::path::PathBuf;

use gazette::Application;
use gazette::config::Config;
use reqwest::{Client, Response};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row, SqliteConnection};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub mod browser;
pub mod postgres;
pub mod process;

pub const TOKEN: &str = "test-token-0123456789abcdef";

pub struct TestApp {
    pub base: String,
    /// The server's own database handle, for settings changed at run time.
    pub db: gazette::store::Db,
    pub db_path: PathBuf,
    pub client: Client,
    store: Kept,
    /// The PostgreSQL database it runs on, if it does.
    postgres: Option<String>,
    shutdown: oneshot::Sender<()>,
    stopped: oneshot::Receiver<()>,
}

/// Whether this run's apps keep their data in PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("GAZETTE_TEST_BACKEND").is_ok_and(|backend| backend == "postgres")
}

/// For a test about SQLite itself: says loudly, on a PostgreSQL run, that
/// it is skipped there and why, and returns true.
pub fn skipped_on_postgres(why: &str) -> bool {
    if on_postgres() {
        eprintln!("SKIPPED on PostgreSQL (this test is about SQLite): {why}");
    }
    on_postgres()
}

/// What outlives a stopped app, for the next one to start on: its folder
/// and, on PostgreSQL, its database.
pub struct Kept {
    dir: TempDir,
    database: Option<postgres::FreshDatabase>,
}

impl From<TempDir> for Kept {
    fn from(dir: TempDir) -> Self {
        Kept { dir, database: None }
    }
}

impl Kept {
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Runs one statement of SQL that both databases read alike (no
    /// parameters) on this data, behind the app's back.
    pub async fn execute(&self, sql: &str) {
        let path = self.dir.path().join("gazette.db");
        execute(self.database.as_ref().map(|database| database.url.as_str()), &path, sql).await;
    }
}

/// Runs `sql` on the PostgreSQL database at `postgres`, or else on the
/// SQLite file at `sqlite`.
async fn execute(postgres: Option<&str>, sqlite: &std::path::Path, sql: &str) {
    let sql = AssertSqlSafe(sql.to_owned());
    match postgres {
        Some(url) => {
            let mut conn = PgConnection::connect(url).await.expect("connect");
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        None => {
            let mut conn = SqliteConnection::connect(&format!("sqlite:{}", sqlite.display()))
                .await
                .expect("open db");
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
    }
}

/// The server's warnings and errors go to the test's captured output, so a
/// failing test shows why the server answered 500 (cargo prints a test's
/// output only when it fails). `RUST_LOG` overrides the level.
fn print_server_errors() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "gazette=warn".into());
    // Only the first call in a test binary installs it; the rest find one.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

/// Starts an app after `tweak` has adjusted its configuration.
pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_in(tempfile::tempdir().expect("temp dir"), tweak).await
}

/// Starts an app on the database in `store` (kept, so a test can restart
/// Gazette on the same data).
pub async fn spawn_in(store: impl Into<Kept>, tweak: impl FnOnce(&mut Config)) -> TestApp {
    print_server_errors();
    let mut store = store.into();
    if on_postgres() && store.database.is_none() {
        store.database = Some(postgres::FreshDatabase::new().await);
    }
    let db_path = store.dir.path().join("gazette.db");
    let mut config = Config::for_database(&db_path);
    if let Some(database) = &store.database {
        config.database = gazette::store::Location::Postgres(database.url.clone());
        // Tests run side by side; the server allows 100 connections.
        config.database_connections = 3;
    }
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.ingest_token = Some(TOKEN.to_owned());
    tweak(&mut config);
    let postgres = match &config.database {
        gazette::store::Location::Postgres(url) => Some(url.clone()),
        gazette::store::Location::Sqlite(_) => None,
    };
    let app = Application::build(&config).await.expect("app builds");
    let addr = app.local_addr().unwrap();
    let db = app.db().clone();
    let (tx, rx) = oneshot::channel::<()>();
    let (done_tx, done_rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = app
            .run_until(async {
                let _ = rx.await;
            })
            .await;
        let _ = done_tx.send(());
    });
    TestApp {
        base: format!("http://{addr}"),
        db,
        db_path,
        client: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        store,
        postgres,
        shutdown: tx,
        stopped: done_rx,
    }
}

/// The headlines of a search answer's results, in order.
pub fn result_titles(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .expect("a search answer has results")
        .iter()
        .map(|r| r["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A valid article; tests override what they are about.
pub fn article(title: &str, section: &str) -> Value {
    json!({ "title": title, "section": section, "body": format!("The story of {title}.\n\nA second paragraph.") })
}

impl TestApp {
    /// Stops the server cleanly and hands back its folder and database.
    pub async fn stop(self) -> Kept {
        let _ = self.shutdown.send(());
        let _ = self.stopped.await;
        self.store
    }

    /// Runs one statement of SQL that both databases read alike (see
    /// [`Kept::execute`]) while the app runs.
    pub async fn execute(&self, sql: &str) {
        execute(self.postgres.as_deref(), &self.db_path, sql).await;
    }

    /// The PostgreSQL database this app runs on, if it does.
    pub fn postgres_url(&self) -> Option<&str> {
        self.postgres.as_deref()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    pub async fn post_article(&self, body: &Value) -> Response {
        self.client
            .post(self.url("/api/v1/articles"))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    /// Posts an article and returns its answer, failing the test on an error.
    pub async fn create(&self, body: &Value) -> Value {
        let response = self.post_article(body).await;
        let status = response.status().as_u16();
        let json: Value = response.json().await.unwrap();
        assert!(status == 201 || status == 200, "post failed: {status} {json}");
        json
    }

    /// Posts `items` as a JSON batch.
    pub async fn post_batch(&self, items: &[Value]) -> Response {
        let body = serde_json::to_vec(items).expect("a batch serialises");
        self.post_raw("/api/v1/articles/batch", "application/json", body).await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(TOKEN)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST")
    }

    /// Every row of every table, as one string: equal fingerprints mean
    /// the database did not change.
    pub async fn fingerprint(&self) -> String {
        // What the placing worker writes after a request is not the
        // request's doing: it is settled first.
        self.placed().await;
        if let Some(url) = self.postgres_url() {
            return postgres::fingerprint(url).await;
        }
        let mut conn = SqliteConnection::connect(&format!("sqlite:{}?mode=ro", self.db_path.display()))
            .await
            .expect("open db");
        // The counts of the search index's words are made in the
        // background whenever the library has changed enough: derived,
        // like the index itself, and never a request's doing.
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT IN ('search_terms', 'search_terms_counted') ORDER BY name",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let mut out = String::new();
        for table in tables {
            let columns: Vec<String> =
                sqlx::query(AssertSqlSafe(format!("SELECT name FROM pragma_table_info('{table}')")))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap()
                    .iter()
                    .map(|row| row.get::<String, _>(0))
                    .collect();
            let quoted: Vec<String> = columns.iter().map(|c| format!("quote(\"{c}\")")).collect();
            let sql = format!(
                "SELECT COALESCE(group_concat(r, char(10)), '') FROM (SELECT {} AS r FROM \"{table}\" ORDER BY r)",
                quoted.join(" || ',' || ")
            );
            let rows: String = sqlx::query_scalar(AssertSqlSafe(sql))
                .fetch_one(&mut conn)
                .await
                .unwrap();
            out.push_str(&format!("{table}: {rows}\n"));
        }
        out
    }

    /// How many articles the search index finds for one word.
    pub async fn count_indexed(&self, word: &str) -> i64 {
        if let Some(url) = self.postgres_url() {
            let mut conn = PgConnection::connect(url).await.expect("connect");
            return sqlx::query_scalar("SELECT count(*) FROM articles WHERE search @@ to_tsquery('gazette', $1)")
                .bind(word)
                .fetch_one(&mut conn)
                .await
                .unwrap();
        }
        let mut conn = SqliteConnection::connect(&format!("sqlite:{}?mode=ro", self.db_path.display()))
            .await
            .expect("open db");
        sqlx::query_scalar("SELECT COUNT(*) FROM articles_fts WHERE articles_fts MATCH ?")
            .bind(word)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }

    /// Waits until every stored article is placed in a story: the
    /// worker does that after they are stored, normally within a second.
    pub async fn placed(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let waiting = self
                .count(
                    "SELECT COUNT(*) FROM articles a \
                     WHERE NOT EXISTS (SELECT 1 FROM story_members m WHERE m.article_id = a.id)",
                )
                .await;
            if waiting == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{waiting} articles still not placed in stories after a minute"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The number a counting query (portable SQL) answers.
    pub async fn count(&self, sql: &'static str) -> i64 {
        if let Some(url) = self.postgres_url() {
            // PostgreSQL's SUM of bigints is numeric.
            let mut conn = PgConnection::connect(url).await.expect("connect");
            return sqlx::query_scalar(AssertSqlSafe(format!("SELECT ({sql})::bigint")))
                .fetch_one(&mut conn)
                .await
                .unwrap();
        }
        let mut conn = SqliteConnection::connect(&format!("sqlite:{}?mode=ro", self.db_path.display()))
            .await
            .expect("open db");
        sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
    }
}

/// Fails if any HTML on a page could run script: a script element other
/// than Gazette's own file and its JSON-LD data block, an event-handler
/// attribute, or a javascript:/data: URL.
pub fn assert_no_script(html: &str, context: &str) {
    let doc = scraper::Html::parse_document(html);
    let all = scraper::Selector::parse("*").unwrap();
    for element in doc.select(&all) {
        let name = element.value().name();
        if name == "script" {
            let own_file = element
                .value()
                .attr("src")
                .is_some_and(|src| src.starts_with("/static/gazette.js?v="))
                && element.inner_html().is_empty();
            let data_block = element.value().attr("type") == Some("application/ld+json")
                && element.value().attr("src").is_none()
                && element
                    .parent()
                    .and_then(|p| p.value().as_element())
                    .is_some_and(|p| p.name() == "head");
            assert!(
                own_file || data_block,
                "{context}: foreign script element: {}",
                element.html()
            );
            if data_block {
                serde_json::from_str::<serde_json::Value>(&element.inner_html())
                    .unwrap_or_else(|err| panic!("{context}: JSON-LD is not pure JSON ({err})"));
            }
            continue;
        }
        assert!(
            !matches!(name, "iframe" | "object" | "embed"),
            "{context}: <{name}> element in page"
        );
        for (attr, value) in element.value().attrs() {
            assert!(
                !attr.to_ascii_lowercase().starts_with("on"),
                "{context}: event handler {attr}={value:?}"
            );
            let squashed: String = value
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .collect();
            let lower = squashed.to_ascii_lowercase();
            assert!(
                !lower.starts_with("javascript:") && !lower.starts_with("data:") && !lower.starts_with("vbscript:"),
                "{context}: dangerous URL {attr}={value:?}"
            );
        }
    }
}

/// The sender's body as stored (zlib-compressed), read back as text.
pub fn inflate(deflated: &[u8]) -> String {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::ZlibDecoder::new(deflated)
        .read_to_string(&mut text)
        .expect("a stored body inflates");
    text
}

/// An article of about 9 KB (a long news story) whose words differ from
/// every other one's, so that storage is not saved by compression: what
/// the full-disk tests fill a database with.
pub fn sizeable_article(n: u64) -> Value {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mer", "sin", "tu", "vra", "en", "dol", "pi", "quo", "rat", "zu", "bel", "ost", "nim", "ha",
    ];
    let mut state = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut body = String::with_capacity(9_500);
    while body.len() < 9_000 {
        let bits = next();
        let word: String = (0..2 + bits % 3)
            .map(|i| SYLLABLES[((bits >> (4 + 4 * i)) & 15) as usize])
            .collect();
        body.push_str(&word);
        body.push_str(if bits % 23 == 0 { ".\n\n" } else { " " });
    }
    json!({
        "title": format!("Storage report number {n}"),
        "section": "Reports",
        "external_id": format!("storage-report-{n}"),
        "body": body,
    })
}

/// Serves `router` on a free loopback port, for as long as the test runs
/// (a local site of feeds and pages): its address.
pub async fn serve_locally(router: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}
