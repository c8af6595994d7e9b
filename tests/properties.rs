//! Properties that hold whatever goes in (proptest): rendered bodies never
//! carry script, decoding never panics, every search the parser accepts is
//! valid FTS5, and slugs are always clean.

mod support;

use gazette::domain::BodyFormat;
use gazette::domain::body::render;
use gazette::domain::search::SearchQuery;
use gazette::domain::slug::slugify;
use gazette::ingest::decode;
use proptest::prelude::*;

/// HTML-ish soup built from the pieces attacks are made of.
fn hostile_html() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<script>alert(1)</script>".to_owned()),
        Just("<img src=x onerror=alert(1)>".to_owned()),
        Just("<a href=\"javascript:alert(1)\">".to_owned()),
        Just("<a href=\"JaVaScRiPt&#58;alert(1)\">".to_owned()),
        Just("<svg onload=alert(1)>".to_owned()),
        Just("<iframe src=//x>".to_owned()),
        Just("<style>*{}</style>".to_owned()),
        Just("<p>".to_owned()),
        Just("</p>".to_owned()),
        Just("<a href=\"https://example.org\">".to_owned()),
        Just("</a>".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just("<".to_owned()),
        Just(">".to_owned()),
        Just("=".to_owned()),
        Just(" on".to_owned()),
        Just("data:text/html,".to_owned()),
        Just("[x](javascript:alert(1))".to_owned()),
        Just("\n\n".to_owned()),
        "[a-zA-Z ]{0,8}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

fn format() -> impl Strategy<Value = BodyFormat> {
    prop_oneof![
        Just(BodyFormat::Text),
        Just(BodyFormat::Markdown),
        Just(BodyFormat::Html)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn rendered_bodies_never_carry_script(body in hostile_html(), format in format()) {
        let html = render(format, &body);
        support::assert_no_script(&format!("<!doctype html><html><head></head><body>{html}</body></html>"), "property");
    }

    #[test]
    fn decoding_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512), text in any::<String>()) {
        let _ = decode::article(&bytes);
        let _ = decode::batch(&bytes, true);
        let _ = decode::batch(&bytes, false);
        let _ = decode::article(text.as_bytes());
        let json = format!("{{\"title\": {text:?}, \"section\": {text:?}, \"body\": {text:?}, \"tags\": [{text:?}]}}");
        let _ = decode::article(json.as_bytes());
    }

    #[test]
    fn slugs_are_always_clean(text in any::<String>()) {
        let slug = slugify(&text);
        prop_assert!(slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{slug}");
        prop_assert!(!slug.starts_with('-') && !slug.ends_with('-') && !slug.contains("--"), "{slug}");
        prop_assert!(slug.len() <= 80);
    }
}

/// Every query the parser accepts runs in FTS5 without a syntax error.
#[test]
fn accepted_searches_are_valid_fts5() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let conn = runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE VIRTUAL TABLE t USING fts5(a, b, tokenize = 'unicode61 remove_diacritics 2')")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES ('ceasefire talks resume', 'Qarabağ')")
            .execute(&mut conn)
            .await
            .unwrap();
        std::cell::RefCell::new(conn)
    });
    let input = prop::collection::vec(
        prop_oneof![
            Just("\"".to_owned()),
            Just("*".to_owned()),
            Just("(".to_owned()),
            Just(")".to_owned()),
            Just(" OR ".to_owned()),
            Just(" AND ".to_owned()),
            Just(" NOT ".to_owned()),
            Just("NEAR/2".to_owned()),
            Just(":".to_owned()),
            Just("^".to_owned()),
            Just("-".to_owned()),
            Just("+".to_owned()),
            Just(" ".to_owned()),
            "[a-zA-Zğə0-9]{1,6}",
            any::<String>(),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(600));
    runner
        .run(&input, |q| {
            if let Ok(query) = SearchQuery::parse(&q) {
                let result = runtime.block_on(
                    sqlx::query("SELECT count(*) FROM t WHERE t MATCH ?")
                        .bind(&query.fts)
                        .fetch_one(&mut *conn.borrow_mut()),
                );
                prop_assert!(result.is_ok(), "{q:?} became {:?}: {result:?}", query.fts);
            }
            Ok(())
        })
        .unwrap();
}
