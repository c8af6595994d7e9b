//! The news site as a reader sees it.

mod support;

use chrono::{Duration, SecondsFormat, Utc};
use scraper::{Html, Selector};
use serde_json::{Value, json};
use support::{article, spawn_app};

fn ago(hours: i64) -> String {
    (Utc::now() - Duration::hours(hours)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

fn text(element: &scraper::ElementRef) -> String {
    element
        .text()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn the_article_page_shows_the_story_and_a_sidebar_of_other_sections() {
    let app = spawn_app().await;
    let main = app
        .create(&json!({
            "title": "Peace talks resume in the capital",
            "section": "World",
            "summary": "Delegations met for the first time in a year.",
            "source": "AFP",
            "author": "Ada Quill",
            "body": "Delegations met on Monday.\n\n\"We are hopeful,\" one envoy said.",
            "image_url": "https://images.example.org/talks.jpg",
            "image_caption": "Delegates arrive at the hall",
            "tags": ["diplomacy", "talks"],
            "published_at": ago(2),
        }))
        .await;
    let mut boxing = article("League ready for the penultimate leg", "Boxing");
    boxing["author"] = json!("Ben Ahenda");
    boxing["published_at"] = json!(ago(17));
    app.create(&boxing).await;
    let mut volley = article("Cup draw made", "Volleyball and Handball");
    volley["published_at"] = json!(ago(30));
    let volley = app.create(&volley).await;
    let mut same = article("Another world story", "World");
    same["published_at"] = json!(ago(1));
    app.create(&same).await;

    let (status, html) = app.get_text(main["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    let doc = Html::parse_document(&html);
    assert_eq!(
        text(&select(&doc, "h1.headline")[0]),
        "Peace talks resume in the capital"
    );
    assert_eq!(
        text(&select(&doc, ".standfirst")[0]),
        "Delegations met for the first time in a year. [AFP]"
    );
    assert_eq!(text(&select(&doc, ".story-meta .byline")[0]), "By Ada Quill");
    assert_eq!(text(&select(&doc, ".story-meta time")[0]), "2 hrs ago");
    assert_eq!(
        select(&doc, ".story-image img")[0].value().attr("alt"),
        Some("Delegates arrive at the hall")
    );
    assert_eq!(
        text(&select(&doc, ".story-image figcaption")[0]),
        "Delegates arrive at the hall"
    );
    assert_eq!(select(&doc, ".story-body p").len(), 2);
    assert_eq!(text(&select(&doc, ".tags")[0]), "diplomacytalks");

    // The sidebar: other sections only, newest first, each item complete.
    let items = select(&doc, "aside.sidebar article.card");
    assert_eq!(items.len(), 2, "{html}");
    let first = &items[0];
    let byline = first.select(&Selector::parse(".byline").unwrap()).next().unwrap();
    assert_eq!(text(&byline), "By Ben Ahenda");
    let time = first.select(&Selector::parse("time").unwrap()).next().unwrap();
    assert_eq!(text(&time), "17 hrs ago");
    assert!(time.value().attr("datetime").unwrap().ends_with('Z'));
    assert!(time.value().attr("title").unwrap().contains("UTC"));
    let section = first
        .select(&Selector::parse(".card-section a").unwrap())
        .next()
        .unwrap();
    assert_eq!(text(&section), "Boxing");
    assert_eq!(section.value().attr("href"), Some("/sections/boxing"));
    let headline = first.select(&Selector::parse(".card-title a").unwrap()).next().unwrap();
    assert_eq!(text(&headline), "League ready for the penultimate leg");
    let (status, _) = app.get_text(headline.value().attr("href").unwrap()).await;
    assert_eq!(status, 200);

    // An item without an author shows no byline at all.
    let second = &items[1];
    assert!(second.select(&Selector::parse(".byline").unwrap()).next().is_none());
    assert!(!text(second).contains("By "));
    assert_eq!(
        text(&second.select(&Selector::parse("time").unwrap()).next().unwrap()),
        "1 day ago"
    );
    let link = second
        .select(&Selector::parse(".card-title a").unwrap())
        .next()
        .unwrap();
    assert_eq!(link.value().attr("href"), volley["url"].as_str());
    let section = second
        .select(&Selector::parse(".card-section a").unwrap())
        .next()
        .unwrap();
    assert_eq!(section.value().attr("href"), Some("/sections/volleyball-and-handball"));
    assert_eq!(app.get("/sections/volleyball-and-handball").await.status(), 200);

    // Section navigation is on the page.
    let nav: Vec<String> = select(&doc, "nav.sections-nav a").iter().map(text).collect();
    assert_eq!(nav.len(), 3);
    assert!(nav.contains(&"Volleyball and Handball".to_owned()));
}

#[tokio::test]
async fn the_front_page_leads_with_the_newest_story_then_each_section() {
    let app = spawn_app().await;
    for (i, section) in ["Football", "Boxing", "Rugby"].iter().enumerate() {
        for j in 0..6 {
            let mut a = article(&format!("{section} story {j}"), section);
            a["published_at"] = json!(ago((i * 10 + j) as i64 + 1));
            app.create(&a).await;
        }
    }
    let mut lead = article("The biggest story of the day", "Football");
    lead["summary"] = json!("Everything changed this morning.");
    app.create(&lead).await;

    let (status, html) = app.get_text("/").await;
    assert_eq!(status, 200);
    let doc = Html::parse_document(&html);
    assert_eq!(text(&select(&doc, ".lead-title")[0]), "The biggest story of the day");
    let blocks: Vec<String> = select(&doc, ".block-title").iter().map(text).collect();
    assert_eq!(blocks, ["Football", "Boxing", "Rugby"]);
    assert_eq!(
        select(&doc, ".section-block")
            .iter()
            .map(|b| b.select(&Selector::parse(".card").unwrap()).count())
            .sum::<usize>(),
        12
    );
    assert!(!html.contains("No stories yet"));
}

#[tokio::test]
async fn a_fresh_install_shows_how_to_post_the_first_article() {
    let app = spawn_app().await;
    let (status, html) = app.get_text("/").await;
    assert_eq!(status, 200);
    assert!(html.contains("No stories yet"));
    assert!(html.contains(&format!("curl -X POST {}/api/v1/articles", app.base)));
    assert!(html.contains("Authorization: Bearer YOUR_TOKEN"));
}

#[tokio::test]
async fn section_pages_page_by_keyset_without_gaps_or_repeats() {
    let app = spawn_app().await;
    // 41 stories: two full pages of 20 and one of 1; several share a second.
    let base = Utc::now() - Duration::days(3);
    for i in 0..41 {
        let mut a = article(&format!("Match report {i:02}"), "Football");
        let at = base + Duration::minutes((i / 3) as i64);
        a["published_at"] = json!(at.to_rfc3339());
        app.create(&a).await;
    }
    app.create(&article("Elsewhere", "Boxing")).await;

    let mut seen = Vec::new();
    let mut path = "/sections/football".to_owned();
    let mut pages = 0;
    loop {
        let (status, html) = app.get_text(&path).await;
        assert_eq!(status, 200, "{path}");
        pages += 1;
        let doc = Html::parse_document(&html);
        let titles: Vec<String> = select(&doc, ".card-title a").iter().map(text).collect();
        assert!(titles.len() <= 20);
        seen.extend(titles);
        match select(&doc, "a.older").first() {
            Some(link) => path = link.value().attr("href").unwrap().to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 41);
    let mut expected: Vec<String> = (0..41).map(|i| format!("Match report {i:02}")).collect();
    expected.reverse();
    // Newest first; stories of the same second come newest id first.
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 41, "a story was repeated");
    assert_eq!(seen.first().unwrap(), "Match report 40");
    assert_eq!(seen.last().unwrap(), "Match report 00");

    // The API pages the same way, with an exact page boundary.
    let mut api_seen = 0;
    let mut cursor: Option<String> = None;
    let mut calls = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/articles?section=football&limit=41&before={c}"),
            None => "/api/v1/articles?section=football&limit=41".to_owned(),
        };
        let (_, page): (u16, Value) = app.get_json(&path).await;
        calls += 1;
        api_seen += page["articles"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        (api_seen, calls),
        (41, 1),
        "a page that ends exactly at the last story has no next cursor"
    );
    let (_, page) = app.get_json("/api/v1/articles?limit=42").await;
    assert_eq!(page["articles"].as_array().unwrap().len(), 42);
    let (_, page) = app.get_json("/api/v1/articles?limit=41").await;
    assert!(page["next_cursor"].is_string());
    let next = page["next_cursor"].as_str().unwrap();
    let (_, rest) = app.get_json(&format!("/api/v1/articles?limit=41&before={next}")).await;
    assert_eq!(rest["articles"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);
}

#[tokio::test]
async fn other_scripts_and_emoji_get_sensible_slugs() {
    let app = spawn_app().await;
    let cases = [
        ("Հայաստանի ընտրությունները", "Հայաստան", "/sections/hayastan"),
        ("Qarabağ qələbə qazandı", "İdman xəbərləri", "/sections/idman-xeberleri"),
        ("⚽ Final tonight 🎉", "⚽ Football", "/sections/football"),
    ];
    for (title, section, section_path) in cases {
        let created = app
            .create(&json!({"title": title, "section": section, "body": "Text."}))
            .await;
        let url = created["url"].as_str().unwrap();
        let slug = url.rsplit('/').next().unwrap();
        assert!(
            !slug.is_empty()
                && slug
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{slug}"
        );
        let (status, html) = app.get_text(url).await;
        assert_eq!(status, 200);
        assert!(html.contains(title), "page shows the original title");
        let (status, html) = app.get_text(section_path).await;
        assert_eq!(status, 200, "{section_path}");
        assert!(html.contains(section));
    }
    let created = app
        .create(&json!({"title": "Հայաստանի ընտրությունները", "section": "Հայաստան", "body": "Again."}))
        .await;
    assert!(
        created["url"].as_str().unwrap().ends_with("/hayastani-entrutyunnere"),
        "{created}"
    );
    // Emoji alone still make a working section.
    let created = app
        .create(&json!({"title": "🎉🎉", "section": "🏐", "body": "Party."}))
        .await;
    let (status, _) = app.get_text(created["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    let (_, sections) = app.get_json("/api/v1/sections").await;
    let emoji = sections["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "🏐")
        .unwrap()
        .clone();
    assert_eq!(
        app.get(&format!("/sections/{}", emoji["slug"].as_str().unwrap()))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn unknown_things_are_real_404_pages() {
    let app = spawn_app().await;
    let created = app.create(&article("Only story", "Football")).await;
    for path in [
        "/sections/curling",
        "/articles/999",
        "/articles/999/missing",
        "/articles/abc/x",
        "/nowhere",
        "/static/../Cargo.toml",
        "/static/nope.css",
        "/sections/football?before=garbage",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let html = response.text().await.unwrap();
        assert!(html.contains("Page not found"), "{path}");
    }
    // An article reached without its slug is sent to its canonical path.
    let id = created["id"].as_i64().unwrap();
    let response = app.get(&format!("/articles/{id}")).await;
    assert_eq!(response.status(), 308);
    assert_eq!(response.headers()["location"], created["url"].as_str().unwrap());
}

#[tokio::test]
async fn every_response_carries_security_headers() {
    let app = spawn_app().await;
    let created = app.create(&article("Headers", "Football")).await;
    for path in [
        "/",
        created["url"].as_str().unwrap(),
        "/sections/football",
        "/nowhere",
        "/api/v1/sections",
        "/healthz",
    ] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert!(headers.contains_key("referrer-policy"), "{path}");
    }
}

#[tokio::test]
async fn responses_are_compressed_and_static_files_cached() {
    let app = spawn_app().await;
    app.create(&article("Compressed", "Football")).await;
    let raw = reqwest::Client::builder().no_gzip().no_brotli().build().unwrap();
    for encoding in ["gzip", "br"] {
        let response = raw
            .get(app.url("/"))
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-encoding"], encoding);
    }
    let (_, html) = app.get_text("/").await;
    let doc = Html::parse_document(&html);
    let href = select(&doc, "link[rel=stylesheet]")[0]
        .value()
        .attr("href")
        .unwrap()
        .to_owned();
    assert!(href.starts_with("/static/gazette.css?v="), "{href}");
    let response = app.get(&href).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let etag = response.headers()["etag"].clone();
    let again = app
        .client
        .get(app.url(&href))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn probes_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get_text("/healthz").await, (200, "ok".to_owned()));
    assert_eq!(app.get_text("/readyz").await, (200, "ready".to_owned()));
}

#[tokio::test]
async fn cached_pages_follow_every_write_and_the_cache_can_be_off() {
    for cache in [true, false] {
        let app = support::spawn_with(|c| c.page_cache = cache).await;
        let (_, html) = app.get_text("/").await;
        assert!(html.contains("No stories yet"));
        // An article page elsewhere, read first, so its sidebar is kept.
        let elsewhere = app.create(&article("Quiet day at the docks", "Harbour")).await;
        let elsewhere = elsewhere["url"].as_str().unwrap().to_owned();
        let (_, html) = app.get_text(&elsewhere).await;
        assert!(!html.contains("Fresh off the wire"));
        let created = app.create(&article("Fresh off the wire", "World")).await;
        for path in ["/", "/sections/world", "/feed.atom", elsewhere.as_str()] {
            let (_, html) = app.get_text(path).await;
            assert!(html.contains("Fresh off the wire"), "cache={cache} {path}");
        }
        let mut corrected = article("Corrected off the wire", "World");
        corrected["external_id"] = json!("fresh");
        let c = app.create(&corrected).await;
        let _ = app.get_text("/sections/world").await;
        corrected["title"] = json!("Corrected twice");
        app.create(&corrected).await;
        let (_, html) = app.get_text("/sections/world").await;
        assert!(
            html.contains("Corrected twice") && !html.contains("Corrected off the wire"),
            "cache={cache}"
        );
        app.client
            .delete(app.url(&format!("/api/v1/articles/{}", created["id"])))
            .bearer_auth(support::TOKEN)
            .send()
            .await
            .unwrap();
        for path in ["/", elsewhere.as_str()] {
            let (_, html) = app.get_text(path).await;
            assert!(
                !html.contains("Fresh off the wire"),
                "cache={cache} {path}: a delete shows at once"
            );
        }
        let _ = c;
    }
}

/// A page served from the cache is the page served fresh: same headers
/// (security headers included), same bytes in every encoding, and a 304
/// for a client that has it.
#[tokio::test]
async fn cached_pages_carry_every_header_and_each_encoding() {
    use std::io::Read;
    for cache in [true, false] {
        let app = support::spawn_with(|c| c.page_cache = cache).await;
        app.create(&article("Served twice over", "Football")).await;
        let raw = reqwest::Client::builder().no_gzip().no_brotli().build().unwrap();
        let fetch = |encoding: &'static str| {
            let request = raw
                .get(app.url("/sections/football"))
                .header("accept-encoding", encoding);
            async move {
                let response = request.send().await.unwrap();
                let headers = response.headers().clone();
                (headers, response.bytes().await.unwrap().to_vec())
            }
        };
        let (first, identity) = fetch("identity").await;
        let (second, again) = fetch("identity").await;
        assert_eq!(identity, again, "cache={cache}");
        for name in [
            "content-type",
            "content-security-policy",
            "x-frame-options",
            "x-content-type-options",
            "referrer-policy",
            "etag",
        ] {
            assert_eq!(first.get(name), second.get(name), "cache={cache}: {name}");
            assert!(second.contains_key(name), "cache={cache}: {name} missing");
        }
        assert!(!second.contains_key("content-encoding"));
        let html = String::from_utf8(identity.clone()).unwrap();
        assert!(html.contains("Served twice over"));

        for _ in 0..2 {
            let (headers, body) = fetch("gzip, deflate, br").await;
            assert_eq!(headers["content-encoding"], "br", "cache={cache}");
            let mut decoded = Vec::new();
            brotli::Decompressor::new(&body[..], 4096)
                .read_to_end(&mut decoded)
                .unwrap();
            assert_eq!(decoded, identity, "cache={cache}: brotli body");
            let (headers, body) = fetch("gzip").await;
            assert_eq!(headers["content-encoding"], "gzip", "cache={cache}");
            let mut decoded = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut decoded)
                .unwrap();
            assert_eq!(decoded, identity, "cache={cache}: gzip body");
            assert!(
                headers["content-security-policy"]
                    .to_str()
                    .unwrap()
                    .contains("frame-ancestors")
            );
        }
        let (headers, _) = fetch("br;q=0, gzip;q=0").await;
        assert!(
            !headers.contains_key("content-encoding"),
            "cache={cache}: refused encodings"
        );

        let not_modified = raw
            .get(app.url("/sections/football"))
            .header("if-none-match", first["etag"].clone())
            .send()
            .await
            .unwrap();
        assert_eq!(not_modified.status(), 304, "cache={cache}");
        assert!(not_modified.headers().contains_key("content-security-policy"));
    }
}
