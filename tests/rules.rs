//! Site rules over HTTP (issue 27): made through `/api/v1/rules`, applied
//! in the one write path to single posts, batches and feed entries alike
//! (drop, keep only, tag, file under a section), counted, previewed on
//! the newest articles before they are saved, and refused with the field
//! named when they are wrong, with nothing stored.

mod support;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::browser::Browser;
use support::{TOKEN, TestApp, article, serve_locally, spawn_app, spawn_with};

use gazette::accounts::{self, Role};

const PASSWORD: &str = "correct horse battery";

async fn send(app: &TestApp, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(TOKEN);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn create_rule(app: &TestApp, rule: &Value) -> Value {
    let (status, body) = send(app, reqwest::Method::POST, "/api/v1/rules", Some(rule)).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn titles_in(app: &TestApp, slug: &str) -> Vec<String> {
    let (_, page) = app
        .get_json(&format!("/api/v1/articles?section={slug}&limit=100"))
        .await;
    let mut titles: Vec<String> = page["articles"]
        .as_array()
        .map(|a| a.iter().map(|x| x["title"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    titles.sort();
    titles
}

async fn article_by_title(app: &TestApp, title: &str) -> Value {
    let (_, page) = app.get_json("/api/v1/articles?limit=100").await;
    let id = page["articles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == title)
        .unwrap_or_else(|| panic!("{title} is stored"))["id"]
        .as_i64()
        .unwrap();
    app.get_json(&format!("/api/v1/articles/{id}")).await.1
}

#[tokio::test]
async fn rules_drop_tag_and_file_what_the_api_sends_singly_and_in_batches() {
    let app = spawn_app().await;
    let horoscopes = create_rule(
        &app,
        &json!({"name": "No horoscopes", "action": "drop",
                "conditions": [{"field": "title", "words": "horoscope, star signs"}]}),
    )
    .await;
    assert_eq!(horoscopes["matched"], 0);
    assert_eq!(horoscopes["scope"], "all");
    assert_eq!(horoscopes["match"], "all");
    let sponsored = create_rule(
        &app,
        &json!({"name": "Sponsored out of Business", "action": "drop", "scope": {"section": "Business"},
                "match": "any",
                "conditions": [{"field": "any", "regex": "(?i)^sponsored:"},
                               {"field": "author", "words": "Brand Studio"}]}),
    )
    .await;
    create_rule(
        &app,
        &json!({"name": "Tag the ferries", "action": "tag", "tags": ["Ferries"],
                "conditions": [{"field": "body", "words": "ferry"}]}),
    )
    .await;
    create_rule(
        &app,
        &json!({"name": "Betting to Noise", "action": "section", "section": "Noise",
                "conditions": [{"field": "title", "regex": "(?i)\\b(odds|tips)\\b"}]}),
    )
    .await;

    // One POST: filtered, answered 200 with the rule's name, nothing stored.
    let before = app.fingerprint().await;
    let response = app
        .post_article(&article("Your HOROSCOPE for the week ahead", "Life"))
        .await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer, json!({"status": "filtered", "rule": "No horoscopes"}));
    // Accents and case are folded; a longer word is not the word.
    let answer = app
        .create(&article("Horoscopé special: star   signs explained", "Life"))
        .await;
    assert_eq!(answer["status"], "filtered");
    let kept = app
        .create(&article("Horoscopes are big business, say publishers", "Life"))
        .await;
    assert_eq!(kept["status"], "created", "horoscopes is not the whole word horoscope");

    // A batch: each item answered in place.
    let response = app
        .post_batch(&[
            article("Sponsored: the bank that listens", "Business"),
            article("Sponsored: a bank advert elsewhere", "Culture"),
            json!({"title": "Quarterly results beat forecasts", "section": "Business",
                   "author": "brand studio", "body": "Figures."}),
            json!({"title": "Harbour timetable", "section": "Transport",
                   "body": "The night FERRY returns to the timetable in spring."}),
            article("Weekend odds and tips", "Sport"),
            article("Council approves budget", "Business"),
        ])
        .await;
    assert_eq!(response.status(), 200);
    let results: Value = response.json().await.unwrap();
    let statuses: Vec<&str> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["filtered", "created", "filtered", "created", "created", "created"],
        "{results}"
    );
    assert_eq!(results["results"][0]["rule"], "Sponsored out of Business");
    assert_eq!(results["results"][2]["rule"], "Sponsored out of Business");
    assert_eq!(results["results"][0]["index"], 0);

    assert_eq!(
        titles_in(&app, "business").await,
        ["Council approves budget"],
        "the section scope drops only in Business"
    );
    assert_eq!(titles_in(&app, "culture").await, ["Sponsored: a bank advert elsewhere"]);
    let ferry = article_by_title(&app, "Harbour timetable").await;
    assert!(
        ferry["tags"].as_array().unwrap().iter().any(|t| t == "Ferries"),
        "{ferry}"
    );
    assert_eq!(titles_in(&app, "noise").await, ["Weekend odds and tips"]);
    assert!(titles_in(&app, "sport").await.is_empty());

    // Counted, with when.
    let (status, list) = send(&app, reqwest::Method::GET, "/api/v1/rules", None).await;
    assert_eq!(status, 200);
    let rules = list["rules"].as_array().unwrap();
    let count = |name: &str| {
        rules.iter().find(|r| r["name"] == name).unwrap()["matched"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(count("No horoscopes"), 2);
    assert_eq!(count("Sponsored out of Business"), 2);
    assert_eq!(count("Tag the ferries"), 1);
    assert_eq!(count("Betting to Noise"), 1);
    assert!(rules[0]["last_matched_at"].is_string());

    // Changed (PATCH keeps what is not sent), switched off, deleted.
    let id = sponsored["id"].as_i64().unwrap();
    let (status, changed) = send(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/v1/rules/{id}"),
        Some(&json!({"scope": "all"})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["scope"], "all");
    assert_eq!(changed["name"], "Sponsored out of Business");
    assert_eq!(changed["matched"], 2);
    assert_eq!(
        app.create(&article("Sponsored: now anywhere", "Culture")).await["status"],
        "filtered"
    );
    let (status, _) = send(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/v1/rules/{id}"),
        Some(&json!({"enabled": false})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.create(&article("Sponsored: while it is off", "Culture")).await["status"],
        "created"
    );
    let (status, _) = send(&app, reqwest::Method::DELETE, &format!("/api/v1/rules/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = send(&app, reqwest::Method::GET, &format!("/api/v1/rules/{id}"), None).await;
    assert_eq!(status, 404);
    assert_ne!(before, app.fingerprint().await);
}

/// A site of feeds: each `/{name}.xml` holds four entries of its own
/// (their links are the feed's), two of them betting tips.
async fn feed_site() -> String {
    let router = Router::new().route(
        "/{file}",
        get(|axum::extract::Path(file): axum::extract::Path<String>| async move {
            let name = file.trim_end_matches(".xml");
            let item = |n: u32, title: &str| {
                format!(
                    "<item><title>{title}</title><link>http://feeds.test/{name}/{n}</link><guid>{name}-{n}</guid>\
                     <description>&lt;p&gt;{title}, in full.&lt;/p&gt;</description></item>"
                )
            };
            let body = format!(
                "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Sport desk {name}</title>\
                 <link>http://feeds.test/</link><description>d</description>{}{}{}{}</channel></rss>",
                item(1, "Cup final goes to extra time"),
                item(2, "Betting tips for the cup final"),
                item(3, "Captain signs new contract"),
                item(4, "Best betting odds this weekend"),
            );
            ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
        }),
    );
    format!("http://{}", serve_locally(router).await)
}

async fn subscribe(app: &TestApp, url: &str, section: &str) -> Value {
    let (status, body) = send(
        app,
        reqwest::Method::POST,
        "/api/v1/feeds",
        Some(&json!({"url": url, "section": section})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

#[tokio::test]
async fn feed_entries_pass_the_same_rules_and_keep_only_holds_a_feed_to_what_matches() {
    let app = spawn_with(|c| c.allow_private_feeds = true).await;
    let site = feed_site().await;
    create_rule(
        &app,
        &json!({"name": "No betting", "action": "drop",
                "conditions": [{"field": "title", "words": "betting"}]}),
    )
    .await;
    // Subscribing polls at once: the entries meet the rule.
    let first = subscribe(&app, &format!("{site}/a.xml"), "Sport").await;
    assert_eq!(first["poll"]["created"], 2, "{first}");
    assert_eq!(first["poll"]["filtered"], 2, "{first}");
    assert_eq!(
        titles_in(&app, "sport").await,
        ["Captain signs new contract", "Cup final goes to extra time"]
    );

    // keep_only needs a feed scope, and then holds that feed alone.
    let (status, refused) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/rules",
        Some(&json!({"name": "Only cup", "action": "keep_only",
                     "conditions": [{"field": "title", "words": "cup"}]})),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(refused["error"]["field"], "scope");
    let feed = first["feed"]["id"].as_i64().unwrap();
    let keep = create_rule(
        &app,
        &json!({"name": "Only the cup", "action": "keep_only", "scope": {"feed": feed},
                "conditions": [{"field": "title", "words": "cup"}]}),
    )
    .await;
    let (status, report) = send(&app, reqwest::Method::POST, &format!("/api/v1/feeds/{feed}/poll"), None).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["filtered"], 3, "{report}");
    assert_eq!(report["unchanged"], 1, "{report}");
    // Rules apply to what arrives: what is stored stays.
    assert_eq!(titles_in(&app, "sport").await.len(), 2);
    let (_, state) = send(&app, reqwest::Method::GET, &format!("/api/v1/feeds/{feed}"), None).await;
    assert_eq!(
        state["entries_filtered"], 5,
        "the feed's state counts what rules kept out: {state}"
    );

    let second = subscribe(&app, &format!("{site}/b.xml"), "Sport two").await;
    assert_eq!(
        second["poll"]["created"], 2,
        "keep_only is scoped to the first feed: {second}"
    );
    assert_eq!(second["poll"]["filtered"], 2);
    assert_eq!(
        app.create(&article("Captain interview", "Sport")).await["status"],
        "created",
        "an API article is not the feed's"
    );
    let (_, rule) = send(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/rules/{}", keep["id"]),
        None,
    )
    .await;
    assert_eq!(rule["matched"], 1);
    let (_, all) = send(&app, reqwest::Method::GET, "/api/v1/rules", None).await;
    assert_eq!(all["rules"][0]["matched"], 6, "two entries at each of three polls");
}

#[tokio::test]
async fn a_preview_lists_what_a_draft_would_do_and_stores_nothing() {
    let app = spawn_app().await;
    for (title, section) in [
        ("Horoscope: Aries", "Life"),
        ("Council budget vote", "Politics"),
        ("Your horoscope for March", "Life"),
        ("Horoscope of the council", "Politics"),
    ] {
        app.create(&article(title, section)).await;
    }
    let before = app.fingerprint().await;
    let draft = json!({"action": "drop", "scope": {"section": "life"},
                       "conditions": [{"field": "title", "words": "horoscope"}]});
    let (status, preview) = send(&app, reqwest::Method::POST, "/api/v1/rules/preview", Some(&draft)).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["looked_at"], 4);
    let mut titles: Vec<&str> = preview["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    titles.sort();
    assert_eq!(titles, ["Horoscope: Aries", "Your horoscope for March"]);
    assert!(
        preview["articles"][0]["page_url"]
            .as_str()
            .unwrap()
            .contains("/articles/")
    );
    assert_eq!(before, app.fingerprint().await, "a preview stores nothing");
}

#[tokio::test]
async fn wrong_rules_are_refused_with_the_field_named_and_nothing_stored() {
    let app = spawn_app().await;
    let before = app.fingerprint().await;
    let cases = [
        (
            json!({"action": "drop", "conditions": [{"field": "title", "words": "x"}]}),
            "rule",
        ),
        (
            json!({"name": " ", "action": "drop", "conditions": [{"field": "title", "words": "x"}]}),
            "name",
        ),
        (
            json!({"name": "n", "action": "explode", "conditions": [{"field": "title", "words": "x"}]}),
            "rule",
        ),
        (json!({"name": "n", "action": "drop", "conditions": []}), "conditions"),
        (
            json!({"name": "n", "action": "drop", "conditions": [{"field": "colour", "words": "x"}]}),
            "rule",
        ),
        (
            json!({"name": "n", "action": "drop", "conditions": [{"field": "title", "regex": "(unclosed"}]}),
            "conditions[0].regex",
        ),
        // A pattern whose compiled program is too large: refused, not run.
        (
            json!({"name": "n", "action": "drop", "conditions": [{"field": "title", "regex": "(a{1000}){1000}"}]}),
            "conditions[0].regex",
        ),
        (
            json!({"name": "n", "action": "drop", "conditions": [{"field": "title", "regex": "a".repeat(1001)}]}),
            "conditions[0].regex",
        ),
        (
            json!({"name": "n", "action": "drop", "conditions": [{"field": "title", "words": "x", "regex": "x"}]}),
            "conditions[0]",
        ),
        (
            json!({"name": "n", "action": "drop", "conditions": [{"field": "title", "words": " ,, "}]}),
            "conditions[0].words",
        ),
        (
            json!({"name": "n", "action": "tag", "conditions": [{"field": "title", "words": "x"}]}),
            "tags",
        ),
        (
            json!({"name": "n", "action": "section", "conditions": [{"field": "title", "words": "x"}]}),
            "section",
        ),
        (
            json!({"name": "n", "action": "drop", "tags": ["t"], "conditions": [{"field": "title", "words": "x"}]}),
            "tags",
        ),
        (
            json!({"name": "n", "action": "drop", "scope": {"feed": 0}, "conditions": [{"field": "title", "words": "x"}]}),
            "scope",
        ),
        (
            json!({"name": "n", "action": "drop", "surprise": 1, "conditions": [{"field": "title", "words": "x"}]}),
            "rule",
        ),
    ];
    for (rule, field) in &cases {
        let (status, body) = send(&app, reqwest::Method::POST, "/api/v1/rules", Some(rule)).await;
        assert_eq!(status, 422, "{rule} → {body}");
        assert_eq!(body["error"]["field"], *field, "{rule} → {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let response = app.post_raw("/api/v1/rules", "application/json", "{\"name\": ").await;
    assert_eq!(response.status(), 400);
    let response = app.post_raw("/api/v1/rules", "text/plain", "name").await;
    assert_eq!(response.status(), 415);
    let response = app.client.get(app.url("/api/v1/rules")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = app
        .client
        .get(app.url("/api/v1/rules"))
        .bearer_auth("not-the-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let (status, _) = send(
        &app,
        reqwest::Method::PATCH,
        "/api/v1/rules/999",
        Some(&json!({"name": "n"})),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(before, app.fingerprint().await, "nothing refused was stored");
}

#[tokio::test]
async fn an_admin_session_manages_rules_and_a_reader_cannot() {
    let app = spawn_app().await;
    accounts::add(&app.db, "ada", PASSWORD.into(), Role::Admin)
        .await
        .unwrap();
    accounts::add(&app.db, "rex", PASSWORD.into(), Role::Reader)
        .await
        .unwrap();
    let rule = json!({"name": "No quizzes", "action": "drop",
                      "conditions": [{"field": "title", "words": "quiz"}]});

    let mut reader = Browser::new(&app);
    reader.sign_in("rex", PASSWORD).await;
    let csrf = reader.csrf().await;
    let response = app
        .client
        .post(app.url("/api/v1/rules"))
        .header("cookie", format!("gazette_session={}", reader.cookie.clone().unwrap()))
        .header("origin", &app.base)
        .header("x-csrf-token", &csrf)
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "a reader cannot make site rules"
    );

    let mut admin = Browser::new(&app);
    admin.sign_in("ada", PASSWORD).await;
    let cookie = format!("gazette_session={}", admin.cookie.clone().unwrap());
    let csrf = admin.csrf().await;
    // Without the session's token, or from another site: refused.
    for (origin, token) in [
        (app.base.as_str(), "wrong"),
        ("https://elsewhere.example", csrf.as_str()),
    ] {
        let response = app
            .client
            .post(app.url("/api/v1/rules"))
            .header("cookie", &cookie)
            .header("origin", origin)
            .header("x-csrf-token", token)
            .json(&rule)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    let response = app
        .client
        .post(app.url("/api/v1/rules"))
        .header("cookie", &cookie)
        .header("origin", &app.base)
        .header("x-csrf-token", &csrf)
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = app
        .client
        .get(app.url("/api/v1/rules"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let list: Value = response.json().await.unwrap();
    assert_eq!(list["rules"][0]["name"], "No quizzes");
    assert_eq!(app.create(&article("Friday quiz", "Life")).await["status"], "filtered");
}

#[tokio::test]
async fn a_pathological_pattern_cannot_hold_up_ingest() {
    let app = spawn_app().await;
    // Catastrophic for a backtracking engine on a long run of a's.
    create_rule(
        &app,
        &json!({"name": "Nested", "action": "drop",
                "conditions": [{"field": "body", "regex": "^(a+)+$"},
                               {"field": "any", "regex": "(a|aa)*c"}]}),
    )
    .await;
    let body = format!("{}b", "a".repeat(200_000));
    let started = std::time::Instant::now();
    let answer = app
        .create(&json!({"title": "Long run", "section": "Tests", "body": body}))
        .await;
    assert_eq!(answer["status"], "created");
    // Linear time: a backtracking engine would not finish this in years.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_admin_page_previews_saves_switches_off_and_deletes_a_rule() {
    let app = spawn_app().await;
    accounts::add(&app.db, "ada", PASSWORD.into(), Role::Admin)
        .await
        .unwrap();
    accounts::add(&app.db, "rex", PASSWORD.into(), Role::Reader)
        .await
        .unwrap();
    for (title, section) in [("Horoscope: Leo", "Life"), ("Harbour reopens", "World")] {
        app.create(&article(title, section)).await;
    }
    let mut reader = Browser::new(&app);
    reader.sign_in("rex", PASSWORD).await;
    assert_eq!(reader.get("/admin/rules").await.status(), StatusCode::FORBIDDEN);

    let mut admin = Browser::new(&app);
    admin.sign_in("ada", PASSWORD).await;
    let page = admin.get("/admin/rules").await.text().await.unwrap();
    assert!(page.contains("No rules yet"), "{page}");
    support::assert_no_script(&page, "rules page");
    let csrf = admin.csrf_on("/admin/rules").await;
    let form = |name: &'static str, value: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", name.to_owned()),
            ("action", "drop".to_owned()),
            ("scope", "all".to_owned()),
            ("match", "all".to_owned()),
            ("field1", "title".to_owned()),
            ("kind1", "words".to_owned()),
            ("value1", value.to_owned()),
        ]
    };

    let before = app.fingerprint().await;
    let draft = form("No horoscopes", "horoscope");
    let pairs: Vec<(&str, &str)> = draft.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = admin.post("/admin/rules/preview", &pairs).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("this rule would act on 1"), "{page}");
    assert!(page.contains("Horoscope: Leo") && !page.contains(">Harbour reopens<"));
    assert!(page.contains("value=\"No horoscopes\""), "the draft stays in the form");
    assert_eq!(before, app.fingerprint().await, "a preview stores nothing");

    // A wrong pattern: the page says why, keeps the draft, stores nothing.
    let mut wrong = form("Broken", "x");
    wrong[6].1 = "regex".to_owned();
    wrong[7].1 = "(unclosed".to_owned();
    let pairs: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = admin.post("/admin/rules", &pairs).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("invalid pattern"), "{page}");
    assert!(page.contains("value=\"(unclosed\""));
    assert_eq!(before, app.fingerprint().await);

    let pairs: Vec<(&str, &str)> = draft.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = admin.post("/admin/rules", &pairs).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = admin.get("/admin/rules?done=rule-added").await.text().await.unwrap();
    assert!(
        page.contains("No horoscopes") && page.contains("Drop · everywhere · title has “horoscope”"),
        "{page}"
    );
    assert_eq!(
        app.create(&article("Horoscope: Virgo", "Life")).await["status"],
        "filtered"
    );
    let page = admin.get("/admin/rules").await.text().await.unwrap();
    assert!(page.contains(">once<br>"), "the page counts what the rule did: {page}");

    let (_, list) = send(&app, reqwest::Method::GET, "/api/v1/rules", None).await;
    let id = list["rules"][0]["id"].as_i64().unwrap().to_string();
    let change = |op: &'static str| vec![("csrf", csrf.clone()), ("id", id.clone()), ("op", op.to_owned())];
    // Applied to what is stored: the horoscope posted before the rule goes.
    let apply = change("apply");
    let pairs: Vec<(&str, &str)> = apply.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        admin.post("/admin/rules/change", &pairs).await.status(),
        StatusCode::SEE_OTHER
    );
    let mut page = String::new();
    for _ in 0..100 {
        page = admin.get("/admin/rules").await.text().await.unwrap();
        if page.contains("Applied to stored articles: done") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        page.contains("Applied to stored articles: done, 2 of about 2 looked at, 1 deleted"),
        "{page}"
    );
    assert_eq!(titles_in(&app, "life").await, Vec::<String>::new());
    let off = change("off");
    let pairs: Vec<(&str, &str)> = off.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        admin.post("/admin/rules/change", &pairs).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.create(&article("Horoscope: Libra", "Life")).await["status"],
        "created"
    );
    let delete = change("delete");
    let pairs: Vec<(&str, &str)> = delete.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        admin.post("/admin/rules/change", &pairs).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, list) = send(&app, reqwest::Method::GET, "/api/v1/rules", None).await;
    assert!(list["rules"].as_array().unwrap().is_empty());
    // From another site, nothing happens.
    let response = admin
        .post_from(
            "/admin/rules",
            &[("csrf", csrf.as_str()), ("name", "x")],
            Some("https://elsewhere.example"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_drop_rule_applied_to_what_is_stored_deletes_its_matches_for_good() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for n in 0..1200 {
        let title = if n % 100 == 7 {
            format!("Horoscope number {n}")
        } else {
            format!("Council notes {n}")
        };
        ids.push((title.clone(), n));
    }
    for chunk in ids.chunks(400) {
        let items: Vec<Value> = chunk
            .iter()
            .map(|(title, n)| json!({"title": title, "section": "Life", "body": "Text.", "external_id": format!("lib-{n}")}))
            .collect();
        assert_eq!(app.post_batch(&items).await.status(), 200);
    }
    let rule = create_rule(
        &app,
        &json!({"name": "No horoscopes", "action": "drop",
                "conditions": [{"field": "title", "words": "horoscope"}]}),
    )
    .await;
    let id = rule["id"].as_i64().unwrap();
    let tagging = create_rule(
        &app,
        &json!({"name": "Tag", "action": "tag", "tags": ["t"], "conditions": [{"field": "title", "words": "x"}]}),
    )
    .await;
    let (status, refused) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/rules/{}/apply", tagging["id"]),
        None,
    )
    .await;
    assert_eq!(status, 422, "{refused}");

    let (status, started) = send(&app, reqwest::Method::POST, &format!("/api/v1/rules/{id}/apply"), None).await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["applying"]["total"], 1200);
    let mut progress = Value::Null;
    for _ in 0..200 {
        let (_, rule) = send(&app, reqwest::Method::GET, &format!("/api/v1/rules/{id}"), None).await;
        progress = rule["applying"].clone();
        if progress["state"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(progress["state"], "done", "{progress}");
    assert_eq!(progress["looked_at"], 1200);
    assert_eq!(progress["deleted"], 12);
    let (_, life) = app.get_json("/api/v1/articles?section=life&limit=100").await;
    assert!(
        !life["articles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["title"].as_str().unwrap().starts_with("Horoscope")),
        "every match is gone"
    );
    let (_, rule) = send(&app, reqwest::Method::GET, &format!("/api/v1/rules/{id}"), None).await;
    assert_eq!(rule["matched"], 12);
    // Deleted as the API deletes: sent again, it is refused (410), even
    // with the rule switched off.
    send(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/v1/rules/{id}"),
        Some(&json!({"enabled": false})),
    )
    .await;
    let response = app
        .post_article(
            &json!({"title": "Horoscope number 7", "section": "Life", "body": "Text.", "external_id": "lib-7"}),
        )
        .await;
    assert_eq!(response.status(), 410);
}

/// A reader's rules see feed entries as they see API articles: placed
/// after storing, whichever door they came in by.
#[tokio::test]
async fn a_reader_mutes_one_feed_and_marks_anothers_entries_read() {
    let app = spawn_with(|c| c.allow_private_feeds = true).await;
    let site = feed_site().await;
    let ben = accounts::add(&app.db, "ben", "correct horse battery".into(), Role::Reader)
        .await
        .unwrap();
    let key = gazette::reading::keys::create(&app.db, ben.id, "script").await.unwrap();
    let me = async |method: reqwest::Method, path: &str, body: Option<Value>| -> (u16, Value) {
        let mut request = app
            .client
            .request(method, app.url(path))
            .header(reqwest::header::AUTHORIZATION, format!("Bearer {key}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    };
    let first = subscribe(&app, &format!("{site}/a.xml"), "Sport").await;
    let feed = first["feed"]["id"].as_i64().unwrap();
    app.placed().await;
    // Whole feeds: the first muted (what it stored, too), the second's
    // betting tips marked read as they arrive.
    let (status, muted) = me(
        reqwest::Method::POST,
        "/api/v1/me/rules",
        Some(json!({"name": "Not feed a", "action": "mute", "scope": {"feed": feed}, "conditions": []})),
    )
    .await;
    assert_eq!(status, 201, "{muted}");
    let (status, read) = me(
        reqwest::Method::POST,
        "/api/v1/me/rules",
        Some(
            json!({"name": "Tips are read", "action": "mark_read", "scope": {"feed": feed + 1},
                    "conditions": [{"field": "title", "words": "betting"}]}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{read}");
    let second = subscribe(&app, &format!("{site}/b.xml"), "Sport two").await;
    assert_eq!(second["feed"]["id"], feed + 1);
    app.placed().await;
    let mut unread = Vec::new();
    for _ in 0..200 {
        let (_, list) = me(reqwest::Method::GET, "/api/v1/me/unread", None).await;
        unread = list["articles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_owned())
            .collect();
        if unread.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    unread.sort();
    assert_eq!(unread, ["Captain signs new contract", "Cup final goes to extra time"]);
    assert_eq!(
        titles_in(&app, "sport").await.len(),
        4,
        "the feed is muted for ben alone"
    );
}
