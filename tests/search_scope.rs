//! Search finds what it has: filters narrow the matches before any bound,
//! newest first means by publication time, and a bound that cut the
//! matches is said, never answered as "No stories match". Over HTTP, on a
//! library with more matches of one word than any bound.

mod support;

use serde_json::{Value, json};
use support::{TestApp, result_titles as titles, spawn_app};

async fn post_batch(app: &TestApp, items: Vec<Value>) {
    let response = app.post_batch(&items).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(!body.to_string().contains("\"error\""), "{body}");
}

/// `count` stories about the ceasefire in World, one a minute back from `day`.
fn updates(first: usize, count: usize, day: &str) -> Vec<Value> {
    (first..first + count)
        .map(|n| {
            json!({
                "title": format!("Ceasefire update {n}"),
                "section": "World",
                "body": "The ceasefire holds along the border.",
                "published_at": format!("{day}T{:02}:{:02}:{:02}Z", n / 3600 % 24, n / 60 % 60, n % 60),
            })
        })
        .collect()
}

#[tokio::test]
async fn filtered_and_archived_matches_are_found_past_every_bound() {
    let app = spawn_app().await;
    // The filtered stories are stored first…
    post_batch(
        &app,
        vec![
            json!({"title": "Quiet harbour ceasefire note", "section": "Harbour", "body": "Boats wait for word.",
                   "published_at": "2026-11-20T08:00:00Z"}),
            json!({"title": "The old ceasefire talks", "section": "World", "body": "Delegates met at the lake.",
                   "published_at": "2015-06-01T10:00:00Z"}),
        ],
    )
    .await;
    // …then many more matches of the same word than any bound.
    for chunk in 0..11 {
        post_batch(&app, updates(chunk * 1000, 1000, "2026-11-25")).await;
    }

    let (status, page) = app.get_text("/search?q=ceasefire&section=harbour").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Quiet harbour ceasefire note"),
        "the section's match is found"
    );
    assert!(!page.contains("No stories match"));
    let (_, body) = app.get_json("/api/v1/search?q=ceasefire&section=harbour").await;
    assert_eq!(titles(&body), ["Quiet harbour ceasefire note"]);
    assert_eq!(body["bounded"], Value::Null, "every match in the section was weighed");

    let (_, body) = app
        .get_json("/api/v1/search?q=ceasefire&from=2015-01-01&to=2015-12-31")
        .await;
    assert_eq!(titles(&body), ["The old ceasefire talks"]);
    let (_, page) = app.get_text("/search?q=ceasefire&from=2015-01-01&to=2015-12-31").await;
    assert!(page.contains("The old ceasefire talks"));

    // A common word over the whole library: the bound is said.
    let (_, body) = app.get_json("/api/v1/search?q=ceasefire").await;
    assert_eq!(titles(&body).len(), 20);
    let notice = body["bounded"]["notice"].as_str().expect("the bound is said");
    assert!(notice.contains("1,000 most recent matches"), "{notice}");
    let (_, page) = app.get_text("/search?q=ceasefire").await;
    assert!(page.contains("1,000 most recent matches"), "the page says so too");

    // A date range with no match is a true "nothing found".
    let (_, body) = app
        .get_json("/api/v1/search?q=ceasefire&from=2010-01-01&to=2010-12-31")
        .await;
    assert_eq!(titles(&body), Vec::<String>::new());
    assert_eq!(body["bounded"], Value::Null);
    let (_, page) = app.get_text("/search?q=ceasefire&from=2010-01-01&to=2010-12-31").await;
    assert!(page.contains("No stories match"));

    // An archive imported after the live site does not hide this year's
    // stories from newest-first search.
    post_batch(&app, updates(50_000, 600, "2015-09-18")).await;
    post_batch(&app, updates(50_600, 600, "2015-09-18")).await;
    for path in ["/api/v1/search?q=ceasefire&sort=newest", "/api/v1/search?q=ceasefire"] {
        let (_, body) = app.get_json(path).await;
        let years: Vec<&str> = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["published_at"].as_str().unwrap()[..4])
            .collect();
        assert!(years.iter().all(|y| *y == "2026"), "{path}: {years:?}");
    }
    let (_, body) = app.get_json("/api/v1/search?q=ceasefire&sort=newest").await;
    assert_eq!(
        body["results"][0]["title"], "Ceasefire update 10999",
        "the newest story leads"
    );
    let (_, page) = app.get_text("/search?q=ceasefire&sort=newest").await;
    assert!(page.contains("Ceasefire update 10999"));
}

#[tokio::test]
async fn scheduled_stories_ranked_best_are_left_out_and_the_rest_still_found() {
    let app = spawn_app().await;
    // More scheduled stories than any margin, each a better match than the
    // published one (the word in their headlines).
    let soon = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let scheduled: Vec<Value> = (0..40)
        .map(|n| {
            json!({"title": format!("Lighthouse keeper diary {n}"), "section": "Harbour",
                        "body": "Lighthouse, lighthouse, lighthouse.", "published_at": soon})
        })
        .collect();
    post_batch(&app, scheduled).await;
    post_batch(
        &app,
        vec![json!({"title": "Night shift on the quay", "section": "Harbour",
                    "body": "The old lighthouse was dark again."})],
    )
    .await;
    let (_, body) = app.get_json("/api/v1/search?q=lighthouse").await;
    assert_eq!(titles(&body), ["Night shift on the quay"]);
    let (_, page) = app.get_text("/search?q=lighthouse").await;
    assert!(page.contains("Night shift on the quay") && !page.contains("keeper diary"));
}
