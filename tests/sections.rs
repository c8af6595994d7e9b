//! Sections as an admin manages them, over HTTP: renamed (the old address
//! redirects, articles and feeds naming the old name land in the new),
//! described, placed and hidden in the navigation, merged (articles,
//! readers' read marks, feeds and rules follow, nothing lost), with a
//! "More" menu when the row is full; and the admin page that does it.

mod support;

use axum::Router;
use axum::routing::get;
use reqwest::Method;
use serde_json::{Value, json};
use support::browser::Browser;
use support::{TOKEN, TestApp, serve_locally, spawn_with};

use gazette::accounts::{self, Role};

const PASSWORD: &str = "correct horse battery";

async fn app() -> TestApp {
    spawn_with(|c| c.allow_private_feeds = true).await
}

async fn with_token(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, title: &str, section: &str) -> i64 {
    app.create(&json!({"title": title, "section": section, "body": format!("{title}. A paragraph of news.")}))
        .await["id"]
        .as_i64()
        .unwrap()
}

async fn section_of(app: &TestApp, id: i64) -> String {
    let (status, article) = app.get_json(&format!("/api/v1/articles/{id}")).await;
    assert_eq!(status, 200, "{article}");
    article["section"]["slug"]
        .as_str()
        .unwrap_or_else(|| panic!("{article}"))
        .to_owned()
}

async fn location(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location)
}

/// The navigation's links, in order: (name, under "More").
fn nav(html: &str) -> Vec<(String, bool)> {
    let nav = &html[html.find("class=\"sections-nav\"").expect("a navigation")..];
    let nav = &nav[..nav.find("</nav>").unwrap()];
    let more_at = nav.find("class=\"nav-more\"").unwrap_or(nav.len());
    let mut links = Vec::new();
    let mut rest = nav;
    let mut offset = 0;
    while let Some(at) = rest.find("<a href=\"/sections/") {
        let after = &rest[at..];
        let name_start = after.find('>').unwrap() + 1;
        let name_end = after[name_start..].find('<').unwrap() + name_start;
        links.push((after[name_start..name_end].to_owned(), offset + at > more_at));
        offset += at + name_end;
        rest = &after[name_end..];
    }
    links
}

#[tokio::test]
async fn a_section_renamed_described_placed_and_hidden() {
    let app = app().await;
    let first = post(&app, "Ferry timetable changes", "world news").await;
    post(&app, "Cup draw made", "Football").await;
    post(&app, "Title fight set", "Boxing").await;

    // Anyone may read a section; changing it needs a token or an admin.
    let (status, section) = app.get_json("/api/v1/sections/world-news").await;
    assert_eq!(status, 200);
    assert_eq!(section["name"], "world news");
    assert_eq!(section["hidden"], false);
    let refused = app
        .client
        .patch(app.url("/api/v1/sections/world-news"))
        .json(&json!({"name": "World"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // Bad changes name their field and change nothing.
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": 5}), "name"),
        (json!({"position": -1}), "position"),
        (json!({"position": "first"}), "position"),
        (json!({"hidden": "yes"}), "hidden"),
        (json!({"description": "x".repeat(501)}), "description"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let (status, error) = with_token(&app, Method::PATCH, "/api/v1/sections/world-news", Some(body)).await;
        assert_eq!(status, 422, "{error}");
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let (status, _) = with_token(
        &app,
        Method::PATCH,
        "/api/v1/sections/nowhere",
        Some(json!({"hidden": true})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, error) = with_token(
        &app,
        Method::PATCH,
        "/api/v1/sections/world-news",
        Some(json!({"name": "Boxing"})),
    )
    .await;
    assert_eq!(status, 409, "another section has that name: {error}");
    assert_eq!(
        app.get_json("/api/v1/sections/world-news").await.1["name"],
        "world news"
    );

    // Renamed: a new address, the old one redirects (page, feed, API).
    let (status, renamed) = with_token(
        &app,
        Method::PATCH,
        "/api/v1/sections/world-news",
        Some(json!({"name": "World", "description": "News from beyond the harbour.", "position": 1})),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["slug"], "world");
    assert_eq!(renamed["page_url"].as_str().unwrap().rsplit('/').next(), Some("world"));
    assert_eq!(
        location(&app, "/sections/world-news").await,
        (301, "/sections/world".to_owned())
    );
    assert_eq!(
        location(&app, "/sections/world-news/feed.atom").await,
        (301, "/sections/world/feed.atom".to_owned())
    );
    assert_eq!(
        location(&app, "/api/v1/sections/world-news").await,
        (301, "/api/v1/sections/world".to_owned())
    );
    assert_eq!(section_of(&app, first).await, "world");
    // An article still sent under the old name lands in the new section.
    let late = post(&app, "Late ferry news", "World News").await;
    assert_eq!(section_of(&app, late).await, "world");
    assert_eq!(app.get_json("/api/v1/sections/world").await.1["article_count"], 2);

    // The description on the page and in its feeds.
    let (_, page) = app.get_text("/sections/world").await;
    assert!(page.contains("News from beyond the harbour."), "{page}");
    let (_, atom) = app.get_text("/sections/world/feed.atom").await;
    assert!(
        atom.contains("<subtitle>News from beyond the harbour.</subtitle>"),
        "{atom}"
    );
    let (_, rss) = app.get_text("/sections/world/feed.rss").await;
    assert!(
        rss.contains("<description>News from beyond the harbour.</description>"),
        "{rss}"
    );

    // Placed first in the navigation; the others follow by name.
    let (_, front) = app.get_text("/").await;
    let names: Vec<String> = nav(&front).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["World", "Boxing", "Football"]);

    // Hidden: out of the navigation and the front page; its page, feed
    // and API still answer.
    let (status, hidden) = with_token(
        &app,
        Method::PATCH,
        "/api/v1/sections/boxing",
        Some(json!({"hidden": true})),
    )
    .await;
    assert_eq!(status, 200, "{hidden}");
    assert_eq!(hidden["hidden"], true);
    let (_, front) = app.get_text("/").await;
    let names: Vec<String> = nav(&front).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["World", "Football"]);
    assert!(
        !front.contains("Title fight set"),
        "a hidden section's story is off the front page"
    );
    let (status, page) = app.get_text("/sections/boxing").await;
    assert_eq!(status, 200);
    assert!(page.contains("Title fight set"));
    assert_eq!(app.get_text("/sections/boxing/feed.atom").await.0, 200);
    // The newest story, in a hidden section, does not lead the front page.
    post(&app, "Weigh-in tonight", "Boxing").await;
    let (_, front) = app.get_text("/").await;
    assert!(!front.contains("Weigh-in tonight"));
    assert!(front.contains("class=\"lead-title\""), "another story leads: {front}");

    // Clearing a field with null.
    let (_, cleared) = with_token(
        &app,
        Method::PATCH,
        "/api/v1/sections/world",
        Some(json!({"description": null, "position": null})),
    )
    .await;
    assert_eq!(cleared["description"], Value::Null);
    assert_eq!(cleared["position"], Value::Null);
}

const FEED: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Quay radio</title><link>http://quay.example/</link>
<item><title>Quay light repaired</title><link>http://quay.example/1</link><guid>q-1</guid><description>The quay light works again after a week.</description></item>
</channel></rss>"#;

#[tokio::test]
async fn merging_moves_articles_marks_feeds_and_rules_and_loses_nothing() {
    let app = app().await;
    let kept = post(&app, "Harbour budget agreed", "World").await;
    let mut moved = Vec::new();
    for title in ["Ferry fares rise", "Dock strike ends", "Night market returns"] {
        moved.push(post(&app, title, "International").await);
    }
    // A feed filing under the section being merged.
    let addr = serve_locally(Router::new().route(
        "/feed.xml",
        get(|| async { ([("content-type", "application/rss+xml")], FEED) }),
    ))
    .await;
    let (status, subscribed) = with_token(
        &app,
        Method::POST,
        "/api/v1/feeds",
        Some(json!({"url": format!("http://{addr}/feed.xml"), "section": "International"})),
    )
    .await;
    assert_eq!(status, 201, "{subscribed}");
    let feed_id = subscribed["feed"]["id"].clone();
    // A site rule scoped to the section being merged.
    let (status, rule) = with_token(
        &app,
        Method::POST,
        "/api/v1/rules",
        Some(json!({"name": "tag markets", "action": "tag", "tags": ["markets"],
                    "scope": {"section": "International"},
                    "conditions": [{"field": "title", "words": "market"}]})),
    )
    .await;
    assert_eq!(status, 201, "{rule}");

    // A reader who read all of International, and one story of World.
    accounts::add(&app.db, "ben", PASSWORD.into(), Role::Reader)
        .await
        .unwrap();
    let mut ben = Browser::new(&app);
    assert_eq!(ben.sign_in("ben", PASSWORD).await.status(), 303);
    let csrf = ben.csrf().await;
    // "Mark all as read" on International's page, as the reader sees it.
    let page = ben.get("/sections/international").await.text().await.unwrap();
    let form = &page[page.find("action=\"/reading/mark-all\"").expect("a mark-all form")..];
    let value = |name: &str| {
        let at = form.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
        form[at..at + form[at..].find('"').unwrap()].to_owned()
    };
    let (section, through) = (value("section"), value("through"));
    let done = ben
        .post(
            "/reading/mark-all",
            &[
                ("csrf", &csrf),
                ("section", &section),
                ("through", &through),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(done.status(), 303);
    let done = ben
        .post(
            &format!("/reading/{kept}"),
            &[("csrf", &csrf), ("do", "read"), ("next", "/")],
        )
        .await;
    assert_eq!(done.status(), 303);
    let unread_before = unread_ids(&mut ben).await;

    // Errors first: they change nothing.
    for (body, status, field) in [
        (json!({}), 422, Some("into")),
        (json!({"into": "international"}), 422, Some("into")),
        (json!({"into": "nowhere"}), 422, Some("into")),
        (json!({"into": "world", "also": 1}), 422, Some("also")),
    ] {
        let (got, error) = with_token(&app, Method::POST, "/api/v1/sections/international/merge", Some(body)).await;
        assert_eq!(got, status, "{error}");
        assert_eq!(error["error"]["field"].as_str(), field, "{error}");
    }
    let (status, _) = with_token(
        &app,
        Method::POST,
        "/api/v1/sections/nowhere/merge",
        Some(json!({"into": "world"})),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(app.get_json("/api/v1/sections/international").await.0, 200);

    let (status, merged) = with_token(
        &app,
        Method::POST,
        "/api/v1/sections/international/merge",
        Some(json!({"into": "world"})),
    )
    .await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["slug"], "world");
    // Articles moved, counted, nothing lost.
    for id in moved.iter().chain([&kept]) {
        assert_eq!(section_of(&app, *id).await, "world");
    }
    assert_eq!(merged["article_count"], 5, "four posted and the feed's one: {merged}");
    assert_eq!(
        location(&app, "/sections/international").await,
        (301, "/sections/world".to_owned())
    );
    let (_, sections) = app.get_json("/api/v1/sections").await;
    assert!(!sections.to_string().contains("international"), "{sections}");
    // The reader's marks are as they were.
    assert_eq!(unread_ids(&mut ben).await, unread_before);
    // The feed files under the target now, and its next entries land there.
    let (_, feed) = with_token(&app, Method::GET, &format!("/api/v1/feeds/{feed_id}"), None).await;
    assert_eq!(feed["section"], "World", "{feed}");
    // An article still sent under the merged name lands in the target.
    let late = post(&app, "Market stalls return", "International").await;
    assert_eq!(section_of(&app, late).await, "world");
    // The rule scoped to the merged section now scopes the target.
    let (_, rule) = with_token(&app, Method::GET, &format!("/api/v1/rules/{}", rule["id"]), None).await;
    assert_eq!(rule["scope"], json!({"section": "world"}), "{rule}");
    let (_, late) = app.get_json(&format!("/api/v1/articles/{late}")).await;
    assert!(late["tags"].to_string().contains("markets"), "{late}");
}

async fn unread_ids(browser: &mut Browser<'_>) -> Vec<i64> {
    let unread: Value = browser.get("/api/v1/me/unread?limit=100").await.json().await.unwrap();
    let mut ids: Vec<i64> = unread["articles"]
        .as_array()
        .unwrap_or_else(|| panic!("{unread}"))
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn a_full_navigation_row_ends_in_a_more_menu_that_needs_no_script() {
    let app = app().await;
    let names = [
        "Arts and Culture",
        "Business",
        "Climate and Environment",
        "Education",
        "Football",
        "Health and Science",
        "Local Politics",
        "Motoring",
        "Opinion",
        "Property",
        "Technology",
        "World",
    ];
    for name in names {
        post(&app, &format!("{name} story"), name).await;
    }
    let (_, front) = app.get_text("/").await;
    let links = nav(&front);
    assert_eq!(links.len(), names.len(), "every section is reachable: {links:?}");
    let in_row = links.iter().filter(|(_, more)| !more).count();
    assert!(in_row >= 5 && in_row < names.len(), "{links:?}");
    assert!(
        front.contains("<details class=\"nav-more\">"),
        "a menu that opens without script"
    );
    // Order kept: the row, then the menu, by name.
    let order: Vec<&str> = links.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(order, names);
}

#[tokio::test]
async fn the_sections_page_renames_and_merges_without_script() {
    let app = app().await;
    post(&app, "Ferry timetable changes", "world news").await;
    post(&app, "Harbour budget agreed", "World").await;
    accounts::add(&app.db, "ada", PASSWORD.into(), Role::Admin)
        .await
        .unwrap();
    accounts::add(&app.db, "ben", PASSWORD.into(), Role::Reader)
        .await
        .unwrap();

    let mut ben = Browser::new(&app);
    assert_eq!(ben.sign_in("ben", PASSWORD).await.status(), 303);
    assert_eq!(ben.get("/admin/sections").await.status(), 403);

    let mut ada = Browser::new(&app);
    assert_eq!(ada.sign_in("ada", PASSWORD).await.status(), 303);
    let page = ada.get("/admin/sections").await.text().await.unwrap();
    assert!(page.contains("world news") && page.contains("Merge into"), "{page}");
    let csrf = ada.csrf_on("/admin/sections").await;
    let bad = ada
        .post(
            "/admin/sections",
            &[
                ("csrf", &csrf),
                ("do", "save"),
                ("slug", "world"),
                ("name", "World"),
                ("position", "first"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("position must be a whole number"));
    let saved = ada
        .post(
            "/admin/sections",
            &[
                ("csrf", &csrf),
                ("do", "save"),
                ("slug", "world"),
                ("name", "World"),
                ("description", "Beyond the harbour."),
                ("position", "2"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let merged = ada
        .post(
            "/admin/sections",
            &[
                ("csrf", &csrf),
                ("do", "merge"),
                ("slug", "world-news"),
                ("into", "world"),
            ],
        )
        .await;
    assert_eq!(merged.status(), 303);
    assert_eq!(merged.headers()["location"], "/admin/sections?done=section-merged");
    let (_, world) = app.get_json("/api/v1/sections/world").await;
    assert_eq!(world["article_count"], 2, "{world}");
    assert_eq!(world["description"], "Beyond the harbour.");
    assert_eq!(world["position"], 2);
    // A form from another site is refused.
    let forged = ada
        .post_from(
            "/admin/sections",
            &[("csrf", &csrf), ("do", "save"), ("slug", "world"), ("name", "Hijacked")],
            Some("https://elsewhere.example"),
        )
        .await;
    assert_eq!(forged.status(), 403);
    assert_eq!(app.get_json("/api/v1/sections/world").await.1["name"], "World");
}

#[tokio::test]
async fn a_scheduled_article_is_not_counted_until_it_is_due() {
    let app = app().await;
    post(&app, "Out now", "World").await;
    let future = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    app.create(&json!({"title": "Out later", "section": "World", "body": "Later.", "published_at": future}))
        .await;
    let (_, sections) = app.get_json("/api/v1/sections").await;
    assert_eq!(sections["sections"][0]["article_count"], 1, "{sections}");
    assert_eq!(app.get_json("/api/v1/sections/world").await.1["article_count"], 1);
}
