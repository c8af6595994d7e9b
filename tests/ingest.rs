//! The ingest API: single, batch and NDJSON posts, identity, updates,
//! deletes and tombstones.

mod support;

use serde_json::{Value, json};
use support::{article, spawn_app};

#[tokio::test]
async fn a_new_article_is_created_with_its_location() {
    let app = spawn_app().await;
    let response = app.post_article(&article("Harbour cranes return", "Business")).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "created");
    assert!(body["id"].as_i64().unwrap() > 0);
    assert_eq!(body["url"], location);
    assert_eq!(location, format!("/articles/{}/harbour-cranes-return", body["id"]));
    let (status, page) = app.get_text(&location).await;
    assert_eq!(status, 200);
    assert!(page.contains("Harbour cranes return"));
}

#[tokio::test]
async fn reposting_the_same_key_is_unchanged_and_a_change_updates_in_place() {
    let app = spawn_app().await;
    let mut first = article("Ferry timetable published", "Travel");
    first["external_id"] = json!("wire-100");
    first["published_at"] = json!("2024-06-12T08:00:00+02:00");
    let created = app.create(&first).await;

    let again = app.post_article(&first).await;
    assert_eq!(again.status(), 200);
    assert!(again.headers().get("location").is_none());
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["status"], "unchanged");
    assert_eq!(again["id"], created["id"]);

    let mut corrected = first.clone();
    corrected["title"] = json!("Ferry timetable published at last");
    corrected.as_object_mut().unwrap().remove("published_at");
    let updated = app.post_article(&corrected).await;
    assert_eq!(updated.status(), 200);
    let updated: Value = updated.json().await.unwrap();
    assert_eq!(updated["status"], "updated");
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(
        updated["url"],
        format!("/articles/{}/ferry-timetable-published-at-last", created["id"])
    );

    assert_eq!(app.count("SELECT COUNT(*) FROM articles").await, 1);
    let (_, stored) = app.get_json(&format!("/api/v1/articles/{}", created["id"])).await;
    assert_eq!(stored["title"], "Ferry timetable published at last");
    // An update without a time keeps the original publication time.
    assert_eq!(stored["published_at"], "2024-06-12T06:00:00+00:00");

    // The old slug still leads to the article.
    let old = app
        .get(&format!("/articles/{}/ferry-timetable-published", created["id"]))
        .await;
    assert_eq!(old.status(), 308);
    assert_eq!(old.headers()["location"], updated["url"].as_str().unwrap());
}

#[tokio::test]
async fn url_is_the_key_when_there_is_no_external_id() {
    let app = spawn_app().await;
    let mut a = article("Market opens early", "Business");
    a["url"] = json!("https://news.example.org/market");
    let first = app.create(&a).await;
    let second = app.create(&a).await;
    assert_eq!(second["status"], "unchanged");
    assert_eq!(first["id"], second["id"]);

    // Without any key, every post is a new article.
    let plain = article("Untracked note", "Business");
    let x = app.create(&plain).await;
    let y = app.create(&plain).await;
    assert_eq!(y["status"], "created");
    assert_ne!(x["id"], y["id"]);
}

#[tokio::test]
async fn a_json_batch_stores_valid_items_and_reports_each_in_order() {
    let app = spawn_app().await;
    let mut keyed = article("Batch one", "Football");
    keyed["external_id"] = json!("b-1");
    let batch = json!([
        keyed,
        { "title": "", "section": "Football", "body": "x" },
        article("Batch three", "Boxing"),
        keyed,
        { "title": "t", "section": "s", "body": "b", "colour": "red" },
    ]);
    let response = app
        .post_raw("/api/v1/articles/batch", "application/json", batch.to_string())
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    for (i, result) in results.iter().enumerate() {
        assert_eq!(result["index"], i);
    }
    assert_eq!(results[0]["status"], "created");
    assert!(results[0]["url"].as_str().unwrap().starts_with("/articles/"));
    assert_eq!(results[1]["status"], "error");
    assert_eq!(results[1]["error"]["field"], "title");
    assert_eq!(results[1]["error"]["code"], "invalid_field");
    assert_eq!(results[2]["status"], "created");
    assert_eq!(results[3]["status"], "unchanged");
    assert_eq!(results[3]["id"], results[0]["id"]);
    assert_eq!(results[4]["error"]["code"], "unknown_field");
    assert_eq!(results[4]["error"]["field"], "colour");
    assert_eq!(app.count("SELECT COUNT(*) FROM articles").await, 2);
}

#[tokio::test]
async fn an_ndjson_batch_reports_bad_lines_alone() {
    let app = spawn_app().await;
    let lines = format!(
        "{}\n\n{{not json\n{}\n",
        article("Line one", "Athletics"),
        json!({"title": "Line three", "section": "Athletics", "body": "b", "url": "ftp://x.example/"})
    );
    let response = app
        .post_raw("/api/v1/articles/batch", "application/x-ndjson", lines)
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["status"], "created");
    assert_eq!(results[1]["error"]["code"], "malformed_json");
    assert_eq!(results[2]["error"]["field"], "url");
    assert_eq!(app.count("SELECT COUNT(*) FROM articles").await, 1);
}

#[tokio::test]
async fn deleting_leaves_a_tombstone_that_refuses_reposts() {
    let app = spawn_app().await;
    let mut a = article("Withdrawn report", "World");
    a["external_id"] = json!("gone-1");
    let created = app.create(&a).await;
    let id = created["id"].as_i64().unwrap();

    let unauthorised = app
        .client
        .delete(app.url(&format!("/api/v1/articles/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorised.status(), 401);

    let deleted = app
        .client
        .delete(app.url(&format!("/api/v1/articles/{id}")))
        .bearer_auth(support::TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.get(&format!("/articles/{id}/withdrawn-report")).await.status(), 404);
    assert_eq!(app.get(&format!("/api/v1/articles/{id}")).await.status(), 404);

    let before = app.fingerprint().await;
    let repost = app.post_article(&a).await;
    assert_eq!(repost.status(), 410);
    let body: Value = repost.json().await.unwrap();
    assert_eq!(body["error"]["code"], "deleted");
    assert!(body["error"]["message"].as_str().unwrap().contains("deleted"));
    assert_eq!(app.fingerprint().await, before);

    // In a batch, the tombstoned item fails alone.
    let batch = json!([a, article("Fresh report", "World")]);
    let body: Value = app
        .post_raw("/api/v1/articles/batch", "application/json", batch.to_string())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["results"][0]["error"]["code"], "deleted");
    assert_eq!(body["results"][1]["status"], "created");

    let missing = app
        .client
        .delete(app.url("/api/v1/articles/99999"))
        .bearer_auth(support::TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn every_body_format_is_rendered() {
    let app = spawn_app().await;
    let mut md = article("Markdown story", "Culture");
    md["body_format"] = json!("markdown");
    md["body"] = json!("Some **bold** words.\n\n> A quoted line");
    let created = app.create(&md).await;
    let (_, page) = app.get_text(created["url"].as_str().unwrap()).await;
    assert!(page.contains("<strong>bold</strong>"));
    assert!(page.contains("<blockquote>"));

    let mut text = article("Text story", "Culture");
    text["body"] = json!("He said \"enough\" & left.\n\nNext <paragraph>.");
    let created = app.create(&text).await;
    let (_, page) = app.get_text(created["url"].as_str().unwrap()).await;
    assert!(page.contains("<p>He said &quot;enough&quot; &amp; left.</p>"), "{page}");
    assert!(page.contains("<p>Next &lt;paragraph&gt;.</p>"));
}

#[tokio::test]
async fn the_read_api_lists_sections_and_articles() {
    let app = spawn_app().await;
    let mut a = article("Semi-final preview", "Volleyball and Handball");
    a["published_at"] = json!("2024-06-10T10:00:00Z");
    a["tags"] = json!(["volleyball", "preview"]);
    a["author"] = json!("Ben Ahenda");
    app.create(&a).await;
    app.create(&article("Title fight set", "Boxing")).await;

    let (status, sections) = app.get_json("/api/v1/sections").await;
    assert_eq!(status, 200);
    let list = sections["sections"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let volley = list.iter().find(|s| s["slug"] == "volleyball-and-handball").unwrap();
    assert_eq!(volley["name"], "Volleyball and Handball");
    assert_eq!(volley["article_count"], 1);
    assert_eq!(volley["latest_at"], "2024-06-10T10:00:00+00:00");

    let (_, page) = app.get_json("/api/v1/articles?section=volleyball-and-handball").await;
    let items = page["articles"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["author"], "Ben Ahenda");
    assert_eq!(page["next_cursor"], Value::Null);

    let id = items[0]["id"].as_i64().unwrap();
    let (status, full) = app.get_json(&format!("/api/v1/articles/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(full["tags"], json!(["volleyball", "preview"]));
    assert_eq!(full["section"]["slug"], "volleyball-and-handball");
    assert!(full["body_html"].as_str().unwrap().starts_with("<p>The story of"));

    let (status, err) = app.get_json("/api/v1/articles?section=curling").await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], "not_found");
    let (status, err) = app.get_json("/api/v1/articles?limit=0").await;
    assert_eq!(status, 422);
    assert_eq!(err["error"]["field"], "limit");
    let (status, err) = app.get_json("/api/v1/articles?before=yesterday").await;
    assert_eq!(status, 422);
    assert_eq!(err["error"]["field"], "before");
    assert_eq!(app.get("/api/v1/articles/abc").await.status(), 404);
    assert_eq!(app.get("/api/v1/nothing-here").await.status(), 404);
}

#[tokio::test]
async fn concurrent_posts_never_fail_with_a_locked_database() {
    let app = std::sync::Arc::new(spawn_app().await);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut a = article(&format!("Concurrent story {i}"), &format!("Desk {}", i % 4));
            a["external_id"] = json!(format!("c-{i}"));
            app.post_article(&a).await.status().as_u16()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 201);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM articles").await, 40);
    assert_eq!(app.count("SELECT SUM(article_count) FROM sections").await, 40);
}

/// With a memory budget smaller than one batch, concurrent batches take
/// turns: every one is stored, none is refused, and the server reports its
/// resident memory.
#[tokio::test]
async fn batches_past_the_memory_budget_take_turns_and_lose_nothing() {
    let app = std::sync::Arc::new(support::spawn_with(|c| c.memory_budget = 64 * 1024).await);
    let tasks: Vec<_> = (0..4)
        .map(|b| {
            let app = app.clone();
            tokio::spawn(async move {
                let items: Vec<Value> = (0..100)
                    .map(|n| article(&format!("Tide table {b}-{n}"), "Harbour"))
                    .collect();
                app.post_batch(&items).await.status().as_u16()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    let (_, sections) = app.get_json("/api/v1/sections").await;
    assert_eq!(sections["sections"][0]["article_count"], 400, "{sections}");
    let (_, metrics) = app.get_text("/metrics").await;
    if cfg!(target_os = "linux") {
        assert!(metrics.contains("gazette_memory_resident_peak_bytes"), "{metrics}");
    }
}
