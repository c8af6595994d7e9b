//! Accounts, sign-in and sessions, over HTTP as a browser uses them, and
//! the attacks they must stand up to.

mod support;

use std::time::{Duration, Instant};

use reqwest::Response;
use reqwest::header::{LOCATION, RETRY_AFTER, SET_COOKIE};
use support::browser::Browser;
use support::{TestApp, spawn_app, spawn_in, spawn_with};

use gazette::accounts::{self, Role};

const PASSWORD: &str = "correct horse battery";

fn location(response: &Response) -> &str {
    response.headers().get(LOCATION).unwrap().to_str().unwrap()
}

async fn app_with_users() -> TestApp {
    let app = spawn_app().await;
    accounts::add(&app.db, "ada", PASSWORD.into(), Role::Admin)
        .await
        .unwrap();
    accounts::add(&app.db, "ben", PASSWORD.into(), Role::Reader)
        .await
        .unwrap();
    app
}

#[tokio::test]
async fn a_reader_signs_in_sees_the_account_and_signs_out() {
    let app = app_with_users().await;
    let mut browser = Browser::new(&app);
    // Anonymous: the account page leads to sign-in, which is a plain form.
    let response = browser.get("/account").await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(location(&response), "/login?next=/account");
    let form = browser.get("/login?next=/account").await;
    assert_eq!(form.headers()["cache-control"], "no-store");
    let html = form.text().await.unwrap();
    assert!(
        html.contains("<form class=\"account-form\" action=\"/login\" method=\"post\">"),
        "{html}"
    );

    let response = browser.sign_in("Ben", PASSWORD).await;
    assert_eq!(response.status().as_u16(), 303, "names are case-insensitive");
    assert_eq!(location(&response), "/account");
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "not Secure over plain http: {set_cookie}"
    );
    let page = browser.get("/account").await;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Signed in as <strong>ben</strong> (reader)"), "{html}");
    support::assert_no_script(&html, "/account");

    // The account page is personal: an anonymous request right after gets
    // the redirect, not a cached copy.
    let anonymous = app.get("/account").await;
    assert_eq!(anonymous.status().as_u16(), 303);

    let csrf = browser.csrf().await;
    let out = browser.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status().as_u16(), 303);
    assert!(browser.cookie.is_none(), "the cookie is cleared");
    // The old cookie is dead on the server too.
    let count = app.count("SELECT COUNT(*) FROM sessions").await;
    assert_eq!(count, 0);
}

#[tokio::test]
async fn an_unknown_name_and_a_wrong_password_get_the_same_answer_in_the_same_time() {
    let app = app_with_users().await;
    let mut timings = [Duration::ZERO; 2];
    let mut bodies = Vec::new();
    for round in 0..2 {
        for (slot, name) in ["ada", "nobody-here"].into_iter().enumerate() {
            let mut browser = Browser::new(&app);
            let started = Instant::now();
            let response = browser.sign_in(name, "wrong password 123").await;
            timings[slot] += started.elapsed();
            assert_eq!(response.status().as_u16(), 401);
            assert!(browser.cookie.is_none());
            let html = response.text().await.unwrap();
            if round == 0 {
                bodies.push(html.replace(name, "NAME"));
            }
        }
    }
    assert_eq!(bodies[0], bodies[1], "the answers differ");
    assert!(bodies[0].contains("That name and password do not match an account."));
    // Both pay for one Argon2 check: neither is a fraction of the other.
    let (known, unknown) = (timings[0].as_secs_f64(), timings[1].as_secs_f64());
    assert!(
        unknown > known * 0.5 && known > unknown * 0.5,
        "wrong password {known:.3}s, unknown name {unknown:.3}s"
    );
}

#[tokio::test]
async fn sign_in_is_throttled_per_account_and_per_address_without_a_lockout_forever() {
    let app = app_with_users().await;
    let mut browser = Browser::new(&app);
    for _ in 0..5 {
        assert_eq!(browser.sign_in("ada", "guess guess guess").await.status().as_u16(), 401);
    }
    // The sixth try in the minute is refused, even with the right password.
    let refused = browser.sign_in("ada", PASSWORD).await;
    assert_eq!(refused.status().as_u16(), 429);
    let wait: u64 = refused.headers()[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert!(browser.cookie.is_none());
    // Another account is not held up by ada's attacker...
    assert_eq!(browser.sign_in("ben", PASSWORD).await.status().as_u16(), 303);
    // ...until one address has tried too many accounts.
    let mut statuses = Vec::new();
    for n in 0..20 {
        statuses.push(
            browser
                .sign_in(&format!("user{n}"), "guess guess guess")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

#[tokio::test]
async fn forms_need_the_session_token_and_this_site_as_origin() {
    let app = app_with_users().await;
    let mut browser = Browser::new(&app);
    browser.sign_in("ben", PASSWORD).await;
    let csrf = browser.csrf().await;
    // Without the token, with another session's token, from another site.
    let mut other = Browser::new(&app);
    other.sign_in("ada", PASSWORD).await;
    let foreign_token = other.csrf().await;
    for (form, origin) in [
        (vec![], Some(app.base.as_str())),
        (vec![("csrf", foreign_token.as_str())], Some(app.base.as_str())),
        (vec![("csrf", csrf.as_str())], Some("https://evil.example")),
    ] {
        let response = browser.post_from("/account/logout-everywhere", &form, origin).await;
        assert_eq!(response.status().as_u16(), 403, "{form:?} from {origin:?}");
        assert!(browser.cookie.is_some());
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions").await,
        2,
        "nothing was signed out"
    );
    // A sign-in posted from another site is refused too (login CSRF).
    let mut victim = Browser::new(&app);
    let response = victim
        .post_from(
            "/login",
            &[("name", "ada"), ("password", PASSWORD)],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(response.status().as_u16(), 403);
    assert!(victim.cookie.is_none());
    // The real form works.
    let response = browser.post("/account/logout-everywhere", &[("csrf", &csrf)]).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions").await,
        1,
        "ada's session is left"
    );
}

#[tokio::test]
async fn a_planted_session_id_is_never_promoted_at_sign_in() {
    let app = app_with_users().await;
    let mut browser = Browser::new(&app);
    let planted = "ab".repeat(32);
    browser.cookie = Some(planted.clone());
    let response = browser.sign_in("ben", PASSWORD).await;
    assert_eq!(response.status().as_u16(), 303);
    let issued = browser.cookie.clone().unwrap();
    assert_ne!(issued, planted);
    // The attacker's copy of the planted id signs nobody in.
    let mut attacker = Browser::new(&app);
    attacker.cookie = Some(planted);
    assert_eq!(attacker.get("/account").await.status().as_u16(), 303);
    // Signing in again makes yet another session id.
    browser.sign_in("ben", PASSWORD).await;
    assert_ne!(browser.cookie.clone().unwrap(), issued);
}

#[tokio::test]
async fn a_removed_user_is_signed_out_at_once() {
    let app = app_with_users().await;
    let mut browser = Browser::new(&app);
    browser.sign_in("ben", PASSWORD).await;
    assert_eq!(browser.get("/account").await.status().as_u16(), 200);
    // What `gazette user remove ben` does, from another process.
    accounts::remove(&app.db, "ben").await.unwrap();
    assert_eq!(browser.get("/account").await.status().as_u16(), 303);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
}

#[tokio::test]
async fn next_never_leads_off_the_site() {
    let app = app_with_users().await;
    for (next, expected) in [
        ("/sections/world", "/sections/world"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ] {
        let mut browser = Browser::new(&app);
        let response = browser
            .post("/login", &[("name", "ada"), ("password", PASSWORD), ("next", next)])
            .await;
        assert_eq!(response.status().as_u16(), 303);
        assert_eq!(location(&response), expected, "next={next}");
    }
    // Already signed in, the sign-in page forwards to a safe next only.
    let mut browser = Browser::new(&app);
    browser.sign_in("ben", PASSWORD).await;
    let response = browser.get("/login?next=//evil.example").await;
    assert_eq!(location(&response), "/");
}

#[tokio::test]
async fn passwords_are_hashed_with_argon2id_changed_with_a_new_session_and_checked() {
    let app = app_with_users().await;
    let hash = gazette::store::users::by_name(&app.db.reader, "ada")
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
    // Too short, and a taken name, are refused with the reason.
    let short = accounts::add(&app.db, "cy", "short".into(), Role::Reader)
        .await
        .unwrap_err();
    assert!(short.body().message.contains("at least 10 characters"));
    let taken = accounts::add(&app.db, "ADA", PASSWORD.into(), Role::Reader)
        .await
        .unwrap_err();
    assert_eq!(taken.status().as_u16(), 409);

    let mut browser = Browser::new(&app);
    let mut elsewhere = Browser::new(&app);
    browser.sign_in("ada", PASSWORD).await;
    elsewhere.sign_in("ada", PASSWORD).await;
    let csrf = browser.csrf().await;
    let new = "a much longer passphrase";
    let wrong = browser
        .post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current", "not it at all"),
                ("new", new),
                ("confirm", new),
            ],
        )
        .await;
    assert_eq!(wrong.status().as_u16(), 422);
    let changed = browser
        .post(
            "/account/password",
            &[("csrf", &csrf), ("current", PASSWORD), ("new", new), ("confirm", new)],
        )
        .await;
    assert_eq!(changed.status().as_u16(), 303);
    // This browser stays signed in (with a new session); the other is out.
    assert_eq!(browser.get("/account").await.status().as_u16(), 200);
    assert_eq!(elsewhere.get("/account").await.status().as_u16(), 303);
    assert_eq!(Browser::new(&app).sign_in("ada", PASSWORD).await.status().as_u16(), 401);
    assert_eq!(Browser::new(&app).sign_in("ada", new).await.status().as_u16(), 303);
}

#[tokio::test]
async fn deleting_my_account_needs_my_password_and_ends_my_sessions() {
    let app = app_with_users().await;
    let mut browser = Browser::new(&app);
    browser.sign_in("ben", PASSWORD).await;
    let csrf = browser.csrf().await;
    let kept = browser
        .post("/account/delete", &[("csrf", &csrf), ("password", "wrong password!")])
        .await;
    assert_eq!(kept.status().as_u16(), 422);
    let gone = browser
        .post("/account/delete", &[("csrf", &csrf), ("password", PASSWORD)])
        .await;
    assert_eq!(gone.status().as_u16(), 303);
    assert!(browser.cookie.is_none());
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE name = 'ben'").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
}

#[tokio::test]
async fn the_first_admin_comes_from_the_environment_once_and_is_never_overwritten() {
    let app = spawn_with(|c| {
        c.admin_user = Some("chief".into());
        c.admin_password = Some(PASSWORD.into());
    })
    .await;
    let listed = accounts::list(&app.db).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].user.role, Role::Admin);
    let dir = app.stop().await;
    // Restarted with another password: the account keeps its own.
    let app = spawn_in(dir, |c| {
        c.admin_user = Some("chief".into());
        c.admin_password = Some("another long password".into());
    })
    .await;
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser
            .sign_in("chief", "another long password")
            .await
            .status()
            .as_u16(),
        401
    );
    assert_eq!(browser.sign_in("chief", PASSWORD).await.status().as_u16(), 303);
}

#[tokio::test]
async fn metrics_are_open_on_a_fresh_install_then_need_an_admin_or_the_metrics_token() {
    const METRICS_TOKEN: &str = "scraper-token-0123456789";
    let app = spawn_with(|c| c.metrics_token = Some(METRICS_TOKEN.into())).await;
    assert_eq!(app.get("/metrics").await.status().as_u16(), 200, "no account yet");
    accounts::add(&app.db, "ada", PASSWORD.into(), Role::Admin)
        .await
        .unwrap();
    accounts::add(&app.db, "ben", PASSWORD.into(), Role::Reader)
        .await
        .unwrap();
    assert_eq!(app.get("/metrics").await.status().as_u16(), 401);
    let mut reader = Browser::new(&app);
    reader.sign_in("ben", PASSWORD).await;
    assert_eq!(reader.get("/metrics").await.status().as_u16(), 401, "a reader may not");
    let mut admin = Browser::new(&app);
    admin.sign_in("ada", PASSWORD).await;
    let scraped = admin.get("/metrics").await;
    assert_eq!(scraped.status().as_u16(), 200);
    assert!(scraped.text().await.unwrap().contains("gazette_http_requests_total"));
    for (token, status) in [(METRICS_TOKEN, 200), ("scraper-token-wrong-0000", 401)] {
        let response = app
            .client
            .get(app.url("/metrics"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{token}");
    }
}

#[tokio::test]
async fn private_mode_shows_the_site_only_to_signed_in_people() {
    let app = spawn_with(|c| c.private = true).await;
    accounts::add(&app.db, "ben", PASSWORD.into(), Role::Reader)
        .await
        .unwrap();
    let created = app
        .create(&support::article("Members only harbour news", "Harbour"))
        .await;
    let article = created["url"].as_str().unwrap().to_owned();

    // Signed in, every page works, and the front page lands in the cache.
    let mut reader = Browser::new(&app);
    reader.sign_in("ben", PASSWORD).await;
    for path in [
        "/",
        "/sections/harbour",
        article.as_str(),
        "/search?q=harbour",
        "/feed.atom",
        "/sitemap.xml",
    ] {
        let response = reader.get(path).await;
        assert_eq!(response.status().as_u16(), 200, "{path} signed in");
    }
    assert_eq!(reader.get("/api/v1/articles").await.status().as_u16(), 200);

    // Anonymous: pages, feeds, search and sitemaps send to sign-in (the
    // cached front page included); the read API answers 401.
    for path in [
        "/",
        "/sections/harbour",
        article.as_str(),
        "/search?q=harbour",
        "/feed.atom",
        "/sitemap.xml",
        "/sitemaps/news.xml",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status().as_u16(), 303, "{path} anonymous");
        let to = location(&response);
        assert!(to.starts_with("/login?next="), "{path} -> {to}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("Members only"), "{path} leaked its content");
    }
    let (status, _) = app.get_json("/api/v1/articles").await;
    assert_eq!(status, 401);
    // After signing in, `next` brings the reader back where they were.
    let response = app.get("/sections/harbour?page=1").await;
    let next = location(&response)
        .trim_start_matches("/login?next=")
        .replace("%2F", "/")
        .replace("%3F", "?")
        .replace("%3D", "=");
    let mut returning = Browser::new(&app);
    let signed = returning
        .post("/login", &[("name", "ben"), ("password", PASSWORD), ("next", &next)])
        .await;
    assert_eq!(location(&signed), "/sections/harbour?page=1");

    // Still open: sign-in, probes, robots.txt (disallowing all), and the
    // ingest API with its token.
    assert_eq!(app.get("/login").await.status().as_u16(), 200);
    assert_eq!(app.get("/healthz").await.status().as_u16(), 200);
    assert_eq!(app.get("/readyz").await.status().as_u16(), 200);
    let (status, robots) = app.get_text("/robots.txt").await;
    assert_eq!(status, 200);
    assert_eq!(robots, "User-agent: *\nDisallow: /\n");
    app.create(&support::article("Posted with the token", "Harbour")).await;
    let with_token = app
        .client
        .get(app.url("/api/v1/articles"))
        .bearer_auth(support::TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status().as_u16(), 200);
}

#[tokio::test]
async fn the_public_default_is_unchanged() {
    let app = spawn_app().await;
    app.create(&support::article("Open harbour news", "Harbour")).await;
    for path in [
        "/",
        "/sections/harbour",
        "/feed.atom",
        "/sitemap.xml",
        "/api/v1/articles",
    ] {
        assert_eq!(app.get(path).await.status().as_u16(), 200, "{path}");
    }
    let (_, robots) = app.get_text("/robots.txt").await;
    assert!(robots.contains("Allow: /"));
}
