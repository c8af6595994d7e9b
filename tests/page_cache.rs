//! Requests that miss the same page at once wait for one rendering. In its
//! own test binary so the process-wide metrics count this test's renders
//! only.

mod support;

use support::{article, spawn_app};

#[tokio::test]
async fn concurrent_misses_of_one_page_render_it_once() {
    let app = std::sync::Arc::new(spawn_app().await);
    for i in 0..30 {
        app.create(&article(&format!("Queue at the ferry {i}"), "Harbour"))
            .await;
    }
    let before = cache_count(&app, "miss").await;
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.get_text("/sections/harbour").await })
        })
        .collect();
    let mut pages = Vec::new();
    for task in tasks {
        let (status, html) = task.await.unwrap();
        assert_eq!(status, 200);
        pages.push(html);
    }
    assert!(pages.iter().all(|p| *p == pages[0]), "every request got the same page");
    assert!(pages[0].contains("Queue at the ferry 29"));
    let renders = cache_count(&app, "miss").await - before;
    // One rendering, or two if the minute turned during the test.
    assert!(
        (1..=2).contains(&renders),
        "32 concurrent misses rendered the page {renders} times"
    );
}

/// Page cache lookups with this result so far, from /metrics.
async fn cache_count(app: &support::TestApp, result: &str) -> u64 {
    let (_, text) = app.get_text("/metrics").await;
    let prefix = format!("gazette_page_cache_total{{result=\"{result}\"}}");
    text.lines()
        .find(|line| line.starts_with(&prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
