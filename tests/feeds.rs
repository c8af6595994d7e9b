//! Feed subscriptions against a local feed server: every format, the hard
//! cases, retries and de-duplication. Nothing leaves loopback.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use support::{TOKEN, TestApp, spawn_in, spawn_with};

/// What the feed server has been asked, and switches that change its
/// answers mid-test.
#[derive(Default)]
struct FeedServer {
    hits: Mutex<HashMap<String, usize>>,
    not_modified: AtomicUsize,
    version: AtomicUsize,
    moved: AtomicUsize,
}

type Shared = Arc<FeedServer>;

fn rss(items: &str, extra: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Harbour Wire</title><link>http://harbour.test/</link><description>Local news</description>{extra}
{items}
</channel></rss>"#
    )
}

fn item(guid: &str, title: &str, link: &str, body: &str) -> String {
    format!(
        r#"<item><guid isPermaLink="false">{guid}</guid><title>{title}</title><link>{link}</link>
<pubDate>Wed, 12 Jun 2024 09:30:00 GMT</pubDate><dc:creator>Ada Quill</dc:creator><category>Ports</category>
<description>Short summary of {title}.</description><content:encoded><![CDATA[{body}]]></content:encoded></item>"#
    )
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
}

async fn serve(State(state): State<Shared>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    *state.hits.lock().unwrap().entry(name.clone()).or_default() += 1;
    let base = "http://harbour.test";
    match name.as_str() {
        // A UTF-16 feed: the file that made the parser panic (tests/data).
        "utf16.xml" => (
            [(header::CONTENT_TYPE, "application/rss+xml")],
            include_bytes!("data/utf16-feed.xml").to_vec(),
        )
            .into_response(),
        // A windows-1252 feed that says so only in its HTTP charset.
        "latin.xml" => (
            [(header::CONTENT_TYPE, "application/rss+xml; charset=windows-1252")],
            encoding_rs::WINDOWS_1252
                .encode(&rss(&item("l-1", "Café owners’ “fair rent” plea", &format!("{base}/stories/cafe"), "<p>Crème brûlée.</p>"), ""))
                .0
                .into_owned(),
        )
            .into_response(),
        "rss.xml" => xml(rss(
            &[
                item("h-1", "Cranes return to the harbour", &format!("{base}/stories/cranes?utm_source=rss"), "<p>The first crane <a href=\"/stories/crane-history\">arrived</a>.</p><img src=\"/img/crane.jpg\" alt=\"A crane\">"),
                item("h-2", "Ferry timetable unified", &format!("{base}/stories/ferry"), "<p>Six towns, one timetable.</p><script>alert(1)</script>"),
                item("h-3", "Night market reopens", &format!("{base}/stories/market"), "<p>Stalls are back.</p>"),
            ]
            .concat(),
            "<ttl>90</ttl>",
        )),
        "rss-copy.xml" => xml(rss(
            &[
                item("copy-1", "Cranes return to the harbour", &format!("{base}/stories/cranes#top"), "<p>Syndicated copy.</p>"),
                item("copy-2", "Ferry timetable unified", &format!("{base}/stories/ferry?fbclid=1"), "<p>Syndicated copy.</p>"),
            ]
            .concat(),
            "",
        )),
        "atom.xml" => (
            [(header::CONTENT_TYPE, "application/atom+xml")],
            r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Desk</title><id>urn:atom-desk</id><updated>2024-06-12T10:00:00Z</updated>
<entry><title>Atom story one</title><id>urn:a:1</id><updated>2024-06-12T10:00:00Z</updated><link href="http://atom.test/one"/><author><name>Ben Ahenda</name></author><content type="html">&lt;p&gt;First atom body.&lt;/p&gt;</content></entry>
<entry><title>Atom story two</title><id>urn:a:2</id><updated>2024-06-11T10:00:00Z</updated><link href="http://atom.test/two"/><summary>Second atom summary.</summary></entry>
</feed>"#,
        )
            .into_response(),
        "feed.json" => (
            [(header::CONTENT_TYPE, "application/feed+json")],
            json!({"version": "https://jsonfeed.org/version/1.1", "title": "JSON Desk", "items": [
                {"id": "j1", "url": "http://json.test/1", "title": "JSON story one", "content_html": "<p>One.</p>", "date_published": "2024-06-10T08:00:00Z", "tags": ["json"]},
                {"id": "j2", "url": "http://json.test/2", "title": "JSON story two", "content_text": "Two.", "authors": [{"name": "Cy Writer"}]}
            ]})
            .to_string(),
        )
            .into_response(),
        "rss1.rdf" => xml(r#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="http://rdf.test/"><title>RDF Desk</title><link>http://rdf.test/</link><description>d</description></channel>
<item rdf:about="http://rdf.test/1"><title>RDF story</title><link>http://rdf.test/1</link><description>RDF body.</description></item>
</rdf:RDF>"#.to_owned()),
        "rss091.xml" => xml(r#"<?xml version="1.0"?><rss version="0.91"><channel><title>Old Desk</title><link>http://old.test/</link><description>d</description>
<item><title>Old story</title><link>http://old.test/1</link><description>Old body.</description></item></channel></rss>"#.to_owned()),
        // A publisher whose clock is decades ahead, beside an honest entry.
        "future.xml" => xml(rss(
            r#"<item><guid>f-1</guid><title>Dated by a broken clock</title><link>http://f.test/1</link>
<pubDate>Thu, 01 Jan 2099 00:00:00 GMT</pubDate><description>From the future.</description></item>
<item><guid>f-2</guid><title>Dated honestly</title><link>http://f.test/2</link>
<pubDate>Wed, 12 Jun 2024 09:30:00 GMT</pubDate><description>From the past.</description></item>"#,
            "",
        )),
        "malformed.xml" => xml("<rss><channel><title>Broken<item></rss".to_owned()),
        "wrongtype.txt" => ([(header::CONTENT_TYPE, "text/plain")], rss(&item("w-1", "Served as text", "http://w.test/1", "<p>ok</p>"), "")).into_response(),
        "page.html" => ([(header::CONTENT_TYPE, "text/html")], r#"<!doctype html><html><head><title>Harbour</title>
<link rel="alternate" type="application/rss+xml" title="RSS" href="/feeds/rss.xml"></head><body>Hello</body></html>"#).into_response(),
        "nofeed.html" => ([(header::CONTENT_TYPE, "text/html")], "<!doctype html><html><head><title>x</title></head><body>No feed here</body></html>").into_response(),
        "noids.xml" => xml(rss(
            r#"<item><title>No id, no date</title><link>http://n.test/1</link><description>Body one.</description></item>
<item><title>Nothing but a title</title></item>"#,
            "",
        )),
        "dupes.xml" => xml(rss(&[item("d-1", "Twice listed", "http://d.test/1", "<p>x</p>"), item("d-1", "Twice listed", "http://d.test/1", "<p>x</p>")].concat(), "")),
        "mutable.xml" => {
            let title = if state.version.load(Ordering::SeqCst) == 0 { "Draft headline" } else { "Corrected headline" };
            xml(rss(&item("m-1", title, "http://m.test/1", "<p>Body.</p>"), ""))
        }
        "tracking-a.xml" => xml(rss(&item("ta", "Shared story", "http://share.test/story?id=5&amp;utm_medium=a#top", "<p>A</p>"), "")),
        "tracking-b.xml" => xml(rss(&item("tb", "Shared story", "HTTP://Share.test:80/story?fbclid=zz&amp;id=5", "<p>A</p>"), "")),
        "etag.xml" => {
            if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some("\"v1\"") {
                state.not_modified.fetch_add(1, Ordering::SeqCst);
                return (StatusCode::NOT_MODIFIED, [(header::ETAG, "\"v1\"")]).into_response();
            }
            ([(header::ETAG, "\"v1\""), (header::CONTENT_TYPE, "application/rss+xml")], rss(&item("e-1", "Tagged", "http://e.test/1", "<p>e</p>"), "")).into_response()
        }
        "cache.xml" => ([(header::CACHE_CONTROL, "max-age=7200"), (header::CONTENT_TYPE, "application/rss+xml")], rss(&item("c-1", "Cached", "http://c.test/1", "<p>c</p>"), "")).into_response(),
        "switch.xml" => {
            if state.moved.load(Ordering::SeqCst) == 1 {
                return (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "/feeds/atom.xml")]).into_response();
            }
            xml(rss(&item("s-1", "Before the move", "http://s.test/1", "<p>s</p>"), ""))
        }
        "redirect1" => (StatusCode::FOUND, [(header::LOCATION, "/feeds/redirect2")]).into_response(),
        "redirect2" => (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, "/feeds/rss.xml")]).into_response(),
        "loop-a" => (StatusCode::FOUND, [(header::LOCATION, "/feeds/loop-b")]).into_response(),
        "loop-b" => (StatusCode::FOUND, [(header::LOCATION, "/feeds/loop-a")]).into_response(),
        "ratelimited" => (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "120")]).into_response(),
        "unavailable" => (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "300")]).into_response(),
        "error500" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "huge.xml" => {
            let chunk = "x".repeat(1024 * 1024);
            let stream = futures_stream(20, chunk);
            ([(header::CONTENT_TYPE, "application/rss+xml")], Body::from_stream(stream)).into_response()
        }
        "hang.xml" => {
            let stream = async_stream_hang();
            ([(header::CONTENT_TYPE, "application/rss+xml")], Body::from_stream(stream)).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn futures_stream(chunks: usize, chunk: String) -> impl futures_core::Stream<Item = Result<String, std::io::Error>> {
    tokio_stream::iter((0..chunks).map(move |_| Ok(chunk.clone())))
}

/// Sends the start of a feed, then never finishes.
fn async_stream_hang() -> impl futures_core::Stream<Item = Result<String, std::io::Error>> {
    use tokio_stream::StreamExt;
    tokio_stream::once(Ok::<_, std::io::Error>(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>".to_owned(),
    ))
    .chain(tokio_stream::pending())
}

async fn start_feed_server() -> (String, Shared) {
    let state: Shared = Arc::default();
    let app = Router::new()
        .route("/feeds/{name}", get(serve))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/feeds"), state)
}

async fn gazette() -> TestApp {
    spawn_with(|c| {
        c.allow_private_feeds = true;
        c.feed_timeout_secs = 2;
        c.feed_max_bytes = 5 * 1024 * 1024;
    })
    .await
}

async fn subscribe(app: &TestApp, url: &str, section: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/api/v1/feeds"))
        .bearer_auth(TOKEN)
        .json(&json!({"url": url, "section": section}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn poll(app: &TestApp, id: &Value) -> Value {
    app.client
        .post(app.url(&format!("/api/v1/feeds/{id}/poll")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn feed_state(app: &TestApp, id: &Value) -> Value {
    app.client
        .get(app.url(&format!("/api/v1/feeds/{id}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn section_titles(app: &TestApp, slug: &str) -> Vec<String> {
    let (_, page) = app
        .get_json(&format!("/api/v1/articles?section={slug}&limit=100"))
        .await;
    page["articles"]
        .as_array()
        .map(|a| a.iter().map(|x| x["title"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn feeds_in_utf16_and_legacy_charsets_are_ingested_with_their_text_intact() {
    let (feeds, _) = start_feed_server().await;
    let app = gazette().await;
    let (status, body) = subscribe(&app, &format!("{feeds}/utf16.xml"), "Wire").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["poll"]["created"], 1);
    assert_eq!(body["feed"]["title"], "Wire in UTF-16");
    let id = body["feed"]["id"].clone();
    assert_eq!(section_titles(&app, "wire").await, ["Zürich votes – Ελλάδα – Москва"]);
    // Poll now: the same feed again, nothing new, no error.
    let report = poll(&app, &id).await;
    assert_eq!(report["status"], "ok", "{report}");
    assert_eq!(feed_state(&app, &id).await["state"], "ok");

    let (status, body) = subscribe(&app, &format!("{feeds}/latin.xml"), "Cafes").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(section_titles(&app, "cafes").await, ["Café owners’ “fair rent” plea"]);
}

#[tokio::test]
async fn an_rss_feed_becomes_articles_once() {
    let (feeds, _) = start_feed_server().await;
    let app = gazette().await;
    let (status, body) = subscribe(&app, &format!("{feeds}/rss.xml"), "Harbour").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["poll"]["created"], 3);
    assert_eq!(body["feed"]["title"], "Harbour Wire");
    assert_eq!(body["feed"]["state"], "ok");
    let id = body["feed"]["id"].clone();
    let mut titles = section_titles(&app, "harbour").await;
    titles.sort();
    assert_eq!(
        titles,
        [
            "Cranes return to the harbour",
            "Ferry timetable unified",
            "Night market reopens"
        ]
    );

    let (_, list) = app.get_json("/api/v1/articles?section=harbour&limit=100").await;
    let crane = list["articles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Cranes return to the harbour")
        .unwrap();
    let (_, full) = app.get_json(&format!("/api/v1/articles/{}", crane["id"])).await;
    assert_eq!(full["author"], "Ada Quill");
    assert_eq!(full["tags"], json!(["Ports"]));
    assert_eq!(full["summary"], "Short summary of Cranes return to the harbour.");
    assert_eq!(full["published_at"], "2024-06-12T09:30:00+00:00");
    assert!(
        full["external_id"]
            .as_str()
            .unwrap()
            .starts_with(&format!("feed:{id}:"))
    );
    let body_html = full["body_html"].as_str().unwrap();
    assert!(
        body_html.contains("href=\"http://harbour.test/stories/crane-history\""),
        "relative links made absolute: {body_html}"
    );
    assert!(
        body_html.contains("src=\"http://harbour.test/img/crane.jpg\""),
        "relative images made absolute: {body_html}"
    );
    let (_, ferry) = app.get_json("/api/v1/search?q=ferry").await;
    let ferry_id = ferry["results"][0]["id"].clone();
    let (_, ferry) = app.get_json(&format!("/api/v1/articles/{ferry_id}")).await;
    assert!(
        !ferry["body_html"].as_str().unwrap().contains("<script"),
        "entries are sanitised"
    );

    // Polling again creates nothing.
    for _ in 0..3 {
        let report = poll(&app, &id).await;
        assert_eq!(
            (report["created"].as_u64(), report["unchanged"].as_u64()),
            (Some(0), Some(3)),
            "{report}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM articles").await, 3);
    let state = feed_state(&app, &id).await;
    assert_eq!(state["articles_ingested"], 3);
    assert!(state["last_success_at"].is_i64() && state["error_count"] == 0);
    // The RSS ttl of 90 minutes is a floor on the next poll.
    let next = state["next_fetch_at"].as_i64().unwrap() - state["last_fetch_at"].as_i64().unwrap();
    assert!(next >= 90 * 60 * 9 / 10, "next poll in {next}s");
}

#[tokio::test]
async fn atom_json_feed_and_old_rss_versions_parse() {
    let (feeds, _) = start_feed_server().await;
    let app = gazette().await;
    for (path, section, expected) in [
        ("atom.xml", "Atom", vec!["Atom story one", "Atom story two"]),
        ("feed.json", "Json", vec!["JSON story one", "JSON story two"]),
        ("rss1.rdf", "Rdf", vec!["RDF story"]),
        ("rss091.xml", "Old", vec!["Old story"]),
        ("wrongtype.txt", "Plain", vec!["Served as text"]),
    ] {
        let (status, body) = subscribe(&app, &format!("{feeds}/{path}"), section).await;
        assert_eq!(status, 201, "{path}: {body}");
        let mut titles = section_titles(&app, &section.to_lowercase()).await;
        titles.sort();
        assert_eq!(titles, expected, "{path}");
    }
    let (_, search) = app.get_json("/api/v1/search?q=ahenda").await;
    assert_eq!(search["results"][0]["title"], "Atom story one", "Atom authors arrive");
}

#[tokio::test]
async fn a_web_page_leads_to_its_feed() {
    let (feeds, _) = start_feed_server().await;
    let app = gazette().await;
    let (status, body) = subscribe(&app, &format!("{feeds}/page.html"), "Harbour").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["feed"]["url"], format!("{feeds}/rss.xml"));
    let (status, body) = subscribe(&app, &format!("{feeds}/nofeed.html"), "Harbour").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("not_a_feed")),
        "{body}"
    );
}

#[tokio::test]
async fn bad_subscriptions_are_refused_clearly_and_store_nothing() {
    let (feeds, _) = start_feed_server().await;
    let app = gazette().await;
    let before = app.fingerprint().await;
    let closed = format!("http://127.0.0.1:{}/feed.xml", support::process::free_port());
    for (url, code) in [
        (closed.as_str(), "feed_unreachable"),
        (&format!("{feeds}/malformed.xml"), "not_a_feed"),
        (&format!("{feeds}/missing.xml"), "feed_unreachable"),
        (&format!("{feeds}/loop-a"), "feed_unreachable"),
        ("ftp://example.org/feed", "invalid_field"),
        ("not a url", "invalid_field"),
    ] {
        let (status, body) = subscribe(&app, url, "Desk").await;
        assert_eq!(status, 422, "{url}: {body}");
        assert_eq!(body["error"]["code"], code, "{url}: {body}");
        assert_eq!(body["error"]["field"], "url");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(app.fingerprint().await, before);
    let (status, _) = subscribe(&app, &format!("{feeds}/atom.xml"), "Desk").await;
    assert_eq!(status, 201);
    let (status, body) = subscribe(&app, &format!("{feeds}/atom.xml"), "Desk").await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")));
    let anonymous = app.client.get(app.url("/api/v1/feeds")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401, "subscriptions need a token");
}

#[tokio::test]
async fn redirects_are_followed_and_a_permanent_move_updates_the_url() {
    let (feeds, server) = start_feed_server().await;
    let app = gazette().await;
    let (status, body) = subscribe(&app, &format!("{feeds}/redirect1"), "Harbour").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["poll"]["created"], 3);

    let (_, body) = subscribe(&app, &format!("{feeds}/switch.xml"), "Moving").await;
    let id = body["feed"]["id"].clone();
    server.moved.store(1, Ordering::SeqCst);
    let report = poll(&app, &id).await;
    assert_eq!(report["status"], "ok", "{report}");
    assert_eq!(feed_state(&app, &id).await["url"], format!("{feeds}/atom.xml"));
}

#[tokio::test]
async fn conditional_get_makes_an_unchanged_feed_a_304() {
    let (feeds, server) = start_feed_server().await;
    let app = gazette().await;
    let (_, body) = subscribe(&app, &format!("{feeds}/etag.xml"), "Etag").await;
    let id = body["feed"]["id"].clone();
    let report = poll(&app, &id).await;
    assert_eq!(report["status"], "not_modified");
    assert_eq!(server.not_modified.load(Ordering::SeqCst), 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM articles").await, 1);

    let (_, body) = subscribe(&app, &format!("{feeds}/cache.xml"), "Cache").await;
    let state = &body["feed"];
    let wait = state["next_fetch_at"].as_i64().unwrap() - state["last_fetch_at"].as_i64().unwrap();
    assert!(wait >= 7200 * 9 / 10, "Cache-Control max-age is a floor: {wait}s");
}

#[tokio::test]
async fn failures_are_retried_politely_and_never_stop_other_feeds() {
    let (feeds, server) = start_feed_server().await;
    let app = gazette().await;
    let (_, body) = subscribe(&app, &format!("{feeds}/mutable.xml"), "Desk").await;
    let id = body["feed"]["id"].clone();
    let feed_url = format!("{feeds}/mutable.xml");
    let set_url = |url: String| {
        let (app, id) = (&app, id.as_i64().unwrap());
        async move {
            assert!(!url.contains('\''));
            app.execute(&format!("UPDATE feeds SET url = '{url}' WHERE id = {id}"))
                .await;
        }
    };

    // 429 and 503 honour Retry-After.
    for (path, wait) in [("ratelimited", 120), ("unavailable", 300)] {
        set_url(format!("{feeds}/{path}")).await;
        let report = poll(&app, &id).await;
        assert_eq!(report["status"], "error");
        let state = feed_state(&app, &id).await;
        let delay = state["next_fetch_at"].as_i64().unwrap() - state["last_fetch_at"].as_i64().unwrap();
        assert_eq!(delay, wait, "{path}");
    }
    // Other failures back off exponentially, and the feed is marked.
    set_url(format!("{feeds}/error500")).await;
    let mut delays = Vec::new();
    for _ in 0..4 {
        poll(&app, &id).await;
        let state = feed_state(&app, &id).await;
        delays.push(state["next_fetch_at"].as_i64().unwrap() - state["last_fetch_at"].as_i64().unwrap());
    }
    assert!(delays.windows(2).all(|w| w[1] == w[0] * 2), "{delays:?}");
    let state = feed_state(&app, &id).await;
    assert_eq!(state["state"], "failing");
    assert_eq!(state["error_count"], 6);
    assert!(state["last_error"].as_str().unwrap().contains("500"));

    // Hard cases fail alone, with a reason.
    for (path, reason) in [
        ("huge.xml", "larger than"),
        ("hang.xml", "no answer within"),
        ("malformed.xml", "not a feed"),
        ("loop-a", "redirect loop"),
    ] {
        set_url(format!("{feeds}/{path}")).await;
        let started = std::time::Instant::now();
        let report = poll(&app, &id).await;
        assert_eq!(report["status"], "error", "{path}");
        assert!(report["error"].as_str().unwrap().contains(reason), "{path}: {report}");
        assert!(started.elapsed() < Duration::from_secs(10), "{path} is bounded");
    }
    // A success clears the record.
    set_url(feed_url).await;
    server.version.store(1, Ordering::SeqCst);
    let report = poll(&app, &id).await;
    assert_eq!(report["updated"], 1, "a changed entry updates its article: {report}");
    let state = feed_state(&app, &id).await;
    assert_eq!(
        (state["state"].as_str(), state["error_count"].as_i64()),
        (Some("ok"), Some(0))
    );
    assert_eq!(section_titles(&app, "desk").await, ["Corrected headline"]);

    // Meanwhile other feeds poll as usual.
    let (status, _) = subscribe(&app, &format!("{feeds}/atom.xml"), "Other").await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn entries_without_ids_or_dates_and_duplicates_are_stable() {
    let (feeds, _) = start_feed_server().await;
    let app = gazette().await;
    let (_, body) = subscribe(&app, &format!("{feeds}/noids.xml"), "Bare").await;
    assert_eq!(body["poll"]["created"], 2, "{body}");
    let id = body["feed"]["id"].clone();
    let (_, list) = app.get_json("/api/v1/articles?section=bare").await;
    let first_seen: Vec<String> = list["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["published_at"].as_str().unwrap().to_owned())
        .collect();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let report = poll(&app, &id).await;
    assert_eq!(
        (report["created"].as_u64(), report["unchanged"].as_u64()),
        (Some(0), Some(2)),
        "{report}"
    );
    let (_, list) = app.get_json("/api/v1/articles?section=bare").await;
    let again: Vec<String> = list["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["published_at"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(first_seen, again, "undated entries keep the time they were first seen");
    assert!(
        section_titles(&app, "bare")
            .await
            .contains(&"Nothing but a title".to_owned())
    );

    let (_, body) = subscribe(&app, &format!("{feeds}/dupes.xml"), "Dupes").await;
    assert_eq!(body["poll"]["created"], 1, "{body}");
    assert_eq!(section_titles(&app, "dupes").await.len(), 1);
}

#[tokio::test]
async fn the_same_story_by_url_is_one_article_and_deleted_stays_deleted() {
    let (feeds, _) = start_feed_server().await;
    let app = gazette().await;
    // Through the API first, with tracking parameters.
    let posted = app
        .create(&json!({"title": "Shared story", "section": "Shared", "body": "From the API.", "url": "http://share.test/story?id=5&utm_source=newsletter"}))
        .await;
    let (_, a) = subscribe(&app, &format!("{feeds}/tracking-a.xml"), "Shared").await;
    let (_, b) = subscribe(&app, &format!("{feeds}/tracking-b.xml"), "Shared").await;
    assert_eq!(a["poll"]["created"], 0, "{a}");
    assert_eq!(b["poll"]["created"], 0, "{b}");
    assert_eq!(app.count("SELECT COUNT(*) FROM articles").await, 1);

    // A story deleted through the API stays deleted when its feed is polled.
    let (_, rss) = subscribe(&app, &format!("{feeds}/rss.xml"), "Harbour").await;
    let (_, found) = app.get_json("/api/v1/search?q=market").await;
    let market = found["results"][0]["id"].clone();
    let deleted = app
        .client
        .delete(app.url(&format!("/api/v1/articles/{market}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let report = poll(&app, &rss["feed"]["id"]).await;
    assert_eq!(report["skipped"], 1, "{report}");
    assert!(
        !section_titles(&app, "harbour")
            .await
            .contains(&"Night market reopens".to_owned())
    );
    let _ = posted;

    // A second feed carrying the same stories adds nothing, and polling
    // either never moves them between sections.
    let (_, copy) = subscribe(&app, &format!("{feeds}/rss-copy.xml"), "Syndicated").await;
    assert_eq!(
        (copy["poll"]["created"].as_u64(), copy["poll"]["unchanged"].as_u64()),
        (Some(0), Some(2)),
        "{copy}"
    );
    for id in [&rss["feed"]["id"], &copy["feed"]["id"]] {
        let report = poll(&app, id).await;
        assert_eq!(report["updated"], 0, "{report}");
    }
    assert!(section_titles(&app, "syndicated").await.is_empty());
    assert_eq!(section_titles(&app, "harbour").await.len(), 2);
}

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed() {
    let (feeds, _) = start_feed_server().await;
    let app = spawn_with(|c| c.feed_timeout_secs = 2).await;
    let mut urls = vec![
        format!("{feeds}/rss.xml"),
        feeds.replace("127.0.0.1", "localhost") + "/rss.xml",
        "http://[::1]/feed".to_owned(),
        "http://169.254.169.254/latest".to_owned(),
        "http://10.0.0.1/feed".to_owned(),
    ];
    // The machine's own name is not caught by name: it is refused by the
    // resolver, after DNS, the path a public name pointing inside the
    // network takes.
    let host = std::fs::read_to_string("/etc/hostname")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let resolves_inside = !host.is_empty()
        && tokio::net::lookup_host((host.as_str(), 0))
            .await
            .is_ok_and(|addrs| addrs.map(|a| a.ip()).all(gazette::feeds::fetch::is_private));
    if resolves_inside {
        urls.push(feeds.replace("127.0.0.1", &host) + "/rss.xml");
    } else {
        eprintln!(
            "NOTE: this machine's name does not resolve to a private address; the after-DNS refusal is not exercised"
        );
    }
    for url in urls {
        let (status, body) = subscribe(&app, &url, "Inside").await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("feed_refused")),
            "{url}: {body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("--allow-private-feeds")
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM feeds").await, 0);
}

#[tokio::test]
async fn the_scheduler_polls_due_feeds_and_a_restart_reingests_nothing() {
    let (feeds, server) = start_feed_server().await;
    let tweak = |c: &mut gazette::config::Config| {
        c.allow_private_feeds = true;
        c.feed_timeout_secs = 2;
    };
    let app = spawn_in(tempfile::tempdir().unwrap(), tweak).await;
    let (_, body) = subscribe(&app, &format!("{feeds}/mutable.xml"), "Desk").await;
    let id = body["feed"]["id"].as_i64().unwrap();
    let hits_before = server.hits.lock().unwrap()["mutable.xml"];
    server.version.store(1, Ordering::SeqCst);
    // Make it due now: the background scheduler picks it up on its own.
    app.execute(&format!("UPDATE feeds SET next_fetch_at = 0 WHERE id = {id}"))
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while section_titles(&app, "desk").await != ["Corrected headline"] {
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduler did not poll the due feed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(server.hits.lock().unwrap()["mutable.xml"] > hits_before);
    let rows = app.fingerprint().await;

    // A restart polls what is due and re-ingests nothing.
    let dir = app.stop().await;
    dir.execute("UPDATE feeds SET next_fetch_at = 0").await;
    let hits = server.hits.lock().unwrap()["mutable.xml"];
    let app = spawn_in(dir, tweak).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while server.hits.lock().unwrap()["mutable.xml"] == hits {
        assert!(std::time::Instant::now() < deadline, "no first poll on start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM articles").await, 1);
    let _ = rows;
}

#[tokio::test]
async fn opml_import_maps_categories_to_sections_and_exports_them_back() {
    let (feeds, _) = start_feed_server().await;
    let app = gazette().await;
    let opml = format!(
        r#"<?xml version="1.0"?><opml version="2.0"><head><title>Mine</title></head><body>
<outline text="Sport"><outline text="Atom Desk" type="rss" xmlUrl="{feeds}/atom.xml"/><outline text="JSON" type="rss" xmlUrl="{feeds}/feed.json"/></outline>
<outline text="Loose" type="rss" xmlUrl="{feeds}/rss1.rdf"/>
<outline text="Broken" type="rss" xmlUrl="{feeds}/malformed.xml"/>
</body></opml>"#
    );
    let response = app.post_raw("/api/v1/feeds/opml", "text/x-opml", opml.clone()).await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    let statuses: Vec<(&str, &str)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["section"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("Sport", "subscribed"),
            ("Sport", "subscribed"),
            ("Feeds", "subscribed"),
            ("Feeds", "error")
        ]
    );
    assert_eq!(section_titles(&app, "sport").await.len(), 4);
    let again: Value = app
        .post_raw("/api/v1/feeds/opml", "text/x-opml", opml)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["results"][0]["status"], "exists");

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
    let parsed = opml::OPML::from_str(&export).unwrap();
    let sport = parsed.body.outlines.iter().find(|o| o.text == "Sport").unwrap();
    assert_eq!(sport.outlines.len(), 2);
    assert!(
        sport
            .outlines
            .iter()
            .any(|o| o.xml_url.as_deref() == Some(&format!("{feeds}/atom.xml")))
    );

    // Changing and removing a subscription.
    let first = feed_list(&app).await[0]["id"].clone();
    let changed: Value = app
        .client
        .patch(app.url(&format!("/api/v1/feeds/{first}")))
        .bearer_auth(TOKEN)
        .json(&json!({"section": "Athletics", "interval_minutes": 30}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (changed["section"].as_str(), changed["interval_secs"].as_i64()),
        (Some("Athletics"), Some(1800))
    );
    let bad = app
        .client
        .patch(app.url(&format!("/api/v1/feeds/{first}")))
        .bearer_auth(TOKEN)
        .json(&json!({"interval_minutes": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let gone = app
        .client
        .delete(app.url(&format!("/api/v1/feeds/{first}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    assert_eq!(app.count("SELECT COUNT(*) FROM feeds").await, 2);
    assert_eq!(
        section_titles(&app, "sport").await.len(),
        4,
        "removing a feed keeps its articles"
    );
}

// Multi-threaded: the CLI runs as a blocking child process while this
// runtime serves it the feeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_manages_subscriptions() {
    let (feeds, _) = start_feed_server().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gazette.db");
    // The command works on a database that exists, as `serve` leaves one.
    gazette::store::Db::open(&db).await.unwrap().close().await;
    let run = |args: &[&str]| {
        support::process::command(&db)
            .env("GAZETTE_ALLOW_PRIVATE_FEEDS", "true")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["feed", "add", &format!("{feeds}/atom.xml"), "--section", "Wire"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list = String::from_utf8(run(&["feed", "list"]).stdout).unwrap();
    assert!(list.contains("\tok\tWire\t") && list.contains("articles=2"), "{list}");
    let export = String::from_utf8(run(&["feed", "export"]).stdout).unwrap();
    assert!(export.contains("atom.xml") && export.contains("Wire"));
    let opml_file = dir.path().join("subs.opml");
    std::fs::write(
        &opml_file,
        format!(r#"<opml version="2.0"><head/><body><outline text="Json" xmlUrl="{feeds}/feed.json"/></body></opml>"#),
    )
    .unwrap();
    let out = run(&["feed", "import", opml_file.to_str().unwrap(), "--section", "Imported"]);
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("subscribed\tImported\t")
    );
    assert!(run(&["feed", "remove", "1"]).status.success());
    assert!(
        !String::from_utf8(run(&["feed", "list"]).stdout)
            .unwrap()
            .contains("atom.xml")
    );
    let refused = support::process::command(&db)
        .args(["feed", "add", &format!("{feeds}/rss.xml"), "--section", "X"])
        .output()
        .unwrap();
    assert!(!refused.status.success(), "private addresses need the flag");
}

#[tokio::test]
async fn an_entry_dated_in_the_future_is_placed_at_its_fetch_time_and_cannot_pin_itself_to_the_top() {
    let (feeds, _) = start_feed_server().await;
    let app = gazette().await;
    let before = chrono::Utc::now().timestamp();
    let (status, body) = subscribe(&app, &format!("{feeds}/future.xml"), "Clocks").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["poll"]["created"], 2);
    let after = chrono::Utc::now().timestamp();
    assert_eq!(
        section_titles(&app, "clocks").await,
        ["Dated by a broken clock", "Dated honestly"]
    );

    let (_, list) = app.get_json("/api/v1/articles?section=clocks").await;
    let id = list["articles"][0]["id"].clone();
    let (status, stored) = app.get_json(&format!("/api/v1/articles/{id}")).await;
    assert_eq!(status, 200, "{stored}");
    // Placed at the fetch, visible now; the claimed date is kept.
    let placed = chrono::DateTime::parse_from_rfc3339(stored["published_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert!((before..=after).contains(&placed), "{stored}");
    assert_eq!(stored["claimed_published_at"], "2099-01-01T00:00:00+00:00");
    assert_eq!(stored["scheduled"], false);
    let (_, honest) = app
        .get_json(&format!("/api/v1/articles/{}", list["articles"][1]["id"]))
        .await;
    assert_eq!(honest["published_at"], "2024-06-12T09:30:00+00:00");
    assert!(honest.get("claimed_published_at").is_none(), "{honest}");

    // Polled again later, the entry keeps its place: nothing moves it up.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let report = poll(&app, &body["feed"]["id"]).await;
    assert_eq!(report["unchanged"], 2, "{report}");
    let (_, again) = app.get_json(&format!("/api/v1/articles/{id}")).await;
    assert_eq!(again["published_at"], stored["published_at"]);

    // A story posted afterwards leads the front page, above the 2099 entry.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.create(&support::article("Fresh from the desk", "Clocks")).await;
    let (_, list) = app.get_json("/api/v1/articles?limit=3").await;
    assert_eq!(list["articles"][0]["title"], "Fresh from the desk", "{list}");
    let (_, front) = app.get_text("/").await;
    let fresh = front.find("Fresh from the desk").expect("on the front page");
    let clock = front.find("Dated by a broken clock").expect("on the front page");
    assert!(fresh < clock, "the future-dated entry is above a newer story");
}

/// The feed list an ingest token sees, by id.
async fn feed_list(app: &TestApp) -> Vec<Value> {
    let list: Value = app
        .client
        .get(app.url("/api/v1/feeds"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["feeds"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_admin_manages_feeds_from_the_admin_pages() {
    use support::browser::Browser;

    let (feeds, server) = start_feed_server().await;
    let app = gazette().await;
    gazette::accounts::add(
        &app.db,
        "ada",
        "correct horse battery".into(),
        gazette::accounts::Role::Admin,
    )
    .await
    .unwrap();
    let mut ada = Browser::new(&app);
    assert_eq!(ada.sign_in("ada", "correct horse battery").await.status(), 303);
    let csrf = ada.csrf_on("/admin/feeds").await;
    let location = |response: &reqwest::Response| response.headers()["location"].to_str().unwrap().to_owned();

    // Subscribe: fetched at once, its stories in their section.
    let url = format!("{feeds}/rss.xml");
    let response = ada
        .post(
            "/admin/feeds",
            &[
                ("csrf", &csrf),
                ("url", &url),
                ("section", "Harbour"),
                ("title", ""),
                ("interval_minutes", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/feeds?done=subscribed");
    assert_eq!(section_titles(&app, "harbour").await.len(), 3);
    let page = ada.get("/admin/feeds?done=subscribed").await.text().await.unwrap();
    assert!(page.contains("Subscribed: the feed was fetched"), "{page}");
    assert!(page.contains(&url), "the list shows the feed's address");
    let id = feed_list(&app).await[0]["id"].as_i64().unwrap().to_string();

    // Edit: section, title and interval.
    let response = ada
        .post(
            "/admin/feeds/change",
            &[
                ("csrf", &csrf),
                ("id", &id),
                ("do", "save"),
                ("section", "Docks"),
                ("title", "Harbour Wire Desk"),
                ("interval_minutes", "45"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/admin/feeds?done=changed");
    let feed = &feed_list(&app).await[0];
    assert_eq!(
        (
            feed["section"].as_str(),
            feed["title"].as_str(),
            feed["interval_secs"].as_i64()
        ),
        (Some("Docks"), Some("Harbour Wire Desk"), Some(2700))
    );

    // A wrong interval is shown on the page and changes nothing.
    let before = app.fingerprint().await;
    let response = ada
        .post(
            "/admin/feeds/change",
            &[
                ("csrf", &csrf),
                ("id", &id),
                ("do", "save"),
                ("section", "Elsewhere"),
                ("title", ""),
                ("interval_minutes", "soon"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("whole number of minutes"));
    assert_eq!(app.fingerprint().await, before);

    // Poll now: the feed server is asked again.
    let hits = || server.hits.lock().unwrap().get("rss.xml").copied().unwrap_or(0);
    let asked = hits();
    let response = ada
        .post("/admin/feeds/change", &[("csrf", &csrf), ("id", &id), ("do", "poll")])
        .await;
    assert_eq!(location(&response), "/admin/feeds?done=polled");
    assert_eq!(hits(), asked + 1);

    // OPML import from the form, and the export holds both feeds.
    let opml = format!(
        r#"<?xml version="1.0"?><opml version="2.0"><head><title>Mine</title></head><body>
<outline text="Atom Desk" type="rss" xmlUrl="{feeds}/atom.xml"/></body></opml>"#
    );
    let response = ada
        .post(
            "/admin/feeds/import",
            &[("csrf", &csrf), ("opml", &opml), ("section", "Imported")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("1 feeds in the file"));
    assert_eq!(feed_list(&app).await.len(), 2);
    let export = ada.get("/admin/feeds/export.opml").await.text().await.unwrap();
    assert!(
        export.contains(&url) && export.contains(&format!("{feeds}/atom.xml")),
        "{export}"
    );

    // Remove: the subscription goes, its stories stay.
    let stories = app.count("SELECT COUNT(*) FROM articles").await;
    let response = ada
        .post("/admin/feeds/change", &[("csrf", &csrf), ("id", &id), ("do", "remove")])
        .await;
    assert_eq!(location(&response), "/admin/feeds?done=removed");
    let left = feed_list(&app).await;
    assert_eq!(left.len(), 1);
    assert!(left[0]["url"].as_str().unwrap().ends_with("/atom.xml"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM articles").await,
        stories,
        "removing a feed keeps its stories"
    );

    // Without the session's token nothing happens.
    let before = app.fingerprint().await;
    let response = ada
        .post("/admin/feeds/change", &[("csrf", "0"), ("id", &id), ("do", "remove")])
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(app.fingerprint().await, before);
}
