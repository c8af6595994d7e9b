//! The reader apps' protocols over HTTP: Google Reader (/api/greader and
//! the site root) and Fever (/api/fever, /fever/), signed in with app
//! passwords, sharing reading state with the web pages. The last tests
//! run whole syncs with independent client libraries from crates.io
//! (`greader_api` and `fever_api`, the ones the NewsFlash app is built on).

mod support;

use axum::Router;
use axum::routing::get;
use reqwest::StatusCode;
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};
use support::browser::Browser;
use support::{TestApp, article, spawn_with};

use gazette::accounts::{self, Role, app_passwords};

const PASSWORD: &str = "correct horse battery";
const READING_LIST: &str = "user/-/state/com.google/reading-list";
const READ: &str = "user/-/state/com.google/read";
const STARRED: &str = "user/-/state/com.google/starred";

struct Apps {
    app: TestApp,
    /// ada (admin) and ben (reader): app passwords.
    ada: String,
    ben: String,
}

async fn apps() -> Apps {
    let app = spawn_with(|c| {
        c.allow_private_feeds = true;
        c.site_name = "Daily Wire Desk".to_owned();
    })
    .await;
    let ada = accounts::add(&app.db, "ada", PASSWORD.into(), Role::Admin)
        .await
        .unwrap();
    let ben = accounts::add(&app.db, "ben", PASSWORD.into(), Role::Reader)
        .await
        .unwrap();
    let ada = app_passwords::create(&app.db, &ada, "phone").await.unwrap();
    let ben = app_passwords::create(&app.db, &ben, "tablet").await.unwrap();
    Apps { app, ada, ben }
}

async fn story(app: &TestApp, title: &str, section: &str) -> i64 {
    app.create(&article(title, section)).await["id"].as_i64().unwrap()
}

async fn story_tagged(app: &TestApp, title: &str, section: &str, tags: &[&str]) -> i64 {
    let mut body = article(title, section);
    body["tags"] = json!(tags);
    app.create(&body).await["id"].as_i64().unwrap()
}

/// A signed-in Google Reader client, as an app holds one.
struct Reader<'a> {
    app: &'a TestApp,
    auth: String,
    prefix: &'static str,
}

impl<'a> Reader<'a> {
    async fn sign_in(app: &'a TestApp, name: &str, password: &str) -> Reader<'a> {
        let response = app
            .client
            .post(app.url("/api/greader/accounts/ClientLogin"))
            .form(&[("Email", name), ("Passwd", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.text().await.unwrap();
        let auth = body
            .lines()
            .find_map(|l| l.strip_prefix("Auth="))
            .expect("an Auth= line")
            .to_owned();
        Reader {
            app,
            auth,
            prefix: "/api/greader/reader/api/0",
        }
    }

    fn header(&self) -> String {
        format!("GoogleLogin auth={}", self.auth)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.app
            .client
            .get(self.app.url(&format!("{}{path}", self.prefix)))
            .header(AUTHORIZATION, self.header())
            .send()
            .await
            .unwrap()
    }

    async fn json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.unwrap()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.app
            .client
            .post(self.app.url(&format!("{}{path}", self.prefix)))
            .header(AUTHORIZATION, self.header())
            .form(form)
            .send()
            .await
            .unwrap()
    }

    async fn ok(&self, path: &str, form: &[(&str, &str)]) {
        let response = self.post(path, form).await;
        let status = response.status();
        assert_eq!(response.text().await.unwrap(), "OK", "{path} {form:?}");
        assert_eq!(status, StatusCode::OK);
    }

    /// Every id of a stream query, following continuations, with `between`
    /// run after each page.
    async fn all_ids(&self, query: &str, mut between: impl AsyncFnMut(usize)) -> Vec<i64> {
        let mut ids = Vec::new();
        let mut continuation: Option<String> = None;
        for page in 0.. {
            let c = continuation.as_deref().map(|c| format!("&c={c}")).unwrap_or_default();
            let body = self.json(&format!("/stream/items/ids?{query}{c}")).await;
            for item in body["itemRefs"].as_array().unwrap() {
                ids.push(item["id"].as_str().expect("ids are strings").parse::<i64>().unwrap());
            }
            match &body["continuation"] {
                Value::String(c) => continuation = Some(c.clone()),
                Value::Null => break,
                other => panic!("a continuation is a string, not {other}"),
            }
            between(page).await;
        }
        ids
    }
}

fn long(id: i64) -> String {
    format!("tag:google.com,2005:reader/item/{id:016x}")
}

async fn unread_on_the_web(app: &TestApp, name: &str) -> Vec<i64> {
    let mut browser = Browser::new(app);
    browser.sign_in(name, PASSWORD).await;
    let body: Value = browser.get("/api/v1/me/unread?limit=100").await.json().await.unwrap();
    body["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn client_login_takes_an_app_password_only() {
    let Apps { app, ada, .. } = apps().await;
    // POST (form), GET (query), JSON, and at the site root.
    let reader = Reader::sign_in(&app, "ada", &ada).await;
    let got = app
        .client
        .get(app.url(&format!("/accounts/ClientLogin?Email=ada&Passwd={ada}&output=json")))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    let json: Value = got.json().await.unwrap();
    assert_eq!(json["Auth"], reader.auth.as_str(), "the same token each time");
    for (name, password) in [
        ("ada", PASSWORD),
        ("ada", "wrong-wrong-wrong"),
        ("nobody", ada.as_str()),
        ("ben", ada.as_str()),
    ] {
        let refused = app
            .client
            .post(app.url("/accounts/ClientLogin"))
            .form(&[("Email", name), ("Passwd", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{name} {password}");
        assert!(refused.text().await.unwrap().contains("BadAuthentication"));
    }
    // The token works at both roots; nothing else does.
    assert_eq!(reader.json("/user-info").await["userName"], "ada");
    let root = Reader {
        prefix: "/reader/api/0",
        auth: reader.auth.clone(),
        app: &app,
    };
    assert_eq!(root.json("/user-info").await["userName"], "ada");
    let bad = Reader {
        auth: "not-a-token".into(),
        prefix: reader.prefix,
        app: &app,
    };
    let refused = bad.get("/user-info").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(
        refused.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let none = app
        .client
        .get(app.url("/reader/api/0/unread-count"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    // Google Reader answers are never kept by the page cache.
    assert_eq!(
        app.client
            .get(app.url("/reader/api/0/user-info"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn app_passwords_are_made_listed_and_revoked_on_the_account_page() {
    let Apps { app, .. } = apps().await;
    let mut browser = Browser::new(&app);
    browser.sign_in("ben", PASSWORD).await;
    let csrf = browser.csrf().await;
    let page = browser
        .post("/account/app-passwords", &[("csrf", &csrf), ("name", "NetNewsWire")])
        .await
        .text()
        .await
        .unwrap();
    let at = page
        .find("id=\"new-app-password\" class=\"key-value\" readonly value=\"")
        .unwrap()
        + 56;
    let password = page[at..].split('"').next().unwrap().to_owned();
    assert_eq!(password.len(), 29, "{password}");
    assert!(
        page.contains("/api/greader") && page.contains("/api/fever"),
        "the page says how to set an app up"
    );
    // Shown once: the account page lists it, without the password.
    let listed = browser.get("/account").await.text().await.unwrap();
    assert!(listed.contains("NetNewsWire") && !listed.contains(&password));
    assert!(!app.fingerprint().await.contains(&password), "only digests are stored");
    let reader = Reader::sign_in(&app, "ben", &password).await;
    assert_eq!(reader.get("/user-info").await.status(), StatusCode::OK);
    // Fever's key for it works too, until it is revoked.
    let key = app_passwords::fever_key("ben", &password);
    assert_eq!(fever(&app, "", &key).await["auth"], 1);
    let doc = scraper::Html::parse_document(&listed);
    let form = scraper::Selector::parse("form[action^=\"/account/app-passwords/\"]").unwrap();
    // ben's own second app password: the one just made.
    let action = doc
        .select(&form)
        .next_back()
        .unwrap()
        .value()
        .attr("action")
        .unwrap()
        .to_owned();
    let revoked = browser.post(&action, &[("csrf", &csrf)]).await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(reader.get("/user-info").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(fever(&app, "", &key).await["auth"], 0);
    // Someone else's app password is not theirs to revoke.
    let other = browser
        .post("/account/app-passwords/1/delete", &[("csrf", &csrf)])
        .await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_item_id_form_marks_the_same_story() {
    let Apps { app, ben, .. } = apps().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(story(&app, &format!("Round {n}"), "Boxing").await);
    }
    let reader = Reader::sign_in(&app, "ben", &ben).await;
    let forms = [
        long(ids[0]),
        format!("tag:google.com,2005:reader/item/{:x}", ids[1]),
        format!("{:016x}", ids[2]),
        ids[3].to_string(),
    ];
    for form in &forms {
        reader.ok("/edit-tag", &[("i", form), ("a", READ)]).await;
    }
    assert_eq!(unread_on_the_web(&app, "ben").await, vec![ids[4]]);
    // Contents use the long form; id lists the decimal one.
    let contents = reader
        .json(&format!("/stream/items/contents?i={}&i={}", ids[4], long(ids[0])))
        .await;
    let items = contents["items"].as_array().unwrap();
    assert_eq!(items[0]["id"], long(ids[4]));
    assert_eq!(items[1]["id"], long(ids[0]));
    for field in ["crawlTimeMsec", "timestampUsec"] {
        let value = items[0][field].as_str().expect("a string");
        assert!(!value.is_empty() && value.parse::<i64>().is_ok(), "{field}: {value}");
    }
    assert!(items[1]["categories"].as_array().unwrap().contains(&json!(READ)));
    assert!(!items[0]["categories"].as_array().unwrap().contains(&json!(READ)));
    assert_eq!(items[0]["origin"]["streamId"], "feed/1");
    assert_eq!(items[0]["origin"]["title"], "Boxing");
}

#[tokio::test]
async fn a_sync_pages_without_skipping_or_repeating_while_items_are_marked() {
    let Apps { app, ben, .. } = apps().await;
    let mut ids = Vec::new();
    for n in 0..9 {
        let section = ["Boxing", "Football", "Tennis"][n % 3];
        ids.push(story(&app, &format!("Match report {n}"), section).await);
    }
    let reader = Reader::sign_in(&app, "ben", &ben).await;
    // The whole reading list, 2 at a time, newest first, while the app
    // marks the next page's first item read between pages.
    let mut newest_first = ids.clone();
    newest_first.reverse();
    let marked = std::cell::RefCell::new(Vec::new());
    let synced = reader
        .all_ids(&format!("s={READING_LIST}&n=2"), async |page| {
            let next = newest_first[(page + 1) * 2];
            reader.ok("/edit-tag", &[("i", &next.to_string()), ("a", READ)]).await;
            marked.borrow_mut().push(next);
        })
        .await;
    assert_eq!(synced, newest_first, "every item once, in order");
    // Unread only (xt=read), oldest first: what was marked is left out,
    // nothing else is, even as more is marked mid-sync.
    let marked = marked.into_inner();
    let late = ids[8];
    let unread = reader
        .all_ids(&format!("s={READING_LIST}&xt={READ}&n=2&r=o"), async |page| {
            if page == 0 {
                reader.ok("/edit-tag", &[("i", &late.to_string()), ("a", READ)]).await;
            }
        })
        .await;
    let expected: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !marked.contains(id) && *id != late)
        .collect();
    assert_eq!(unread, expected);
    // A feed's stream, named in the path with its slash encoded.
    let boxing = reader.json("/stream/contents/feed%2F1?n=10").await;
    let titles: Vec<&str> = boxing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Match report 6", "Match report 3", "Match report 0"]);
    let same = reader.json("/stream/contents?s=feed/1&n=10").await;
    assert_eq!(same["items"], boxing["items"]);
    // kept-unread is what is unread, as Miniflux and FreshRSS read it.
    let kept = reader
        .all_ids("s=user/-/state/com.google/kept-unread&n=50&r=o", async |_| {})
        .await;
    assert_eq!(kept, unread);
    // Read stream; starred stream; ot/nt around the stored times.
    let read = reader.all_ids(&format!("s={READ}&n=50"), async |_| {}).await;
    assert_eq!(read.len(), marked.len() + 1);
    reader
        .ok("/edit-tag", &[("i", &ids[2].to_string()), ("a", STARRED)])
        .await;
    assert_eq!(
        reader.all_ids(&format!("s={STARRED}"), async |_| {}).await,
        vec![ids[2]]
    );
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        reader
            .all_ids(&format!("s={READING_LIST}&ot={}", now + 60), async |_| {})
            .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        reader
            .all_ids(&format!("s={READING_LIST}&nt={}&n=50", now + 60), async |_| {})
            .await
            .len(),
        9
    );
    assert_eq!(
        reader
            .all_ids(&format!("s={READING_LIST}&nt={}", now - 3600), async |_| {})
            .await,
        Vec::<i64>::new()
    );
}

#[tokio::test]
async fn state_goes_both_ways_between_the_apps_and_the_web() {
    let Apps { app, ben, .. } = apps().await;
    let first = story(&app, "Derby day", "Football").await;
    let second = story(&app, "Title fight", "Boxing").await;
    let reader = Reader::sign_in(&app, "ben", &ben).await;
    // Read on the web: the app's next sync of unread ids leaves it out.
    let mut browser = Browser::new(&app);
    browser.sign_in("ben", PASSWORD).await;
    let csrf = browser.csrf().await;
    browser
        .post(&format!("/reading/{first}"), &[("csrf", &csrf), ("do", "read")])
        .await;
    let unread = reader
        .all_ids(&format!("s={READING_LIST}&xt={READ}"), async |_| {})
        .await;
    assert_eq!(unread, vec![second]);
    // Starred in the app: saved on the web.
    reader.ok("/edit-tag", &[("i", &long(second)), ("a", STARRED)]).await;
    let saved: Value = browser.get("/api/v1/me/saved").await.json().await.unwrap();
    assert_eq!(saved["articles"][0]["id"], second);
    // Counts agree: the app's unread-count and the web's.
    let counts = reader.json("/unread-count").await;
    let me: Value = browser.get("/api/v1/me").await.json().await.unwrap();
    let reading_list = counts["unreadcounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == READING_LIST)
        .unwrap();
    assert_eq!(reading_list["count"], me["unread"]["total"]["unread"]);
    assert_eq!(reading_list["count"], 1);
    assert_eq!(counts["max"], 1000);
    // Mark all as read in the app, up to now: a story that arrives after
    // stays unread on the web.
    let before = chrono::Utc::now().timestamp_micros();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let late = story(&app, "Late kick-off", "Football").await;
    reader
        .ok("/mark-all-as-read", &[("s", READING_LIST), ("ts", &before.to_string())])
        .await;
    assert_eq!(unread_on_the_web(&app, "ben").await, vec![late]);
    // The other reader's state is untouched by all of it.
    assert_eq!(unread_on_the_web(&app, "ada").await.len(), 3);
    // Unstarring is setting, not toggling: twice leaves it unstarred.
    for _ in 0..2 {
        reader
            .ok("/edit-tag", &[("i", &second.to_string()), ("r", STARRED)])
            .await;
    }
    let saved: Value = browser.get("/api/v1/me/saved").await.json().await.unwrap();
    assert_eq!(saved["articles"], json!([]));
}

#[tokio::test]
async fn labels_and_the_folder() {
    let Apps { app, ben, .. } = apps().await;
    let tagged = story_tagged(&app, "Heavyweight bout", "Boxing", &["Heavyweight"]).await;
    let plain = story(&app, "Cup draw", "Football").await;
    let reader = Reader::sign_in(&app, "ben", &ben).await;
    let tags = reader.json("/tag/list").await;
    let ids: Vec<&str> = tags["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"user/-/label/Daily Wire Desk"), "{ids:?}");
    assert!(ids.contains(&"user/-/label/Heavyweight"), "{ids:?}");
    let subs = reader.json("/subscription/list").await;
    for sub in subs["subscriptions"].as_array().unwrap() {
        assert_eq!(sub["categories"][0]["label"], "Daily Wire Desk");
        assert!(sub["url"].as_str().unwrap().ends_with("/feed.atom"));
    }
    // An article's tag is a label stream; the folder is everything.
    assert_eq!(
        reader.all_ids("s=user/-/label/Heavyweight", async |_| {}).await,
        vec![tagged]
    );
    assert_eq!(
        reader.all_ids("s=user/-/label/Daily%20Wire%20Desk", async |_| {}).await,
        vec![plain, tagged]
    );
    // A reader's own label: put on, listed, renamed, removed.
    reader
        .ok("/edit-tag", &[("i", &plain.to_string()), ("a", "user/-/label/Later")])
        .await;
    assert_eq!(reader.all_ids("s=user/-/label/Later", async |_| {}).await, vec![plain]);
    reader
        .ok(
            "/rename-tag",
            &[("s", "user/-/label/Later"), ("dest", "user/-/label/Weekend")],
        )
        .await;
    assert_eq!(
        reader.all_ids("s=user/-/label/Weekend", async |_| {}).await,
        vec![plain]
    );
    assert_eq!(
        reader.all_ids("s=user/-/label/Later", async |_| {}).await,
        Vec::<i64>::new()
    );
    let contents = reader.json(&format!("/stream/items/contents?i={plain}")).await;
    assert!(
        contents["items"][0]["categories"]
            .as_array()
            .unwrap()
            .contains(&json!("user/-/label/Weekend"))
    );
    reader.ok("/disable-tag", &[("s", "user/-/label/Weekend")]).await;
    assert_eq!(
        reader.all_ids("s=user/-/label/Weekend", async |_| {}).await,
        Vec::<i64>::new()
    );
    // Marking a label read reaches its stories only.
    reader
        .ok("/mark-all-as-read", &[("s", "user/-/label/Heavyweight")])
        .await;
    assert_eq!(unread_on_the_web(&app, "ben").await, vec![plain]);
    // Shared names cannot be renamed from an app.
    let refused = reader
        .post(
            "/rename-tag",
            &[("s", "user/-/label/Daily Wire Desk"), ("dest", "Mine")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let missing = reader
        .post("/rename-tag", &[("s", "user/-/label/Heavyweight"), ("dest", "Big")])
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_requests_get_a_clear_answer_and_change_nothing() {
    let Apps { app, ben, .. } = apps().await;
    let id = story(&app, "Press conference", "Boxing").await;
    let reader = Reader::sign_in(&app, "ben", &ben).await;
    reader.json("/unread-count").await;
    let before = app.fingerprint().await;
    let write_token = reader.get("/token").await.text().await.unwrap();
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, u16);
    let cases: Vec<Case> = vec![
        ("/edit-tag", vec![("i", "not-an-id".into()), ("a", READ.into())], 422),
        ("/edit-tag", vec![("i", "0".into()), ("a", READ.into())], 422),
        ("/edit-tag", vec![("i", "424242".into()), ("a", READ.into())], 404),
        ("/edit-tag", vec![("i", long(424242)), ("a", STARRED.into())], 404),
        (
            "/edit-tag",
            vec![("i", id.to_string()), ("a", "user/-/state/nonsense".into())],
            422,
        ),
        ("/edit-tag", vec![("i", id.to_string())], 422),
        (
            "/edit-tag",
            vec![("i", id.to_string()), ("a", READ.into()), ("T", "forged".into())],
            401,
        ),
        ("/mark-all-as-read", vec![], 422),
        ("/mark-all-as-read", vec![("s", "feed/999".into())], 404),
        (
            "/mark-all-as-read",
            vec![("s", READING_LIST.into()), ("ts", "soon".into())],
            422,
        ),
        (
            "/subscription/quickadd",
            vec![("quickadd", "http://127.0.0.1:9/feed".into())],
            403,
        ),
        (
            "/subscription/edit",
            vec![("ac", "unsubscribe".into()), ("s", "feed/1".into())],
            403,
        ),
        ("/disable-tag", vec![("s", "user/-/label/Nothing".into())], 404),
    ];
    for (path, form, status) in &cases {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = reader.post(path, &form).await;
        assert_eq!(response.status().as_u16(), *status, "{path} {form:?}");
        let text = response.text().await.unwrap();
        assert!(!text.trim().is_empty(), "{path}: the answer says what is wrong");
    }
    for (query, status) in [
        ("/stream/items/ids?s=feed/999", 404),
        ("/stream/items/ids?s=nonsense", 422),
        ("/stream/items/ids?n=0", 422),
        ("/stream/items/ids?n=lots", 422),
        ("/stream/items/ids?c=abc", 422),
        ("/stream/items/ids?ot=yesterday", 422),
        ("/stream/items/ids?xt=feed/1", 422),
        ("/stream/contents/user%2F-%2Fstate%2Fcom.google%2Fnonsense", 422),
        ("/stream/items/contents?i=xyz", 422),
        ("/no-such-endpoint", 404),
    ] {
        let response = reader.get(query).await;
        assert_eq!(response.status().as_u16(), status, "{query}");
    }
    assert_eq!(app.fingerprint().await, before, "no failed request changed anything");
    // The right write token is taken, and n is bounded, not refused.
    reader
        .ok(
            "/edit-tag",
            &[("i", &id.to_string()), ("a", READ), ("T", write_token.trim())],
        )
        .await;
    assert_eq!(
        reader.json("/stream/items/ids?n=999999").await["itemRefs"][0]["id"],
        id.to_string()
    );
}

/// Serves one feed at `/{name}.xml`, its story's guid and link named after it.
async fn start_feed_server() -> String {
    let app = Router::new().route(
        "/{file}",
        get(|axum::extract::Path(file): axum::extract::Path<String>| async move {
            let name = file.trim_end_matches(".xml");
            let feed = format!(
                r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Gazette</title><link>http://example.com/</link>
        <item><title>Ferry timetable changes</title><link>http://example.com/{name}/ferry</link><guid>{name}-1</guid><description>New sailings from Monday.</description></item>
        </channel></rss>"#
            );
            ([("content-type", "application/rss+xml")], feed)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/feed.xml")
}

#[tokio::test]
async fn an_admin_adds_renames_and_removes_feeds_from_an_app() {
    let Apps { app, ada, ben } = apps().await;
    let url = start_feed_server().await;
    let reader = Reader::sign_in(&app, "ben", &ben).await;
    assert_eq!(
        reader
            .post("/subscription/quickadd", &[("quickadd", &url)])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let admin = Reader::sign_in(&app, "ada", &ada).await;
    let added = admin.post("/subscription/quickadd", &[("quickadd", &url)]).await;
    assert_eq!(added.status(), StatusCode::OK);
    let added: Value = added.json().await.unwrap();
    assert_eq!(added["numResults"], 1);
    assert_eq!(added["streamName"], "Harbour Gazette");
    let stream = added["streamId"].as_str().unwrap().to_owned();
    let items = admin.json(&format!("/stream/contents/{stream}")).await;
    assert_eq!(items["items"][0]["title"], "Ferry timetable changes");
    // Listed to every reader, in the site's folder.
    let subs = reader.json("/subscription/list").await;
    assert!(
        subs["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == stream.as_str())
    );
    admin
        .ok(
            "/subscription/edit",
            &[("ac", "edit"), ("s", &stream), ("t", "Harbour news")],
        )
        .await;
    let subs = reader.json("/subscription/list").await;
    let renamed = subs["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == stream.as_str())
        .unwrap()
        .clone();
    assert_eq!(renamed["title"], "Harbour news");
    admin
        .ok("/subscription/edit", &[("ac", "unsubscribe"), ("s", &stream)])
        .await;
    assert_eq!(
        app.count("SELECT count(*) FROM feeds").await,
        0,
        "the subscription is gone"
    );
    assert_eq!(app.count("SELECT count(*) FROM articles").await, 1, "its stories stay");
    // The same through subscription/edit ac=subscribe, with a title (and
    // another feed: the first one's story stays where it was).
    let other = url.replace("feed.xml", "port.xml");
    admin
        .ok(
            "/subscription/edit",
            &[("ac", "subscribe"), ("s", &format!("feed/{other}")), ("t", "Port news")],
        )
        .await;
    let subs = reader.json("/subscription/list").await;
    assert!(
        subs["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["title"] == "Port news"),
        "{subs}"
    );
    let other_folder = admin
        .post(
            "/subscription/edit",
            &[("ac", "edit"), ("s", &stream), ("a", "user/-/label/Elsewhere")],
        )
        .await;
    assert_eq!(other_folder.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// One Fever request: `?api&{query}` with the key in a form body.
async fn fever(app: &TestApp, query: &str, key: &str) -> Value {
    let response = app
        .client
        .post(app.url(&format!("/api/fever/?api&{query}")))
        .form(&[("api_key", key)])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success() || response.status().is_client_error());
    response.json().await.unwrap()
}

#[tokio::test]
async fn fever_serves_groups_feeds_items_and_marks() {
    let Apps { app, ben, .. } = apps().await;
    let mut ids = Vec::new();
    for n in 0..60 {
        ids.push(
            story(
                &app,
                &format!("Wire item {n}"),
                if n % 2 == 0 { "Boxing" } else { "Football" },
            )
            .await,
        );
    }
    let key = app_passwords::fever_key("ben", &ben);
    let wrong = fever(&app, "groups", "00000000000000000000000000000000").await;
    assert_eq!(wrong, json!({ "api_version": 3, "auth": 0 }));
    let all = fever(&app, "groups&feeds&favicons&links", &key).await;
    assert_eq!(all["auth"], 1);
    assert_eq!(all["groups"], json!([{ "id": 1, "title": "Daily Wire Desk" }]));
    assert_eq!(all["feeds_groups"][0]["feed_ids"], "1,2");
    assert_eq!(all["feeds"][0]["title"], "Boxing");
    assert!(
        all["favicons"][0]["data"]
            .as_str()
            .unwrap()
            .starts_with("image/svg+xml;base64,")
    );
    assert_eq!(all["links"], json!([]));
    // Items: 50 from the start, then since_id, max_id, with_ids.
    let first = fever(&app, "items", &key).await;
    let got: Vec<i64> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, ids[..50]);
    assert_eq!(first["total_items"], 60);
    let since = fever(&app, &format!("items&since_id={}", ids[49]), &key).await;
    assert_eq!(since["items"].as_array().unwrap().len(), 10);
    let max = fever(&app, &format!("items&max_id={}", ids[10]), &key).await;
    let got: Vec<i64> = max["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, ids[..10].iter().rev().copied().collect::<Vec<_>>());
    let with = fever(&app, &format!("items&with_ids={},{}", ids[3], ids[7]), &key).await;
    assert_eq!(with["items"].as_array().unwrap().len(), 2);
    let too_many: Vec<String> = ids[..51].iter().map(|i| i.to_string()).collect();
    let refused = fever(&app, &format!("items&with_ids={}", too_many.join(",")), &key).await;
    assert!(refused["error"].as_str().unwrap().contains("at most 50"));
    // Marks: item read/unread/saved/unsaved (setting, never toggling),
    // then a whole feed and the group, before a time.
    fever(&app, &format!("mark=item&as=read&id={}", ids[0]), &key).await;
    for _ in 0..2 {
        fever(&app, &format!("mark=item&as=saved&id={}", ids[1]), &key).await;
    }
    let state = fever(&app, "unread_item_ids&saved_item_ids", &key).await;
    assert_eq!(state["saved_item_ids"], ids[1].to_string());
    let unread: Vec<&str> = state["unread_item_ids"].as_str().unwrap().split(',').collect();
    assert_eq!(unread.len(), 59);
    assert!(!unread.contains(&ids[0].to_string().as_str()));
    assert!(unread_on_the_web(&app, "ben").await.len() >= 59 - 40, "the web agrees");
    fever(&app, &format!("mark=item&as=unread&id={}", ids[0]), &key).await;
    fever(&app, &format!("mark=item&as=unsaved&id={}", ids[1]), &key).await;
    let state = fever(&app, "unread_item_ids&saved_item_ids", &key).await;
    assert_eq!(state["saved_item_ids"], "");
    assert_eq!(state["unread_item_ids"].as_str().unwrap().split(',').count(), 60);
    let later = chrono::Utc::now().timestamp() + 5;
    fever(&app, &format!("mark=feed&as=read&id=1&before={later}"), &key).await;
    let state = fever(&app, "unread_item_ids", &key).await;
    assert_eq!(state["unread_item_ids"].as_str().unwrap().split(',').count(), 30);
    fever(&app, &format!("mark=group&as=read&id=1&before={later}"), &key).await;
    assert_eq!(fever(&app, "unread_item_ids", &key).await["unread_item_ids"], "");
    assert_eq!(unread_on_the_web(&app, "ben").await, Vec::<i64>::new());
    // Clear errors for what is malformed; the same paths under /fever/.
    for bad in [
        "mark=item&as=flagged&id=1",
        "mark=item&as=read&id=x",
        "mark=item&as=read&id=999999",
        "items&since_id=x",
    ] {
        let answer = fever(&app, bad, &key).await;
        assert!(answer["error"].is_string(), "{bad}: {answer}");
    }
    let at_root = app
        .client
        .get(app.url(&format!("/fever/?api&groups&api_key={key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(at_root.json::<Value>().await.unwrap()["groups"][0]["id"], 1);
}

#[tokio::test]
async fn reader_apps_work_on_a_private_site() {
    let app = spawn_with(|c| c.private = true).await;
    let user = accounts::add(&app.db, "cat", PASSWORD.into(), Role::Reader)
        .await
        .unwrap();
    let password = app_passwords::create(&app.db, &user, "phone").await.unwrap();
    story(&app, "Members only", "Boxing").await;
    let reader = Reader::sign_in(&app, "cat", &password).await;
    assert_eq!(
        reader.json("/stream/contents").await["items"][0]["title"],
        "Members only"
    );
    let key = app_passwords::fever_key("cat", &password);
    assert_eq!(fever(&app, "items", &key).await["items"][0]["title"], "Members only");
}

/// A whole sync by NewsFlash's Google Reader client library.
#[tokio::test]
async fn an_independent_google_reader_client_syncs() {
    use greader_api::models::StreamQuery;
    use greader_api::{AuthData, AuthInput, GReaderApi, GoogleAuthInput};

    let Apps { app, ben, .. } = apps().await;
    let mut ids = Vec::new();
    for n in 0..25 {
        ids.push(story_tagged(&app, &format!("Bulletin {n}"), ["Boxing", "Football"][n % 2], &["Wire"]).await);
    }
    let client = reqwest::Client::new();
    let url = url::Url::parse(&app.url("/api/greader")).unwrap();
    let api = GReaderApi::new(url, AuthData::Uninitialized);
    let input = AuthInput::Google(GoogleAuthInput {
        username: "ben".into(),
        password: ben.clone(),
    });
    api.login(&input, &client).await.expect("login");
    let user = api.user_info(&client).await.expect("user-info");
    assert_eq!(user.user_name, "ben");
    let feeds = api.subscription_list(&client).await.expect("subscription/list");
    assert_eq!(feeds.subscriptions.len(), 2);
    let tags = api.tag_list(&client).await.expect("tag/list");
    assert!(tags.tags.iter().any(|t| t.id == "user/-/label/Wire"));
    let unread = api.unread_count(&client).await.expect("unread-count");
    let total = unread.unreadcounts.iter().find(|c| c.id == READING_LIST).unwrap();
    assert_eq!(total.count, 25);
    // Unread ids, 10 a page, following the continuation.
    let mut synced = Vec::new();
    let mut continuation: Option<String> = None;
    loop {
        let query = StreamQuery {
            stream_id: Some(READING_LIST),
            exclude_stream: Some(READ),
            amount: Some(10),
            continuation: continuation.as_deref(),
            ..Default::default()
        };
        let page = api.items_ids(&query, &client).await.expect("items/ids");
        synced.extend(page.item_refs.unwrap_or_default().into_iter().map(|r| r.id));
        continuation = page.continuation;
        if continuation.is_none() {
            break;
        }
    }
    assert_eq!(synced.len(), 25);
    let contents = api.items_contents(&synced[..5], &client).await.expect("items/contents");
    assert_eq!(contents.items.len(), 5);
    assert_eq!(contents.items[0].title.as_deref(), Some("Bulletin 24"));
    let stream = api
        .stream_contents(
            &StreamQuery {
                stream_id: Some("feed/1"),
                amount: Some(5),
                ..Default::default()
            },
            &client,
        )
        .await
        .expect("stream/contents");
    assert_eq!(stream.items.len(), 5);
    assert!(stream.continuation.is_some());
    // Writes go through with the write token the library fetched.
    api.tag_edit(&synced[..3], &[READ], &[], &client)
        .await
        .expect("edit-tag");
    api.tag_edit(&synced[3..4], &[STARRED], &[], &client)
        .await
        .expect("edit-tag starred");
    api.mark_all_as_read("feed/2", None, &client)
        .await
        .expect("mark-all-as-read");
    let unread = api.unread_count(&client).await.expect("unread-count");
    let total = unread.unreadcounts.iter().find(|c| c.id == READING_LIST).unwrap();
    let web = unread_on_the_web(&app, "ben").await;
    assert_eq!(total.count as usize, web.len(), "the app's count is the web's");
    assert!(web.iter().all(|id| (id - ids[0]) % 2 == 0), "feed/2 (Football) is read");
}

/// A whole sync by NewsFlash's Fever client library.
#[tokio::test]
async fn an_independent_fever_client_syncs() {
    use fever_api::FeverApi;
    use fever_api::models::ItemStatus;

    let Apps { app, ben, .. } = apps().await;
    let mut ids = Vec::new();
    for n in 0..7 {
        ids.push(story(&app, &format!("Dispatch {n}"), ["Boxing", "Football"][n % 2]).await);
    }
    let client = reqwest::Client::new();
    let url = url::Url::parse(&app.url("/api/fever/")).unwrap();
    let api = FeverApi::new(&url, "ben", &ben);
    assert!(api.valid_credentials(&client).await.expect("api"));
    assert!(
        !FeverApi::new(&url, "ben", "wrong")
            .valid_credentials(&client)
            .await
            .expect("api")
    );
    assert_eq!(api.get_api_version(&client).await.unwrap(), 3);
    let groups = api.get_groups(&client).await.expect("groups");
    assert_eq!(groups.groups[0].title, "Daily Wire Desk");
    let feeds = api.get_feeds(&client).await.expect("feeds");
    assert_eq!(feeds.feeds.len(), 2);
    assert_eq!(feeds.feeds_groups[0].feed_ids, vec![1, 2]);
    api.get_favicons(&client).await.expect("favicons");
    api.get_links(&client).await.expect("links");
    let items = api.get_items(&client).await.expect("items");
    assert_eq!(items.items.len(), 7);
    let since = api.get_items_since(ids[4] as u64, &client).await.expect("items since");
    assert_eq!(since.items.len(), 2);
    let unread = api.get_unread_items(&client).await.expect("unread_item_ids");
    assert_eq!(unread.unread_item_ids.len(), 7);
    api.mark_item(ItemStatus::Read, ids[0] as u64, &client)
        .await
        .expect("mark read");
    api.mark_item(ItemStatus::Saved, ids[1] as u64, &client)
        .await
        .expect("mark saved");
    let saved = api.get_saved_items(&client).await.expect("saved_item_ids");
    assert_eq!(saved.saved_item_ids, vec![ids[1] as u64]);
    let later = chrono::Utc::now().timestamp() + 5;
    api.mark_feed(ItemStatus::Read, 2, later, &client)
        .await
        .expect("mark feed");
    let unread = api.get_unread_items(&client).await.expect("unread_item_ids");
    assert_eq!(unread.unread_item_ids.len(), 3, "Boxing's three left, one read");
    assert_eq!(unread_on_the_web(&app, "ben").await.len(), 3);
}
