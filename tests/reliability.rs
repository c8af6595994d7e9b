//! Nothing acknowledged is lost: crashes, shutdown, overload, rate limits,
//! backups, retention and metrics, checked against real processes.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::{Value, json};
use sqlx::{Connection, SqliteConnection};
use support::process::{command, start};
use support::{TOKEN, article, spawn_with};

const SECRET: &str = "crash-test-token-5f1d2c";

/// Posts articles from `clients` concurrent loops until `stop`, recording
/// the external id and title of every article acknowledged with a 2xx.
fn writers(
    base: String,
    clients: usize,
    prefix: String,
    acked: Arc<Mutex<HashMap<String, String>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..clients)
        .map(|client| {
            let (base, prefix, acked, stop) = (base.clone(), prefix.clone(), acked.clone(), stop.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let id = format!("{prefix}-{client}-{n}");
                    let title = format!("Dispatch {id} from the night desk");
                    let body = json!({"title": title, "section": format!("Desk {}", client % 3), "body": format!("Filed as {id}.\n\nSecond paragraph."), "external_id": id});
                    match http.post(format!("{base}/api/v1/articles")).bearer_auth(SECRET).json(&body).send().await {
                        Ok(response) if response.status().is_success() => {
                            acked.lock().unwrap().insert(id, title);
                        }
                        Ok(_) | Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                    }
                }
            })
        })
        .collect()
}

/// Waits until `count` articles have been acknowledged (at most 20 s).
async fn wait_for_acks(acked: &Mutex<HashMap<String, String>>, count: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < count {
        assert!(std::time::Instant::now() < deadline, "no acknowledgements in 20 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn open_db(path: &std::path::Path) -> SqliteConnection {
    SqliteConnection::connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_article_survives_repeated_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gazette.db");
    let acked = Arc::new(Mutex::new(HashMap::new()));
    let mut crashes = 0;
    for round in 0..4 {
        let log = dir.path().join(format!("server-{round}.log"));
        let mut server = start(
            &db,
            &log,
            &[("GAZETTE_INGEST_TOKEN", SECRET), ("GAZETTE_INGEST_RATE_LIMIT", "0")],
        )
        .await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let tasks = writers(
            server.base.clone(),
            16,
            format!("r{round}"),
            acked.clone(),
            stop.clone(),
        );
        // Kill mid-stream, at a different moment each round: once this
        // round has had some acknowledgements (a loaded machine is slow to
        // give them), then a little later each round.
        let so_far = acked.lock().unwrap().len();
        wait_for_acks(&acked, so_far + 30).await;
        tokio::time::sleep(Duration::from_millis(100 + 150 * round)).await;
        server.signal_and_wait(Signal::SIGKILL);
        crashes += 1;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for task in tasks {
            task.await.unwrap();
        }
    }
    // Restart once more on the same file, as an operator would.
    let server = start(&db, &dir.path().join("final.log"), &[("GAZETTE_INGEST_TOKEN", SECRET)]).await;
    drop(server);

    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 100,
        "the test should acknowledge many articles ({})",
        acked.len()
    );
    let mut conn = open_db(&db).await;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    let stored: Vec<(String, String, Vec<u8>)> =
        sqlx::query_as("SELECT external_id, title, body_deflated FROM articles")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let stored: HashMap<String, (String, String)> = stored
        .into_iter()
        .map(|(id, t, deflated)| (id, (t, support::inflate(&deflated))))
        .collect();
    let mut missing = Vec::new();
    for (id, title) in &acked {
        match stored.get(id) {
            Some((t, b)) => {
                assert_eq!(t, title, "{id} was altered");
                assert_eq!(b, &format!("Filed as {id}.\n\nSecond paragraph."), "{id} was altered");
            }
            None => missing.push(id.clone()),
        }
    }
    assert!(
        missing.is_empty(),
        "{} acknowledged articles lost after {crashes} crashes: {missing:?}",
        missing.len()
    );
    let fts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM articles_fts")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(fts as usize, stored.len(), "the search index matches the table");
    println!(
        "crash test: {} acknowledged, {} stored, 0 lost, {crashes} SIGKILLs",
        acked.len(),
        stored.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_finishes_requests_in_flight_and_closes_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gazette.db");
    let log = dir.path().join("server.log");
    let mut server = start(
        &db,
        &log,
        &[("GAZETTE_INGEST_TOKEN", SECRET), ("GAZETTE_INGEST_RATE_LIMIT", "0")],
    )
    .await;
    let acked = Arc::new(Mutex::new(HashMap::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tasks = writers(server.base.clone(), 8, "t".to_owned(), acked.clone(), stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let status = server.signal_and_wait(Signal::SIGTERM);
    assert!(status.success(), "exit status {status:?}");
    assert!(started.elapsed() < Duration::from_secs(15), "shutdown is bounded");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let text = server.log_text();
    assert!(text.contains("stopped cleanly"), "{text}");
    assert!(!text.contains(SECRET), "tokens never reach the log");
    let wal = db.with_extension("db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "the WAL was checkpointed on close"
    );
    let acked = acked.lock().unwrap().clone();
    let mut conn = open_db(&db).await;
    for id in acked.keys() {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM articles WHERE external_id = ?")
            .bind(id)
            .fetch_optional(&mut conn)
            .await
            .unwrap();
        assert!(found.is_some(), "{id} acknowledged but missing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overload_is_answered_with_503_and_retry_after() {
    let app = Arc::new(spawn_with(|c| c.max_concurrent_requests = 1).await);
    let batch: Vec<Value> = (0..400).map(|i| article(&format!("Load {i}"), "Load")).collect();
    let body = serde_json::to_string(&batch).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let (app, body) = (app.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let response = app.post_raw("/api/v1/articles/batch", "application/json", body).await;
            let status = response.status().as_u16();
            let retry = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let json: Value = response.json().await.unwrap();
            (status, retry, json)
        }));
    }
    let mut shed = 0;
    let mut served = 0;
    for task in tasks {
        let (status, retry, json) = task.await.unwrap();
        match status {
            200 => served += 1,
            503 => {
                shed += 1;
                assert_eq!(json["error"]["code"], "overloaded");
                assert!(retry.is_some(), "503 carries Retry-After");
            }
            other => panic!("unexpected status {other}: {json}"),
        }
    }
    assert!(served >= 1 && shed >= 1, "served {served}, shed {shed}");
    assert_eq!(app.count("SELECT COUNT(*) FROM articles").await, served * 400);
}

#[tokio::test]
async fn each_token_is_rate_limited_with_429() {
    let app = spawn_with(|c| c.ingest_rate_limit = 3).await;
    let mut statuses = Vec::new();
    for i in 0..8 {
        let response = app.post_article(&article(&format!("Rapid {i}"), "Wire")).await;
        let status = response.status().as_u16();
        if status == 429 {
            assert!(response.headers().contains_key("retry-after"));
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "rate_limited");
        }
        statuses.push(status);
    }
    let created = statuses.iter().filter(|s| **s == 201).count();
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM articles").await as usize,
        created,
        "429s store nothing"
    );
    // Reading is never limited, with the token or without: a sender whose
    // writes were just refused reads back what it posted as anyone can.
    let first: Value = app.get_json("/api/v1/articles?limit=1").await.1;
    let id = first["articles"][0]["id"].as_i64().unwrap();
    for _ in 0..20 {
        assert_eq!(app.get("/api/v1/sections").await.status(), 200);
        let read = app
            .client
            .get(app.url(&format!("/api/v1/articles/{id}")))
            .bearer_auth(support::TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200);
    }
    // A wrong token on a read is still refused.
    let wrong = app
        .client
        .get(app.url(&format!("/api/v1/articles/{id}")))
        .bearer_auth("gz_not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_under_write_load_is_consistent_and_restores() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let server = start(
        &db,
        &dir.path().join("live.log"),
        &[("GAZETTE_INGEST_TOKEN", SECRET), ("GAZETTE_INGEST_RATE_LIMIT", "0")],
    )
    .await;
    let acked = Arc::new(Mutex::new(HashMap::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tasks = writers(server.base.clone(), 8, "b".to_owned(), acked.clone(), stop.clone());
    wait_for_acks(&acked, 20).await;
    let before: Vec<String> = acked.lock().unwrap().keys().cloned().collect();
    let backup = dir.path().join("backup.db");
    let out = command(&db)
        .args(["backup", backup.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    assert!(!before.is_empty());

    let mut conn = open_db(&backup).await;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    for id in &before {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM articles WHERE external_id = ?")
            .bind(id)
            .fetch_optional(&mut conn)
            .await
            .unwrap();
        assert!(
            found.is_some(),
            "{id} was acknowledged before the backup began but is not in it"
        );
    }
    let in_backup: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM articles")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let sections_sum: i64 = sqlx::query_scalar("SELECT SUM(article_count) FROM sections")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(in_backup, sections_sum, "the copy is one consistent snapshot");
    drop(conn);

    // Restore is refused while a server uses the database...
    let refused = command(&db)
        .args(["restore", backup.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stop the server"));
    // ...refuses a file that is not a Gazette database...
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let target = dir.path().join("restored.db");
    assert!(
        !command(&target)
            .args(["restore", junk.to_str().unwrap()])
            .output()
            .unwrap()
            .status
            .success()
    );
    // ...and brings a stopped site back.
    drop(server);
    let out = command(&target)
        .args(["restore", backup.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let restored = start(
        &target,
        &dir.path().join("restored.log"),
        &[("GAZETTE_INGEST_TOKEN", SECRET)],
    )
    .await;
    let sections: Value = reqwest::get(format!("{}/api/v1/sections", restored.base))
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
    assert_eq!(total, in_backup);
}

#[tokio::test]
async fn retention_deletes_old_articles_on_schedule_and_keeps_them_gone() {
    let app = spawn_with(|c| {
        c.retention_days = Some(30);
        c.section_retention = vec![("breaking".to_owned(), 2)];
        c.retention_interval_secs = 1;
    })
    .await;
    let days_ago = |d: i64| (chrono::Utc::now() - chrono::Duration::days(d)).to_rfc3339();
    let story = |title: &str, section: &str, age: i64, id: &str| json!({"title": title, "section": section, "body": format!("{title} body text."), "published_at": days_ago(age), "external_id": id});
    let old = story("Ancient harbour history", "World", 40, "old-1");
    app.create(&old).await;
    app.create(&story("Recent harbour news", "World", 10, "new-1")).await;
    app.create(&story("Three day old flash", "Breaking", 3, "old-2")).await;
    app.create(&story("Fresh flash", "Breaking", 1, "new-2")).await;

    let deadline = Instant::now() + Duration::from_secs(10);
    while app.count("SELECT COUNT(*) FROM articles").await != 2 {
        assert!(Instant::now() < deadline, "retention did not run");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, search) = app.get_json("/api/v1/search?q=harbour").await;
    let titles: Vec<&str> = search["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Recent harbour news"]);
    let (_, feed) = app.get_text("/feed.atom").await;
    assert!(!feed.contains("Ancient harbour") && !feed.contains("Three day old") && feed.contains("Fresh flash"));
    let again = app.post_article(&old).await;
    assert_eq!(again.status(), 410, "an expired story is not brought back by a re-post");
}

#[tokio::test]
async fn metrics_are_exported_for_prometheus() {
    let app = spawn_with(|_| {}).await;
    app.create(&article("Counted story", "Metrics")).await;
    app.get("/sections/metrics").await;
    let (status, text) = app.get_text("/metrics").await;
    assert_eq!(status, 200);
    assert!(text.contains("gazette_http_requests_total{"), "{text}");
    assert!(
        text.contains("route=\"/sections/{slug}\""),
        "requests are labelled by route"
    );
    assert!(text.contains("status=\"200\""));
    assert!(
        text.contains("gazette_http_request_duration_seconds_bucket{"),
        "latency histograms"
    );
    assert!(text.contains("gazette_ingest_articles_total{status=\"created\"}"));
    assert!(text.contains("gazette_db_pool_connections{pool=\"reader\",state=\"idle\"}"));
}

#[tokio::test]
async fn logs_can_be_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gazette.db");
    let log = dir.path().join("server.log");
    let server = start(
        &db,
        &log,
        &[("GAZETTE_INGEST_TOKEN", TOKEN), ("GAZETTE_LOG_FORMAT", "json")],
    )
    .await;
    let text = server.log_text();
    let line = text.lines().find(|l| l.contains("serving")).expect("a start-up line");
    let parsed: Value = serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"));
    assert_eq!(parsed["level"], "INFO");
    assert!(parsed["address"].as_str().unwrap().starts_with("127.0.0.1:"));
}
