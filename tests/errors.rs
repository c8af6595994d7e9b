//! Every error the ingest API can answer, each checked to change nothing
//! in the database.

mod support;

use serde_json::{Value, json};
use support::{TOKEN, TestApp, article, spawn_app, spawn_with};

/// Sends a request that must fail, checks its status, error code and
/// field, and that the database is exactly as it was.
async fn expect_error(
    app: &TestApp,
    request: reqwest::RequestBuilder,
    status: u16,
    code: &str,
    field: Option<&str>,
) -> Value {
    let before = app.fingerprint().await;
    let response = request.send().await.unwrap();
    assert_eq!(response.status().as_u16(), status);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    match field {
        Some(field) => assert_eq!(body["error"]["field"], field, "{body}"),
        None => assert!(body["error"].get("field").is_none(), "{body}"),
    }
    assert_eq!(
        app.fingerprint().await,
        before,
        "the failed request changed the database"
    );
    body
}

/// An app that already holds one article, so "unchanged" means something.
async fn seeded() -> TestApp {
    let app = spawn_app().await;
    app.create(&article("Existing story", "Football")).await;
    app
}

fn post(app: &TestApp, path: &str) -> reqwest::RequestBuilder {
    app.client.post(app.url(path)).bearer_auth(TOKEN)
}

#[tokio::test]
async fn malformed_json_is_400_and_says_where() {
    let app = seeded().await;
    let body = expect_error(
        &app,
        post(&app, "/api/v1/articles")
            .header("content-type", "application/json")
            .body("{\"title\": \"x\",\n \"section\": }"),
        400,
        "malformed_json",
        None,
    )
    .await;
    assert!(body["error"]["message"].as_str().unwrap().contains("line 2"), "{body}");
    expect_error(
        &app,
        post(&app, "/api/v1/articles")
            .header("content-type", "application/json")
            .body(""),
        400,
        "malformed_json",
        None,
    )
    .await;
    expect_error(
        &app,
        post(&app, "/api/v1/articles")
            .header("content-type", "application/json")
            .body("[1, 2]"),
        400,
        "malformed_json",
        None,
    )
    .await;
    expect_error(
        &app,
        post(&app, "/api/v1/articles")
            .header("content-type", "application/json")
            .body(vec![b'{', 0xff, 0xfe, b'}']),
        400,
        "malformed_json",
        None,
    )
    .await;
    expect_error(
        &app,
        post(&app, "/api/v1/articles/batch")
            .header("content-type", "application/json")
            .body("[{]"),
        400,
        "malformed_json",
        None,
    )
    .await;
    expect_error(
        &app,
        post(&app, "/api/v1/articles/batch")
            .header("content-type", "application/json")
            .body("{}"),
        400,
        "malformed_json",
        None,
    )
    .await;
}

#[tokio::test]
async fn missing_or_unknown_tokens_are_401() {
    let app = seeded().await;
    let body = article("Sneaky", "Football");
    let url = app.url("/api/v1/articles");
    expect_error(&app, app.client.post(&url).json(&body), 401, "unauthorized", None).await;
    expect_error(
        &app,
        app.client.post(&url).bearer_auth("wrong-token").json(&body),
        401,
        "unauthorized",
        None,
    )
    .await;
    expect_error(
        &app,
        app.client.post(&url).bearer_auth(format!("{TOKEN}x")).json(&body),
        401,
        "unauthorized",
        None,
    )
    .await;
    expect_error(
        &app,
        app.client.post(&url).header("authorization", TOKEN).json(&body),
        401,
        "unauthorized",
        None,
    )
    .await;
    expect_error(
        &app,
        app.client.post(&url).basic_auth("user", Some(TOKEN)).json(&body),
        401,
        "unauthorized",
        None,
    )
    .await;
    expect_error(
        &app,
        app.client.post(app.url("/api/v1/articles/batch")).json(&json!([body])),
        401,
        "unauthorized",
        None,
    )
    .await;
    // A missing token is reported before anything about the body.
    expect_error(
        &app,
        app.client.post(&url).header("content-type", "text/plain").body("x"),
        401,
        "unauthorized",
        None,
    )
    .await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = spawn_with(|config| {
        config.max_body_bytes = 4096;
        config.max_batch_body_bytes = 8192;
    })
    .await;
    app.create(&article("Existing story", "Football")).await;
    let mut big = article("Big story", "Football");
    big["body"] = json!("word ".repeat(2000));
    let body = expect_error(
        &app,
        post(&app, "/api/v1/articles").json(&big),
        413,
        "payload_too_large",
        None,
    )
    .await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("4096") && message.contains("--max-body-bytes"),
        "{message}"
    );
    // A batch has its own, larger limit, and says so.
    let body = expect_error(
        &app,
        post(&app, "/api/v1/articles/batch").json(&json!([big])),
        413,
        "payload_too_large",
        None,
    )
    .await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("8192") && message.contains("--max-batch-body-bytes"),
        "{message}"
    );
    let mut medium = article("Medium story", "Football");
    medium["body"] = json!("word ".repeat(1000));
    let response = post(&app, "/api/v1/articles/batch")
        .json(&json!([medium]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "a 5 KB batch fits the batch limit");
}

#[tokio::test]
async fn wrong_content_types_are_415() {
    let app = seeded().await;
    let body = article("Typed story", "Football").to_string();
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "application/xml"] {
        expect_error(
            &app,
            post(&app, "/api/v1/articles")
                .header("content-type", content_type)
                .body(body.clone()),
            415,
            "unsupported_media_type",
            None,
        )
        .await;
    }
    expect_error(
        &app,
        post(&app, "/api/v1/articles").body(body.clone()),
        415,
        "unsupported_media_type",
        None,
    )
    .await;
    expect_error(
        &app,
        post(&app, "/api/v1/articles")
            .header("content-type", "application/x-ndjson")
            .body(body.clone()),
        415,
        "unsupported_media_type",
        None,
    )
    .await;
    // A charset parameter is fine.
    let ok = post(&app, "/api/v1/articles")
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
}

#[tokio::test]
async fn validation_failures_are_422_and_name_the_field() {
    let app = seeded().await;
    let base = article("Valid title", "Football");
    let with = |key: &str, value: Value| {
        let mut a = base.clone();
        a[key] = value;
        a
    };
    let without = |key: &str| {
        let mut a = base.clone();
        a.as_object_mut().unwrap().remove(key);
        a
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (without("title"), "invalid_field", "title"),
        (without("section"), "invalid_field", "section"),
        (without("body"), "invalid_field", "body"),
        (with("title", json!("   ")), "invalid_field", "title"),
        (with("title", json!("x".repeat(301))), "invalid_field", "title"),
        (with("title", json!(42)), "invalid_field", "title"),
        (with("body", json!("\n\n")), "invalid_field", "body"),
        (with("body_format", json!("rtf")), "invalid_field", "body_format"),
        (with("url", json!("javascript:alert(1)")), "invalid_field", "url"),
        (with("url", json!("/relative/path")), "invalid_field", "url"),
        (
            with("image_url", json!("data:image/png;base64,AAAA")),
            "invalid_field",
            "image_url",
        ),
        (
            with("published_at", json!("12 June 2024")),
            "invalid_field",
            "published_at",
        ),
        (
            with("published_at", json!("2024-06-12T10:00:00")),
            "invalid_field",
            "published_at",
        ),
        (with("tags", json!("not-a-list")), "invalid_field", "tags"),
        (with("tags", json!(["ok", 7])), "invalid_field", "tags"),
        (with("titel", json!("typo")), "unknown_field", "titel"),
        (with("Title", json!("case")), "unknown_field", "Title"),
    ];
    for (body, code, field) in cases {
        expect_error(&app, post(&app, "/api/v1/articles").json(&body), 422, code, Some(field)).await;
    }
}

#[tokio::test]
async fn a_batch_over_the_limit_is_refused_whole() {
    let app = seeded().await;
    let items: Vec<Value> = (0..1001).map(|i| article(&format!("Item {i}"), "Football")).collect();
    let body = expect_error(
        &app,
        post(&app, "/api/v1/articles/batch").json(&items),
        422,
        "too_many_items",
        None,
    )
    .await;
    assert!(body["error"]["message"].as_str().unwrap().contains("1000"));
    expect_error(
        &app,
        post(&app, "/api/v1/articles/batch").json(&json!([])),
        422,
        "invalid_field",
        Some("body"),
    )
    .await;

    // Exactly 1,000 is accepted.
    let items: Vec<Value> = (0..1000).map(|i| article(&format!("Item {i}"), "Football")).collect();
    let response = post(&app, "/api/v1/articles/batch").json(&items).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(app.count("SELECT COUNT(*) FROM articles").await, 1001);
}
