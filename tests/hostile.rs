//! Hostile input: whatever a client sends, Gazette answers precisely,
//! stores nothing it should not, and lets no one write without a token.

mod support;

use serde_json::{Value, json};
use support::{TOKEN, TestApp, article, assert_no_script, spawn_app, spawn_with};

/// Every route of the router, read from its source so that a route added
/// later is covered without editing this test.
fn routes() -> Vec<String> {
    let source = include_str!("../src/web/mod.rs");
    let mut paths = Vec::new();
    for line in source.lines() {
        if let Some(rest) = line.trim().strip_prefix(".route(\"") {
            let path = rest.split('"').next().unwrap().to_owned();
            paths.push(path.clone());
            paths.push(format!("/api/v1{path}"));
        }
    }
    // The Google Reader API's routes, under both of its roots.
    for line in include_str!("../src/web/apps/greader.rs").lines() {
        if let Some(rest) = line.trim().strip_prefix(".route(\"") {
            let path = rest.split('"').next().unwrap().replace("{*stream}", "feed/1");
            if path.starts_with("/accounts/") {
                paths.push(path.clone());
                paths.push(format!("/api/greader{path}"));
            } else {
                paths.push(format!("/reader/api/0{path}"));
                paths.push(format!("/api/greader/reader/api/0{path}"));
            }
        }
    }
    assert!(paths.len() >= 30, "the route list was read: {paths:?}");
    assert!(
        paths.iter().any(|p| p == "/api/greader/reader/api/0/edit-tag"),
        "{paths:?}"
    );
    paths
}

#[tokio::test]
async fn no_write_route_is_reachable_without_a_token() {
    let app = spawn_app().await;
    let created = app.create(&article("Guarded story", "World")).await;
    let id = created["id"].to_string();
    let before = app.fingerprint().await;
    let body = json!([article("Intruder", "World")]).to_string();
    for template in routes() {
        let path = template
            .replace("{id}", &id)
            .replace("{slug}", "world")
            .replace("{file}", "feed.atom")
            .replace("{name}", "gazette.css");
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            for auth in [None, Some("Bearer wrong-token"), Some("Bearer "), Some(TOKEN)] {
                let mut request = app
                    .client
                    .request(method.parse().unwrap(), app.url(&path))
                    .header("content-type", "application/json")
                    .body(body.clone());
                if let Some(value) = auth {
                    request = request.header("authorization", value);
                }
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                // Where credentials are checked (an app's sign-in, Fever's
                // key), trying too many is throttled: 429 is a refusal too.
                if (path.contains("fever") || path.ends_with("/ClientLogin")) && status == 429 {
                    continue;
                }
                // Fever answers a wrong key with 200 and `auth: 0`, as its
                // protocol says: that answer must be the refusal.
                if path.contains("fever") && status == 200 {
                    let answer: Value = response.json().await.unwrap();
                    assert_eq!(answer["auth"], 0, "{method} {path} with {auth:?}: {answer}");
                    continue;
                }
                // Routes reached by a session cookie instead of a token: with
                // none, they send the browser to sign in (303) or refuse the
                // request (403 cross-site, 415 not a form). The fingerprint
                // below shows they wrote nothing either.
                let by_cookie = ["/login", "/logout", "/account", "/admin", "/reading"]
                    .iter()
                    .any(|p| path.starts_with(p));
                assert!(
                    matches!(status, 401 | 404 | 405) || (by_cookie && matches!(status, 303 | 403 | 415)),
                    "{method} {path} with {auth:?} answered {status}: a write route without a valid token"
                );
            }
        }
    }
    assert_eq!(app.fingerprint().await, before, "nothing was written");
}

async fn expect_status(app: &TestApp, response: reqwest::Response, status: u16, code: &str) {
    let got = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let _ = app;
}

#[tokio::test]
async fn deep_nesting_huge_strings_and_huge_lists_are_refused_cleanly() {
    let app = spawn_with(|c| c.max_body_bytes = 32 * 1024 * 1024).await;
    let before = app.fingerprint().await;

    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = app
        .post_raw("/api/v1/articles", "application/json", format!("{{\"title\": {deep}}}"))
        .await;
    assert!(matches!(r.status().as_u16(), 400 | 422), "{}", r.status());
    // As a batch it is a well-formed array whose one item is not an article.
    let r = app
        .post_raw("/api/v1/articles/batch", "application/json", deep.clone())
        .await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert!(
        status == 400 || body["results"][0]["error"]["code"] == "malformed_json",
        "{status} {body}"
    );

    let huge = "x".repeat(3_000_000);
    for field in [
        "title",
        "section",
        "summary",
        "author",
        "source",
        "external_id",
        "image_caption",
    ] {
        let mut a = article("Huge field", "World");
        a[field] = json!(huge);
        let r = app.post_article(&a).await;
        expect_status(&app, r, 422, "invalid_field").await;
    }
    for field in ["url", "image_url"] {
        let mut a = article("Huge URL", "World");
        a[field] = json!(format!("https://example.org/{huge}"));
        expect_status(&app, app.post_article(&a).await, 422, "invalid_field").await;
    }
    let mut a = article("Huge tag", "World");
    a["tags"] = json!([huge]);
    expect_status(&app, app.post_article(&a).await, 422, "invalid_field").await;

    let mut a = article("A million tags", "World");
    a["tags"] = json!(vec!["t"; 1_000_000]);
    expect_status(&app, app.post_article(&a).await, 422, "invalid_field").await;
    assert_eq!(app.fingerprint().await, before);

    // A huge body is fine while it fits the limit, and 413 past it.
    let mut a = article("Long read", "World");
    a["body"] = json!("word ".repeat(1_000_000));
    assert_eq!(app.post_article(&a).await.status(), 201);
    let small = spawn_with(|c| c.max_body_bytes = 64 * 1024).await;
    let mut a = article("Too long", "World");
    a["tags"] = json!(vec!["t"; 1_000_000]);
    // The server answers before reading the whole body, so the client may
    // see the connection close before it can read the JSON: the status is
    // what is certain here (tests/errors.rs checks the body of a 413).
    let response = small.post_article(&a).await;
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn control_and_bidi_characters_never_reach_titles() {
    let app = spawn_app().await;
    let created = app
        .create(&json!({"title": "Score\u{202E}draw\u{0}\u{7}\u{1b}[31m late\r\nwinner", "section": "Foot\u{2066}ball\u{200F}", "body": "x", "author": "Ann\u{0}a"}))
        .await;
    let (_, stored) = app.get_json(&format!("/api/v1/articles/{}", created["id"])).await;
    assert_eq!(stored["title"], "Scoredraw[31m late winner");
    assert_eq!(stored["section"]["name"], "Football");
    assert_eq!(stored["author"], "Anna");
    let (_, html) = app.get_text(created["url"].as_str().unwrap()).await;
    assert!(!html.contains('\u{202E}') && !html.contains('\u{0}'));
}

#[tokio::test]
async fn slugs_that_collide_after_normalisation_share_one_section() {
    let app = spawn_app().await;
    for name in ["Football", "football", "FOOTBALL!", "  Football  ", "Fóotball"] {
        app.create(&article(&format!("Story in {name}"), name)).await;
    }
    let (_, sections) = app.get_json("/api/v1/sections").await;
    let list = sections["sections"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{sections}");
    assert_eq!(list[0]["slug"], "football");
    assert_eq!(list[0]["name"], "Football", "named as first sent");
    assert_eq!(list[0]["article_count"], 5);
    // Two articles with the same headline keep distinct pages.
    let a = app.create(&article("Same headline", "World")).await;
    let b = app.create(&article("Same headline", "World")).await;
    assert_ne!(a["url"], b["url"]);
}

#[tokio::test]
async fn path_traversal_reaches_nothing() {
    let app = spawn_app().await;
    app.create(&article("Traversal target", "World")).await;
    for path in [
        "/static/../Cargo.toml",
        "/static/..%2f..%2fCargo.toml",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%5c..%5cCargo.toml",
        "/static/gazette.css%00.txt",
        "/sections/..%2f..%2fetc%2fpasswd",
        "/sections/%2e%2e",
        "/authors/..%2f..",
        "/tags/%2e%2e%2f%2e%2e",
        "/sitemaps/..%2fCargo.toml",
        "/sections/world/..%2f..%2fCargo.toml",
        "/articles/1/..%2f..%2fCargo.toml",
    ] {
        let response = app.get(path).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        // Some of these the client itself normalises ("/sections/%2e%2e" is
        // "/"), so a 200 can be an ordinary page: what matters is no leak.
        assert!(matches!(status, 200 | 308 | 400 | 404), "{path}: {status}");
        assert!(
            !text.contains("[package]") && !text.contains("root:x:0"),
            "{path} leaked a file"
        );
    }
}

#[tokio::test]
async fn no_field_can_inject_a_header() {
    let app = spawn_app().await;
    let created = app
        .create(&json!({"title": "Break\r\nSet-Cookie: stolen=1\r\n\r\n<script>", "section": "World\r\nX-Evil: 1", "body": "x",
                        "external_id": "id\r\nX-Injected: 1", "url": "https://example.org/a\r\nX-Evil: 1"}))
        .await
        .clone();
    let response = app
        .post_article(&article("Location check\r\nX-Evil: yes", "World\nX-Evil: 2"))
        .await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        !location.contains('\r') && !location.contains('\n') && !location.contains(' '),
        "{location}"
    );
    assert!(response.headers().get("x-evil").is_none());
    for path in [created["url"].as_str().unwrap(), "/", "/feed.atom", "/sections/world"] {
        let response = app.get(path).await;
        assert!(response.headers().get("set-cookie").is_none(), "{path}");
        assert!(
            response.headers().get("x-evil").is_none() && response.headers().get("x-injected").is_none(),
            "{path}"
        );
    }
    let redirect = app.get(&format!("/articles/{}", created["id"])).await;
    let target = redirect.headers()["location"].to_str().unwrap();
    assert!(target.bytes().all(|b| b.is_ascii_graphic()), "{target}");
}

#[tokio::test]
async fn sql_metacharacters_are_only_data() {
    let app = spawn_app().await;
    let evil = "'; DROP TABLE articles; -- \" OR 1=1 /* %_ \\";
    let created = app
        .create(
            &json!({"title": format!("Quote {evil}"), "section": format!("S {evil}"), "body": evil, "author": evil,
                        "source": evil, "external_id": evil, "tags": [evil], "summary": evil}),
        )
        .await;
    let encoded: String = url::form_urlencoded::byte_serialize(evil.as_bytes()).collect();
    for path in [
        format!("/api/v1/articles?section={encoded}"),
        format!("/api/v1/articles?before={encoded}"),
        format!("/api/v1/articles?limit={encoded}"),
        format!("/api/v1/articles/{encoded}"),
        format!("/api/v1/search?q={encoded}"),
        format!("/api/v1/search?q=quote&section={encoded}"),
        format!("/api/v1/search?q=quote&from={encoded}"),
        format!("/api/v1/search?q=quote&sort={encoded}"),
        format!("/api/v1/search?q=quote&page={encoded}"),
        format!("/search?q={encoded}"),
        format!("/sections/{encoded}"),
        format!("/sections/{encoded}?before={encoded}"),
        format!("/authors/{encoded}"),
        format!("/tags/{encoded}"),
        format!("/sitemaps/{encoded}"),
    ] {
        let status = app.get(&path).await.status().as_u16();
        assert!(matches!(status, 200 | 404 | 422), "{path}: {status}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM articles").await, 1);
    let (_, stored) = app.get_json(&format!("/api/v1/articles/{}", created["id"])).await;
    assert_eq!(stored["external_id"], evil);
    assert_eq!(stored["title"], format!("Quote {evil}"));
    let (_, found) = app.get_json("/api/v1/search?q=quote").await;
    assert_eq!(found["results"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_forged_host_header_never_reaches_absolute_urls() {
    let app = spawn_with(|c| c.base_url = Some("https://news.example.org".to_owned())).await;
    let created = app.create(&article("Canonical story", "World")).await;
    for path in [
        "/feed.atom",
        "/feed.rss",
        "/feed.json",
        "/sitemap.xml",
        "/sitemaps/articles-0.xml",
        "/robots.txt",
        created["url"].as_str().unwrap(),
        "/api/v1/sections",
        "/",
    ] {
        let response = app
            .client
            .get(app.url(path))
            .header("host", "evil.example")
            .header("x-forwarded-host", "evil.example")
            .send()
            .await
            .unwrap();
        let text = response.text().await.unwrap();
        assert!(!text.contains("evil.example"), "{path} used the Host header");
        if path != "/" {
            assert!(text.contains("https://news.example.org"), "{path} uses the base URL");
        }
    }
}

#[tokio::test]
async fn invalid_utf8_and_odd_encodings_are_400() {
    let app = spawn_app().await;
    let before = app.fingerprint().await;
    for bytes in [
        vec![0xff, 0xfe],
        b"{\"title\":\"\xc3\x28\"}".to_vec(),
        b"\xef\xbb\xbf{}".to_vec(),
        vec![0u8; 10],
    ] {
        let r = app
            .post_raw("/api/v1/articles", "application/json", bytes.clone())
            .await;
        assert_eq!(r.status(), 400, "{bytes:?}");
        let r = app
            .post_raw("/api/v1/articles/batch", "application/x-ndjson", bytes)
            .await;
        assert!(matches!(r.status().as_u16(), 200 | 400), "ndjson");
    }
    assert_eq!(app.fingerprint().await, before);
    let (_, html) = app.get_text("/search?q=%ff%fe").await;
    assert_no_script(&html, "odd search");
}
