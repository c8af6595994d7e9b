//! Answers larger than the page cache keeps: a long article, a big library's
//! sitemaps, reader-app syncs and exports at their largest pages. Each must
//! be served whole, compressed when asked, with its ETag and conditional
//! GET, and no single article may make a feed fail or weigh megabytes.

mod support;

use std::io::Read;

use axum::Router;
use axum::routing::get;
use gazette::accounts::{self, Role, app_passwords};
use serde_json::{Value, json};
use support::{TOKEN, TestApp, article, spawn_with};

/// The page cache keeps nothing larger (src/web/cache.rs).
const CACHE_ENTRY_LIMIT: usize = 2 * 1024 * 1024;

/// A Markdown body just under the default 2 MiB body limit whose page is
/// about twice that: emphasis on every word.
fn long_markdown_body() -> String {
    let mut body = String::with_capacity(1_950_000);
    let mut n = 0;
    while body.len() < 1_900_000 {
        body.push_str(&format!("*word{n}* "));
        n += 1;
        if n % 40 == 0 {
            body.push_str("\n\n");
        }
    }
    body.push_str("\n\nThe closing line of the transcript.");
    body
}

async fn post_batch(app: &TestApp, items: &[Value]) -> Value {
    let response = app.post_batch(items).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// A GET as a client that decompresses nothing itself, so the answer's
/// encoding is what Gazette chose.
async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let client = reqwest::Client::builder().no_gzip().no_brotli().build().unwrap();
    let mut request = client.get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// The bytes of an answer, decompressed as its Content-Encoding says.
async fn decoded(response: reqwest::Response) -> Vec<u8> {
    let encoding = response
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.bytes().await.unwrap();
    let mut out = Vec::new();
    match encoding.as_deref() {
        None => out.extend_from_slice(&bytes),
        Some("gzip") => {
            flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut out).unwrap();
        }
        Some("br") => {
            brotli::Decompressor::new(&bytes[..], 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some(other) => panic!("unexpected encoding {other}"),
    }
    out
}

/// The page at `path` answers 200 whole in every encoding, the compressed
/// ones smaller, with an ETag a second request is answered 304 for.
async fn served_whole_every_way(app: &TestApp, path: &str, must_hold: &str) -> usize {
    let plain = get_with(app, path, &[]).await;
    assert_eq!(plain.status(), 200, "{path}");
    let etag = plain
        .headers()
        .get("etag")
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_owned();
    let whole = decoded(plain).await;
    let text = String::from_utf8(whole.clone()).unwrap();
    assert!(text.contains(must_hold), "{path} holds {must_hold:?}");
    for encoding in ["gzip", "br"] {
        let response = get_with(app, path, &[("accept-encoding", encoding)]).await;
        assert_eq!(response.status(), 200, "{path} {encoding}");
        assert_eq!(response.headers()["content-encoding"], encoding, "{path}");
        let length = response.content_length();
        let bytes = decoded(response).await;
        assert_eq!(bytes, whole, "{path} in {encoding} is the same page");
        if let Some(length) = length {
            assert!((length as usize) < whole.len() / 2, "{path} {encoding}: {length}");
        }
    }
    let again = get_with(app, path, &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), 304, "{path}: the client's copy is current");
    whole.len()
}

#[tokio::test]
async fn an_article_near_the_body_limit_is_shown_whole_and_feeds_stay_small() {
    let app = spawn_with(|_| {}).await;
    for n in 0..3 {
        app.create(&article(&format!("Harbour note {n}"), "Transcripts")).await;
    }
    let mut long = article("The whole council transcript", "Transcripts");
    long["body"] = json!(long_markdown_body());
    long["body_format"] = json!("markdown");
    let created = app.create(&long).await;
    let path = created["url"].as_str().unwrap().to_owned();

    let size = served_whole_every_way(&app, &path, "The closing line of the transcript.").await;
    assert!(
        size > CACHE_ENTRY_LIMIT,
        "the page is larger than the cache keeps: {size}"
    );
    // Its sidebar's hole is filled, as on any article page.
    let (_, html) = app.get_text(&path).await;
    assert!(!html.contains("gazette:fragment"), "no hole is left in the page");
    assert!(html.contains("<em>word0</em>") && html.contains("<em>word1000</em>"));

    for feed in [
        "/feed.atom",
        "/feed.rss",
        "/feed.json",
        "/sections/transcripts/feed.atom",
        "/sections/transcripts/feed.rss",
        "/sections/transcripts/feed.json",
    ] {
        let (status, body) = app.get_text(feed).await;
        assert_eq!(status, 200, "{feed}");
        assert!(body.len() < 256 * 1024, "{feed} weighs {} bytes", body.len());
        assert!(body.contains("Continue reading on Gazette"), "{feed}");
        assert!(body.contains("Harbour note 2"), "{feed} still carries every story");
        let parsed = feed_rs::parser::parse(body.as_bytes()).unwrap_or_else(|e| panic!("{feed}: {e}"));
        assert_eq!(parsed.entries.len(), 4, "{feed}");
        let entry = parsed
            .entries
            .iter()
            .find(|e| e.title.as_ref().is_some_and(|t| t.content.contains("transcript")))
            .unwrap();
        let content = entry.content.as_ref().and_then(|c| c.body.clone()).unwrap_or_default();
        assert!(content.contains("<em>word0</em>"), "{feed}: the opening is carried");
        assert!(content.ends_with("</a></p>"), "{feed}: ends with the link to the whole");
    }
}

/// Serves an RSS feed whose second story is a very long transcript.
async fn start_long_feed_server() -> String {
    let paragraph = "<p>The member for the harbour ward asked about the ferry again, at length.</p>";
    let long = paragraph.repeat(20_000);
    let feed = format!(
        r#"<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Council Wire</title><link>http://example.com/</link>
        <item><title>Budget vote delayed</title><link>http://example.com/budget</link><guid>budget-1</guid><description>Members asked for a week.</description></item>
        <item><title>Full record of the late sitting</title><link>http://example.com/record</link><guid>record-1</guid><description>The record.</description><content:encoded><![CDATA[{long}]]></content:encoded></item>
        </channel></rss>"#
    );
    let app = Router::new().route(
        "/feed.xml",
        get(move || {
            let feed = feed.clone();
            async move { ([("content-type", "application/rss+xml")], feed) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/feed.xml")
}

#[tokio::test]
async fn a_very_long_entry_in_a_polled_feed_leaves_feeds_out_working() {
    let app = spawn_with(|c| c.allow_private_feeds = true).await;
    let url = start_long_feed_server().await;
    let response = app
        .client
        .post(app.url("/api/v1/feeds"))
        .bearer_auth(TOKEN)
        .json(&json!({"url": url, "section": "Council"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    for feed in ["/feed.atom", "/feed.rss", "/feed.json", "/sections/council/feed.rss"] {
        let (status, body) = app.get_text(feed).await;
        assert_eq!(status, 200, "{feed}");
        assert!(body.len() < 256 * 1024, "{feed} weighs {} bytes", body.len());
        assert!(body.contains("Budget vote delayed") && body.contains("Full record of the late sitting"));
        assert!(body.contains("Continue reading on Gazette"), "{feed}");
    }
    let (_, list) = app.get_json("/api/v1/articles?section=council").await;
    let record = list["articles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Full record of the late sitting")
        .unwrap()
        .clone();
    let page = record["page_url"].as_str().unwrap().replace(&app.base, "");
    let (status, html) = app.get_text(&page).await;
    assert_eq!(status, 200);
    assert_eq!(
        html.matches("asked about the ferry again").count(),
        20_000,
        "the page is whole"
    );
}

#[tokio::test]
async fn sitemaps_split_into_files_of_the_configured_size() {
    let app = spawn_with(|c| c.sitemap_file_urls = 3).await;
    let items: Vec<Value> = (0..7).map(|n| article(&format!("Tide table {n}"), "Harbour")).collect();
    let saved = post_batch(&app, &items).await;
    let max_id = saved["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .max()
        .unwrap();
    let files = (max_id + 2) / 3;
    let (status, index) = app.get_text("/sitemap.xml").await;
    assert_eq!(status, 200);
    let mut listed = Vec::new();
    for n in 0..files {
        let name = format!("/sitemaps/articles-{n}.xml");
        assert!(index.contains(&format!("{}{name}", app.base)), "{index}");
        let (status, file) = app.get_text(&name).await;
        assert_eq!(status, 200);
        let urls = file.matches("<url>").count();
        assert!(urls <= 3, "{name} holds {urls} URLs");
        listed.extend(
            file.match_indices("/articles/")
                .map(|(at, _)| file[at..].split('<').next().unwrap().to_owned()),
        );
    }
    assert!(!index.contains(&format!("articles-{files}.xml")), "{index}");
    assert_eq!(listed.len(), 7, "every story is in exactly one file: {listed:?}");
    for result in saved["results"].as_array().unwrap() {
        let path = result["url"].as_str().unwrap();
        assert!(listed.iter().any(|l| l == path), "{path} is listed");
    }
}

#[tokio::test]
async fn a_big_librarys_article_sitemap_is_served_whole() {
    // Files of the protocol's largest size (50,000 URLs), over the cache's
    // limit at this library's URL lengths: served whole, every way.
    let app = spawn_with(|c| {
        c.sitemap_file_urls = 50_000;
        c.base_url = Some(format!("https://news.example.org/{}", "reading-room/".repeat(8)));
    })
    .await;
    for chunk in 0..14 {
        let items: Vec<Value> = (0..1000)
            .map(|n| {
                json!({
                    "title": format!("Harbour record number {chunk} {n} of the long tide table"),
                    "section": "Harbour",
                    "body": "A short note.",
                })
            })
            .collect();
        post_batch(&app, &items).await;
    }
    let size = served_whole_every_way(&app, "/sitemaps/articles-0.xml", "</urlset>").await;
    assert!(
        size > CACHE_ENTRY_LIMIT,
        "the file is larger than the cache keeps: {size}"
    );
    let (_, file) = app.get_text("/sitemaps/articles-0.xml").await;
    assert_eq!(file.matches("<url>").count(), 14_000);
}

/// Every route that answers a list, at its largest page, over articles
/// long enough that the page is larger than the cache keeps.
#[tokio::test]
async fn every_list_answers_whole_at_its_largest_page() {
    let app = spawn_with(|c| c.allow_private_feeds = true).await;
    let paragraph = "The ferry timetable was read into the record again, word for word. ";
    for chunk in 0..4 {
        let items: Vec<Value> = (0..50)
            .map(|n| {
                json!({
                    "title": format!("Ferry record {chunk}-{n}"),
                    "section": "Harbour",
                    "body": paragraph.repeat(900),
                })
            })
            .collect();
        post_batch(&app, &items).await;
    }
    let reader = accounts::add(&app.db, "ada", "correct horse battery".into(), Role::Admin)
        .await
        .unwrap();
    let password = app_passwords::create(&app.db, &reader, "phone").await.unwrap();

    // Google Reader: a sync of 1,000 items' contents (here all 200).
    let login = app
        .client
        .post(app.url("/api/greader/accounts/ClientLogin"))
        .form(&[("Email", "ada"), ("Passwd", password.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let auth = login.lines().find_map(|l| l.strip_prefix("Auth=")).unwrap().to_owned();
    let response = app
        .client
        .get(app.url("/api/greader/reader/api/0/stream/contents/user/-/state/com.google/reading-list?n=1000"))
        .header("authorization", format!("GoogleLogin auth={auth}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("etag"));
    let body = response.bytes().await.unwrap();
    assert!(body.len() > 4 * CACHE_ENTRY_LIMIT, "{}", body.len());
    let sync: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(sync["items"].as_array().unwrap().len(), 200);

    // Fever: a page of 50 items.
    let key = app_passwords::fever_key("ada", &password);
    let response = app
        .client
        .post(app.url("/api/fever/?api&items"))
        .form(&[("api_key", key.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let items: Value = response.json().await.unwrap();
    assert_eq!(items["items"].as_array().unwrap().len(), 50);

    // The JSON API's lists and search, and the search page, at their largest.
    let (status, list) = app.get_json("/api/v1/articles?limit=100").await;
    assert_eq!(status, 200);
    assert_eq!(list["articles"].as_array().unwrap().len(), 100);
    let (status, found) = app.get_json("/api/v1/search?q=ferry").await;
    assert_eq!(status, 200);
    assert_eq!(found["results"].as_array().unwrap().len(), 20);
    let (status, page) = app.get_text("/search?q=ferry").await;
    assert_eq!(status, 200);
    assert!(page.contains("Ferry record"));

    // OPML export of many subscriptions (written behind the app's back:
    // subscribing to 3,000 feeds would fetch each).
    app.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) \
         INSERT INTO feeds (url, section, title, interval_secs, created_at, next_fetch_at) \
         SELECT 'https://feeds.example.org/harbour-and-coast-news/' || i || '/everything.xml', \
                'Harbour', 'Harbour and coast news, edition ' || i, 3600, 0, 4000000000 FROM n",
    )
    .await;
    let response = app
        .client
        .get(app.url("/api/v1/feeds/opml"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let opml = response.text().await.unwrap();
    assert_eq!(opml.matches("xmlUrl=").count(), 3000, "every feed is exported");
}
