//! The `gazette` binary as an operator uses it: the first-start token,
//! token management, and the health check.

mod support;

use std::process::Command;

use serde_json::json;

use support::process::{BIN, command, start};

fn gazette(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    command(db).args(args).output().expect("run gazette")
}

/// A new, empty Gazette database at `db`, as `gazette serve` leaves one
/// on its first start: the other commands work only on one that exists.
async fn created(db: &std::path::Path) {
    gazette::store::Db::open(db)
        .await
        .expect("create the database")
        .close()
        .await;
}

async fn start_server(
    db: &std::path::Path,
    log: &std::path::Path,
    envs: &[(&str, &str)],
) -> support::process::ServerProcess {
    start(db, log, envs).await
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
    created(&db).await;
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
    std::fs::write(&secret, "file-secret-0123456789\n").unwrap();
    let log = dir.path().join("server.log");
    let server = start_server(&db, &log, &[("GAZETTE_INGEST_TOKEN_FILE", secret.to_str().unwrap())]).await;
    assert!(
        !std::fs::read_to_string(&log).unwrap().contains("gz_"),
        "a configured token means no generated one"
    );
    assert_eq!(post(&server.base, "file-secret-0123456789").await, 201);
    assert_eq!(post(&server.base, "file-secret-012345678").await, 401);
    drop(server);
    let server = start_server(&db, &log, &[("GAZETTE_INGEST_TOKEN", "env-secret-0123456789")]).await;
    assert_eq!(post(&server.base, "env-secret-0123456789").await, 201);
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

#[tokio::test]
async fn import_loads_ndjson_and_arrays_through_the_write_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gazette.db");
    let mut lines: Vec<String> = (0..2500)
        .map(|i| serde_json::json!({"title": format!("Archive story {i}"), "section": format!("Desk {}", i % 5), "body": "Text.", "external_id": format!("arc-{i}")}).to_string())
        .collect();
    lines.insert(
        10,
        "{\"title\": \"\", \"section\": \"Desk\", \"body\": \"x\"}".to_owned(),
    );
    lines.insert(20, "not json at all".to_owned());
    let file = dir.path().join("archive.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let out = gazette(&db, &["import", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("line 11: invalid_field (title)"), "{stderr}");
    assert!(stderr.contains("line 21: malformed_json"), "{stderr}");
    assert!(
        stderr.contains("2500 created, 0 updated, 0 unchanged, 0 filtered by rules, 2 errors"),
        "{stderr}"
    );

    // The same file again: de-duplicated by the same rules as the API.
    let again = String::from_utf8_lossy(&gazette(&db, &["import", file.to_str().unwrap()]).stderr).to_string();
    assert!(again.contains("0 created, 0 updated, 2500 unchanged"), "{again}");

    // A JSON array from standard input.
    let array = serde_json::json!([{"title": "From stdin", "section": "Desk 0", "body": "x"}]).to_string();
    let mut child = command(&db)
        .args(["import", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(array.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 created"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let log = dir.path().join("server.log");
    let server = start_server(&db, &log, &[("GAZETTE_INGEST_TOKEN", "import-test-token-0123")]).await;
    let sections: serde_json::Value = reqwest::get(format!("{}/api/v1/sections", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let total: i64 = sections["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["article_count"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 2501);
}

#[tokio::test]
async fn a_placeholder_or_weak_token_stops_the_server_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gazette.db");
    for (token, reason) in [
        // What a compose tool that does not interpolate hands over.
        ("${GAZETTE_INGEST_TOKEN:-}", "uninterpolated placeholder"),
        ("''", "looks empty"),
        ("secret", "too short"),
    ] {
        let out = command(&db)
            .arg("serve")
            .env("GAZETTE_BIND", "127.0.0.1:0")
            .env("GAZETTE_INGEST_TOKEN", token)
            .output()
            .expect("run gazette");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{token:?} was accepted");
        assert!(stderr.contains(reason), "{token:?}: {stderr}");
    }
}

#[tokio::test]
async fn without_system_ca_certificates_the_server_starts_on_bundled_roots() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gazette.db");
    let log = dir.path().join("server.log");
    // What a bare image without a CA bundle looks like to the TLS stack.
    let empty = dir.path().join("no-certs");
    std::fs::create_dir(&empty).unwrap();
    let server = start_server(
        &db,
        &log,
        &[
            ("SSL_CERT_FILE", empty.join("none.pem").to_str().unwrap()),
            ("SSL_CERT_DIR", empty.to_str().unwrap()),
        ],
    )
    .await;
    let ready = reqwest::get(format!("{}/readyz", server.base)).await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("no CA certificates found"), "{text}");
    // Logs are plain text when they do not go to a terminal.
    assert!(!text.contains('\u{1b}'), "colour codes in a log file: {text:?}");
}

/// Runs `gazette ARGS` with `input` on standard input.
fn gazette_with_input(db: &std::path::Path, args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = command(db)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run gazette");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn accounts_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gazette.db");
    created(&db).await;
    let added = gazette_with_input(
        &db,
        &["user", "add", "ada", "--admin", "--password-stdin"],
        "first long password\n",
    );
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let added = gazette_with_input(
        &db,
        &["user", "add", "ben", "--password-stdin"],
        "second long password\n",
    );
    assert!(added.status.success());
    // Refused, with the reason: a short password, a taken name, no terminal.
    let short = gazette_with_input(&db, &["user", "add", "cy", "--password-stdin"], "short\n");
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10 characters"));
    let taken = gazette_with_input(
        &db,
        &["user", "add", "Ada", "--password-stdin"],
        "third long password\n",
    );
    assert!(String::from_utf8_lossy(&taken.stderr).contains("already exists"));
    let no_tty = gazette_with_input(&db, &["user", "add", "dee"], "");
    assert!(!no_tty.status.success());
    assert!(String::from_utf8_lossy(&no_tty.stderr).contains("--password-stdin"));

    let list = String::from_utf8(gazette(&db, &["user", "list"]).stdout).unwrap();
    let rows: Vec<Vec<&str>> = list.lines().map(|l| l.split('\t').take(2).collect()).collect();
    assert_eq!(rows, [vec!["ada", "admin"], vec!["ben", "reader"]]);

    let changed = gazette_with_input(
        &db,
        &["user", "passwd", "ben", "--password-stdin"],
        "a brand new password\n",
    );
    assert!(changed.status.success());
    // The only admin stays: nobody could manage Gazette from the browser.
    let last_admin = gazette(&db, &["user", "remove", "ada"]);
    assert!(!last_admin.status.success());
    assert!(String::from_utf8_lossy(&last_admin.stderr).contains("only admin"));
    let eve = gazette_with_input(
        &db,
        &["user", "add", "eve", "--password-stdin"],
        "a fourth long password\n",
    );
    assert!(eve.status.success());
    assert!(gazette(&db, &["user", "remove", "eve"]).status.success());
    assert!(!gazette(&db, &["user", "remove", "eve"]).status.success());

    // The passwords are nowhere in the database file or its WAL.
    let raw = [
        std::fs::read(&db).unwrap(),
        std::fs::read(db.with_extension("db-wal")).unwrap_or_default(),
    ]
    .concat();
    for password in ["first long password", "second long password", "a brand new password"] {
        assert!(
            !raw.windows(password.len()).any(|w| w == password.as_bytes()),
            "{password} stored"
        );
    }

    // The server signs ben in with the new password.
    let log = dir.path().join("server.log");
    let server = start_server(&db, &log, &[]).await;
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/login", server.base))
        .form(&[("name", "ben"), ("password", "a brand new password")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert!(!std::fs::read_to_string(&log).unwrap().contains("a brand new password"));

    // Removed from the command line while the server runs: the server
    // keeps sessions in memory for a second at most, so ben's browser is
    // signed out within it.
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let account = || {
        client
            .get(format!("{}/account", server.base))
            .header("cookie", &cookie)
            .send()
    };
    assert_eq!(account().await.unwrap().status().as_u16(), 200);
    assert!(gazette(&db, &["user", "remove", "ben"]).status.success());
    let removed_at = std::time::Instant::now();
    while account().await.unwrap().status().as_u16() == 200 {
        assert!(
            removed_at.elapsed() < std::time::Duration::from_secs(2),
            "the removed user stayed signed in"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_app_password_from_the_command_line_signs_an_app_in() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gazette.db");
    created(&db).await;
    let added = gazette_with_input(
        &db,
        &["user", "add", "ada", "--password-stdin"],
        "first long password\n",
    );
    assert!(added.status.success());
    let made = gazette(&db, &["user", "app-password", "ada", "--app", "Phone"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let password = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    assert_eq!(password.len(), 29, "printed alone on stdout: {password:?}");
    let told = String::from_utf8_lossy(&made.stderr);
    assert!(told.contains("/api/greader") && told.contains("/api/fever"), "{told}");
    let unknown = gazette(&db, &["user", "app-password", "nobody"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account"));

    let log = dir.path().join("server.log");
    let server = start_server(&db, &log, &[]).await;
    let client = reqwest::Client::new();
    let login = |password: String| {
        client
            .post(format!("{}/api/greader/accounts/ClientLogin", server.base))
            .form(&[("Email", "ada".to_owned()), ("Passwd", password)])
            .send()
    };
    assert_eq!(login(password.clone()).await.unwrap().status().as_u16(), 200);
    // The account's own password is not an app password.
    assert_eq!(
        login("first long password".to_owned()).await.unwrap().status().as_u16(),
        401
    );
    assert!(!std::fs::read_to_string(&log).unwrap().contains(&password));
}

#[tokio::test]
async fn a_feed_added_from_the_command_line_can_fetch_full_stories() {
    use axum::routing::get;
    let feed = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Quay</title><link>http://quay.test/</link>
<item><guid>q1</guid><title>Quay reopens</title><link>http://quay.test/1</link><description>Teaser.</description></item>
</channel></rss>"#;
    let app = axum::Router::new().route(
        "/feed.xml",
        get(move || async move { ([("content-type", "application/rss+xml")], feed) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/feed.xml", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gazette.db");
    created(&db).await;
    let add = |extra: &'static [&'static str], url: String, db: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || {
            let mut args = vec!["feed", "add", url.as_str(), "--section", "Ports"];
            args.extend_from_slice(extra);
            command(&db)
                .env("GAZETTE_ALLOW_PRIVATE_FEEDS", "true")
                .args(&args)
                .output()
                .unwrap()
        })
    };
    let added = add(&["--full-content"], url.clone(), db.clone()).await.unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let list = String::from_utf8(gazette(&db, &["feed", "list"]).stdout).unwrap();
    assert!(list.contains(&url) && list.contains("full stories"), "{list}");
}

/// A mistyped database path is an error that names it, and creates
/// nothing (no file, no folder): only `serve` and `import` make a new
/// database, and `copy` and `restore` their target.
#[tokio::test]
async fn commands_on_a_database_that_is_not_there_fail_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo/gazette.db");
    let target = dir.path().join("copy.db");
    let backup = dir.path().join("backup.db");
    for args in [
        vec!["user", "list"],
        vec!["user", "remove", "ada"],
        vec!["token", "list"],
        vec!["token", "create", "scraper"],
        vec!["feed", "list"],
        vec!["copy", "--to", target.to_str().unwrap()],
        vec!["backup", backup.to_str().unwrap()],
    ] {
        let out = gazette(&missing, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            stderr.contains("no Gazette database at") || stderr.contains("no database at"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains(&missing.display().to_string()),
            "{args:?} names the path: {stderr}"
        );
        assert!(!dir.path().join("typo").exists(), "{args:?} created the folder");
        assert!(!target.exists() && !backup.exists(), "{args:?} created a file");
    }
    // Once the database exists, the same commands work.
    created(&missing).await;
    assert!(gazette(&missing, &["token", "list"]).status.success());
}
