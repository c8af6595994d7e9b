//! Reading state over HTTP: what a signed-in reader has read and saved,
//! on the pages, through the forms and through /api/v1/me, and that no
//! reader ever sees another's state or an anonymous reader anyone's.

mod support;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, LOCATION};
use serde_json::{Value, json};
use support::browser::Browser;
use support::{TestApp, article, spawn_app};

use gazette::accounts::{self, Role};

const PASSWORD: &str = "correct horse battery";

async fn app_with_readers() -> TestApp {
    let app = spawn_app().await;
    accounts::add(&app.db, "ada", PASSWORD.into(), Role::Admin)
        .await
        .unwrap();
    accounts::add(&app.db, "ben", PASSWORD.into(), Role::Reader)
        .await
        .unwrap();
    app
}

/// Posts a story and returns its id.
async fn story(app: &TestApp, title: &str, section: &str) -> i64 {
    app.create(&article(title, section)).await["id"].as_i64().unwrap()
}

async fn signed_in<'a>(app: &'a TestApp, name: &str) -> Browser<'a> {
    let mut browser = Browser::new(app);
    assert_eq!(browser.sign_in(name, PASSWORD).await.status(), StatusCode::SEE_OTHER);
    browser
}

/// The class attribute of the card of story `id` on a page.
fn card_class(html: &str, id: i64) -> String {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(&format!("[data-id=\"{id}\"]")).unwrap();
    doc.select(&selector)
        .next()
        .unwrap_or_else(|| panic!("story {id} is on the page"))
        .value()
        .attr("class")
        .unwrap_or_default()
        .to_owned()
}

/// A section's unread count in the navigation, if shown.
fn nav_count(html: &str, section_id: i64) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(&format!("[data-unread-section=\"{section_id}\"]")).unwrap();
    doc.select(&selector).next().map(|e| e.text().collect())
}

async fn me(browser: &mut Browser<'_>) -> Value {
    browser.get("/api/v1/me").await.json().await.unwrap()
}

fn unread_of(me: &Value, slug: &str) -> i64 {
    me["unread"]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slug"] == slug)
        .map_or(0, |s| s["unread"].as_i64().unwrap())
}

#[tokio::test]
async fn opening_a_story_reads_it_and_the_buttons_mark_and_save() {
    let app = app_with_readers().await;
    let first = story(&app, "Heavyweight bout set for spring", "Boxing").await;
    let second = story(&app, "Title defence postponed", "Boxing").await;
    let mut ada = signed_in(&app, "ada").await;

    let page = ada.get("/sections/boxing").await.text().await.unwrap();
    assert!(!card_class(&page, first).contains("is-read"));
    assert_eq!(nav_count(&page, 1).as_deref(), Some("2"));
    assert_eq!(unread_of(&me(&mut ada).await, "boxing"), 2);

    // Opening the story reads it: the article page says so at once...
    let short = ada.get(&format!("/articles/{first}")).await;
    let canonical = short.headers()[LOCATION].to_str().unwrap().to_owned();
    let html = ada.get(&canonical).await.text().await.unwrap();
    assert!(
        card_class(&html, first).contains("is-read"),
        "the article page shows it read"
    );
    assert!(html.contains("Mark unread"));
    // ...and so does every listing, and the count.
    let page = ada.get("/sections/boxing").await.text().await.unwrap();
    assert!(card_class(&page, first).contains("is-read"));
    assert!(!card_class(&page, second).contains("is-read"));
    assert_eq!(nav_count(&page, 1).as_deref(), Some("1"));

    // The buttons: a plain form that redirects back.
    let csrf = ada.csrf_on("/sections/boxing").await;
    let id = first.to_string();
    let response = ada
        .post(
            &format!("/reading/{id}"),
            &[("csrf", &csrf), ("do", "unread"), ("next", "/sections/boxing")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/sections/boxing");
    let response = ada
        .post(
            &format!("/reading/{second}"),
            &[("csrf", &csrf), ("do", "save"), ("next", "https://evil.example/")],
        )
        .await;
    assert_eq!(response.headers()[LOCATION], "/", "next never leaves the site");
    let page = ada.get("/sections/boxing").await.text().await.unwrap();
    assert!(!card_class(&page, first).contains("is-read"), "marked unread again");
    assert!(card_class(&page, second).contains("is-saved"));
    let saved = ada.get("/saved").await.text().await.unwrap();
    assert!(saved.contains("Title defence postponed") && !saved.contains("Heavyweight bout"));

    // Asked for JSON (the script), the same form answers the new state.
    let response = app
        .client
        .post(app.url(&format!("/reading/{second}")))
        .header("cookie", format!("gazette_session={}", ada.cookie.clone().unwrap()))
        .header("origin", app.base.clone())
        .header("accept", "application/json")
        .form(&[("csrf", csrf.as_str()), ("do", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let state: Value = response.json().await.unwrap();
    assert_eq!(state, json!({ "id": second, "read": true, "saved": true }));

    // Without the token, or from another site: refused, nothing changed.
    let before = app.fingerprint().await;
    let response = ada
        .post(&format!("/reading/{first}"), &[("csrf", "0"), ("do", "read")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = ada
        .post_from(
            &format!("/reading/{first}"),
            &[("csrf", &csrf), ("do", "read")],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = ada
        .post(&format!("/reading/{first}"), &[("csrf", &csrf), ("do", "burn")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = ada.post("/reading/999999", &[("csrf", &csrf), ("do", "read")]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn mark_all_read_spares_what_arrives_meanwhile() {
    let app = app_with_readers().await;
    story(&app, "Cup draw made", "Football").await;
    story(&app, "Striker signs", "Football").await;
    let other = story(&app, "Ring returns", "Boxing").await;
    let mut ben = signed_in(&app, "ben").await;

    // The page's form carries the newest story it knew of...
    let page = ben.get("/sections/football").await.text().await.unwrap();
    let at = page.find("name=\"through\" value=\"").unwrap() + 22;
    let through: String = page[at..].chars().take_while(char::is_ascii_digit).collect();
    let csrf = ben.csrf_on("/sections/football").await;
    // ...and a story posted after the page was shown stays unread.
    let late = story(&app, "Late winner", "Football").await;
    let response = ben
        .post(
            "/reading/mark-all",
            &[
                ("csrf", &csrf),
                ("section", "1"),
                ("through", &through),
                ("next", "/sections/football"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let state = me(&mut ben).await;
    assert_eq!(unread_of(&state, "football"), 1);
    assert_eq!(unread_of(&state, "boxing"), 1, "other sections untouched");
    let unread = ben.get("/unread").await.text().await.unwrap();
    assert!(unread.contains("Late winner") && unread.contains("Ring returns"));
    assert!(!unread.contains("Cup draw made"));
    card_class(&unread, late);
    card_class(&unread, other);

    // Hiding read stories: the section lists only the late one.
    let csrf = ben.csrf().await;
    ben.post("/account/settings", &[("csrf", &csrf), ("hide_read", "on")])
        .await;
    let page = ben.get("/sections/football").await.text().await.unwrap();
    assert!(page.contains("Late winner") && !page.contains("Striker signs"));
    // Another reader still sees everything, and nobody's marks.
    let mut ada = signed_in(&app, "ada").await;
    let page = ada.get("/sections/football").await.text().await.unwrap();
    assert!(page.contains("Striker signs"));
    assert!(!card_class(&page, late).contains("is-read"));
    assert_eq!(unread_of(&me(&mut ada).await, "football"), 3);
    // An anonymous reader gets the shared page: no marks, no buttons.
    let (_, anonymous) = app.get_text("/sections/football").await;
    assert!(!anonymous.contains("story-actions") && !anonymous.contains('\u{1}'));
    assert!(anonymous.contains("Sign in"));
}

#[tokio::test]
async fn the_me_api_with_a_personal_key() {
    let app = app_with_readers().await;
    let a = story(&app, "Morning bulletin", "News").await;
    let b = story(&app, "Evening bulletin", "News").await;
    let mut ben = signed_in(&app, "ben").await;
    let csrf = ben.csrf().await;
    let page = ben
        .post("/account/keys", &[("csrf", &csrf), ("name", "phone")])
        .await
        .text()
        .await
        .unwrap();
    let at = page.find("gzk_").expect("the key is shown once");
    let key = page[at..at + 68].to_owned();
    assert!(
        !ben.get("/account").await.text().await.unwrap().contains(&key),
        "shown only once"
    );
    let stored: i64 = app
        .count("SELECT count(*) FROM api_keys WHERE key_hash NOT LIKE 'gzk_%'")
        .await;
    assert_eq!(stored, 1, "stored as a digest");

    let api = |method: reqwest::Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .header(AUTHORIZATION, format!("Bearer {key}"))
    };
    let me: Value = api(reqwest::Method::GET, "/api/v1/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "ben");
    assert_eq!(me["unread"]["total"], json!({ "unread": 2, "more": false }));

    let state: Value = api(reqwest::Method::PUT, &format!("/api/v1/me/read/{a}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state, json!({ "id": a, "read": true, "saved": false }));
    api(reqwest::Method::PUT, &format!("/api/v1/me/saved/{b}"))
        .send()
        .await
        .unwrap();
    let unread: Value = api(reqwest::Method::GET, "/api/v1/me/unread?section=news")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<i64> = unread["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![b]);
    let saved: Value = api(reqwest::Method::GET, "/api/v1/me/saved")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["articles"][0]["id"], b);
    assert_eq!(saved["articles"][0]["saved"], true);
    api(reqwest::Method::DELETE, &format!("/api/v1/me/read/{a}"))
        .send()
        .await
        .unwrap();

    // Many at once, by ids or by section and time.
    let response = api(reqwest::Method::POST, "/api/v1/me/read")
        .json(&json!({ "ids": [a, b, 999999] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "marked": 2 }));
    api(reqwest::Method::DELETE, &format!("/api/v1/me/read/{b}"))
        .send()
        .await
        .unwrap();
    let response = api(reqwest::Method::POST, "/api/v1/me/read")
        .json(&json!({ "section": "news", "before": "2999-01-01T00:00:00Z" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = api(reqwest::Method::GET, "/api/v1/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["unread"]["total"]["unread"], 0);

    // Errors, in the API's JSON shape, and nothing changed by them.
    let before = app.fingerprint().await;
    for (method, path, body, status) in [
        (
            reqwest::Method::PUT,
            "/api/v1/me/read/999999",
            None,
            StatusCode::NOT_FOUND,
        ),
        (reqwest::Method::PUT, "/api/v1/me/read/abc", None, StatusCode::NOT_FOUND),
        (
            reqwest::Method::POST,
            "/api/v1/me/read",
            Some(json!({})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            reqwest::Method::POST,
            "/api/v1/me/read",
            Some(json!({ "ids": [1], "colour": 1 })),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            reqwest::Method::POST,
            "/api/v1/me/read",
            Some(json!({ "before": "yesterday" })),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            reqwest::Method::POST,
            "/api/v1/me/read",
            Some(json!({ "section": "nope", "before": "2020-01-01T00:00:00Z" })),
            StatusCode::NOT_FOUND,
        ),
        (
            reqwest::Method::GET,
            "/api/v1/me/unread?limit=0",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let mut request = api(method.clone(), path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
        let error: Value = response.json().await.unwrap();
        assert!(error["error"]["message"].is_string(), "{method} {path}: {error}");
    }
    assert_eq!(app.fingerprint().await, before);

    // A wrong key, no key; a session cookie may read but not write without its token.
    let response = app
        .client
        .get(app.url("/api/v1/me"))
        .header(AUTHORIZATION, "Bearer gzk_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(ben.get("/api/v1/me").await.status(), StatusCode::OK);
    let cookie = format!("gazette_session={}", ben.cookie.clone().unwrap());
    let response = app
        .client
        .put(app.url(&format!("/api/v1/me/saved/{a}")))
        .header("cookie", &cookie)
        .header("origin", app.base.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .client
        .put(app.url(&format!("/api/v1/me/saved/{a}")))
        .header("cookie", &cookie)
        .header("origin", app.base.clone())
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Revoked, the key opens nothing.
    let page = ben.get("/account").await.text().await.unwrap();
    let at = page.find("/account/keys/").unwrap();
    let action: String = page[at..].chars().take_while(|c| *c != '"').collect();
    assert_eq!(
        ben.post(&action, &[("csrf", &csrf)]).await.status(),
        StatusCode::SEE_OTHER
    );
    let response = api(reqwest::Method::GET, "/api/v1/me").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn state_is_private_and_goes_with_its_article_and_its_reader() {
    let app = app_with_readers().await;
    let kept = story(&app, "Kept story", "News").await;
    let gone = story(&app, "Story to be deleted", "News").await;
    let mut ada = signed_in(&app, "ada").await;
    let mut ben = signed_in(&app, "ben").await;
    let csrf = ada.csrf().await;
    for id in [kept, gone] {
        ada.post(&format!("/reading/{id}"), &[("csrf", &csrf), ("do", "save")])
            .await;
        ada.post(&format!("/reading/{id}"), &[("csrf", &csrf), ("do", "read")])
            .await;
    }
    // Ben sees none of it.
    let page = ben.get("/sections/news").await.text().await.unwrap();
    assert!(!card_class(&page, kept).contains("is-read") && !card_class(&page, kept).contains("is-saved"));
    assert!(!ben.get("/saved").await.text().await.unwrap().contains("Kept story"));
    assert_eq!(unread_of(&me(&mut ben).await, "news"), 2);
    // Ben's session cannot change Ada's state: there is no route that names her.
    let ben_csrf = ben.csrf().await;
    ben.post(&format!("/reading/{kept}"), &[("csrf", &ben_csrf), ("do", "unsave")])
        .await;
    assert!(ada.get("/saved").await.text().await.unwrap().contains("Kept story"));

    // A deleted article leaves every reader's state.
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/articles/{gone}")))
        .bearer_auth(support::TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.count("SELECT count(*) FROM article_states WHERE article_id NOT IN (SELECT id FROM articles)")
            .await,
        0
    );
    let saved = ada.get("/saved").await.text().await.unwrap();
    assert!(saved.contains("Kept story") && !saved.contains("Story to be deleted"));

    // A removed reader's state goes with them.
    accounts::set_role(&app.db, "ben", Role::Admin).await.unwrap();
    accounts::remove(&app.db, "ada").await.unwrap();
    assert_eq!(app.count("SELECT count(*) FROM article_states").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM read_horizons").await, 0);
    // The last admin stays.
    let refused = accounts::remove(&app.db, "ben").await.unwrap_err();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn unread_counts_stop_at_the_cap_and_say_so() {
    let app = app_with_readers().await;
    for chunk in 0..2 {
        let batch: String = (0..600)
            .map(|i| serde_json::to_string(&article(&format!("Wire item {chunk}-{i}"), "Wire")).unwrap() + "\n")
            .collect();
        let response = app
            .post_raw("/api/v1/articles/batch", "application/x-ndjson", batch)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let mut ben = signed_in(&app, "ben").await;
    let state = me(&mut ben).await;
    assert_eq!(state["unread"]["total"], json!({ "unread": 1000, "more": true }));
    let page = ben.get("/").await.text().await.unwrap();
    assert!(page.contains(">1000+<"), "the header says 1000+");
    // One read below the cap is still "1000+": the walk counts past it.
    let csrf = ben.csrf().await;
    ben.post("/reading/1", &[("csrf", &csrf), ("do", "read")]).await;
    assert_eq!(me(&mut ben).await["unread"]["total"]["more"], true);
}

#[tokio::test]
async fn error_pages_carry_the_site_name() {
    let app = support::spawn_with(|config| config.site_name = "The Harbour Courier".to_owned()).await;
    let (status, html) = app.get_text("/no/such/page").await;
    assert_eq!(status, 404);
    assert!(
        html.contains("<title>Page not found · The Harbour Courier</title>"),
        "{html}"
    );
    assert!(html.contains("class=\"site-name\" href=\"/\">The Harbour Courier</a>"));
}

#[tokio::test]
async fn admins_manage_tokens_and_users_from_the_browser_and_readers_cannot() {
    let app = app_with_readers().await;
    let mut ben = signed_in(&app, "ben").await;
    for path in ["/admin/feeds", "/admin/tokens", "/admin/users"] {
        assert_eq!(ben.get(path).await.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let anonymous = app.get("/admin/tokens").await;
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        ben.get("/admin/feeds/export.opml").await.status(),
        StatusCode::FORBIDDEN
    );

    let mut ada = signed_in(&app, "ada").await;
    let csrf = ada.csrf_on("/admin/tokens").await;
    let export = ada.get("/admin/feeds/export.opml").await;
    assert_eq!(export.status(), StatusCode::OK);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    assert!(export.text().await.unwrap().contains("<opml"));
    // A reader's session with its own token still cannot use an admin form.
    let ben_csrf = ben.csrf().await;
    let response = ben
        .post("/admin/tokens", &[("csrf", &ben_csrf), ("name", "sneaky")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // An admin's form without the session's token, or from elsewhere: refused.
    let before = app.fingerprint().await;
    let response = ada.post("/admin/tokens", &[("csrf", "0"), ("name", "forged")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = ada
        .post_from(
            "/admin/users",
            &[("csrf", &csrf), ("do", "remove"), ("name", "ben")],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.fingerprint().await, before);

    let page = ada
        .post("/admin/tokens", &[("csrf", &csrf), ("name", "wire-scraper")])
        .await
        .text()
        .await
        .unwrap();
    let at = page.find("gz_").expect("the token is shown once");
    let token = page[at..at + 67].to_owned();
    let posted = app
        .client
        .post(app.url("/api/v1/articles"))
        .bearer_auth(&token)
        .json(&article("Posted with a token made in the browser", "News"))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::CREATED);
    let response = ada
        .post("/admin/tokens/revoke", &[("csrf", &csrf), ("name", "wire-scraper")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let refused = app
        .client
        .post(app.url("/api/v1/articles"))
        .bearer_auth(&token)
        .json(&article("After revocation", "News"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    // Users: add, reset a password, change a role, remove.
    let form = |action: &'static str, name: &'static str, extra: &'static [(&'static str, &'static str)]| {
        let mut fields = vec![
            ("csrf", csrf.clone()),
            ("do", action.to_owned()),
            ("name", name.to_owned()),
        ];
        fields.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        fields
    };
    for fields in [
        form("add", "cleo", &[("password", PASSWORD), ("role", "reader")]),
        form("password", "ben", &[("password", "another long secret")]),
        form("role", "cleo", &[("role", "admin")]),
    ] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            ada.post("/admin/users", &fields).await.status(),
            StatusCode::SEE_OTHER,
            "{fields:?}"
        );
    }
    assert_eq!(
        ben.get("/account").await.status(),
        StatusCode::SEE_OTHER,
        "a reset password ends ben's sessions"
    );
    let mut cleo = signed_in(&app, "cleo").await;
    assert_eq!(cleo.get("/admin/users").await.status(), StatusCode::OK);
    let short = form("add", "dan", &[("password", "short"), ("role", "reader")]);
    let short: Vec<(&str, &str)> = short.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = ada.post("/admin/users", &short).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("at least"));
    let remove = form("remove", "cleo", &[]);
    let remove: Vec<(&str, &str)> = remove.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(ada.post("/admin/users", &remove).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        cleo.get("/admin/users").await.status(),
        StatusCode::SEE_OTHER,
        "removed: signed out"
    );
}

#[tokio::test]
async fn retention_keeps_what_someone_saved() {
    let app = app_with_readers().await;
    let old = |title: &str| {
        let mut body = article(title, "Archive");
        body["published_at"] = json!("2020-01-01T12:00:00Z");
        body
    };
    let saved = app.create(&old("An old story worth keeping")).await["id"]
        .as_i64()
        .unwrap();
    let other = app.create(&old("An old story nobody kept")).await["id"]
        .as_i64()
        .unwrap();
    let mut ben = signed_in(&app, "ben").await;
    let csrf = ben.csrf().await;
    ben.post(&format!("/reading/{saved}"), &[("csrf", &csrf), ("do", "save")])
        .await;

    // On PostgreSQL, a story placing step in progress (its turn held by
    // another session here) is not a sweep: the sweep goes ahead.
    let placing = match app.postgres_url() {
        Some(url) => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            // Held by this session until the connection closes.
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(gazette::store::postgres::locks::PLACING)
                .execute(&mut conn)
                .await
                .unwrap();
            Some(conn)
        }
        None => None,
    };

    let policy = gazette::retention::Policy {
        default_days: Some(30),
        ..Default::default()
    };
    let deleted = gazette::retention::sweep(&app.db, &policy, chrono::Utc::now().timestamp())
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    drop(placing);
    assert_eq!(
        app.get(&format!("/api/v1/articles/{saved}")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("/api/v1/articles/{other}")).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn stories_opened_in_quick_succession_are_all_recorded_read() {
    let app = app_with_readers().await;
    let mut paths = Vec::new();
    for i in 0..5 {
        let created = app.create(&article(&format!("Quick story {i}"), "News")).await;
        paths.push(created["url"].as_str().unwrap().to_owned());
    }
    let mut ben = signed_in(&app, "ben").await;
    for path in &paths {
        assert_eq!(ben.get(path).await.status(), StatusCode::OK);
    }
    // Written in the background: every one lands in the database.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while app.count("SELECT count(*) FROM article_states WHERE read").await < 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "an opened story was not recorded read"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(unread_of(&me(&mut ben).await, "news"), 0);
}
