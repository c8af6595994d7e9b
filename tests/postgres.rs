//! The PostgreSQL schema on a real PostgreSQL (a fresh database per
//! test, dropped after): it applies, and several instances starting at
//! once apply it exactly once. Needs the server at GAZETTE_TEST_POSTGRES
//! (default postgres://postgres@127.0.0.1:5432/postgres); without one the
//! tests fail, never skip: CI has one.

use sqlx::{PgPool, Row};

use gazette::store::postgres;

mod support;
use support::postgres::FreshDatabase;

async fn tables(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_schema_has_every_table_sqlite_has() {
    let db = FreshDatabase::new().await;
    let pool = postgres::connect(&db.url, 2).await.unwrap();
    postgres::migrate(&pool).await.unwrap();
    let mut expected = vec![
        "_sqlx_migrations",
        "api_keys",
        "app_passwords",
        "article_fingerprints",
        "article_states",
        "article_tags",
        "articles",
        "feeds",
        "fingerprint_bands",
        "page_fetches",
        "read_horizons",
        "reader_rules",
        "section_aliases",
        "sections",
        "sessions",
        "site_rules",
        "site_state",
        "stories",
        "story_members",
        "story_terms",
        "term_counts",
        "tokens",
        "tombstones",
        "user_labels",
        "users",
        "write_probe",
    ];
    expected.sort_unstable();
    assert_eq!(tables(&pool).await, expected);
    // The triggers keep section counts, as SQLite's do.
    let section: i64 = sqlx::query_scalar(
        "INSERT INTO sections (name, slug, created_at) VALUES ('Harbour', 'harbour', 1) RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    for n in 0..3 {
        sqlx::query(
            "INSERT INTO articles (section_id, slug, title, body_format, body_html, published_at, created_at,
                                   updated_at, content_hash)
             VALUES ($1, $2, 'Ferry', 'text', '<p>x</p>', 1, 1, 1, 'h')",
        )
        .bind(section)
        .bind(format!("ferry-{n}"))
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query("DELETE FROM articles WHERE slug = 'ferry-0'")
        .execute(&pool)
        .await
        .unwrap();
    let count: i64 = sqlx::query_scalar("SELECT article_count FROM sections WHERE id = $1")
        .bind(section)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 2);
    // Names are one account whatever their case.
    sqlx::query("INSERT INTO users (name, password_hash, role, created_at) VALUES ('Ada', 'x', 'admin', 1)")
        .execute(&pool)
        .await
        .unwrap();
    let twice =
        sqlx::query("INSERT INTO users (name, password_hash, role, created_at) VALUES ('ada', 'x', 'reader', 1)")
            .execute(&pool)
            .await;
    assert!(twice.is_err(), "ada and Ada are one name");
}

#[tokio::test]
async fn search_folds_accents_where_unaccent_exists() {
    let db = FreshDatabase::new().await;
    let pool = postgres::connect(&db.url, 2).await.unwrap();
    postgres::migrate(&pool).await.unwrap();
    let has_unaccent: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'unaccent')")
            .fetch_one(&pool)
            .await
            .unwrap();
    let row = sqlx::query(
        "SELECT to_tsvector('gazette', 'Qarabağ beat Zürich') @@ to_tsquery('gazette', 'qarabag & zurich') AS folded,
                to_tsvector('gazette', 'Harbours reopen') @@ to_tsquery('gazette', 'harbour') AS stemmed",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(row.get::<bool, _>("folded"), has_unaccent);
    assert!(
        !row.get::<bool, _>("stemmed"),
        "words are kept as they are, as SQLite's index keeps them"
    );
    // This machine's PostgreSQL has the extension (Debian's postgresql
    // package ships it), so the folding itself is tested here.
    assert!(has_unaccent, "unaccent should be available on the test server");
}

#[tokio::test]
async fn instances_starting_at_once_migrate_once() {
    let db = FreshDatabase::new().await;
    let mut starts = Vec::new();
    for _ in 0..4 {
        let url = db.url.clone();
        starts.push(tokio::spawn(async move {
            let pool = postgres::connect(&url, 2).await.unwrap();
            postgres::migrate(&pool).await.map_err(|err| err.to_string())
        }));
    }
    for start in starts {
        start.await.unwrap().expect("every instance starts");
    }
    let pool = postgres::connect(&db.url, 2).await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied as usize, postgres::MIGRATOR.iter().count());
    // And again later: nothing to do, nothing fails.
    postgres::migrate(&pool).await.unwrap();
}
