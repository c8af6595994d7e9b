//! `gazette copy`: a SQLite Gazette moved into PostgreSQL and back, with
//! its articles, tombstones, tokens, accounts and reading state, and the
//! copy refused when the target holds anything. Needs PostgreSQL (see
//! support::postgres); never skipped.

mod support;

use std::path::Path;

use gazette::accounts::Role;
use gazette::store::Location;
use reqwest::StatusCode;
use serde_json::{Value, json};

use support::postgres::FreshDatabase;
use support::{TestApp, article, process, spawn_in, spawn_with};

const PASSWORD: &str = "correct horse battery";

/// Runs `gazette copy` from `from` to `to`; its exit status and stderr.
fn copy(from: &str, to: &str) -> (bool, String) {
    let output = process::command(Path::new(from))
        .args(["copy", "--to", to])
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// What a reader and the API see of a Gazette, to compare two copies.
async fn everything(app: &TestApp, key: &str) -> Value {
    let (_, articles) = app.get_json("/api/v1/articles?limit=100").await;
    let (_, sections) = app.get_json("/api/v1/sections").await;
    let (_, found) = app.get_json("/api/v1/search?q=quay").await;
    let mut found: Vec<i64> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["id"].as_i64().unwrap())
        .collect();
    found.sort_unstable();
    let me = async |path: &str| -> Value {
        app.client
            .get(app.url(path))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    };
    let mut full = Vec::new();
    for article in articles["articles"].as_array().unwrap() {
        let (_, one) = app.get_json(&format!("/api/v1/articles/{}", article["id"])).await;
        full.push(one);
    }
    let seen = json!({
        "articles": articles,
        "full": full,
        "sections": sections,
        "search": found,
        "unread": me("/api/v1/me/unread").await,
        "saved": me("/api/v1/me/saved").await,
        "feeds": app
            .client
            .get(app.url("/api/v1/feeds"))
            .bearer_auth(support::TOKEN)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap(),
    });
    // Each server has its own port in absolute links.
    serde_json::from_str(&seen.to_string().replace(&app.base, "http://gazette")).unwrap()
}

#[tokio::test]
async fn a_sqlite_gazette_moves_to_postgres_and_back_whole() {
    // A SQLite Gazette with some of everything.
    let app = spawn_with(|_| {}).await;
    assert!(app.postgres_url().is_none(), "this test starts on SQLite");
    let quay = app
        .create(&json!({
            "title": "Quay wall rebuilt", "section": "Harbour", "external_id": "quay-1",
            "body": "The **old quay** wall is rebuilt.\n\nCafé owners cheer.", "body_format": "markdown",
            "tags": ["Works", "Port"], "author": "Ada Quill", "summary": "Six months of work."
        }))
        .await["id"]
        .as_i64()
        .unwrap();
    let ferry = app.create(&article("Ferry to the quay returns", "Transport")).await["id"]
        .as_i64()
        .unwrap();
    let gone = app
        .create(
            &json!({"title": "Withdrawn notice", "section": "Harbour", "external_id": "gone-1", "body": "Mistake."}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    // Placed in its story before it goes, as it would be on a live site.
    app.placed().await;
    let deleted = app
        .client
        .delete(app.url(&format!("/api/v1/articles/{gone}")))
        .bearer_auth(support::TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let user = gazette::accounts::add(&app.db, "ada", PASSWORD.to_owned(), Role::Admin)
        .await
        .unwrap();
    let key = gazette::reading::keys::create(&app.db, user.id, "phone").await.unwrap();
    let token = gazette::tokens::create(&app.db, "wire").await.unwrap();
    gazette::accounts::app_passwords::create(&app.db, &user, "reader app")
        .await
        .unwrap();
    for (path, method) in [
        (format!("/api/v1/me/read/{ferry}"), "PUT"),
        (format!("/api/v1/me/saved/{quay}"), "PUT"),
    ] {
        let response = app
            .client
            .request(method.parse().unwrap(), app.url(&path))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
    }
    // A full-content feed and the page fetch of one of its stories.
    app.execute(
        "INSERT INTO feeds (url, section, title, interval_secs, created_at, next_fetch_at, full_content, extraction)
         VALUES ('http://wire.test/feed.xml', 'Harbour', 'Wire', 900, 1, 4102444800, 1, '{\"body\":\"article\"}')",
    )
    .await;
    app.execute(&format!(
        "INSERT INTO page_fetches (article_id, url, feed_id, state, reason, attempts, requested_at, fill_title, fill_date)
         VALUES ({ferry}, 'http://wire.test/ferry', 1, 'failed', 'http_404', 1, 1, 0, 1)"
    ))
    .await;
    // A section renamed, described and placed: its old address an alias.
    let renamed = app
        .client
        .patch(app.url("/api/v1/sections/transport"))
        .bearer_auth(support::TOKEN)
        .json(&json!({"name": "Ferries", "description": "Boats and timetables.", "position": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), StatusCode::OK);
    let before = everything(&app, &key).await;
    assert!(before.to_string().contains("Boats and timetables."), "{before}");
    assert_eq!(before["search"], json!([quay, ferry]), "{before}");
    assert!(
        before.to_string().contains("http_404"),
        "the page fetch shows: {before}"
    );
    let sqlite = app.db_path.display().to_string();
    let kept = app.stop().await;

    // Into PostgreSQL.
    let db = FreshDatabase::new().await;
    // The test server trusts every local connection: the password is only
    // here to be kept out of what the command says.
    let with_password = db.url.replacen("postgres@", "postgres:hunter2secret@", 1);
    let (ok, said) = copy(&sqlite, &with_password);
    assert!(ok, "{said}");
    assert!(said.contains("Copied 50 rows (2 articles)"), "{said}");
    assert!(!said.contains("hunter2secret"), "{said}");
    let on_postgres = spawn_with(|c| c.database = Location::Postgres(db.url.clone())).await;
    assert_eq!(everything(&on_postgres, &key).await, before);
    // The renamed section's old address still leads to it.
    let old_address = on_postgres.get("/sections/transport").await;
    assert_eq!(old_address.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(old_address.headers()["location"], "/sections/ferries");
    // The tombstone came along, and so did the stored token, the password
    // and the app password's digests.
    let again = on_postgres
        .post_article(&json!({"title": "Withdrawn notice", "section": "Harbour", "external_id": "gone-1", "body": "x"}))
        .await;
    assert_eq!(again.status(), StatusCode::GONE);
    let posted = on_postgres
        .client
        .post(on_postgres.url("/api/v1/articles"))
        .bearer_auth(&token)
        .json(&article("Posted after the move", "Harbour"))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::CREATED);
    let new_id = posted.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    assert!(new_id > gone, "ids go on after the copied ones ({new_id})");
    assert!(
        gazette::accounts::authenticate(&on_postgres.db, "ada", PASSWORD.to_owned())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        gazette::accounts::app_passwords::list(&on_postgres.db, user.id)
            .await
            .unwrap()
            .len(),
        1
    );

    // A second copy into the same database is refused and changes nothing.
    let fingerprint = on_postgres.fingerprint().await;
    let (ok, said) = copy(&sqlite, &db.url);
    assert!(!ok);
    assert!(said.contains("not empty"), "{said}");
    assert_eq!(on_postgres.fingerprint().await, fingerprint);
    let with_new = everything(&on_postgres, &key).await;
    let _ = on_postgres.stop().await;

    // And back into a new SQLite file.
    let back = kept.path().join("back.db");
    let (ok, said) = copy(&db.url, &back.display().to_string());
    assert!(ok, "{said}");
    let on_sqlite = spawn_in(tempfile::tempdir().unwrap(), |c| {
        c.database = Location::Sqlite(back.clone())
    })
    .await;
    assert_eq!(everything(&on_sqlite, &key).await, with_new);
}

#[tokio::test]
async fn backup_and_restore_on_postgres_point_to_its_own_tools() {
    let db = FreshDatabase::new().await;
    for command in [["backup", "gazette-backup.db"], ["restore", "gazette-backup.db"]] {
        let output = process::command(Path::new(&db.url)).args(command).output().unwrap();
        assert!(!output.status.success(), "{command:?} pretended to work");
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(said.contains("pg_dump"), "{command:?}: {said}");
    }
}
