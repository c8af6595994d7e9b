//! One visitor's searches must not starve everyone else's (issue 33):
//! prefixes need three letters, a prefix of too many words is narrowed to
//! its commonest, a search too costly for its words is refused naming the
//! limit, and each client runs one search at a time with a short queue,
//! past which it is told to come back (429). Over HTTP, on a real library;
//! clients are told apart behind a trusted proxy (see `tests/proxies.rs`).

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{TestApp, result_titles as titles, skipped_on_postgres, spawn_with};

async fn post_batch(app: &TestApp, items: &[Value]) {
    let response = app.post_batch(items).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(!body.to_string().contains("\"error\""), "{body}");
}

/// `count` harbour reports, each with the common words and `extra`.
fn reports(first: usize, count: usize, extra: impl Fn(usize) -> String) -> Vec<Value> {
    (first..first + count)
        .map(|n| {
            json!({
                "title": format!("Harbour report {n}"),
                "section": "Harbour",
                "body": format!("The harbour ferry crossed the bay at dawn. {}", extra(n)),
                "external_id": format!("report-{n}"),
            })
        })
        .collect()
}

/// Waits until the background count of the index's words has seen the
/// library (it looks every second here): `probe` is a search its counts
/// refuse. Each try differs, so that none is a cached answer.
async fn await_counts(app: &TestApp, probe: &str) {
    for n in 0..200 {
        let (status, _) = app.get_json(&format!("/api/v1/search?q={probe}+OR+probe{n}")).await;
        if status == 400 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the index's words were never counted");
}

#[tokio::test]
async fn short_prefixes_and_searches_too_costly_for_their_words_are_refused_naming_the_limit() {
    let app = spawn_with(|config| {
        config.search_cost_limit = 500;
        config.term_count_interval_secs = 1;
    })
    .await;
    // Short prefixes are refused before anything is counted, on either backend.
    for path in ["/api/v1/search?q=fe*", "/api/v1/search?q=ferry+h*"] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "search_too_broad");
        assert_eq!(body["error"]["field"], "q");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("at least 3 letters before the *"), "{message}");
    }
    let (status, page) = app.get_text("/search?q=fe*").await;
    assert_eq!(status, 400);
    assert!(page.contains("at least 3 letters before the *"), "the page says why");
    assert!(
        page.contains("<form class=\"search-form\""),
        "the form stays to fix the search"
    );

    if skipped_on_postgres("the cost limit is judged on SQLite's counts of the index's words") {
        return;
    }
    post_batch(&app, &reports(0, 300, |n| format!("Tide table {n}."))).await;
    // "harbour", "ferry", "crossed" and "dawn" are in all 300 reports:
    // two of them cost 600 entries of the index, more than the limit.
    await_counts(&app, "harbour+ferry").await;
    let before = app.fingerprint().await;
    let (status, body) = app.get_json("/api/v1/search?q=harbour+OR+ferry").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "search_too_broad");
    assert_eq!(body["error"]["field"], "q");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("read about 600 entries"), "{message}");
    assert!(message.contains("may read 500"), "{message}");
    let (status, page) = app.get_text("/search?q=%22harbour+ferry+crossed%22").await;
    assert_eq!(status, 400);
    assert!(page.contains("too broad to answer quickly"), "the page says why");
    assert_eq!(app.fingerprint().await, before, "a refused search changes nothing");

    // One common word is within the limit, and so is a rare word beside it.
    let (status, body) = app.get_json("/api/v1/search?q=harbour").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"].as_array().unwrap().len(), 20);
    let (status, body) = app.get_json("/api/v1/search?q=table+117").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(titles(&body), ["Harbour report 117"]);
    app.stop().await;
}

#[tokio::test]
async fn a_prefix_of_too_many_words_is_searched_as_its_commonest_and_says_so() {
    if skipped_on_postgres("prefixes are narrowed by SQLite's counts of the index's words") {
        return;
    }
    // A prefix may read a tenth of the limit: 40 entries here.
    let app = spawn_with(|config| {
        config.search_cost_limit = 400;
        config.term_count_interval_secs = 1;
    })
    .await;
    // Ten words beginning "strait…", the n-th in 10 + n reports; and one
    // report of a word too rare to be counted.
    let words: Vec<String> = (0..10).map(|n| format!("strait{}", char::from(b'a' + n))).collect();
    let mut items = Vec::new();
    for (n, word) in words.iter().enumerate() {
        items.extend(reports(items.len(), 10 + n, |_| format!("Near the {word} buoy.")));
    }
    items.extend(reports(items.len(), 1, |_| "Past the straitzz light.".to_owned()));
    post_batch(&app, &items).await;
    await_counts(&app, "harbour+ferry+crossed").await;

    let (status, body) = app.get_json("/api/v1/search?q=strait*&sort=newest").await;
    assert_eq!(status, 200, "{body}");
    let narrowed = &body["narrowed"];
    assert_eq!(narrowed[0]["prefix"], "strait*");
    let searched: Vec<&str> = narrowed[0]["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    // The eight commonest, commonest first.
    assert_eq!(
        searched,
        [
            "straitj", "straiti", "straith", "straitg", "straitf", "straite", "straitd", "straitc"
        ]
    );
    assert!(!titles(&body).is_empty());
    // The rare word is still found when typed.
    let (_, body) = app.get_json("/api/v1/search?q=straitzz").await;
    assert_eq!(titles(&body).len(), 1);
    assert_eq!(body["narrowed"], json!([]));
    let (status, page) = app.get_text("/search?q=strait*").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("\u{201c}strait*\u{201d} is searched for as its 8 commonest words (straitj, straiti,"),
        "the page says how the prefix was narrowed"
    );
    // A prefix of few words is searched for whole.
    let (_, body) = app.get_json("/api/v1/search?q=straitz*").await;
    assert_eq!(titles(&body).len(), 1);
    app.stop().await;
}

/// A search as one client behind the trusted proxy sends it.
async fn search_as(app: &TestApp, client: &str, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("x-forwarded-for", client)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn one_client_flooding_searches_is_refused_its_excess_while_another_is_served() {
    let app = spawn_with(|config| {
        config.trusted_proxies = "127.0.0.1".parse().unwrap();
    })
    .await;
    // Enough stories that a search for their common words takes a while.
    for chunk in 0..10 {
        post_batch(&app, &reports(chunk * 1000, 1000, |n| format!("Tide table {n}."))).await;
    }
    // Each a different page: the page cache would answer repeats.
    let flood = "/search?q=harbour+ferry+crossed+dawn+tide";
    let flooding: Vec<_> = (0..16)
        .map(|n| {
            let (client, url) = (app.client.clone(), app.url(&format!("{flood}&page={}", n + 1)));
            tokio::spawn(async move {
                client
                    .get(url)
                    .header("x-forwarded-for", "198.51.100.1")
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    // Another reader, another address, searching in the middle of it.
    let other = search_as(&app, "198.51.100.2", "/api/v1/search?q=harbour+table+4242").await;
    assert_eq!(other.status().as_u16(), 200, "another client is never over its share");
    let body: Value = other.json().await.unwrap();
    assert_eq!(titles(&body), ["Harbour report 4242"]);

    let mut served = 0;
    let mut refused = 0;
    for response in flooding {
        let response = response.await.unwrap();
        match response.status().as_u16() {
            200 => served += 1,
            429 => {
                refused += 1;
                let wait: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                assert!((1..=5).contains(&wait), "Retry-After {wait}");
                let page = response.text().await.unwrap();
                assert!(
                    page.contains("too many searches at once from one address"),
                    "the page says why"
                );
            }
            other => panic!("a flooding search answered {other}"),
        }
    }
    assert!(served >= 1, "the flooder's first search runs");
    assert!(
        refused >= 1,
        "16 searches at once are more than one client's share ({served} served)"
    );

    // The API says the same in JSON, and the share comes back once the
    // client's searches are done.
    let flooding: Vec<_> = (0..16)
        .map(|n| {
            let (client, url) = (
                app.client.clone(),
                app.url(&format!("/api/v1/search?q=harbour+ferry+crossed+dawn&page={}", n + 1)),
            );
            tokio::spawn(async move {
                let response = client
                    .get(url)
                    .header("x-forwarded-for", "198.51.100.1")
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut refusals = Vec::new();
    for response in flooding {
        let (status, body) = response.await.unwrap();
        if status == 429 {
            refusals.push(body);
        }
    }
    assert!(!refusals.is_empty(), "the API refuses a client's excess too");
    assert_eq!(refusals[0]["error"]["code"], "too_many_searches");
    let later = search_as(&app, "198.51.100.1", "/api/v1/search?q=table+4243").await;
    assert_eq!(later.status().as_u16(), 200, "a client's share returns");
    app.stop().await;
}
