//! One conformance suite for the two stores. Each scenario is written once
//! and run twice, on a fresh SQLite file and on a fresh PostgreSQL
//! database: each run must give the answers the scenario expects, and the
//! two runs must give the same answers (search results compared as sets,
//! since the two rank differently). The scenarios drive the store through
//! the layers the web uses (ingest, accounts, reading, tokens) and read it
//! back through the store's own operations.

mod support;

use std::collections::BTreeSet;

use serde_json::{Value, json};

use gazette::accounts::{self, Role, app_passwords, session};
use gazette::domain::listing::Cursor;
use gazette::domain::search::SearchQuery;
use gazette::error::AppError;
use gazette::ingest;
use gazette::reading::{Action, Reading, UpTo, keys};
use gazette::store::articles::{Scope, Shown};
use gazette::store::search::{Filters, Order};
use gazette::store::{self, Db};

const PASSWORD: &str = "correct horse battery";

/// Runs `scenario` on a fresh database of each backend and checks that
/// both saw the same.
async fn on_both(scenario: impl AsyncFn(&Db) -> Value) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Db::open(&dir.path().join("gazette.db")).await.unwrap();
    let on_sqlite = scenario(&sqlite).await;
    sqlite.close().await;

    let database = support::postgres::FreshDatabase::new().await;
    let postgres = Db::open_postgres(&database.url, 3).await.unwrap();
    let on_postgres = scenario(&postgres).await;
    postgres.close().await;

    assert_eq!(on_sqlite, on_postgres, "SQLite (left) and PostgreSQL (right) disagree");
}

/// Stores one batch of articles as the API would, and says what became
/// of each: (id, status) or the error's code.
async fn post(db: &Db, articles: Value) -> Vec<Value> {
    let items = ingest::ingest_batch(db, articles.to_string().into_bytes(), false)
        .await
        .unwrap();
    serde_json::to_value(items)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|item| match item.get("id") {
            Some(id) => json!([id, item["status"]]),
            None => item
                .get("error")
                .map_or_else(|| item["status"].clone(), |e| e["code"].clone()),
        })
        .collect()
}

fn story(title: &str, section: &str, published: &str) -> Value {
    json!({
        "title": title,
        "section": section,
        "author": "Ada Quill",
        "tags": ["Harbour works"],
        "published_at": published,
        "body": format!("The story of {title}.\n\nA second paragraph about the quay."),
    })
}

fn error_code(err: &AppError) -> String {
    err.body().code.to_owned()
}

#[tokio::test]
async fn identity_and_tombstone_rules() {
    on_both(async |db: &Db| {
        let first = post(
            db,
            json!([
                {"title": "Quay wall rebuilt", "section": "Harbour", "external_id": "quay-1", "body": "Stones."},
                {"title": "Ferry times", "section": "Harbour", "url": "https://harbour.test/ferry?utm_source=x", "body": "Six towns."},
                {"title": "Market reopens", "section": "Town", "body": "Stalls."},
            ]),
        )
        .await;
        assert_eq!(first, [json!([1, "created"]), json!([2, "created"]), json!([3, "created"])]);

        // The same again is unchanged; a changed body updates in place; the
        // same URL from another sender is the first story.
        let again = post(
            db,
            json!([
                {"title": "Quay wall rebuilt", "section": "Harbour", "external_id": "quay-1", "body": "Stones."},
                {"title": "Quay wall rebuilt", "section": "Harbour", "external_id": "quay-1", "body": "Stones, and mortar."},
                {"title": "Ferry times (copy)", "section": "Wire", "external_id": "wire-9", "url": "https://harbour.test/ferry", "body": "Six."},
            ]),
        )
        .await;
        assert_eq!(again, [json!([1, "unchanged"]), json!([1, "updated"]), json!([2, "unchanged"])]);
        let quay = store::articles::get(&db.reader, 1, Shown::Published).await.unwrap().unwrap();
        assert!(quay.body_html.contains("mortar"));

        // Deleted stays deleted: by its id, and by its URL.
        ingest::delete(db, 1).await.unwrap();
        ingest::delete(db, 2).await.unwrap();
        let missing = ingest::delete(db, 1).await.map_err(|e| error_code(&e));
        let after = post(
            db,
            json!([
                {"title": "Quay wall rebuilt", "section": "Harbour", "external_id": "quay-1", "body": "Again."},
                {"title": "Ferry times", "section": "Harbour", "external_id": "other", "url": "https://harbour.test/ferry", "body": "Again."},
                {"title": "Lighthouse", "section": "Harbour", "body": "New."},
            ]),
        )
        .await;
        assert_eq!(after[..2], [json!("deleted"), json!("deleted")]);
        assert_eq!(after[2], json!([4, "created"]), "ids are never reused");
        let gone = store::articles::get(&db.reader, 1, Shown::Published).await.unwrap();
        assert!(gone.is_none());
        json!({ "first": first, "again": again, "missing": missing.err(), "after": after })
    })
    .await;
}

/// Every card of a listing, page by page, as (id, published) pairs.
async fn walk(db: &Db, scope: Scope<'_>, per_page: u32) -> Vec<(i64, i64)> {
    let mut seen = Vec::new();
    let mut cursor = Cursor::START;
    loop {
        let page = store::articles::page(&db.reader, scope, cursor, per_page)
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|c| (c.id, c.published_at.timestamp())));
        match page.next {
            Some(next) => cursor = next,
            None => return seen,
        }
    }
}

#[tokio::test]
async fn keyset_paging_of_every_listing() {
    on_both(async |db: &Db| {
        // 23 stories in three sections, several sharing a time: the id
        // breaks the tie, and no page repeats or skips one.
        let stories: Vec<Value> = (0..23)
            .map(|n| {
                let section = ["Boxing", "Football", "Rowing"][n % 3];
                let hour = 10 + n / 4;
                let mut story = story(&format!("Story {n}"), section, &format!("2026-03-01T{hour:02}:00:00Z"));
                if n % 5 == 0 {
                    story["author"] = json!("Ben Ink");
                    story["tags"] = json!(["Cup run"]);
                }
                story
            })
            .collect();
        post(db, Value::Array(stories)).await;
        let all = walk(db, Scope::All, 5).await;
        assert_eq!(all.len(), 23);
        let mut sorted = all.clone();
        sorted.sort_by_key(|&(id, published)| std::cmp::Reverse((published, id)));
        assert_eq!(all, sorted, "newest first, the higher id first within a time");
        assert_eq!(
            walk(db, Scope::All, 23).await,
            all,
            "page size does not change the order"
        );

        let boxing = store::sections::by_slug(&db.reader, "boxing").await.unwrap().unwrap();
        let in_section = walk(db, Scope::Section(boxing.id), 4).await;
        assert_eq!(in_section.len(), 8);
        let by_author = walk(db, Scope::Author("ben-ink"), 2).await;
        let by_tag = walk(db, Scope::Tag("cup-run"), 2).await;
        assert_eq!(by_author.len(), 5);
        assert_eq!(by_author, by_tag);

        let front: Vec<(i64, String)> = store::articles::newest_by_section(&db.reader, 2)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.id, c.section_slug))
            .collect();
        assert_eq!(front.len(), 6);
        let elsewhere: Vec<i64> = store::articles::latest_outside_section(&db.reader, boxing.id, 5)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        let cards: Vec<i64> = store::articles::cards_by_ids(&db.reader, &[3, 1, 2])
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        let sections: Vec<(String, i64)> = store::sections::list(db)
            .await
            .unwrap()
            .iter()
            .map(|s| (s.slug.clone(), s.article_count))
            .collect();
        assert_eq!(sections.iter().map(|s| s.1).sum::<i64>(), 23);
        json!({
            "all": all, "section": in_section, "author": by_author, "front": front,
            "elsewhere": elsewhere, "cards": cards, "sections": sections,
        })
    })
    .await;
}

/// The ids a search finds, as a set.
async fn found(db: &Db, input: &str, filters: &Filters) -> BTreeSet<i64> {
    let query = SearchQuery::parse(input).unwrap();
    store::search::search(&db.reader, &query, filters, Order::Relevance, 50, 0)
        .await
        .unwrap()
        .hits
        .into_iter()
        .map(|hit| hit.card.id)
        .collect()
}

#[tokio::test]
async fn search_finds_the_same_stories() {
    on_both(async |db: &Db| {
        post(
            db,
            json!([
                {"title": "Crane lifts the new quay gate", "section": "Harbour", "body": "Engineers watched the crane.", "published_at": "2026-03-01T10:00:00Z"},
                {"title": "Ferry timetable unified", "section": "Harbour", "body": "Six towns share one ferry timetable.", "published_at": "2026-03-02T10:00:00Z"},
                {"title": "Café owners plead for fair rent", "section": "Town", "body": "The café on the quay may close.", "published_at": "2026-03-03T10:00:00Z"},
                {"title": "Rowing club wins", "section": "Sport", "summary": "A crane of a finish.", "body": "By a length.", "published_at": "2026-03-04T10:00:00Z"},
                {"title": "Night market", "section": "Town", "external_id": "night", "body": "Stalls on the harbour front until midnight.", "published_at": "2026-03-05T10:00:00Z"},
            ]),
        )
        .await;
        // A changed story is found by its new words only; a deleted one not at all.
        post(db, json!([{"title": "Night market", "section": "Town", "external_id": "night", "body": "Lanterns along the promenade.", "published_at": "2026-03-05T10:00:00Z"}])).await;
        ingest::delete(db, 2).await.unwrap();

        let none = Filters { section_id: None, from: None, to: None };
        let town = store::sections::by_slug(&db.reader, "town").await.unwrap().unwrap();
        let mut results = serde_json::Map::new();
        for input in [
            "crane", "quay", "\"quay gate\"", "cran*", "ferry", "cafe", "café", "crane OR lanterns",
            "crane quay", "harbour", "lanterns", "\"gate quay\"", "zzz", "(((", "-crane",
        ] {
            // Input that is no search at all gets the same advice on both.
            let outcome = match SearchQuery::parse(input) {
                Ok(_) => json!(found(db, input, &none).await),
                Err(problem) => json!(format!("{problem:?}")),
            };
            results.insert(input.to_owned(), outcome);
        }
        let expect = |input: &str, ids: &[i64]| {
            assert_eq!(results[input], json!(ids), "search for {input}");
        };
        expect("crane", &[1, 4]);
        expect("quay", &[1, 3]);
        expect("\"quay gate\"", &[1]);
        expect("cran*", &[1, 4]);
        expect("ferry", &[]);
        expect("cafe", &[3]);
        expect("café", &[3]);
        expect("crane OR lanterns", &[1, 4, 5]);
        expect("crane quay", &[1]);
        expect("harbour", &[]);
        expect("lanterns", &[5]);
        expect("zzz", &[]);

        let in_town = found(db, "quay", &Filters { section_id: Some(town.id), from: None, to: None }).await;
        assert_eq!(in_town, BTreeSet::from([3]));
        let dated = Filters { section_id: None, from: Some(1_772_409_600), to: Some(1_772_582_400) };
        let in_range = found(db, "crane OR quay OR lanterns", &dated).await;
        assert_eq!(in_range, BTreeSet::from([3]), "2 to 4 March inclusive");
        results.insert("in town".into(), json!(in_town));
        results.insert("dated".into(), json!(in_range));
        Value::Object(results)
    })
    .await;
}

/// Filters narrow a search before its bound, and newest first means by
/// publication time: a small section's match and an old story stored
/// before a thousand newer matches are found, and an archive stored last
/// does not push today's stories out of a newest-first search.
#[tokio::test]
async fn search_bounds_apply_within_filters_and_by_publication_time() {
    on_both(async |db: &Db| {
        post(
            db,
            json!([
                {"title": "Quiet harbour ceasefire note", "section": "Harbour", "body": "Boats wait.", "published_at": "2026-03-01T10:00:00Z"},
                {"title": "The old ceasefire talks", "section": "World", "body": "Delegates met.", "published_at": "2015-06-01T10:00:00Z"},
            ]),
        )
        .await;
        let newer = |n: usize, day: &str| {
            json!({"title": format!("Ceasefire update {n}"), "section": "World", "body": "The ceasefire holds.",
                   "published_at": format!("{day}T{:02}:{:02}:00Z", n / 60 % 24, n % 60)})
        };
        for chunk in 0..2 {
            let items: Vec<Value> = (chunk * 600..(chunk + 1) * 600).map(|n| newer(n, "2026-03-10")).collect();
            post(db, Value::Array(items)).await;
        }
        let archive: Vec<Value> = (0..600).map(|n| newer(10_000 + n, "2015-09-18")).collect();
        post(db, Value::Array(archive)).await;

        let harbour = store::sections::by_slug(&db.reader, "harbour").await.unwrap().unwrap();
        let query = SearchQuery::parse("ceasefire").unwrap();
        let search = async |filters: Filters, order: Order| {
            store::search::search(&db.reader, &query, &filters, order, 5, 0).await.unwrap()
        };
        let in_harbour = search(Filters { section_id: Some(harbour.id), from: None, to: None }, Order::Relevance).await;
        let titles = |found: &store::search::Found| found.hits.iter().map(|h| h.card.title.clone()).collect::<Vec<_>>();
        assert_eq!(titles(&in_harbour), ["Quiet harbour ceasefire note"]);
        assert_eq!(in_harbour.bound, None, "every match in the section was weighed");
        // 2015-06-01 to 2015-06-30.
        let june_2015 = search(Filters { section_id: None, from: Some(1_433_116_800), to: Some(1_435_708_799) }, Order::Relevance).await;
        assert_eq!(titles(&june_2015), ["The old ceasefire talks"]);
        let newest = search(Filters::default(), Order::Newest).await;
        assert!(
            newest.hits.iter().all(|h| h.card.published_at.format("%Y").to_string() == "2026"),
            "this year's stories lead: {:?}",
            titles(&newest)
        );
        let nothing = search(Filters { section_id: None, from: Some(1_262_304_000), to: Some(1_293_839_999) }, Order::Relevance).await;
        assert!(nothing.hits.is_empty() && nothing.bound.is_none(), "2010 has truly nothing");
        json!({
            "harbour": titles(&in_harbour), "june_2015": titles(&june_2015),
            "newest": newest.hits.iter().map(|h| h.card.id).collect::<Vec<_>>(),
        })
    })
    .await;
}

#[tokio::test]
async fn reading_state_per_reader() {
    on_both(async |db: &Db| {
        let ada = accounts::add(db, "ada", PASSWORD.into(), Role::Admin).await.unwrap();
        let ben = accounts::add(db, "ben", PASSWORD.into(), Role::Admin).await.unwrap();
        let stories: Vec<Value> = (0..6)
            .map(|n| story(&format!("Bout {n}"), if n < 4 { "Boxing" } else { "Rowing" }, &format!("2026-03-0{}T10:00:00Z", n + 1)))
            .collect();
        post(db, Value::Array(stories)).await;
        let boxing = store::sections::by_slug(&db.reader, "boxing").await.unwrap().unwrap();

        let reading = Reading::default();
        reading.act(db, ada.id, 1, Action::Read).await.unwrap();
        reading.act(db, ada.id, 2, Action::Read).await.unwrap();
        reading.act(db, ada.id, 2, Action::Unread).await.unwrap();
        reading.act(db, ada.id, 5, Action::Save).await.unwrap();
        reading.act(db, ada.id, 6, Action::Save).await.unwrap();
        reading.act(db, ada.id, 6, Action::Unsave).await.unwrap();
        // Up to story 3 (stored before 4): 1 to 3 read, 4 still unread.
        reading.read_section(db, ada.id, Some(boxing.id), UpTo::Article(3)).await.unwrap();
        reading.set_settings(db, ada.id, true, false, false).await.unwrap();

        let state = async |user: i64| {
            let snapshot = reading.snapshot(db, user, i64::MAX).await.unwrap();
            let counts = reading.counts(db, user, i64::MAX).await.unwrap();
            let read: Vec<i64> = (1..=6)
                .filter(|&id| snapshot.is_read(id, if id < 5 { boxing.id } else { boxing.id + 1 }))
                .collect();
            let mut saved: Vec<i64> = snapshot.saved_ids().collect();
            saved.sort_unstable();
            let unread: Vec<i64> = gazette::reading::unread_page(db, &snapshot, Scope::All, Cursor::START, 10)
                .await
                .unwrap()
                .items
                .iter()
                .map(|c| c.id)
                .collect();
            json!({ "read": read, "saved": saved, "unread": unread, "total": counts.total.unread, "hide_read": snapshot.hide_read })
        };
        let ada_state = state(ada.id).await;
        assert_eq!(
            ada_state,
            json!({ "read": [1, 2, 3], "saved": [5], "unread": [6, 5, 4], "total": 3, "hide_read": true })
        );
        let ben_state = state(ben.id).await;
        assert_eq!(ben_state["read"], json!([]), "one reader's marks are not another's");
        assert_eq!(ben_state["total"], 6);

        // A deleted story leaves every reader's state; a removed reader's
        // state goes with them.
        ingest::delete(db, 5).await.unwrap();
        let after_delete = state(ada.id).await;
        assert_eq!(after_delete["saved"], json!([]));
        accounts::remove(db, "ada").await.unwrap();
        let saved_rows = store::reading::saved_ids(&db.reader, ada.id, (i64::MAX, i64::MAX), 10).await.unwrap();
        assert!(saved_rows.is_empty());
        json!({ "ada": ada_state, "ben": ben_state, "after_delete": after_delete })
    })
    .await;
}

#[tokio::test]
async fn sessions_tokens_and_keys() {
    on_both(async |db: &Db| {
        let ada = accounts::add(db, "ada", PASSWORD.into(), Role::Admin).await.unwrap();
        let duplicate = accounts::add(db, "ada", PASSWORD.into(), Role::Reader)
            .await
            .map_err(|e| error_code(&e));

        // Sessions: found by their cookie, ended one by one or all at once.
        let one = session::start(db, &ada).await.unwrap();
        let two = session::start(db, &ada).await.unwrap();
        let found = session::find(db, &one.cookie_value).await.unwrap().unwrap();
        assert_eq!(found.user.name, "ada");
        assert!(session::find(db, "no-such-session").await.unwrap().is_none());
        session::end(db, &found).await.unwrap();
        let ended = session::find(db, &one.cookie_value).await.unwrap().is_none();
        let other_lives = session::find(db, &two.cookie_value).await.unwrap().is_some();
        session::end_all(db, ada.id).await.unwrap();
        let all_ended = session::find(db, &two.cookie_value).await.unwrap().is_none();
        assert!(ended && other_lives && all_ended);

        // Ingest tokens: valid until revoked, listed by name.
        let token = gazette::tokens::create(db, "wire").await.unwrap();
        let valid = gazette::tokens::is_valid(db, None, &token).await.unwrap();
        let listed: Vec<String> = store::tokens::list(&db.reader)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        let revoked = db
            .writer
            .transaction(async |tx| store::tokens::revoke(tx, "wire").await)
            .await
            .unwrap();
        let still_valid = gazette::tokens::is_valid(db, None, &token).await.unwrap();
        assert!(valid && revoked && !still_valid);

        // Personal API keys and app passwords: their owner, until revoked.
        let key = keys::create(db, ada.id, "phone").await.unwrap();
        let owner = keys::owner(db, &key).await.unwrap().map(|(user, _)| user.name);
        let listed_keys = store::reading::api_keys(&db.reader, ada.id).await.unwrap();
        let key_id = listed_keys[0].id;
        keys::revoke(db, ada.id, key_id).await.unwrap();
        let key_after = keys::owner(db, &key).await.unwrap().is_none();
        let app = app_passwords::create(db, &ada, "reeder").await.unwrap();
        let signed_in = app_passwords::sign_in(db, "ada", &app).await.unwrap().is_some();
        let wrong = app_passwords::sign_in(db, "ada", "not-it").await.unwrap().is_none();
        assert_eq!(owner.as_deref(), Some("ada"));
        assert!(key_after && signed_in && wrong);

        // Password and role changes; removing a user.
        accounts::set_password(db, "ada", "another long secret".into())
            .await
            .unwrap();
        let old = accounts::authenticate(db, "ada", PASSWORD.into())
            .await
            .unwrap()
            .is_none();
        let new = accounts::authenticate(db, "ada", "another long secret".into())
            .await
            .unwrap()
            .is_some();
        let last_admin = accounts::set_role(db, "ada", Role::Reader)
            .await
            .map_err(|e| error_code(&e));
        accounts::add(db, "ben", PASSWORD.into(), Role::Reader).await.unwrap();
        accounts::remove(db, "ben").await.unwrap();
        let users: Vec<String> = accounts::list(db)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.user.name)
            .collect();
        assert!(old && new);
        assert_eq!(users, ["ada"]);
        json!({
            "duplicate": duplicate.err(), "listed": listed, "owner": owner, "last_admin": last_admin.err(),
            "users": users,
        })
    })
    .await;
}

/// A wire story of several paragraphs, as outlets republish it.
fn wire_text(place: &str) -> String {
    format!(
        "The port authority of {place} said on Tuesday that the northern harbour would stay closed for at \
         least a week after a storm damaged two cranes and a stretch of the breakwater.\n\n\
         Ships bound for {place} are being sent to the southern terminal, where officials expect delays of \
         up to two days for container traffic and longer for bulk carriers.\n\n\
         A spokeswoman for the authority said engineers were inspecting the breakwater by boat and that \
         repairs to the cranes could take longer than first announced."
    )
}

#[tokio::test]
async fn stories_and_copies_are_placed_alike() {
    on_both(async |db| {
        let text = wire_text("Kestrel Bay");
        let copy = format!("{text}\n\n(c) 2026 Example Wire. All rights reserved.");
        let placed = post(
            db,
            json!([
                {"title": "Storm shuts Kestrel Bay harbour", "section": "World", "source": "Example Wire", "body": text},
                {"title": "Kestrel Bay harbour closed by storm", "section": "Europe", "source": "Daily Courier", "body": copy},
                {"title": "Storm shuts Norrholm harbour", "section": "World", "source": "Example Wire",
                 "body": wire_text("Norrholm").replace("two cranes", "four cranes").replace("Tuesday", "Friday")},
            ]),
        )
        .await;
        let later = post(
            db,
            json!([{"title": "Kestrel Bay storm: cranes wrecked, harbour shut", "section": "World",
                    "source": "Harbour Times", "body": format!("{text}\n\nOur reporter saw the divers.")}]),
        )
        .await;
        let ids: Vec<i64> = placed.iter().chain(&later).map(|p| p[0].as_i64().unwrap()).collect();
        // Placed after they are stored, as the app's worker does it.
        assert!(store::stories::of_articles(&db.reader, &ids).await.unwrap().is_empty());
        assert_eq!(store::stories::waiting(&db.reader).await.unwrap(), 4);
        let memory = gazette::ingest::budget::MemoryBudget::new(256 << 20);
        while gazette::stories::placing::step(db, &memory).await.unwrap() > 0 {}
        assert_eq!(store::stories::waiting(&db.reader).await.unwrap(), 0);
        let stories = store::stories::of_articles(&db.reader, &ids).await.unwrap();
        let of = |id: i64| *stories.iter().find(|s| s.article_id == id).unwrap();
        let first = of(ids[0]);
        // Story ids are the store's own: compare them by what they group.
        let same = |a: i64, b: i64| of(a).id == of(b).id;
        let versions = store::stories::versions(&db.reader, first.id, i64::MAX).await.unwrap();
        // Listing a section shows its story once.
        let world = store::articles::page(&db.reader, Scope::Section(1), Cursor::START, 50)
            .await
            .unwrap();
        let mut tx_ids = db
            .writer
            .transaction(async |tx| store::stories::copies(tx, ids[1]).await)
            .await
            .unwrap();
        tx_ids.sort();
        // Deleting the first version hands the story on.
        ingest::delete(db, ids[0]).await.unwrap();
        let after = store::stories::of_articles(&db.reader, &ids[1..2]).await.unwrap();
        assert_eq!(of(ids[1]).duplicate_of, Some(ids[0]), "the copy is a copy");
        assert!(same(ids[0], ids[1]) && same(ids[0], ids[3]) && !same(ids[0], ids[2]));
        assert_eq!((first.articles, first.sources), (3, 3));
        assert_eq!(tx_ids, [ids[0], ids[1], ids[3]], "the original and its copies");
        assert!(!world.items.iter().any(|c| c.id == ids[3]), "the story is listed once");
        assert_eq!(after[0].duplicate_of, None, "the copy is the original now");
        json!({
            "copy_of_first": of(ids[1]).duplicate_of == Some(ids[0]),
            "copy_joins": same(ids[0], ids[1]),
            "other_place_apart": !same(ids[0], ids[2]),
            "fourth_joins": same(ids[0], ids[3]),
            "counts": [first.articles, first.sources],
            "versions": versions.iter().map(|v| [v.id, v.duplicate_of.unwrap_or(0)]).collect::<Vec<_>>(),
            "world_listed": world.items.iter().map(|c| c.id).collect::<Vec<_>>(),
            "copies": tx_ids,
            "after_delete": after.iter().map(|s| json!([s.articles, s.duplicate_of])).collect::<Vec<_>>(),
        })
    })
    .await;
}

#[tokio::test]
async fn site_rules_are_kept_counted_and_applied_alike() {
    on_both(async |db| {
        let rule = gazette::rules::Rule {
            name: "No horoscopes".to_owned(),
            action: gazette::rules::Action::Drop,
            scope: gazette::rules::Scope::default(),
            mode: gazette::rules::Mode::All,
            conditions: vec![gazette::rules::Condition {
                field: gazette::rules::Field::Title,
                words: Some("horoscope".to_owned()),
                regex: None,
            }],
            tags: Vec::new(),
            section: None,
            enabled: true,
        };
        let spec = serde_json::to_string(&rule).unwrap();
        let (first, second) = db
            .writer
            .transaction(async |tx| {
                let first = store::rules::insert(tx, "No horoscopes", &spec, 100).await?;
                let second = store::rules::insert(tx, "Second", &spec, 101).await?;
                Ok::<_, sqlx::Error>((first, second))
            })
            .await
            .unwrap();
        db.rules_changed();
        let placed = post(
            db,
            json!([story("Horoscope for Tuesday", "Life", "2026-03-01T10:00:00Z"),
                   story("Council budget passes", "Politics", "2026-03-01T11:00:00Z")]),
        )
        .await;
        let counted = format!("[[{first}, 2], [{second}, 1], [{first}, 1]]");
        let renamed = db
            .writer
            .transaction(async |tx| {
                store::rules::count_matches(tx, &counted, 200).await?;
                let missing = store::rules::update(tx, 999, "x", &spec, 300).await?;
                let found = store::rules::update(tx, second, "Renamed", &spec, 300).await?;
                let gone = store::rules::delete(tx, first).await?;
                Ok::<_, sqlx::Error>((missing, found, gone, store::rules::count(tx).await?))
            })
            .await
            .unwrap();
        let rows = store::rules::list(&db.reader).await.unwrap();
        assert_eq!(placed[0], "filtered", "{placed:?}");
        json!({
            "placed": placed.iter().map(|p| p.get(1).cloned().unwrap_or_else(|| p.clone())).collect::<Vec<_>>(),
            "renamed": [renamed.0, renamed.1, renamed.2, renamed.3],
            "rows": rows.iter().map(|r| json!([r.name, r.matched, r.last_matched_at, r.created_at, r.updated_at])).collect::<Vec<_>>(),
        })
    })
    .await;
}

#[tokio::test]
async fn reader_rules_and_their_mutes_are_kept_alike() {
    on_both(async |db| {
        let ben = gazette::accounts::add(db, "ben", "correct horse battery".into(), gazette::accounts::Role::Reader)
            .await
            .unwrap();
        let placed = post(
            db,
            json!([story("Horoscope for Tuesday", "Life", "2026-03-01T10:00:00Z"),
                   story("Council budget passes", "Politics", "2026-03-01T11:00:00Z")]),
        )
        .await;
        let ids: Vec<i64> = placed.iter().map(|p| p[0].as_i64().unwrap()).collect();
        let spec = r#"{"name":"x","action":"mute","conditions":[{"field":"title","words":"horoscope"}]}"#;
        let (first, second, count) = db
            .writer
            .transaction(async |tx| {
                let first = store::reader_rules::insert(tx, ben.id, "Quiet", spec, 100).await?;
                let second = store::reader_rules::insert(tx, ben.id, "Second", spec, 101).await?;
                store::reader_rules::mute(tx, ben.id, first, &ids).await?;
                // Muted already: the first rule keeps it.
                store::reader_rules::mute(tx, ben.id, second, &ids[..1]).await?;
                store::reading::set_saved(tx, ben.id, ids[1], true, 150).await?;
                store::reader_rules::add_matches(tx, first, 2, 200).await?;
                let count = store::reader_rules::count(tx, ben.id).await?;
                Ok::<_, sqlx::Error>((first, second, count))
            })
            .await
            .unwrap();
        let muted = async || {
            let rows = store::reading::snapshot(&db.reader, ben.id).await.unwrap();
            let mut muted = store::reading::muted(&db.reader, ben.id, 0).await.unwrap();
            muted.sort_unstable();
            let saved: Vec<i64> = rows.marks.iter().filter(|m| m.saved).map(|m| m.article_id).collect();
            (muted.iter().map(|(id, _)| *id).collect::<Vec<_>>(), saved, rows.mutes_version)
        };
        let before = muted().await;
        let changed = db
            .writer
            .transaction(async |tx| {
                let other = store::reader_rules::update(tx, ben.id + 1, first, "x", spec, 300).await?;
                let found = store::reader_rules::update(tx, ben.id, second, "Renamed", spec, 300).await?;
                store::reader_rules::unmute(tx, ben.id, first).await?;
                store::reading::bump_mutes(tx, ben.id).await?;
                let gone = store::reader_rules::delete(tx, ben.id, first).await?;
                Ok::<_, sqlx::Error>((other, found, gone))
            })
            .await
            .unwrap();
        let after = muted().await;
        let rows = store::reader_rules::list(&db.reader, ben.id).await.unwrap();
        let everyone = store::reader_rules::everyone(&db.reader).await.unwrap();
        let subjects = store::reader_rules::subjects(&db.reader, &ids).await.unwrap();
        let sections = store::reader_rules::section_ids(&db.reader, &["life".to_owned(), "nowhere".to_owned()])
            .await
            .unwrap();
        json!({
            "count": count,
            "before": [before.0.iter().map(|id| id - ids[0]).collect::<Vec<_>>(), before.1.iter().map(|id| id - ids[0]).collect::<Vec<_>>(), before.2],
            "after": [after.0.iter().map(|id| id - ids[0]).collect::<Vec<_>>(), after.1.iter().map(|id| id - ids[0]).collect::<Vec<_>>(), after.2],
            "changed": [changed.0, changed.1, changed.2],
            "rows": rows.iter().map(|r| json!([r.name, r.matched, r.last_matched_at, r.created_at, r.updated_at])).collect::<Vec<_>>(),
            "everyone": everyone.iter().map(|r| json!([r.user_id == ben.id, r.spec])).collect::<Vec<_>>(),
            "subjects": subjects.iter().map(|s| json!([s.title, s.section_slug, s.tags, s.summary])).collect::<Vec<_>>(),
            "sections": sections.len(),
        })
    })
    .await;
}
