//! Articles POSTed with a future `published_at` are scheduled: hidden from
//! every public read until their time, then shown without any write.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{TOKEN, TestApp, spawn_app};

/// Every public place an article can show up, as (what, path).
fn public_places(section: &str, word: &str, id: &Value, page: &str) -> Vec<(&'static str, String)> {
    vec![
        ("front page", "/".to_owned()),
        ("section page", format!("/sections/{section}")),
        ("article page", page.to_owned()),
        ("search page", format!("/search?q={word}")),
        ("site feed", "/feed.atom".to_owned()),
        ("site RSS", "/feed.rss".to_owned()),
        ("section feed", format!("/sections/{section}/feed.json")),
        ("news sitemap", "/sitemaps/news.xml".to_owned()),
        ("article sitemap", "/sitemaps/articles-0.xml".to_owned()),
        ("API list", "/api/v1/articles".to_owned()),
        ("API search", format!("/api/v1/search?q={word}")),
        ("API article", format!("/api/v1/articles/{id}")),
        ("tag page", "/tags/embargo".to_owned()),
        ("author page", "/authors/ines-calder".to_owned()),
        ("sections API", "/api/v1/sections".to_owned()),
    ]
}

/// Where the scheduled headline is visible right now.
async fn places_showing(app: &TestApp, title: &str, saved: &Value) -> Vec<&'static str> {
    let mut showing = Vec::new();
    for (what, path) in public_places("embargoes", "quokka", &saved["id"], saved["url"].as_str().unwrap()) {
        let (status, body) = app.get_text(&path).await;
        assert!(status == 200 || status == 404, "{what} ({path}): {status}");
        // The sections list names the section only once it has something to show.
        // The article sitemap lists URLs, not titles.
        let needle = match what {
            "sections API" => "\"embargoes\"",
            "article sitemap" => saved["url"].as_str().unwrap(),
            _ => title,
        };
        if status == 200 && body.contains(needle) {
            showing.push(what);
        }
    }
    showing
}

#[tokio::test]
async fn a_future_post_is_scheduled_hidden_everywhere_then_appears_by_itself() {
    let app = spawn_app().await;
    // Something visible already, so pages and caches exist before the due time.
    app.create(&support::article("Harbour opens early", "Harbour")).await;
    let due_text =
        (chrono::Utc::now() + chrono::Duration::seconds(4)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    // The due time is the whole second the story names, not the instant it
    // was made from: the server may rightly show it up to a second earlier.
    let due = chrono::DateTime::parse_from_rfc3339(&due_text)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let title = "Quokka census embargoed until noon";
    let mut scheduled = json!({
        "title": title,
        "external_id": "census-1",
        "section": "Embargoes",
        "author": "Ines Calder",
        "tags": ["Embargo"],
        "body": "The quokka census results are embargoed.",
        "published_at": due_text,
    });
    let response = app.post_article(&scheduled).await;
    assert_eq!(response.status().as_u16(), 201);
    let saved: Value = response.json().await.unwrap();
    assert_eq!(saved["status"], "created", "{saved}");
    assert_eq!(saved["scheduled"], due_text, "{saved}");
    let id = saved["id"].clone();

    // Warm every cache, then check nothing shows it.
    assert_eq!(places_showing(&app, title, &saved).await, Vec::<&str>::new());
    assert_eq!(
        places_showing(&app, title, &saved).await,
        Vec::<&str>::new(),
        "from cache"
    );
    // A crafted cursor from the future does not reveal it either.
    let future_cursor = format!("{}.{}", due.timestamp() + 60, i64::MAX);
    let (_, list) = app.get_json(&format!("/api/v1/articles?before={future_cursor}")).await;
    assert!(!list.to_string().contains(title), "{list}");
    // The sender, with its token, can read what it scheduled.
    let own = app
        .client
        .get(app.url(&format!("/api/v1/articles/{id}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status().as_u16(), 200);
    let own: Value = own.json().await.unwrap();
    assert_eq!(own["scheduled"], true, "{own}");
    // A wrong token is refused, not treated as anonymous.
    let wrong = app
        .client
        .get(app.url(&format!("/api/v1/articles/{id}")))
        .bearer_auth("not-the-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    // Re-posting it unchanged still says it is scheduled.
    let again = app.create(&scheduled).await;
    assert_eq!(again["status"], "unchanged");
    assert_eq!(again["scheduled"], due_text);

    // Its time comes: with no write at all, every place shows it.
    // Within seconds: waiting for the minute to turn over (when cached
    // pages expire anyway) would not do.
    let deadline = std::time::Instant::now() + Duration::from_secs(9);
    let all: Vec<&str> = public_places("embargoes", "quokka", &id, "")
        .iter()
        .map(|p| p.0)
        .collect();
    loop {
        let showing = places_showing(&app, title, &saved).await;
        if showing == all {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still hidden from some places long after its time: showing only in {showing:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(chrono::Utc::now() >= due, "shown before its time");
    // Published, it answers like any article.
    scheduled["body"] = json!("The quokka census results are out.");
    let updated = app.create(&scheduled).await;
    assert_eq!(updated["status"], "updated");
    assert!(updated.get("scheduled").is_none(), "{updated}");
}

#[tokio::test]
async fn a_far_future_date_never_pins_an_article_to_the_top() {
    let app = spawn_app().await;
    let far = app
        .create(&json!({"title": "Dated 2099", "section": "Wire", "body": "Too early.", "published_at": "2099-01-01T00:00:00Z"}))
        .await;
    assert_eq!(far["scheduled"], "2099-01-01T00:00:00Z");
    app.create(&support::article("Posted today", "Wire")).await;
    let (_, list) = app.get_json("/api/v1/articles").await;
    let titles: Vec<&str> = list["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Posted today"]);
    let (_, front) = app.get_text("/").await;
    assert!(front.contains("Posted today") && !front.contains("Dated 2099"));
    // Moved back to the present by an update, it is published at once.
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let moved = app
        .client
        .post(app.url("/api/v1/articles/batch"))
        .bearer_auth(TOKEN)
        .json(&json!([{"title": "Dated 2099", "section": "Wire", "body": "Too early.", "published_at": "2099-01-01T00:00:00Z", "external_id": "x-1"},
                       {"title": "Now dated today", "section": "Wire", "body": "On time.", "published_at": now}]))
        .send()
        .await
        .unwrap();
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(moved["results"][0]["scheduled"], "2099-01-01T00:00:00Z", "{moved}");
    assert!(moved["results"][1].get("scheduled").is_none(), "{moved}");
    let (_, front) = app.get_text("/").await;
    assert!(front.contains("Now dated today") && !front.contains("Dated 2099"));
}
