//! A full database: every write path past the limit, several clients at
//! once. What was acknowledged must be stored (while running and after a
//! restart), what was refused must say so with 507, reads go on, and
//! writes come back by themselves once there is room again.
//!
//! The limit is `--max-database-size` (SQLite's max_page_count on the
//! writer), which fails writes with SQLITE_FULL exactly as a full disk
//! does, and needs no root. tests/io_faults.rs injects real I/O errors.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use reqwest::Response;
use serde_json::{Value, json};
use support::{TOKEN, TestApp, sizeable_article, spawn_in, spawn_with};

/// What the server acknowledged: article id → title.
type Acknowledged = BTreeMap<i64, String>;

/// Serves an RSS feed of `count` sizeable entries, numbered from `first`.
#[derive(Default)]
struct FeedItems {
    first: AtomicU64,
    count: AtomicU64,
}

async fn rss(State(items): State<Arc<FeedItems>>) -> ([(&'static str, &'static str); 1], String) {
    let first = items.first.load(Ordering::SeqCst);
    let entries: String = (first..first + items.count.load(Ordering::SeqCst))
        .map(|n| {
            let article = sizeable_article(n);
            format!(
                "<item><guid>feed-story-{n}</guid><title>Wire story {n}</title><description>{}</description></item>",
                article["body"].as_str().unwrap_or_default()
            )
        })
        .collect();
    (
        [("content-type", "application/rss+xml")],
        format!(
            r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><link>http://example.org/</link>{entries}</channel></rss>"#
        ),
    )
}

async fn start_feed_server(items: Arc<FeedItems>) -> String {
    let app = Router::new().route("/wire.xml", get(rss)).with_state(items);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/wire.xml")
}

/// Checks that a refusal is the full-disk answer, in full.
async fn assert_storage_full(response: Response, context: &str) {
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").cloned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 507, "{context}: {body}");
    assert_eq!(body["error"]["code"], "storage_full", "{context}: {body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("disk is full"),
        "{context}: {body}"
    );
    assert!(retry_after.is_some(), "{context}: a 507 says when to retry");
}

/// Posts single articles until this client has been refused `refusals`
/// times; returns what was acknowledged.
async fn post_until_refused(app: Arc<TestApp>, client: u64, refusals: u32) -> Acknowledged {
    let mut acknowledged = Acknowledged::new();
    let mut refused = 0;
    for attempt in 0..400 {
        let article = sizeable_article(client * 1_000 + attempt);
        let response = app.post_article(&article).await;
        if response.status().as_u16() == 201 {
            let body: Value = response.json().await.unwrap();
            acknowledged.insert(
                body["id"].as_i64().unwrap(),
                article["title"].as_str().unwrap().to_owned(),
            );
        } else {
            assert_storage_full(response, &format!("client {client}, post {attempt}")).await;
            refused += 1;
            if refused == refusals {
                return acknowledged;
            }
        }
    }
    panic!("client {client} was never refused: the size limit did not apply");
}

async fn post_batch(app: &TestApp, body: String, content_type: &str) -> Response {
    app.post_raw("/api/v1/articles/batch", content_type, body).await
}

/// Every acknowledged article, read back through the API.
async fn assert_all_stored(app: &TestApp, acknowledged: &Acknowledged, when: &str) {
    for (id, title) in acknowledged {
        let (status, body) = app.get_json(&format!("/api/v1/articles/{id}")).await;
        assert_eq!(status, 200, "{when}: acknowledged article {id} ({title}) is missing");
        assert_eq!(body["title"], title.as_str(), "{when}: article {id}");
    }
}

async fn stored_articles(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM articles").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn past_the_size_limit_writes_get_507_and_every_acknowledged_article_is_stored() {
    let app = spawn_with(|c| {
        c.ingest_rate_limit = 0;
        c.allow_private_feeds = true;
    })
    .await;
    let items = Arc::new(FeedItems::default());
    items.count.store(1, Ordering::SeqCst);
    let feed_url = start_feed_server(items.clone()).await;
    let response = app
        .client
        .post(app.url("/api/v1/feeds"))
        .bearer_auth(TOKEN)
        .json(&json!({"url": feed_url, "section": "Wire"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let feed: Value = response.json().await.unwrap();
    let feed_id = feed["feed"]["id"].as_i64().unwrap();

    // Room for a few dozen articles beyond what is there now.
    let size = app
        .count("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
        .await;
    app.db
        .writer
        .set_max_size(Some(size as u64 + 500 * 1024))
        .await
        .unwrap();

    // Six clients post at once until each has been refused three times.
    let app = Arc::new(app);
    let clients: Vec<_> = (1..=6)
        .map(|client| tokio::spawn(post_until_refused(app.clone(), client, 3)))
        .collect();
    let mut acknowledged = Acknowledged::new();
    for client in clients {
        acknowledged.extend(client.await.unwrap());
    }
    assert!(acknowledged.len() >= 10, "only {} articles fit", acknowledged.len());
    let stored = stored_articles(&app).await;

    // A JSON batch and an NDJSON batch: refused whole, nothing stored.
    let batch: Vec<Value> = (0..20).map(|n| sizeable_article(90_000 + n)).collect();
    let response = post_batch(&app, serde_json::to_string(&batch).unwrap(), "application/json").await;
    assert_storage_full(response, "JSON batch").await;
    let ndjson: String = (0..20).map(|n| format!("{}\n", sizeable_article(95_000 + n))).collect();
    let response = post_batch(&app, ndjson, "application/x-ndjson").await;
    assert_storage_full(response, "NDJSON batch").await;

    // A feed poll that brings new entries: refused, and the feed says why.
    items.first.store(50_000, Ordering::SeqCst);
    items.count.store(20, Ordering::SeqCst);
    let poll_url = app.url(&format!("/api/v1/feeds/{feed_id}/poll"));
    let response = app.client.post(&poll_url).bearer_auth(TOKEN).send().await.unwrap();
    assert_storage_full(response, "feed poll").await;
    assert_eq!(stored_articles(&app).await, stored, "a refused write stored something");

    // Reads go on; readiness and metrics tell that writes are failing.
    assert_eq!(app.get("/").await.status().as_u16(), 200);
    assert_eq!(app.get("/sections/reports").await.status().as_u16(), 200);
    let (status, ready) = app.get_json("/readyz").await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["error"]["code"], "writes_failing");
    let (_, metrics) = app.get_text("/metrics").await;
    assert!(metrics.contains("gazette_storage_writes_failing 1"), "{metrics}");
    assert!(
        metrics.contains(r#"gazette_storage_write_failures_total{fault="disk_full"}"#),
        "{metrics}"
    );
    assert_all_stored(&app, &acknowledged, "while running").await;

    // Room again: writes resume by themselves, no restart.
    app.db.writer.set_max_size(None).await.unwrap();
    let after = app.create(&sizeable_article(99_999)).await;
    acknowledged.insert(after["id"].as_i64().unwrap(), "Storage report number 99999".to_owned());
    let (status, _) = app.get_text("/readyz").await;
    assert_eq!(status, 200, "readiness recovers with the first commit");
    let response = app.client.post(&poll_url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["created"], 20, "{report}");

    // After a restart: everything acknowledged is there, and the file is sound.
    let app = Arc::into_inner(app).expect("no client holds the app");
    let dir = app.stop().await;
    let app = spawn_in(dir, |_| {}).await;
    assert_all_stored(&app, &acknowledged, "after a restart").await;
    assert_eq!(
        stored_articles(&app).await,
        stored + 1 + 20,
        "exactly the acknowledged articles"
    );
    let (status, _) = app.get_text("/readyz").await;
    assert_eq!(status, 200);
    let integrity: String = {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}?mode=ro", app.db_path.display()))
            .await
            .unwrap();
        sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(integrity, "ok");
}
