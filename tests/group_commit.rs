//! Single articles posted at the same moment are committed together, and
//! each is still judged, answered and stored on its own. In its own test
//! binary so that the process-wide metrics count this test's commits only.

mod support;

use serde_json::json;
use support::{TOKEN, article, spawn_app};

#[tokio::test]
async fn concurrent_single_posts_share_commits_and_keep_their_own_outcomes() {
    let app = std::sync::Arc::new(spawn_app().await);
    let mut gone = article("Withdrawn", "World");
    gone["external_id"] = json!("withdrawn");
    let created = app.create(&gone).await;
    let deleted = app
        .client
        .delete(app.url(&format!("/api/v1/articles/{}", created["id"])))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let commits_before = commits(&app).await;

    let mut tasks = Vec::new();
    for i in 0..64 {
        let app = app.clone();
        let mut body = if i % 16 == 0 {
            gone.clone()
        } else {
            article(&format!("Wire copy {i}"), &format!("Desk {}", i % 3))
        };
        if i % 16 != 0 {
            body["external_id"] = json!(format!("wire-{i}"));
        }
        tasks.push(tokio::spawn(async move {
            let response = app.post_article(&body).await;
            (i, response.status().as_u16(), response.text().await.unwrap())
        }));
    }
    for task in tasks {
        let (i, status, text) = task.await.unwrap();
        if i % 16 == 0 {
            assert_eq!(status, 410, "{i}: a deleted article stays deleted: {text}");
        } else {
            assert_eq!(status, 201, "{i}: {text}");
            let saved: serde_json::Value = serde_json::from_str(&text).unwrap();
            let (status, page) = app.get_text(saved["url"].as_str().unwrap()).await;
            assert_eq!(status, 200);
            assert!(
                page.contains(&format!("Wire copy {i}")),
                "{i} answered with its own article"
            );
        }
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM articles").await, 60);
    assert_eq!(app.count("SELECT SUM(article_count) FROM sections").await, 60);
    assert_eq!(app.count_indexed("wire").await, 60);
    let commits = commits(&app).await - commits_before;
    assert!(
        commits < 60,
        "60 concurrent articles should share commits, took {commits}"
    );
    println!("64 concurrent posts: {commits} commits");
}

/// Single-article commits so far, from /metrics.
async fn commits(app: &support::TestApp) -> u64 {
    let (_, text) = app.get_text("/metrics").await;
    text.lines()
        .find(|line| line.starts_with("gazette_ingest_commits_total"))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Every commit adds a segment to the search index; the background upkeep
/// merges them (FTS5's own merging during writes is off), so one-by-one
/// ingest leaves a handful of segments, not one per article.
#[tokio::test]
async fn the_search_index_is_merged_in_the_background() {
    if support::skipped_on_postgres("FTS5 segments; PostgreSQL keeps its GIN index itself") {
        return;
    }
    let app = spawn_app().await;
    for i in 0..24 {
        let mut body = article(&format!("Lighthouse log {i}"), "Coast");
        body["external_id"] = json!(format!("log-{i}"));
        app.create(&body).await;
    }
    let mut segments = i64::MAX;
    for _ in 0..100 {
        segments = app.count("SELECT COUNT(DISTINCT segid) FROM articles_fts_idx").await;
        if segments <= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(segments <= 4, "{segments} index segments left after 24 single commits");
    let (_, results) = app.get_json("/api/v1/search?q=lighthouse").await;
    assert_eq!(results["results"].as_array().unwrap().len(), 20, "{results}");
}
