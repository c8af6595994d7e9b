//! The `gazette` binary as an operator uses it: the first-start token,
//! token management, and the health check.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_gazette");

fn gazette(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("GAZETTE_DATABASE", db)
        .env_remove("GAZETTE_INGEST_TOKEN")
        .env_remove("GAZETTE_INGEST_TOKEN_FILE")
        .output()
        .expect("run gazette")
}

/// A server process on a free port; killed on drop.
struct Server {
    child: std::process::Child,
    base: String,
    bind: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_server(db: &std::path::Path, log: &std::path::Path, envs: &[(&str, &str)]) -> Server {
    let bind = format!("127.0.0.1:{}", free_port());
    let child = Command::new(BIN)
        .env("GAZETTE_DATABASE", db)
        .env("GAZETTE_BIND", &bind)
        .env_remove("GAZETTE_INGEST_TOKEN")
        .env_remove("GAZETTE_INGEST_TOKEN_FILE")
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        base: format!("http://{bind}"),
        bind,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if reqwest::get(format!("{}/healthz", server.base)).await.is_ok() {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "server did not start: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

async fn post(base: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/articles"))
        .bearer_auth(token)
        .json(&json!({"title": "CLI story", "section": "Desk", "body": "Text."}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_fresh_server_prints_a_working_first_token_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested/folder/gazette.db");
    let log = dir.path().join("server.log");
    let server = start_server(&db, &log, &[]).await;
    assert!(db.exists(), "the database and its folder are created");
    let text = std::fs::read_to_string(&log).unwrap();
    let token = text
        .split_whitespace()
        .find(|w| w.starts_with("gz_"))
        .expect("token in log")
        .to_owned();
    assert_eq!(token.len(), 3 + 64, "256 random bits");
    assert!(text.contains(&format!("curl -X POST {}/api/v1/articles", server.base)));
    assert_eq!(post(&server.base, &token).await, 201);
    drop(server);

    // Only the hash is stored.
    let raw = std::fs::read(&db).unwrap();
    let wal = std::fs::read(db.with_extension("db-wal")).unwrap_or_default();
    let needle = token.as_bytes();
    assert!(!raw.windows(needle.len()).any(|w| w == needle) && !wal.windows(needle.len()).any(|w| w == needle));

    // A restart creates no second token.
    let log2 = dir.path().join("server2.log");
    let server = start_server(&db, &log2, &[]).await;
    assert!(!std::fs::read_to_string(&log2).unwrap().contains("gz_"));
    assert_eq!(post(&server.base, &token).await, 201);
}

#[tokio::test]
async fn tokens_are_created_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gazette.db");
    let out = gazette(&db, &["token", "create", "scraper"]);
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("gz_") && token.len() == 67);
    assert!(
        !gazette(&db, &["token", "create", "scraper"]).status.success(),
        "names are unique"
    );

    let list = String::from_utf8(gazette(&db, &["token", "list"]).stdout).unwrap();
    assert!(list.starts_with("scraper\t"));
    assert!(!list.contains(&token));

    let log = dir.path().join("server.log");
    let server = start_server(&db, &log, &[]).await;
    assert!(
        !std::fs::read_to_string(&log).unwrap().contains("gz_"),
        "no first token when one exists"
    );
    assert_eq!(post(&server.base, &token).await, 201);
    assert!(gazette(&db, &["token", "revoke", "scraper"]).status.success());
    assert_eq!(
        post(&server.base, &token).await,
        401,
        "revocation takes effect on the next request"
    );
    assert!(!gazette(&db, &["token", "revoke", "scraper"]).status.success());
}

#[tokio::test]
async fn the_configured_token_works_from_env_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gazette.db");
    let secret = dir.path().join("token");
    std::fs::write(&secret, "file-secret-123\n").unwrap();
    let log = dir.path().join("server.log");
    let server = start_server(&db, &log, &[("GAZETTE_INGEST_TOKEN_FILE", secret.to_str().unwrap())]).await;
    assert!(
        !std::fs::read_to_string(&log).unwrap().contains("gz_"),
        "a configured token means no generated one"
    );
    assert_eq!(post(&server.base, "file-secret-123").await, 201);
    assert_eq!(post(&server.base, "file-secret-12").await, 401);
    drop(server);
    let server = start_server(&db, &log, &[("GAZETTE_INGEST_TOKEN", "env-secret-456")]).await;
    assert_eq!(post(&server.base, "env-secret-456").await, 201);
}

#[tokio::test]
async fn healthcheck_reports_the_server_state() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gazette.db");
    let log = dir.path().join("server.log");
    let server = start_server(&db, &log, &[]).await;
    let ok = Command::new(BIN)
        .args(["healthcheck", "--bind", &server.bind])
        .status()
        .unwrap();
    assert!(ok.success());
    let bind = server.bind.clone();
    drop(server);
    let down = Command::new(BIN)
        .args(["healthcheck", "--bind", &bind])
        .status()
        .unwrap();
    assert_eq!(down.code(), Some(1));
}
