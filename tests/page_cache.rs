//! The page cache: requests that miss the same page at once wait for one
//! rendering, and a new article makes stale the pages that show it and no
//! others. In its own test binary so the process-wide metrics count these
//! tests' renders only (the tests take turns for the same reason).

mod support;

use serde_json::json;
use support::{article, spawn_app, spawn_with};

/// The metrics are the process's: one test at a time counts them.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn concurrent_misses_of_one_page_render_it_once() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = std::sync::Arc::new(spawn_app().await);
    for i in 0..30 {
        app.create(&article(&format!("Queue at the ferry {i}"), "Harbour"))
            .await;
    }
    let before = cache_count(&app, "miss").await;
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.get_text("/sections/harbour").await })
        })
        .collect();
    let mut pages = Vec::new();
    for task in tasks {
        let (status, html) = task.await.unwrap();
        assert_eq!(status, 200);
        pages.push(html);
    }
    assert!(pages.iter().all(|p| *p == pages[0]), "every request got the same page");
    assert!(pages[0].contains("Queue at the ferry 29"));
    let renders = cache_count(&app, "miss").await - before;
    // One rendering, or two if the minute turned during the test.
    assert!(
        (1..=2).contains(&renders),
        "32 concurrent misses rendered the page {renders} times"
    );
}

#[tokio::test]
async fn a_new_article_changes_the_pages_that_show_it_and_no_other() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = spawn_app().await;
    let story = |title: &str, section: &str, author: &str, tag: &str| {
        let mut a = article(title, section);
        a["author"] = json!(author);
        a["tags"] = json!([tag]);
        a["external_id"] = json!(title);
        a
    };
    app.create(&story("Ferry timetable returns", "Harbour", "Lena Marsh", "ferries"))
        .await;
    let harbour = app
        .create(&story(
            "Dredging starts at the quay",
            "Harbour",
            "Omar Tell",
            "dredging",
        ))
        .await;
    let rail = app
        .create(&story("Signal box reopens", "Rail", "Omar Tell", "signals"))
        .await;
    let rail_page = rail["url"].as_str().unwrap().to_owned();
    let harbour_page = harbour["url"].as_str().unwrap().to_owned();
    let changed = [
        "/",
        "/sections/harbour",
        rail_page.as_str(),
        "/authors/lena-marsh",
        "/tags/ferries",
        "/feed.atom",
    ];
    let untouched = ["/sections/rail", harbour_page.as_str(), "/authors/omar-tell"];
    let mut tags = std::collections::HashMap::new();
    for path in changed.iter().chain(&untouched) {
        for _ in 0..2 {
            let response = app.get(path).await;
            assert_eq!(response.status(), 200, "{path}");
            tags.insert(*path, response.headers()["etag"].to_str().unwrap().to_owned());
        }
    }
    let minute = chrono::Utc::now().timestamp() / 60;
    let misses = cache_count(&app, "miss").await;

    app.create(&story("Night ferry runs again", "Harbour", "Lena Marsh", "ferries"))
        .await;

    // Every page showing it shows it on the very next request…
    for path in changed {
        let response = app
            .client
            .get(app.url(path))
            .header("if-none-match", &tags[path])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}: the client's copy is out of date");
        let new_tag = response.headers()["etag"].to_str().unwrap().to_owned();
        let body = response.text().await.unwrap();
        assert!(
            body.contains("Night ferry runs again"),
            "{path} does not show the new story"
        );
        assert!(!body.contains(web_hole()), "{path} was sent with its hole");
        let again = app
            .client
            .get(app.url(path))
            .header("if-none-match", &new_tag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}: the new copy is current");
    }
    // …and the pages that do not show it were not rendered again.
    let before = cache_count(&app, "miss").await;
    for path in untouched {
        let (status, body) = app.get_text(path).await;
        assert_eq!(status, 200);
        assert!(!body.contains("Night ferry runs again"), "{path}");
    }
    let rendered = cache_count(&app, "miss").await - before;
    if chrono::Utc::now().timestamp() / 60 == minute {
        assert_eq!(rendered, 0, "pages the new story is not on were rendered again");
    }
    assert!(before > misses, "the pages that show it were rendered again");

    // The article page's sidebar is the newest elsewhere, filled in: once.
    let (_, page) = app.get_text(&rail_page).await;
    assert_eq!(page.matches("class=\"sidebar\"").count(), 1);
    assert!(page.contains("Dredging starts at the quay"));

    // An edit may move a story anywhere: every page is made again.
    let mut edited = story("Night ferry runs again", "Harbour", "Lena Marsh", "ferries");
    edited["title"] = json!("Night ferry runs again from Monday");
    app.create(&edited).await;
    for path in [rail_page.as_str(), "/sections/harbour", "/"] {
        let (_, body) = app.get_text(path).await;
        assert!(
            body.contains("Night ferry runs again from Monday"),
            "{path} shows the old headline"
        );
    }

    // The cache's own addresses answer no client.
    for path in ["/_fragments/sidebar/1", "/_fragments/sidebar/1/personal"] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
}

/// Two instances on one PostgreSQL database: a new article written on one
/// makes stale, on the other, only the pages it touches.
#[tokio::test]
async fn another_instance_makes_stale_only_what_a_new_article_touched() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let db = support::postgres::FreshDatabase::new().await;
    let instance = |url: String| {
        spawn_with(move |c| {
            c.database = gazette::store::Location::Postgres(url);
            c.database_connections = 4;
        })
    };
    let (a, b) = (instance(db.url.clone()).await, instance(db.url.clone()).await);
    a.create(&article("Pilot boats return", "Harbour")).await;
    a.create(&article("Signal box reopens", "Rail")).await;
    // B listens to A (its listener connects on its own time, and makes
    // everything stale when it does): an article on a page B has cached
    // shows there …
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    b.get("/sections/rail").await;
    a.create(&article("Level crossing upgraded", "Rail")).await;
    while !(b.get_text("/sections/rail").await.1.contains("Level crossing upgraded")) {
        assert!(std::time::Instant::now() < deadline, "B never heard of A's articles");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // … and has both sections cached.
    for _ in 0..2 {
        for path in ["/sections/harbour", "/sections/rail"] {
            assert_eq!(b.get(path).await.status(), 200);
        }
    }
    let minute = chrono::Utc::now().timestamp() / 60;
    a.create(&article("Night ferry runs again", "Harbour")).await;
    while !(b
        .get_text("/sections/harbour")
        .await
        .1
        .contains("Night ferry runs again"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "B's Harbour page never showed A's article"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before = cache_count(&b, "miss").await;
    let (_, rail) = b.get_text("/sections/rail").await;
    assert!(rail.contains("Signal box reopens"));
    let rendered = cache_count(&b, "miss").await - before;
    if chrono::Utc::now().timestamp() / 60 == minute {
        assert_eq!(rendered, 0, "B rendered again a section A's article is not in");
    }
}

fn web_hole() -> &'static str {
    "<!--gazette:fragment-->"
}

/// Page cache lookups with this result so far, from /metrics.
#[tokio::test]
async fn an_article_sitemap_file_is_built_again_only_when_its_own_ids_change() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = spawn_with(|c| c.sitemap_file_urls = 1000).await;
    let items: Vec<_> = (0..1000)
        .map(|n| {
            let mut a = article(&format!("Tide table {n}"), "Harbour");
            a["external_id"] = json!(format!("tide-{n}"));
            a
        })
        .collect();
    let response = app.post_batch(&items).await;
    assert_eq!(response.status(), 200);
    let (_, first) = app.get_text("/sitemaps/articles-0.xml").await;
    assert_eq!(first.matches("<url>").count(), 1000);

    // A new story lands in the next file: the first is not built again.
    let before = cache_count(&app, "miss").await;
    let created = app.create(&article("Harbour lights relit", "Harbour")).await;
    assert!(created["id"].as_i64().unwrap() > 1000);
    let (_, again) = app.get_text("/sitemaps/articles-0.xml").await;
    assert_eq!(again, first);
    assert_eq!(
        cache_count(&app, "miss").await - before,
        0,
        "the untouched file was built again"
    );
    let (_, next) = app.get_text("/sitemaps/articles-1.xml").await;
    assert!(next.contains(created["url"].as_str().unwrap()), "{next}");

    // An edit may change any file: the first is built again, once.
    let mut edited = items[3].clone();
    edited["title"] = json!("Tide table three, corrected");
    app.create(&edited).await;
    let before = cache_count(&app, "miss").await;
    for _ in 0..3 {
        let (status, file) = app.get_text("/sitemaps/articles-0.xml").await;
        assert_eq!(status, 200);
        assert!(file.contains("tide-table-three-corrected"), "the edit is listed");
    }
    assert_eq!(cache_count(&app, "miss").await - before, 1);
}

#[tokio::test]
async fn an_answer_too_large_to_keep_is_served_and_counted_every_time() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = spawn_app().await;
    let mut long = article("The whole inquiry transcript", "Inquiries");
    // Sanitising adds rel="…" to every link: the page outgrows the body.
    let paragraph = "<p>The witness was asked about the <a href=\"https://example.org/w\">harbour wall again</a>.</p>";
    long["body"] = json!(paragraph.repeat(20_000));
    long["body_format"] = json!("html");
    let path = app.create(&long).await["url"].as_str().unwrap().to_owned();
    let before = cache_count(&app, "too_large").await;
    for _ in 0..2 {
        let (status, html) = app.get_text(&path).await;
        assert_eq!(status, 200);
        assert_eq!(html.matches("harbour wall again</a>").count(), 20_000);
        assert!(
            html.len() > 2 * 1024 * 1024,
            "larger than the cache keeps: {}",
            html.len()
        );
    }
    assert_eq!(
        cache_count(&app, "too_large").await - before,
        2,
        "not kept, so rendered each time"
    );
}

async fn cache_count(app: &support::TestApp, result: &str) -> u64 {
    let (_, text) = app.get_text("/metrics").await;
    let prefix = format!("gazette_page_cache_total{{result=\"{result}\"}}");
    text.lines()
        .find(|line| line.starts_with(&prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
