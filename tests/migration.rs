//! A database from before the compact storage migration (0004) keeps every
//! article readable and searchable after Gazette upgrades it.

mod support;

use sqlx::{Connection, SqliteConnection};

#[tokio::test]
async fn articles_stored_before_0004_stay_readable_searchable_and_deletable() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("gazette.db");
    // The schema as it stood at 0003, through sqlx's own migrator, so the
    // upgrade below starts from what a real installation has.
    let old = dir.path().join("migrations-0003");
    std::fs::create_dir(&old).unwrap();
    for entry in std::fs::read_dir("migrations").unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < "0004" {
            std::fs::copy(&path, old.join(name)).unwrap();
        }
    }
    let mut conn = SqliteConnection::connect(&format!("sqlite:{}?mode=rwc", db_path.display()))
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();
    sqlx::raw_sql(
        "INSERT INTO sections (id, name, slug, created_at) VALUES (1, 'Harbour', 'harbour', 1700000000);
         INSERT INTO articles (id, section_id, ingest_key, external_id, slug, title, summary, body_format, body,
                               body_html, body_text, word_count, tags, published_at, created_at, updated_at,
                               content_hash)
         VALUES (7, 1, 'id:old-7', 'old-7', 'ferry-returns', 'Ferry returns to the quay', 'After the storm.',
                 'text', 'The lighthouse keeper waved the ferry in.',
                 '<p>The lighthouse keeper waved the ferry in.</p>',
                 'The lighthouse keeper waved the ferry in.', 7, '[]', 1700000000, 1700000000, 1700000000,
                 'old-hash');",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let app = support::spawn_in(dir, |_| {}).await;
    let (status, page) = app.get_text("/articles/7/ferry-returns").await;
    assert_eq!(status, 200);
    assert!(page.contains("waved the ferry in"));
    let (status, results) = app.get_json("/api/v1/search?q=lighthouse").await;
    assert_eq!(status, 200, "{results}");
    let hits = results["results"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{results}");
    assert!(
        hits[0]["snippet_html"]
            .as_str()
            .unwrap()
            .contains("<mark>lighthouse</mark>"),
        "{results}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM pragma_table_info('articles') WHERE name = 'body_text'")
            .await,
        0
    );
    // The old row's source stays where it was.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM articles WHERE body = 'The lighthouse keeper waved the ferry in.'")
            .await,
        1
    );
    let deleted = app
        .client
        .delete(app.url("/api/v1/articles/7"))
        .bearer_auth(support::TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let (_, results) = app.get_json("/api/v1/search?q=lighthouse").await;
    assert_eq!(results["results"].as_array().unwrap().len(), 0, "{results}");
}
