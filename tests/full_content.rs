//! Full stories from summary-only feeds, against a local site: a feed of
//! teasers whose links lead to story pages, and pages that fail in every
//! way a real site does. Nothing leaves loopback.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gazette::accounts::Role;
use serde_json::{Value, json};
use support::browser::Browser;
use support::{TOKEN, TestApp, serve_locally, spawn_with};

type Hits = Arc<Mutex<HashMap<String, usize>>>;

/// A story page as news sites write them: navigation, the story with a
/// lazy image and a relative link, related links and a footer.
fn story_page(title: &str, paragraphs: usize) -> String {
    let body: String = (0..paragraphs)
        .map(|n| {
            format!(
                "<p>Paragraph {n} of {title}: the harbour board met on Tuesday and agreed the new crane schedule, \
                 which dock workers had asked for since the spring storms closed the eastern quay.</p>"
            )
        })
        .collect();
    format!(
        r#"<!doctype html><html><head><title>{title} | Harbour Desk</title>
<meta property="og:image" content="/img/lead.jpg"><meta name="author" content="Ines Varga"></head>
<body><header><nav><a href="/">Home</a> <a href="/ports">Ports</a> <a href="/weather">Weather</a></nav></header>
<main><article><h1>{title}</h1>
<figure><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/img/crane.jpg" alt="A crane"></figure>
{body}<p>Read the <a href="/reports/board">board's report</a>.</p></article>
<aside><h2>Related</h2><ul><li><a href="/a">Ferry fares</a></li><li><a href="/b">Night market</a></li></ul></aside></main>
<footer>Copyright Harbour Desk. All rights reserved.</footer></body></html>"#
    )
}

async fn site(State(hits): State<Hits>, Path(name): Path<String>, headers: axum::http::HeaderMap) -> Response {
    *hits.lock().unwrap().entry(name.clone()).or_default() += 1;
    let html = |body: String| ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    match name.as_str() {
        "feed.xml" => {
            let items: String = [
                ("cranes", "Cranes return to the harbour"),
                ("latin", "Café owners want a fair rent"),
                ("hostile", "Harbour board minutes"),
                ("missing", "A story that was taken down"),
                ("broken", "A story on a failing server"),
                ("slow", "A story on a server that never answers"),
                ("huge", "A story on a twenty megabyte page"),
                ("pdf", "A story that is a PDF"),
                ("busy", "A story on a server that asks for an hour"),
                ("nytimes", "A story from a real news page"),
            ]
            .iter()
            .map(|(slug, title)| {
                // The server that asks for an hour is its own host (the
                // same server by another name): its wait holds up only
                // its own pages.
                let link = match *slug {
                    "busy" => {
                        let port = headers[header::HOST]
                            .to_str()
                            .unwrap()
                            .rsplit(':')
                            .next()
                            .unwrap()
                            .to_owned();
                        format!("http://localhost:{port}/busy")
                    }
                    _ => format!("/{slug}"),
                };
                format!(
                    "<item><guid>{slug}</guid><title>{title}</title><link>{link}</link>\
                     <description>Teaser of {title}.</description></item>"
                )
            })
            .collect();
            // An entry with neither a title nor a date: the page has both.
            let untitled = "<item><guid>untitled</guid><link>/untitled</link><description>Dredging teaser.</description></item>\
                <item><guid>dated</guid><title>Dated by its feed</title><link>/untitled?edition=2</link>\
                <pubDate>Wed, 12 Jun 2024 09:30:00 GMT</pubDate><description>Dated teaser.</description></item>";
            (
                [(header::CONTENT_TYPE, "application/rss+xml")],
                format!(
                    r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Desk</title><link>/</link>
<description>Teasers</description>{items}{untitled}</channel></rss>"#
                ),
            )
                .into_response()
        }
        "cranes" => html(story_page("Cranes return to the harbour", 8)),
        "untitled" => html(story_page("Dredging starts at the east quay", 7).replace(
            "<head>",
            r#"<head><meta property="article:published_time" content="2024-03-02T08:00:00Z">"#,
        )),
        // The charset is named only in a meta tag.
        "latin" => (
            [(header::CONTENT_TYPE, "text/html")],
            encoding_rs::WINDOWS_1252
                .encode(&story_page("Café owners want a fair rent", 6).replace(
                    "<head>",
                    r#"<head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">"#,
                ))
                .0
                .into_owned(),
        )
            .into_response(),
        "hostile" => html(story_page("Harbour board minutes", 6).replace(
            "<figure>",
            r#"<script>document.title='owned'</script><p onclick="steal()">Click <a href="javascript:steal()">here</a>
<iframe src="https://evil.test/frame"></iframe><img src="x" onerror="steal()"></p><figure>"#,
        )),
        "missing" => StatusCode::NOT_FOUND.into_response(),
        "broken" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            html(story_page("Too late", 6))
        }
        "huge" => html(format!(
            "<html><body><p>{}</p></body></html>",
            "word ".repeat(4 * 1024 * 1024)
        )),
        "pdf" => ([(header::CONTENT_TYPE, "application/pdf")], "%PDF-1.4").into_response(),
        "busy" => (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "3600")]).into_response(),
        // A real news page: Mozilla Readability's test copy of one.
        "nytimes" => html(readability_page("nytimes-1", "source.html.gz")),
        "story" => html(story_page("A story posted by the API", 7)),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A page of Mozilla Readability's test suite (tests/data/readability).
fn readability_page(page: &str, file: &str) -> String {
    use std::io::Read;
    let path = format!("{}/tests/data/readability/{page}/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text
}

async fn local_site() -> (String, Hits) {
    let hits: Hits = Arc::default();
    let addr = serve_locally(Router::new().route("/{name}", get(site)).with_state(hits.clone())).await;
    (format!("http://{addr}"), hits)
}

const PASSWORD: &str = "correct horse battery";

/// A browser signed in to a new account of `role`.
async fn signed_in<'a>(app: &'a TestApp, name: &str, role: Role) -> Browser<'a> {
    gazette::accounts::add(&app.db, name, PASSWORD.into(), role)
        .await
        .unwrap();
    let mut browser = Browser::new(app);
    assert_eq!(browser.sign_in(name, PASSWORD).await.status(), 303);
    browser
}

async fn app() -> TestApp {
    spawn_with(|c| {
        c.allow_private_feeds = true;
        c.feed_timeout_secs = 2;
        c.page_fetch_pace_ms = 0;
    })
    .await
}

async fn subscribe(app: &TestApp, url: &str, full_content: bool) -> Value {
    let body = json!({"url": url, "section": "Ports", "full_content": full_content});
    let (status, subscribed) = with_token(app, reqwest::Method::POST, "/api/v1/feeds", Some(body)).await;
    assert_eq!(status, 201, "{subscribed}");
    subscribed
}

async fn articles_by_title(app: &TestApp) -> HashMap<String, Value> {
    let (status, list) = app.get_json("/api/v1/articles?limit=50").await;
    assert_eq!(status, 200);
    let mut out = HashMap::new();
    for card in list["articles"].as_array().unwrap() {
        let (_, article) = app.get_json(&format!("/api/v1/articles/{}", card["id"])).await;
        out.insert(article["title"].as_str().unwrap().to_owned(), article);
    }
    out
}

/// Waits until no article's page is still waiting for its first attempt.
async fn settled(app: &TestApp, limit: Duration) -> HashMap<String, Value> {
    let start = Instant::now();
    loop {
        let articles = articles_by_title(app).await;
        if articles
            .values()
            .all(|a| a["full_content"]["attempts"].as_i64().unwrap_or(0) > 0)
        {
            return articles;
        }
        assert!(
            start.elapsed() < limit,
            "pages not fetched within {limit:?}: {articles:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A request with the token: its status and JSON answer (null if none).
async fn with_token(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Asks for an article's full story now.
async fn fetch_now(app: &TestApp, id: &Value) -> (u16, Value) {
    with_token(
        app,
        reqwest::Method::POST,
        &format!("/api/v1/articles/{id}/full-content"),
        None,
    )
    .await
}

async fn feed_json(app: &TestApp, subscribed: &Value) -> Value {
    let path = format!("/api/v1/feeds/{}", subscribed["feed"]["id"]);
    let (status, feed) = with_token(app, reqwest::Method::GET, &path, None).await;
    assert_eq!(status, 200);
    feed
}

#[tokio::test]
async fn a_summary_only_feed_gets_its_stories_and_keeps_its_teasers() {
    let (base, hits) = local_site().await;
    let app = app().await;
    let subscribed = subscribe(&app, &format!("{base}/feed.xml"), true).await;
    assert_eq!(subscribed["feed"]["full_content"], true);
    assert_eq!(subscribed["poll"]["created"], 12);
    let articles = settled(&app, Duration::from_secs(30)).await;

    let cranes = &articles["Cranes return to the harbour"];
    assert_eq!(cranes["full_content"]["state"], "done", "{cranes:#}");
    let body = cranes["body_html"].as_str().unwrap();
    assert!(body.contains("Paragraph 7 of Cranes return to the harbour"), "{body}");
    assert!(
        !body.contains("All rights reserved") && !body.contains("Night market"),
        "{body}"
    );
    assert_eq!(cranes["summary"], "Teaser of Cranes return to the harbour.");
    assert!(
        body.contains(&format!("src=\"{base}/img/crane.jpg\"")),
        "lazy image shown, absolute: {body}"
    );
    assert!(
        body.contains(&format!("href=\"{base}/reports/board\"")),
        "link made absolute: {body}"
    );
    assert!(!body.contains("data:image"));
    assert_eq!(
        cranes["author"], "Ines Varga",
        "the page's byline where the feed had none"
    );

    let latin = &articles["Café owners want a fair rent"];
    assert_eq!(latin["full_content"]["state"], "done");
    assert!(
        latin["body_html"]
            .as_str()
            .unwrap()
            .contains("Paragraph 5 of Café owners"),
        "{latin:#}"
    );

    // What the entry lacked, its page gave: its title and its date; an
    // entry with both keeps its own.
    let untitled = &articles["Dredging starts at the east quay"];
    assert_eq!(untitled["full_content"]["state"], "done", "{untitled:#}");
    assert_eq!(untitled["published_at"], "2024-03-02T08:00:00+00:00");
    assert_eq!(untitled["summary"], "Dredging teaser.");
    let dated = &articles["Dated by its feed"];
    assert_eq!(dated["full_content"]["state"], "done", "{dated:#}");
    assert_eq!(dated["published_at"], "2024-06-12T09:30:00+00:00");

    // A real page: what Readability.js finds on it, Gazette finds.
    let real = &articles["A story from a real news page"];
    assert_eq!(real["full_content"]["state"], "done", "{real:#}");
    let expected = gazette::domain::body::plain_text(&readability_page("nytimes-1", "expected.html.gz"));
    let opening: String = expected.split_whitespace().take(12).collect::<Vec<_>>().join(" ");
    let found = gazette::domain::body::plain_text(real["body_html"].as_str().unwrap());
    assert!(
        found
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains(&opening),
        "{opening} in {found}"
    );

    let hostile = &articles["Harbour board minutes"];
    assert_eq!(hostile["full_content"]["state"], "done");
    let body = hostile["body_html"].as_str().unwrap();
    for banned in ["<script", "onclick", "onerror", "javascript:", "<iframe", "owned"] {
        assert!(!body.contains(banned), "{banned} left in {body}");
    }
    support::assert_no_script(body, "an extracted hostile page");

    // Each failure keeps the feed's text and says why; the ones worth it
    // are tried again later.
    for (title, reason, retried) in [
        ("A story that was taken down", "http_404", false),
        ("A story on a failing server", "http_500", true),
        ("A story on a server that never answers", "timeout", true),
        ("A story on a twenty megabyte page", "too_large", false),
        ("A story that is a PDF", "not_html", false),
        ("A story on a server that asks for an hour", "http_429", true),
    ] {
        let article = &articles[title];
        assert_eq!(article["full_content"]["state"], "failed", "{title}: {article:#}");
        assert_eq!(article["full_content"]["reason"], reason, "{title}");
        assert_eq!(
            article["full_content"]["next_attempt_at"].is_string(),
            retried,
            "{title}"
        );
        assert_eq!(article["body_html"], format!("Teaser of {title}."), "{title}");
    }

    // The page is fetched once per article, not once per poll, and the
    // story survives the next poll of the unchanged feed.
    let (_, poll) = with_token(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/feeds/{}/poll", subscribed["feed"]["id"]),
        None,
    )
    .await;
    assert_eq!(poll["unchanged"], 12, "{poll}");
    // The host that asked for an hour is asked again no sooner.
    let busy = &articles["A story on a server that asks for an hour"];
    let next = chrono::DateTime::parse_from_rfc3339(busy["full_content"]["next_attempt_at"].as_str().unwrap()).unwrap();
    assert!(next.timestamp() >= chrono::Utc::now().timestamp() + 3500, "{busy:#}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(hits.lock().unwrap()["cranes"], 1);
    let (_, again) = app.get_json(&format!("/api/v1/articles/{}", cranes["id"])).await;
    assert!(again["body_html"].as_str().unwrap().contains("Paragraph 7"));
    let feed = feed_json(&app, &subscribed).await;
    assert_eq!(feed["state"], "ok", "the feed stays ok whatever its pages did");

    // The story is what the site shows and searches.
    let (status, page) = app.get_text(&format!("/articles/{}", cranes["id"])).await;
    assert!(status == 200 || status == 301 || status == 308, "{status}");
    let (_, found) = app.get_json("/api/v1/search?q=spring+storms+eastern+quay").await;
    assert!(found.to_string().contains("Cranes return to the harbour"), "{found}");
    drop(page);
}

#[tokio::test]
async fn a_feed_without_the_setting_is_left_alone_until_asked() {
    let (base, hits) = local_site().await;
    let app = app().await;
    let subscribed = subscribe(&app, &format!("{base}/feed.xml"), false).await;
    assert_eq!(subscribed["feed"]["full_content"], false);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!hits.lock().unwrap().contains_key("cranes"), "no page fetched");
    let articles = articles_by_title(&app).await;
    let cranes = &articles["Cranes return to the harbour"];
    assert!(cranes.get("full_content").is_none(), "{cranes:#}");

    // Fetch now, by the API.
    let path = format!("/api/v1/articles/{}/full-content", cranes["id"]);
    let unauthorised = app.client.post(app.url(&path)).send().await.unwrap();
    assert_eq!(unauthorised.status(), 401);
    let (_, answer) = fetch_now(&app, &cranes["id"]).await;
    assert_eq!(answer["full_content"]["state"], "done", "{answer}");
    let (_, article) = app.get_json(&format!("/api/v1/articles/{}", cranes["id"])).await;
    assert!(article["body_html"].as_str().unwrap().contains("Paragraph 7"));
    assert_eq!(article["summary"], "Teaser of Cranes return to the harbour.");

    // A failure is an answer too: the article keeps its text.
    let missing = &articles["A story that was taken down"];
    let (_, answer) = fetch_now(&app, &missing["id"]).await;
    assert_eq!(answer["full_content"]["state"], "failed");
    assert_eq!(answer["full_content"]["reason"], "http_404");

    // An unknown article, and one with no link.
    let (status, _) = fetch_now(&app, &json!(999999)).await;
    assert_eq!(status, 404);
    let created = app
        .create(&json!({"title": "No link", "section": "Ports", "body": "Text."}))
        .await;
    let (status, error) = fetch_now(&app, &created["id"]).await;
    assert_eq!(status, 422);
    assert_eq!(error["error"]["field"], "url", "{error}");

    // Turning the setting on fetches the next new entries' pages.
    let feed_path = format!("/api/v1/feeds/{}", subscribed["feed"]["id"]);
    let (_, changed) = with_token(
        &app,
        reqwest::Method::PATCH,
        &feed_path,
        Some(json!({"full_content": true, "extraction": {"body": "article", "strip": ["figure"]}})),
    )
    .await;
    assert_eq!(changed["full_content"], true, "{changed}");
    assert_eq!(changed["extraction"]["body"], "article");
    let (status, error) = with_token(
        &app,
        reqwest::Method::PATCH,
        &feed_path,
        Some(json!({"extraction": {"body": "div["}})),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(error["error"]["field"], "extraction", "{error}");
    let feed = feed_json(&app, &subscribed).await;
    assert_eq!(
        feed["extraction"]["body"], "article",
        "the refused change changed nothing"
    );
    let (_, cleared) = with_token(
        &app,
        reqwest::Method::PATCH,
        &feed_path,
        Some(json!({"extraction": null})),
    )
    .await;
    assert!(cleared.get("extraction").is_none(), "{cleared}");
}

#[tokio::test]
async fn opml_keeps_the_full_content_setting_and_the_rule() {
    let (base, _hits) = local_site().await;
    let app = app().await;
    let response = app
        .client
        .post(app.url("/api/v1/feeds"))
        .bearer_auth(TOKEN)
        .json(
            &json!({"url": format!("{base}/feed.xml"), "section": "Ports", "full_content": true,
                      "extraction": {"body": "article", "strip": ["figure", "a[href=\"/x\"]"]}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let export = app
        .client
        .get(app.url("/api/v1/feeds/opml"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(export.contains(r#"gazette:fullContent="true""#), "{export}");
    // Other readers read the file as before.
    let parsed = opml::OPML::from_str(&export).unwrap();
    assert_eq!(parsed.body.outlines[0].text, "Ports");
    assert_eq!(
        parsed.body.outlines[0].outlines[0].xml_url.as_deref(),
        Some(format!("{base}/feed.xml").as_str())
    );

    let other = self::app().await;
    let imported = other.post_raw("/api/v1/feeds/opml", "text/x-opml", export).await;
    assert_eq!(imported.status(), 200);
    let (_, feeds) = with_token(&other, reqwest::Method::GET, "/api/v1/feeds", None).await;
    let feed = &feeds["feeds"][0];
    assert_eq!(feed["full_content"], true, "{feeds}");
    assert_eq!(feed["extraction"]["strip"][1], "a[href=\"/x\"]", "{feeds}");
}

#[tokio::test]
async fn an_admin_fetches_the_full_story_from_the_article_page_and_a_reader_cannot() {
    let (base, _hits) = local_site().await;
    let app = app().await;
    let created = app
        .create(&json!({"title": "Cranes return to the harbour", "section": "Ports",
                        "body": "A teaser.", "url": format!("{base}/cranes")}))
        .await;
    let page = created["url"].as_str().unwrap().to_owned();

    let mut reader = signed_in(&app, "ben", Role::Reader).await;
    let html = reader.get(&page).await.text().await.unwrap();
    assert!(!html.contains("Fetch the full story"), "readers get no such button");
    let csrf = reader.csrf().await;
    let refused = reader
        .post(
            &format!("/admin/articles/{}/full-content", created["id"]),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(refused.status(), 403);

    let mut admin = signed_in(&app, "ada", Role::Admin).await;
    let html = admin.get(&page).await.text().await.unwrap();
    assert!(html.contains("Fetch the full story"), "{html}");
    let csrf = admin.csrf().await;
    let done = admin
        .post(
            &format!("/admin/articles/{}/full-content", created["id"]),
            &[("csrf", &csrf), ("next", &page)],
        )
        .await;
    assert_eq!(done.status(), 303);
    assert_eq!(done.headers()["location"], format!("{page}?full_story=done"));
    let html = admin.get(&page).await.text().await.unwrap();
    assert!(html.contains("Paragraph 7 of Cranes return to the harbour"), "{html}");
    assert!(
        !html.contains("<h2>Cranes return to the harbour</h2>"),
        "the headline is not repeated"
    );
    let anonymous = app.get_text(&page).await.1;
    assert!(anonymous.contains("Paragraph 7") && !anonymous.contains("Fetch the full story"));
}

/// A teaser placed in its story before its page was fetched: once the
/// full story replaces it, a copy of the full story sent later is known
/// as a copy of it, not only copies of the teaser.
#[tokio::test]
async fn a_copy_of_a_fetched_full_story_is_known_as_a_copy() {
    let (base, _hits) = local_site().await;
    let app = app().await;
    let teaser = app
        .create(&json!({"title": "Cranes return to the harbour", "section": "Ports",
                        "source": "Harbour Desk", "body": "A teaser.", "url": format!("{base}/cranes")}))
        .await;
    app.placed().await;
    let (status, done) = fetch_now(&app, &teaser["id"]).await;
    assert_eq!(status, 200, "{done}");

    let page = story_page("Cranes return to the harbour", 8);
    let copy_body = gazette::domain::body::plain_text(&page[page.find("<p>").unwrap()..page.find("<aside>").unwrap()]);
    let copy = app
        .create(&json!({"title": "Harbour cranes are back", "section": "Business",
                        "source": "Trade Daily", "body": copy_body}))
        .await;
    app.placed().await;
    let (_, copy) = app.get_json(&format!("/api/v1/articles/{}", copy["id"])).await;
    assert_eq!(copy["duplicate_of"], teaser["id"], "{copy:#}");
}

#[tokio::test]
async fn a_page_on_a_private_address_is_refused_and_the_article_keeps_its_text() {
    let (base, hits) = local_site().await;
    // The default: private, loopback and link-local addresses refused,
    // after DNS and on every redirect, for pages as for feeds.
    let app = spawn_with(|c| c.page_fetch_pace_ms = 0).await;
    let created = app
        .create(&json!({"title": "Cranes return to the harbour", "section": "Ports",
                        "body": "A teaser.", "url": format!("{base}/cranes")}))
        .await;
    let (_, answer) = fetch_now(&app, &created["id"]).await;
    assert_eq!(answer["full_content"]["state"], "failed", "{answer}");
    assert_eq!(answer["full_content"]["reason"], "private_address");
    assert!(
        answer["full_content"].get("next_attempt_at").is_none(),
        "not tried again"
    );
    assert!(
        !hits.lock().unwrap().contains_key("cranes"),
        "nothing was asked of the address"
    );
    let (_, article) = app.get_json(&format!("/api/v1/articles/{}", created["id"])).await;
    assert_eq!(article["body_html"].as_str().unwrap().trim(), "<p>A teaser.</p>");
}

#[tokio::test]
async fn an_admin_sets_full_stories_and_a_feeds_rule_on_the_feeds_page() {
    let (base, _hits) = local_site().await;
    let app = app().await;
    let mut admin = signed_in(&app, "ada", Role::Admin).await;
    let csrf = admin.csrf_on("/admin/feeds").await;
    let url = format!("{base}/feed.xml");
    let subscribed = admin
        .post(
            "/admin/feeds",
            &[
                ("csrf", &csrf),
                ("url", &url),
                ("section", "Ports"),
                ("full_content", "on"),
            ],
        )
        .await;
    assert_eq!(subscribed.status(), 303);
    let (_, feeds) = with_token(&app, reqwest::Method::GET, "/api/v1/feeds", None).await;
    let feed = &feeds["feeds"][0];
    assert_eq!(feed["full_content"], true, "{feeds}");
    let id = feed["id"].to_string();

    let html = admin.get("/admin/feeds").await.text().await.unwrap();
    assert!(html.contains(r#"name="full_content" checked"#), "{html}");
    let saved = admin
        .post(
            "/admin/feeds/change",
            &[
                ("csrf", &csrf),
                ("id", &id),
                ("do", "save"),
                ("section", "Ports"),
                ("extract_body", "article"),
                ("extract_strip", "figure\n  \naside"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let feed = feed_json(&app, &json!({"feed": {"id": feed["id"]}})).await;
    assert_eq!(feed["full_content"], false, "an unticked box turns it off");
    assert_eq!(
        feed["extraction"],
        json!({"body": "article", "strip": ["figure", "aside"]})
    );

    let refused = admin
        .post(
            "/admin/feeds/change",
            &[
                ("csrf", &csrf),
                ("id", &id),
                ("do", "save"),
                ("section", "Ports"),
                ("extract_body", "div["),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("not a CSS selector"));
    let feed = feed_json(&app, &json!({"feed": {"id": feed["id"]}})).await;
    assert_eq!(
        feed["extraction"]["body"], "article",
        "the refused change changed nothing"
    );
}

/// A site of one feed of 200 new entries whose story pages each take a
/// while, counting the pages asked for and the most asked for at once.
#[derive(Default)]
struct BusySite {
    asked: std::sync::atomic::AtomicUsize,
    in_flight: std::sync::atomic::AtomicUsize,
    most_at_once: std::sync::atomic::AtomicUsize,
}

async fn busy_site(State(site): State<Arc<BusySite>>, Path(name): Path<String>) -> Response {
    use std::sync::atomic::Ordering::SeqCst;
    match name.as_str() {
        "many.xml" | "other.xml" => {
            let count = if name == "many.xml" { 200 } else { 1 };
            let items: String = (0..count)
                .map(|n| format!("<item><guid>{name}-{n}</guid><title>Notice {n} of {name}</title><link>/page-{name}-{n}</link><description>Teaser {n}.</description></item>"))
                .collect();
            (
                [(header::CONTENT_TYPE, "application/rss+xml")],
                format!(r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Notices</title><link>/</link>{items}</channel></rss>"#),
            )
                .into_response()
        }
        _ => {
            site.asked.fetch_add(1, SeqCst);
            let now = site.in_flight.fetch_add(1, SeqCst) + 1;
            site.most_at_once.fetch_max(now, SeqCst);
            tokio::time::sleep(Duration::from_millis(300)).await;
            site.in_flight.fetch_sub(1, SeqCst);
            ([(header::CONTENT_TYPE, "text/html")], story_page(&name, 6)).into_response()
        }
    }
}

#[tokio::test]
async fn a_feed_of_200_new_entries_is_fetched_at_its_sites_pace_and_delays_no_other_feed() {
    use std::sync::atomic::Ordering::SeqCst;
    let site = Arc::new(BusySite::default());
    let router = Router::new().route("/{name}", get(busy_site)).with_state(site.clone());
    let port = serve_locally(router).await.port();
    let app = app().await;
    let many = subscribe(&app, &format!("http://127.0.0.1:{port}/many.xml"), true).await;
    assert_eq!(
        many["poll"]["created"], 200,
        "the entries are stored at once, with the feed's text"
    );
    // Another feed (another host name for the same server) is subscribed
    // and polled while the first feed's pages are being fetched.
    let other = subscribe(&app, &format!("http://localhost:{port}/other.xml"), false).await;
    assert_eq!(other["poll"]["created"], 1);
    let (poll_status, _) = with_token(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/feeds/{}/poll", other["feed"]["id"]),
        None,
    )
    .await;
    assert_eq!(poll_status, 200);
    assert!(
        site.asked.load(SeqCst) < 200,
        "the other feed did not wait for the pages"
    );
    // Some pages later: never more than two of the site's at once.
    let start = Instant::now();
    while site.asked.load(SeqCst) < 12 {
        assert!(start.elapsed() < Duration::from_secs(30), "pages are fetched");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(site.most_at_once.load(SeqCst), 2, "two pages of one site at a time");
}

#[tokio::test]
async fn a_page_being_fetched_is_not_fetched_again_at_once() {
    let (base, hits) = local_site().await;
    let app = app().await;
    // A page that never answers: the first fetch holds it until its
    // time-out (2 s here).
    let created = app
        .create(
            &json!({"title": "A story on a server that never answers", "section": "Ports",
                        "body": "A teaser.", "url": format!("{base}/slow")}),
        )
        .await;
    let first = {
        let (client, url) = (
            app.client.clone(),
            app.url(&format!("/api/v1/articles/{}/full-content", created["id"])),
        );
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    let start = Instant::now();
    while hits.lock().unwrap().get("slow").is_none() {
        assert!(start.elapsed() < Duration::from_secs(10), "the first fetch starts");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, error) = fetch_now(&app, &created["id"]).await;
    assert_eq!(status, 409, "{error}");
    assert_eq!(first.await.unwrap(), 200);
    assert_eq!(hits.lock().unwrap()["slow"], 1);
    let (_, article) = app.get_json(&format!("/api/v1/articles/{}", created["id"])).await;
    assert_eq!(article["full_content"]["reason"], "timeout");
}
