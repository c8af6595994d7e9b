//! Several Gazette instances on one PostgreSQL database (issue 14): what
//! one writes, the others show at once; sessions and reading state work
//! whichever answers; each due feed is polled by one of them; killing one
//! mid-ingest loses nothing it acknowledged; and PostgreSQL going away is
//! a clear 503 that ends when it is back. Needs PostgreSQL (see
//! support::postgres); never skipped.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use gazette::accounts::Role;
use gazette::store::Location;
use reqwest::StatusCode;
use serde_json::{Value, json};

use support::browser::Browser;
use support::postgres::{FreshDatabase, PrivateServer};
use support::{TOKEN, TestApp, article, process, spawn_with};

const PASSWORD: &str = "correct horse battery";

/// A Gazette instance on the database at `url`.
async fn instance(url: &str) -> TestApp {
    let url = url.to_owned();
    spawn_with(move |c| {
        c.database = Location::Postgres(url);
        c.database_connections = 4;
        c.allow_private_feeds = true;
        c.feed_timeout_secs = 10;
    })
    .await
}

/// Waits until `check` holds, failing after `limit`; says how long it took.
async fn within<F: AsyncFnMut() -> bool>(limit: Duration, what: &str, mut check: F) -> Duration {
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn page_has(app: &TestApp, path: &str, text: &str) -> bool {
    app.get_text(path).await.1.contains(text)
}

#[tokio::test]
async fn a_write_on_one_instance_shows_on_the_other_at_once() {
    let db = FreshDatabase::new().await;
    let (a, b) = (instance(&db.url).await, instance(&db.url).await);
    a.create(&article("Pilot boats return to the quay", "Harbour")).await;
    // B has its pages cached: the front page, a section and its feed.
    for _ in 0..2 {
        for path in ["/", "/sections/harbour", "/feed.atom"] {
            assert_eq!(b.get(path).await.status(), StatusCode::OK);
        }
    }
    let created = a.create(&article("Tide tables corrected", "Harbour")).await;
    let id = created["id"].as_i64().unwrap();
    for path in ["/", "/sections/harbour", "/feed.atom"] {
        let took = within(Duration::from_secs(5), path, async || {
            page_has(&b, path, "Tide tables corrected").await
        })
        .await;
        eprintln!("{path} on the other instance showed the new article after {took:?}");
    }
    assert_eq!(b.get(&format!("/api/v1/articles/{id}")).await.status(), StatusCode::OK);
    // An update and a delete, the same way.
    // (Another story: a second report of this one would be shown as its
    // story, not as a card of its own.)
    let mut changed = article("Ferry timetable for the winter", "Harbour");
    changed["external_id"] = json!("tides");
    a.create(&changed).await;
    within(Duration::from_secs(5), "update", async || {
        page_has(&b, "/", "Ferry timetable for the winter").await
    })
    .await;
    let deleted = a
        .client
        .delete(a.url(&format!("/api/v1/articles/{id}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    within(Duration::from_secs(5), "delete", async || {
        b.get(&format!("/articles/{id}")).await.status() == StatusCode::NOT_FOUND
    })
    .await;
    // Both count one section and two articles.
    for app in [&a, &b] {
        let (_, sections) = app.get_json("/api/v1/sections").await;
        assert_eq!(sections["sections"][0]["article_count"], 2, "{sections}");
    }
}

#[tokio::test]
async fn sessions_and_reading_state_work_whichever_instance_answers() {
    let db = FreshDatabase::new().await;
    let (a, b) = (instance(&db.url).await, instance(&db.url).await);
    let user = gazette::accounts::add(&a.db, "ada", PASSWORD.to_owned(), Role::Reader)
        .await
        .unwrap();
    let story = a.create(&article("Lock gates repaired", "Harbour")).await["id"]
        .as_i64()
        .unwrap();

    let mut on_a = Browser::new(&a);
    assert_eq!(on_a.sign_in("ada", PASSWORD).await.status(), StatusCode::SEE_OTHER);
    let mut on_b = Browser::new(&b);
    on_b.cookie = on_a.cookie.clone();
    let account = on_b.get("/account").await;
    assert_eq!(account.status(), StatusCode::OK, "B knows A's session");
    assert!(account.text().await.unwrap().contains("ada"));

    // Read on A, through the API; B's unread list leaves it out.
    let key = gazette::reading::keys::create(&a.db, user.id, "phone").await.unwrap();
    let unread = async |app: &TestApp| -> Vec<i64> {
        let body: Value = app
            .client
            .get(app.url("/api/v1/me/unread"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["articles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(unread(&b).await, [story]);
    let marked = a
        .client
        .put(a.url(&format!("/api/v1/me/read/{story}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert!(marked.status().is_success(), "{}", marked.status());
    within(Duration::from_secs(5), "read on A, read on B", async || {
        unread(&b).await.is_empty()
    })
    .await;

    // Signed out on A: the session is gone on B too.
    let csrf = on_a.csrf().await;
    assert_eq!(
        on_a.post("/logout", &[("csrf", &csrf)]).await.status(),
        StatusCode::SEE_OTHER
    );
    within(Duration::from_secs(5), "signed out everywhere", async || {
        on_b.get("/account").await.status() != StatusCode::OK
    })
    .await;
}

/// A feed server whose every feed takes a while to answer, counting the
/// requests for each.
async fn slow_feed_server() -> (String, Arc<Mutex<HashMap<String, u32>>>) {
    type Hits = Arc<Mutex<HashMap<String, u32>>>;
    async fn serve(State(hits): State<Hits>, Path(name): Path<String>) -> ([(&'static str, &'static str); 1], String) {
        *hits.lock().unwrap().entry(name.clone()).or_default() += 1;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let body = format!(
            r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Wire {name}</title><link>http://example.com/</link>
            <item><title>Notice {name}</title><link>http://example.com/{name}</link><guid>{name}</guid>
            <description>Notice to mariners.</description></item></channel></rss>"#
        );
        ([("content-type", "application/rss+xml")], body)
    }
    let hits: Hits = Arc::default();
    let app = Router::new().route("/{name}", get(serve)).with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), hits)
}

#[tokio::test]
async fn each_due_feed_is_polled_by_one_instance() {
    let db = FreshDatabase::new().await;
    let (feeds, hits) = slow_feed_server().await;
    let a = instance(&db.url).await;
    const FEEDS: usize = 6;
    for n in 0..FEEDS {
        let response = a
            .client
            .post(a.url("/api/v1/feeds"))
            .bearer_auth(TOKEN)
            .json(&json!({"url": format!("{feeds}/f{n}"), "section": "Notices"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let b = instance(&db.url).await;
    let subscribed: u32 = hits.lock().unwrap().values().sum();
    assert_eq!(subscribed as usize, FEEDS, "one fetch each to subscribe");
    // Every feed falls due at once, with both instances' pollers running.
    // A poll takes 1.5 s here, so without claims both would fetch each.
    a.execute("UPDATE feeds SET next_fetch_at = 0").await;
    within(Duration::from_secs(20), "every feed polled again", async || {
        hits.lock().unwrap().values().all(|&n| n >= 2)
    })
    .await;
    // Time for a second fetch of any feed, were one coming.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let hits = hits.lock().unwrap().clone();
    assert!(
        hits.values().all(|&n| n == 2),
        "each due feed was fetched once: {hits:?}"
    );
    let (_, body) = b.get_json("/api/v1/feeds").await;
    drop(body);
}

#[tokio::test]
async fn killing_an_instance_mid_ingest_loses_no_acknowledged_article() {
    let db = FreshDatabase::new().await;
    let dir = tempfile::tempdir().unwrap();
    let location = std::path::Path::new(&db.url);
    let envs = [("GAZETTE_INGEST_TOKEN", TOKEN), ("GAZETTE_DATABASE_CONNECTIONS", "4")];
    let mut a = process::start(location, &dir.path().join("a.log"), &envs).await;
    let b = process::start(location, &dir.path().join("b.log"), &envs).await;
    let client = reqwest::Client::new();
    let acknowledged: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let mut writers = Vec::new();
    for writer in 0..8 {
        let base = if writer % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let (client, acknowledged) = (client.clone(), acknowledged.clone());
        writers.push(tokio::spawn(async move {
            for n in 0.. {
                let key = format!("w{writer}-{n}");
                let mut body = article(&format!("Bulletin {key}"), "Bulletins");
                body["external_id"] = json!(key);
                let sent = client
                    .post(format!("{base}/api/v1/articles"))
                    .bearer_auth(TOKEN)
                    .json(&body)
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                let Ok(response) = sent else {
                    return; // the instance is gone
                };
                if response.status() == StatusCode::CREATED {
                    let id = response.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
                    acknowledged.lock().unwrap().push((key, id));
                }
                if n >= 400 {
                    return;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    a.child.kill().unwrap(); // SIGKILL
    a.child.wait().unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > 20, "only {} acknowledged", acknowledged.len());
    for (key, id) in &acknowledged {
        let response = client
            .get(format!("{}/api/v1/articles/{id}", b.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{key} (id {id}) was acknowledged and is missing"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["title"], format!("Bulletin {key}"));
    }
    eprintln!("{} acknowledged articles, every one stored", acknowledged.len());
}

#[tokio::test]
async fn postgres_going_away_is_a_clear_503_and_service_resumes() {
    let server = PrivateServer::start();
    let app = instance(&server.url()).await;
    app.create(&article("Before the outage", "Harbour")).await;
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);

    server.stop();
    within(Duration::from_secs(10), "readyz says 503", async || {
        app.get("/readyz").await.status() == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    let refused = app.post_article(&article("During the outage", "Harbour")).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "database_unavailable", "{body}");
    // Pages not in the cache fail the same clear way; nothing crashed.
    let search = app.get("/api/v1/search?q=outage").await;
    assert_eq!(search.status(), StatusCode::SERVICE_UNAVAILABLE);

    server.start_again();
    within(Duration::from_secs(20), "ready again", async || {
        app.get("/readyz").await.status() == StatusCode::OK
    })
    .await;
    app.create(&article("After the outage", "Harbour")).await;
    within(
        Duration::from_secs(5),
        "the front page shows the new article",
        async || page_has(&app, "/", "After the outage").await,
    )
    .await;
    let (_, found) = app.get_json("/api/v1/search?q=outage").await;
    assert_eq!(found["results"].as_array().unwrap().len(), 2, "{found}");
}

/// A site of one full-content feed whose story pages take a while to
/// answer, counting the requests for each.
async fn slow_story_site(stories: usize) -> (String, Arc<Mutex<HashMap<String, u32>>>) {
    type Hits = Arc<Mutex<HashMap<String, u32>>>;
    async fn serve(State((hits, stories)): State<(Hits, usize)>, Path(name): Path<String>) -> axum::response::Response {
        use axum::response::IntoResponse;
        *hits.lock().unwrap().entry(name.clone()).or_default() += 1;
        if name == "feed.xml" {
            let items: String = (0..stories)
                .map(|n| {
                    format!(
                        "<item><title>Tide table {n}</title><link>/story{n}</link><guid>t{n}</guid>\
                         <description>Teaser {n}.</description></item>"
                    )
                })
                .collect();
            let feed = format!(
                r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Tides</title><link>/</link>{items}</channel></rss>"#
            );
            return ([("content-type", "application/rss+xml")], feed).into_response();
        }
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let body: String = (0..6)
            .map(|p| format!("<p>Paragraph {p} of {name}: high water at the harbour mouth comes forty minutes later this week, the harbour master said.</p>"))
            .collect();
        let page = format!(
            "<html><head><title>{name}</title></head><body><nav><a href=\"/\">Home</a></nav><article>{body}</article></body></html>"
        );
        ([("content-type", "text/html")], page).into_response()
    }
    let hits: Hits = Arc::default();
    let router = Router::new()
        .route("/{name}", get(serve))
        .with_state((hits.clone(), stories));
    (format!("http://{}", support::serve_locally(router).await), hits)
}

#[tokio::test]
async fn each_story_page_is_fetched_by_one_instance() {
    let db = FreshDatabase::new().await;
    const STORIES: usize = 6;
    let (site, hits) = slow_story_site(STORIES).await;
    let faster = |url: String| {
        spawn_with(move |c| {
            c.database = Location::Postgres(url);
            c.database_connections = 4;
            c.allow_private_feeds = true;
            c.page_fetch_pace_ms = 0;
        })
    };
    let a = faster(db.url.clone()).await;
    let b = faster(db.url.clone()).await;
    let response = a
        .client
        .post(a.url("/api/v1/feeds"))
        .bearer_auth(TOKEN)
        .json(&json!({"url": format!("{site}/feed.xml"), "section": "Tides", "full_content": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    // Both instances' workers see every page due at once; a fetch takes
    // 1.2 s, so without claims both would fetch each.
    within(Duration::from_secs(30), "every story fetched", async || {
        let (_, list) = b.get_json("/api/v1/articles?limit=50").await;
        let mut done = 0;
        for card in list["articles"].as_array().into_iter().flatten() {
            let (_, article) = b.get_json(&format!("/api/v1/articles/{}", card["id"])).await;
            done += usize::from(article["full_content"]["state"] == "done");
        }
        done == STORIES
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let hits = hits.lock().unwrap().clone();
    for n in 0..STORIES {
        assert_eq!(
            hits.get(&format!("story{n}")),
            Some(&1),
            "each page fetched once: {hits:?}"
        );
    }
}

#[tokio::test]
async fn two_instances_placing_copies_at_once_put_them_in_one_story() {
    let db = FreshDatabase::new().await;
    let (a, b) = (instance(&db.url).await, instance(&db.url).await);
    let wire = "The port authority of Kestrel Bay said on Tuesday that the northern harbour would stay closed \
                for at least a week after a storm damaged two cranes and a stretch of the breakwater. Ships \
                bound for Kestrel Bay are being sent to the southern terminal, where officials expect delays \
                of up to two days for container traffic and longer for bulk carriers.";
    let batch = |who: &str| -> Vec<Value> {
        (0..20)
            .map(|n| {
                json!({"title": format!("Kestrel Bay harbour closed ({who} {n})"), "section": "World",
                       "source": format!("{who} outlet {n}"), "body": format!("{wire}\n\nEdition {who}-{n}.")})
            })
            .collect()
    };
    let (batch_a, batch_b) = (batch("a"), batch("b"));
    let (from_a, from_b) = tokio::join!(a.post_batch(&batch_a), b.post_batch(&batch_b));
    assert_eq!(from_a.status(), StatusCode::OK);
    assert_eq!(from_b.status(), StatusCode::OK);
    // Both instances' workers place them, one step at a time between them.
    a.placed().await;
    assert_eq!(
        a.count("SELECT COUNT(*) FROM story_members").await,
        a.count("SELECT COUNT(*) FROM articles").await,
        "every article is in exactly one story"
    );
    assert_eq!(a.count("SELECT COUNT(*) FROM articles").await, 40);
    assert_eq!(
        a.count("SELECT COUNT(DISTINCT story_id) FROM story_members").await,
        1,
        "the copies from both instances are one story"
    );
    assert_eq!(
        a.count("SELECT COUNT(*) FROM story_members WHERE duplicate_of IS NULL")
            .await,
        1,
        "one original, whichever instance stored it first"
    );
}
