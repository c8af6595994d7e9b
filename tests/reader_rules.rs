//! A reader's own rules over HTTP (issue 27): `/api/v1/me/rules` and the
//! account page's form. Muting takes a story out of that reader's pages,
//! counts, Unread page, search results and Google Reader and Fever syncs,
//! and no one else's; "show muted" brings it back; `mark_read` and `save`
//! act on new stories.

mod support;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};
use support::browser::Browser;
use support::{TestApp, article, spawn_app};

use gazette::accounts::{self, Role, app_passwords};

const PASSWORD: &str = "correct horse battery";
const READING_LIST: &str = "user/-/state/com.google/reading-list";

struct Readers {
    app: TestApp,
    /// Personal API keys: ada (admin) and ben (reader).
    ada: String,
    ben: String,
    ben_id: i64,
}

async fn readers() -> Readers {
    let app = spawn_app().await;
    let ada = accounts::add(&app.db, "ada", PASSWORD.into(), Role::Admin)
        .await
        .unwrap();
    let ben = accounts::add(&app.db, "ben", PASSWORD.into(), Role::Reader)
        .await
        .unwrap();
    let ada_key = gazette::reading::keys::create(&app.db, ada.id, "script").await.unwrap();
    let ben_key = gazette::reading::keys::create(&app.db, ben.id, "script").await.unwrap();
    Readers {
        app,
        ada: ada_key,
        ben: ben_key,
        ben_id: ben.id,
    }
}

async fn story(app: &TestApp, title: &str, section: &str) -> i64 {
    app.create(&article(title, section)).await["id"].as_i64().unwrap()
}

/// One JSON request with a personal key: status and body (null if none).
async fn call(app: &TestApp, key: &str, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = app
        .client
        .request(method.parse().unwrap(), app.url(path))
        .header(AUTHORIZATION, format!("Bearer {key}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Creates a rule and waits until its run over what is stored (a mute's)
/// is done.
async fn rule(app: &TestApp, key: &str, rule: Value) -> i64 {
    let (status, created) = call(app, key, "POST", "/api/v1/me/rules", Some(rule)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    for _ in 0..500 {
        let (_, now) = call(app, key, "GET", &format!("/api/v1/me/rules/{id}"), None).await;
        if now["applying"].is_null() || now["applying"]["state"] == "done" {
            return id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("rule {id} was never applied to what is stored");
}

async fn signed_in<'a>(app: &'a TestApp, name: &str) -> Browser<'a> {
    let mut browser = Browser::new(app);
    assert_eq!(browser.sign_in(name, PASSWORD).await.status(), StatusCode::SEE_OTHER);
    browser
}

async fn page(browser: &mut Browser<'_>, path: &str) -> String {
    let response = browser.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

async fn unread_total(app: &TestApp, key: &str) -> i64 {
    let (_, me) = call(app, key, "GET", "/api/v1/me", None).await;
    me["unread"]["total"]["unread"].as_i64().unwrap()
}

#[tokio::test]
async fn muting_words_hides_stories_from_one_reader_everywhere_until_shown() {
    let Readers { app, ada, ben, .. } = readers().await;
    let before = story(&app, "Your horoscope for Tuesday", "Lifestyle").await;
    story(&app, "Harbour bridge reopens", "City").await;
    app.placed().await;

    let id = rule(
        &app,
        &ben,
        json!({ "name": "No horoscopes", "action": "mute",
                "conditions": [{ "field": "title", "words": "HOROSCOPE" }] }),
    )
    .await;
    // After the rule: muted as it is placed.
    let after = story(&app, "Weekend Horoscope special", "Lifestyle").await;
    app.placed().await;

    let (_, listed) = call(&app, &ben, "GET", &format!("/api/v1/me/rules/{id}"), None).await;
    assert_eq!(listed["matched"], 2, "{listed}");
    assert_eq!(listed["applying"]["muted"], 1, "the stored one");
    assert_eq!(unread_total(&app, &ben).await, 1);
    assert_eq!(unread_total(&app, &ada).await, 3, "nobody else's view changes");

    let mut ben_web = signed_in(&app, "ben").await;
    let search = page(&mut ben_web, "/search?q=horoscope").await;
    assert!(search.contains("horoscope"), "the query is shown");
    for path in ["/", "/sections/lifestyle", "/search?q=horoscope", "/unread"] {
        let html = page(&mut ben_web, path).await;
        for id in [before, after] {
            assert!(
                !html.contains(&format!("data-id=\"{id}\"")),
                "{path} shows muted story {id} to ben"
            );
        }
    }
    let mut ada_web = signed_in(&app, "ada").await;
    let search = page(&mut ada_web, "/search?q=horoscope").await;
    assert!(search.contains(&format!("data-id=\"{before}\"")) && search.contains(&format!("data-id=\"{after}\"")));
    let front = page(&mut ben_web, "/").await;
    assert!(front.contains("Harbour bridge reopens"));
    // Cards are cut out whole: the page's tags still pair up.
    for tag in ["article", "section"] {
        assert_eq!(
            front.matches(&format!("<{tag}")).count(),
            front.matches(&format!("</{tag}>")).count(),
            "<{tag}> pairs on ben's front page"
        );
    }
    let (_, unread) = call(&app, &ben, "GET", "/api/v1/me/unread", None).await;
    let ids: Vec<i64> = unread["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert!(!ids.contains(&before) && !ids.contains(&after));
    // One more, muted as it is placed, while ben's muted set is kept in
    // memory: read on from where placing was, not read again.
    let later = story(&app, "Horoscope: what Wednesday holds", "Lifestyle").await;
    app.placed().await;
    let html = page(&mut ben_web, "/sections/lifestyle").await;
    assert!(
        !html.contains(&format!("data-id=\"{later}\"")),
        "muted as it was placed"
    );
    assert_eq!(unread_total(&app, &ben).await, 1);
    let (_, rule_now) = call(&app, &ben, "GET", &format!("/api/v1/me/rules/{id}"), None).await;
    assert_eq!(rule_now["matched"], 3);
    // The story's own page still opens (a link followed on purpose).
    let (_, article) = app.get_json(&format!("/api/v1/articles/{before}")).await;
    let path = article["page_url"].as_str().unwrap().replacen(&app.base, "", 1);
    assert!(page(&mut ben_web, &path).await.contains("Your horoscope for Tuesday"));
    assert!(page(&mut ada_web, "/").await.contains("Weekend Horoscope special"));
    assert!(app.get_text("/").await.1.contains("Weekend Horoscope special"));

    // "Show muted" brings them back, for ben alone.
    let (status, me) = call(&app, &ben, "PATCH", "/api/v1/me", Some(json!({ "show_muted": true }))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["show_muted"], true);
    assert_eq!(me["unread"]["total"]["unread"], 3, "the article opened above is read");
    assert!(
        page(&mut ben_web, "/sections/lifestyle")
            .await
            .contains("Weekend Horoscope special")
    );
    call(&app, &ben, "PATCH", "/api/v1/me", Some(json!({ "show_muted": false }))).await;
    assert!(!page(&mut ben_web, "/sections/lifestyle").await.contains("oroscope"));

    // Deleting the rule takes its mutes with it.
    let (status, _) = call(&app, &ben, "DELETE", &format!("/api/v1/me/rules/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        page(&mut ben_web, "/sections/lifestyle")
            .await
            .contains("Weekend Horoscope special")
    );
    assert_eq!(unread_total(&app, &ben).await, 3);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM article_states WHERE muted_by IS NOT NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn a_muted_section_and_source_leave_pages_counts_and_both_app_protocols() {
    let Readers { app, ada, ben, ben_id } = readers().await;
    let ben_user = gazette::accounts::User {
        id: ben_id,
        name: "ben".to_owned(),
        role: Role::Reader,
    };
    let app_password = app_passwords::create(&app.db, &ben_user, "tablet").await.unwrap();
    let mut boxing = Vec::new();
    for n in 0..3 {
        boxing.push(story(&app, &format!("Title fight {n}"), "Boxing").await);
    }
    let football = story(&app, "Cup draw made", "Football").await;
    let mut tabloid = article("Striker in nightclub row", "Football");
    tabloid["source"] = json!("The Daily Bugle");
    let tabloid = app.create(&tabloid).await["id"].as_i64().unwrap();
    app.placed().await;

    rule(
        &app,
        &ben,
        json!({ "name": "No boxing", "action": "mute", "scope": { "section": "Boxing" }, "conditions": [] }),
    )
    .await;
    rule(
        &app,
        &ben,
        json!({ "name": "Not the Bugle", "action": "mute",
                "conditions": [{ "field": "source", "words": "daily bugle" }] }),
    )
    .await;

    // The web: the front page's Boxing block and the tabloid are gone.
    let mut web = signed_in(&app, "ben").await;
    let front = page(&mut web, "/").await;
    assert!(!front.contains("Title fight") && !front.contains("nightclub"));
    assert!(front.contains("Cup draw made"));
    assert!(!front.contains("class=\"block-title\"><a href=\"/sections/boxing\""));
    // Nor is Boxing in the reader's navigation; anonymous visitors see it.
    assert!(!front.contains("<a href=\"/sections/boxing\""), "{front}");
    assert!(
        app.get_text("/")
            .await
            .1
            .contains("<li><a href=\"/sections/boxing\">Boxing</a></li>")
    );
    let (_, me) = call(&app, &ben, "GET", "/api/v1/me", None).await;
    assert_eq!(me["unread"]["total"]["unread"], 1, "{me}");
    let boxing_count = me["unread"]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slug"] == "boxing")
        .unwrap()["unread"]
        .clone();
    assert_eq!(boxing_count, 0);
    assert_eq!(unread_total(&app, &ada).await, 5);

    // Google Reader: the reading list and its count.
    let response = app
        .client
        .post(app.url("/api/greader/accounts/ClientLogin"))
        .form(&[("Email", "ben"), ("Passwd", app_password.as_str())])
        .send()
        .await
        .unwrap();
    let body = response.text().await.unwrap();
    let auth = body.lines().find_map(|l| l.strip_prefix("Auth=")).unwrap().to_owned();
    let greader = async |path: &str| -> Value {
        app.client
            .get(app.url(&format!("/api/greader/reader/api/0{path}")))
            .header(AUTHORIZATION, format!("GoogleLogin auth={auth}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    };
    let ids = greader(&format!(
        "/stream/items/ids?s={READING_LIST}&xt=user/-/state/com.google/read&n=100"
    ))
    .await;
    let ids: Vec<i64> = ids["itemRefs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, vec![football]);
    let counts = greader("/unread-count?output=json").await;
    let reading_list = counts["unreadcounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == READING_LIST)
        .unwrap();
    assert_eq!(reading_list["count"], 1);

    // Fever: the unread ids.
    let key = app_passwords::fever_key("ben", &app_password);
    let fever: Value = app
        .client
        .post(app.url("/api/fever/?api&unread_item_ids"))
        .form(&[("api_key", key.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fever["unread_item_ids"], football.to_string());
    assert!(!boxing.contains(&tabloid));
}

#[tokio::test]
async fn mark_read_and_save_rules_act_on_new_stories() {
    let Readers { app, ben, .. } = readers().await;
    let old = story(&app, "Results from last season", "Football").await;
    app.placed().await;
    rule(
        &app,
        &ben,
        json!({ "name": "Results are read", "action": "mark_read",
                "conditions": [{ "field": "title", "regex": "(?i)^results" }] }),
    )
    .await;
    let mut tagged = article("Final tonight", "Football");
    tagged["tags"] = json!(["Cup Final"]);
    rule(
        &app,
        &ben,
        json!({ "name": "Keep the final", "action": "save", "scope": { "section": "football" },
                "conditions": [{ "field": "tags", "words": "cup final" }] }),
    )
    .await;
    let results = story(&app, "Results of the weekend", "Football").await;
    let final_id = app.create(&tagged).await["id"].as_i64().unwrap();
    let other = story(&app, "Manager speaks", "Football").await;
    app.placed().await;

    let (_, unread) = call(&app, &ben, "GET", "/api/v1/me/unread", None).await;
    let mut ids: Vec<i64> = unread["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        vec![old, final_id, other],
        "new results are read; the old ones untouched"
    );
    assert!(!ids.contains(&results));
    let (_, saved) = call(&app, &ben, "GET", "/api/v1/me/saved", None).await;
    let saved: Vec<i64> = saved["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(saved, vec![final_id]);
    let (_, rules) = call(&app, &ben, "GET", "/api/v1/me/rules", None).await;
    let matched: Vec<i64> = rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["matched"].as_i64().unwrap())
        .collect();
    assert_eq!(matched, vec![1, 1]);
}

#[tokio::test]
async fn reader_rules_are_checked_kept_private_and_refused_whole() {
    let Readers { app, ada, ben, .. } = readers().await;
    story(&app, "Market opens higher", "Business").await;
    app.placed().await;
    // A key's first use is recorded: before the fingerprint.
    call(&app, &ben, "GET", "/api/v1/me/rules", None).await;
    let before = app.fingerprint().await;
    let wrong = [
        (
            json!({ "name": "x", "action": "drop", "conditions": [{ "field": "title", "words": "a" }] }),
            "action",
        ),
        (
            json!({ "name": "x", "action": "mute", "conditions": [{ "field": "body", "words": "a" }] }),
            "conditions[0].field",
        ),
        (json!({ "name": "x", "action": "mute", "conditions": [] }), "conditions"),
        (
            json!({ "name": "", "action": "mute", "conditions": [{ "field": "title", "words": "a" }] }),
            "name",
        ),
        (
            json!({ "name": "x", "action": "mute", "conditions": [{ "field": "title", "regex": "(" }] }),
            "conditions[0].regex",
        ),
        (
            json!({ "name": "x", "action": "mute", "conditions": [{ "field": "title", "regex": "(a{1000}){1000}" }] }),
            "conditions[0].regex",
        ),
        (json!({ "name": "x", "action": "shout", "conditions": [] }), "rule"),
    ];
    for (body, field) in wrong {
        let (status, answer) = call(&app, &ben, "POST", "/api/v1/me/rules", Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    let malformed = app
        .client
        .post(app.url("/api/v1/me/rules"))
        .header(AUTHORIZATION, format!("Bearer {ben}"))
        .header(CONTENT_TYPE, "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let form = app
        .client
        .post(app.url("/api/v1/me/rules"))
        .header(AUTHORIZATION, format!("Bearer {ben}"))
        .form(&[("name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let anonymous = app.client.get(app.url("/api/v1/me/rules")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.fingerprint().await, before, "refused requests change nothing");

    // One reader's rules are theirs alone.
    let id = rule(
        &app,
        &ben,
        json!({ "name": "Quiet markets", "action": "mute", "conditions": [{ "field": "title", "words": "market" }] }),
    )
    .await;
    let (status, _) = call(&app, &ada, "GET", &format!("/api/v1/me/rules/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, &ada, "DELETE", &format!("/api/v1/me/rules/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = call(&app, &ada, "GET", "/api/v1/me/rules", None).await;
    assert_eq!(listed["rules"], json!([]));
    // A reader cannot reach the site's rules.
    let mut web = signed_in(&app, "ben").await;
    assert_eq!(web.get("/api/v1/rules").await.status(), StatusCode::FORBIDDEN);

    // PATCH merges; a change that breaks the rule is refused whole.
    let (status, changed) = call(
        &app,
        &ben,
        "PATCH",
        &format!("/api/v1/me/rules/{id}"),
        Some(json!({ "name": "Quieter markets" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(changed["name"], "Quieter markets");
    assert_eq!(changed["conditions"][0]["words"], "market");
    let (status, _) = call(
        &app,
        &ben,
        "PATCH",
        &format!("/api/v1/me/rules/{id}"),
        Some(json!({ "action": "tag" })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // From a browser: the session's CSRF header and this site's Origin.
    let cookie = format!("gazette_session={}", web.cookie.clone().unwrap());
    let no_csrf = app
        .client
        .post(app.url("/api/v1/me/rules"))
        .header("cookie", &cookie)
        .header("origin", app.base.clone())
        .json(&json!({ "name": "x", "action": "mute", "conditions": [{ "field": "title", "words": "a" }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);

    // At most 100 rules a reader.
    for n in 1..100 {
        let (status, _) = call(
            &app,
            &ben,
            "POST",
            "/api/v1/me/rules",
            Some(json!({ "name": format!("r{n}"), "action": "mark_read",
                         "conditions": [{ "field": "title", "words": format!("w{n}") }] })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, answer) = call(
        &app,
        &ben,
        "POST",
        "/api/v1/me/rules",
        Some(json!({ "name": "one too many", "action": "mute", "conditions": [{ "field": "title", "words": "z" }] })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
}

#[tokio::test]
async fn the_account_page_adds_lists_and_deletes_rules() {
    let Readers { app, ben, .. } = readers().await;
    story(&app, "Horoscope: the stars align", "Lifestyle").await;
    story(&app, "Tram line extended", "City").await;
    app.placed().await;
    let mut web = signed_in(&app, "ben").await;
    let csrf = web.csrf().await;
    let response = web
        .post(
            "/account/rules",
            &[
                ("csrf", csrf.as_str()),
                ("name", "Bad pattern"),
                ("action", "mute"),
                ("field", "title"),
                ("kind", "regex"),
                ("text", "("),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("invalid pattern"));
    let response = web
        .post(
            "/account/rules",
            &[
                ("csrf", csrf.as_str()),
                ("name", "No city news"),
                ("action", "mute"),
                ("field", "section"),
                ("section", "city"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let account = page(&mut web, "/account").await;
    assert!(account.contains("No city news") && account.contains("Mute · in section city · everything"));
    let front = page(&mut web, "/").await;
    assert!(!front.contains("Tram line extended") && front.contains("the stars align"));
    let (_, rules) = call(&app, &ben, "GET", "/api/v1/me/rules", None).await;
    let id = rules["rules"][0]["id"].as_i64().unwrap();
    // From another site: refused.
    let response = web
        .post_from(
            &format!("/account/rules/{id}/delete"),
            &[("csrf", csrf.as_str())],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = web
        .post(&format!("/account/rules/{id}/delete"), &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(!page(&mut web, "/account").await.contains("No city news"));
    assert!(page(&mut web, "/").await.contains("Tram line extended"));
}
