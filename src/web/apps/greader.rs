//! The Google Reader API, as reader apps speak it (NetNewsWire, Reeder,
//! Read You, FocusReader, Fluent Reader, NewsFlash): served under
//! `/api/greader` (the server URL people type) and at the site root.
//!
//! How Gazette maps onto it: each section is a feed (`feed/{section id}`),
//! all in one folder named after the site; the tags articles carry, and a
//! reader's own labels, are labels; read, starred and kept-unread are the
//! reader's state, shared with the web pages. Item ids are article ids:
//! `tag:google.com,2005:reader/item/%016x` in contents, decimal in id
//! lists, and every form apps send is accepted on the way in.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, routing::MethodRouter};
use serde::Serialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::web::client::ClientAddr;

use super::{Params, PlainError};
use crate::AppState;
use crate::accounts::app_passwords::{self, AppUser};
use crate::accounts::{Role, User};
use crate::domain::Article;
use crate::error::AppError;
use crate::reading::streams::{self, Query, ReadFilter, Source};
use crate::reading::{Action, Snapshot, UpTo};
use crate::store;

type Reply = Result<Response, PlainError>;

const ITEM_PREFIX: &str = "tag:google.com,2005:reader/item/";
const STATE_PREFIX: &str = "state/com.google/";
const READING_LIST: &str = "user/-/state/com.google/reading-list";
const READ: &str = "user/-/state/com.google/read";
const STARRED: &str = "user/-/state/com.google/starred";
/// Ids per page of `stream/items/ids`, and items per page of contents.
const MAX_IDS: i64 = 10_000;
const MAX_CONTENTS: i64 = 1_000;
const DEFAULT_PAGE: i64 = 20;
/// Items one `edit-tag` or `items/contents` may name.
const MAX_ITEMS_PER_REQUEST: usize = 1_000;
/// How many stories "mark all as read" reaches on a label or the starred
/// list (sections and the whole site move a horizon and have no limit).
const MAX_MARKED_AT_ONCE: usize = 10_000;
/// Tags listed by tag/list at most.
const MAX_TAGS: i64 = 1_000;

/// The routes, mounted under /api/greader (with `not_found` for the
/// rest) and at the site root.
pub fn routes() -> Router<AppState> {
    let api = Router::new()
        .route("/token", both(token))
        .route("/user-info", get(user_info))
        .route("/tag/list", get(tag_list))
        .route("/subscription/list", get(subscription_list))
        .route("/subscription/edit", post(subscription_edit))
        .route("/subscription/quickadd", post(quickadd))
        .route("/unread-count", get(unread_count))
        .route("/stream/contents", get(stream_contents_query))
        .route("/stream/contents/{*stream}", get(stream_contents_path))
        .route("/stream/items/ids", get(item_ids))
        .route("/stream/items/contents", both(item_contents))
        .route("/edit-tag", post(edit_tag))
        .route("/mark-all-as-read", post(mark_all_as_read))
        .route("/rename-tag", post(rename_tag))
        .route("/disable-tag", post(disable_tag));
    Router::new()
        .route("/accounts/ClientLogin", both(client_login))
        .nest("/reader/api/0", api)
}

fn both<H, T>(handler: H) -> MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState> + Clone,
    T: 'static,
{
    get(handler.clone()).post(handler)
}

pub async fn not_found() -> PlainError {
    PlainError(AppError::NotFound("Google Reader endpoint"))
}

fn text(body: String) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

fn ok() -> Reply {
    Ok(text("OK".to_owned()))
}

// ---- signing in ---------------------------------------------------------

/// `ClientLogin`: `Email` (the account name) and `Passwd` (an app
/// password), by GET or POST. The answer carries the auth token as
/// `SID=`, `LSID=` and `Auth=` lines, or as JSON with `output=json`.
async fn client_login(State(state): State<AppState>, client: ClientAddr, params: Params) -> Reply {
    let name = params.get("Email").unwrap_or_default();
    let password = params.get("Passwd").unwrap_or_default();
    if let Err(wait) = state.login_limits.attempt(name, client.limit_key()) {
        let mut response = PlainError(AppError::RateLimited { retry_after_secs: wait }).into_response();
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(wait));
        return Ok(response);
    }
    if app_passwords::sign_in(&state.db, name, password).await?.is_none() {
        return Ok((StatusCode::UNAUTHORIZED, text("Error=BadAuthentication\n".to_owned())).into_response());
    }
    let token = app_passwords::greader_token(password.trim());
    if params.get("output") == Some("json") {
        return Ok(Json(json!({ "SID": token, "LSID": token, "Auth": token })).into_response());
    }
    Ok(text(format!("SID={token}\nLSID={token}\nAuth={token}\n")))
}

/// The reader a request speaks for: `Authorization: GoogleLogin auth=TOKEN`.
/// A write also checks the `T` token when the app sends one.
pub struct Reader {
    user: User,
    version: i64,
    token: String,
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = PlainError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PlainError> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("GoogleLogin").then_some(rest)
            })
            .and_then(|rest| rest.trim().strip_prefix("auth="))
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        let Some(AppUser { user, state_version }) = app_passwords::by_greader_token(&state.db, &token).await? else {
            return Err(PlainError(AppError::Unauthorized));
        };
        Ok(Reader {
            user,
            version: state_version,
            token,
        })
    }
}

impl Reader {
    /// Refuses a write whose `T` is not this session's write token. Apps
    /// that send none are let through: the auth header, which a browser
    /// never adds on its own, already rules out a forged request.
    fn refuse_write(&self, params: &Params) -> Option<Response> {
        match params.get("T") {
            Some(presented)
                if !bool::from(
                    presented
                        .as_bytes()
                        .ct_eq(app_passwords::greader_write_token(&self.token).as_bytes()),
                ) =>
            {
                let mut response = PlainError(AppError::Unauthorized).into_response();
                response
                    .headers_mut()
                    .insert("x-reader-google-bad-token", HeaderValue::from_static("true"));
                Some(response)
            }
            _ => None,
        }
    }

    /// This reader's state, as of their credential's version or newer.
    async fn snapshot(&self, state: &AppState) -> Result<Arc<Snapshot>, AppError> {
        state.reading.snapshot(&state.db, self.user.id, self.version).await
    }

    fn require_admin(&self) -> Result<(), AppError> {
        if self.user.role == Role::Admin {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "only an admin adds or changes feeds; a reader's app can read them".to_owned(),
            ))
        }
    }
}

/// Runs the write check, or answers with its refusal.
macro_rules! writing {
    ($reader:expr, $params:expr) => {
        if let Some(refused) = $reader.refuse_write(&$params) {
            return Ok(refused);
        }
    };
}

async fn token(reader: Reader) -> Reply {
    Ok(text(app_passwords::greader_write_token(&reader.token)))
}

async fn user_info(reader: Reader) -> Reply {
    let id = reader.user.id.to_string();
    Ok(Json(json!({
        "userId": id,
        "userName": reader.user.name,
        "userProfileId": id,
        "userEmail": "",
    }))
    .into_response())
}

// ---- ids ----------------------------------------------------------------

/// The long form of an item id.
fn long_id(id: i64) -> String {
    format!("{ITEM_PREFIX}{id:016x}")
}

/// An item id in any form apps send: the long form (padded or not), 16
/// hex digits, or decimal (signed, as Google's were). A 16-character
/// string of digits alone is read as hex, as the bare form is.
pub fn parse_item_id(text: &str) -> Result<i64, AppError> {
    let text = text.trim();
    let parsed = if let Some(hex) = text.strip_prefix(ITEM_PREFIX) {
        u64::from_str_radix(hex, 16).ok().map(|v| v as i64)
    } else if text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        u64::from_str_radix(text, 16).ok().map(|v| v as i64)
    } else {
        text.parse::<i64>().ok()
    };
    parsed
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::invalid("i", format!("{text:?} is not an item id")))
}

fn item_ids_of(params: &Params) -> Result<Vec<i64>, AppError> {
    let ids = params.all("i").map(parse_item_id).collect::<Result<Vec<_>, _>>()?;
    if ids.len() > MAX_ITEMS_PER_REQUEST {
        return Err(AppError::invalid(
            "i",
            format!(
                "at most {MAX_ITEMS_PER_REQUEST} items per request; this one names {}",
                ids.len()
            ),
        ));
    }
    Ok(ids)
}

/// A stream, as apps name it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stream {
    ReadingList,
    Read,
    Starred,
    KeptUnread,
    /// Other states (`fresh`, `like`, `broadcast`, tracking): none hold items here.
    OtherState,
    Feed(i64),
    Label(String),
}

/// Parses a stream id: `feed/3`, `user/-/state/com.google/read`,
/// `user/-/label/Name` (`-` or the user's own id).
fn parse_stream(id: &str) -> Result<Stream, AppError> {
    let id = id.trim();
    let unknown = || AppError::invalid("s", format!("{id:?} is not a stream this server has"));
    if let Some(feed) = id.strip_prefix("feed/") {
        return feed
            .parse::<i64>()
            .map(Stream::Feed)
            .map_err(|_| AppError::NotFound("feed"));
    }
    let rest = id.strip_prefix("user/").ok_or_else(unknown)?;
    let (_, rest) = rest.split_once('/').ok_or_else(unknown)?;
    if let Some(label) = rest.strip_prefix("label/") {
        if label.trim().is_empty() {
            return Err(unknown());
        }
        return Ok(Stream::Label(label.to_owned()));
    }
    match rest.strip_prefix(STATE_PREFIX).ok_or_else(unknown)? {
        "reading-list" => Ok(Stream::ReadingList),
        "read" => Ok(Stream::Read),
        "starred" => Ok(Stream::Starred),
        "kept-unread" => Ok(Stream::KeptUnread),
        "fresh" | "like" | "broadcast" | "broadcast-friends" => Ok(Stream::OtherState),
        other if other.starts_with("tracking-") => Ok(Stream::OtherState),
        _ => Err(unknown()),
    }
}

fn folder_id(site: &str) -> String {
    format!("user/-/label/{site}")
}

fn label_id(name: &str) -> String {
    format!("user/-/label/{name}")
}

// ---- streams ------------------------------------------------------------

/// What a stream request asks for, read off its parameters; None when it
/// can hold nothing (a stream excluded from itself).
async fn stream_query(state: &AppState, stream: &Stream, params: &Params, max: i64) -> Result<Option<Query>, AppError> {
    let mut query = match stream {
        Stream::ReadingList => Query::new(Source::All),
        Stream::Read => Query {
            read: ReadFilter::Read,
            ..Query::new(Source::All)
        },
        Stream::KeptUnread => Query {
            read: ReadFilter::Unread,
            ..Query::new(Source::All)
        },
        Stream::Starred => Query::new(Source::Starred),
        Stream::OtherState => return Ok(None),
        Stream::Feed(id) => {
            if !store::sections::list(&state.db).await?.iter().any(|s| s.id == *id) {
                return Err(AppError::NotFound("feed"));
            }
            Query::new(Source::Section(*id))
        }
        Stream::Label(name) if *name == state.site.name => Query::new(Source::All),
        Stream::Label(name) => Query::new(Source::Label(name.clone())),
    };
    let mut empty = false;
    for (key, include) in [("xt", false), ("it", true)] {
        for target in params.all(key) {
            let want = match (parse_stream(target)?, include) {
                (Stream::Read, false) | (Stream::KeptUnread, true) => Some(ReadFilter::Unread),
                (Stream::Read, true) | (Stream::KeptUnread, false) => Some(ReadFilter::Read),
                (Stream::Starred, starred) => {
                    empty |=
                        query.starred.is_some_and(|s| s != starred) || (!starred && query.source == Source::Starred);
                    query.starred = Some(starred);
                    None
                }
                (Stream::ReadingList, true) => None,
                (Stream::ReadingList, false) => {
                    empty = true;
                    None
                }
                (Stream::OtherState, false) => None,
                (Stream::OtherState, true) => {
                    empty = true;
                    None
                }
                _ => {
                    return Err(AppError::invalid(
                        key,
                        format!("{key} takes the read, starred and kept-unread states"),
                    ));
                }
            };
            if let Some(want) = want {
                empty |= query.read != ReadFilter::Any && query.read != want;
                query.read = want;
            }
        }
    }
    let n = params.int("n")?.unwrap_or(DEFAULT_PAGE);
    if n < 1 {
        return Err(AppError::invalid("n", format!("n must be 1 to {max}")));
    }
    query.limit = n.min(max) as usize;
    query.oldest_first = params.get("r") == Some("o");
    let (above, below) = streams::stored_between(&state.db, params.int("ot")?, params.int("nt")?).await?;
    (query.above, query.below) = (above, below);
    if let Some(c) = params.get("c").filter(|c| !c.is_empty()) {
        let after = c
            .parse::<i64>()
            .ok()
            .filter(|c| *c > 0)
            .ok_or_else(|| AppError::invalid("c", format!("{c:?} is not a continuation this server gave")))?;
        if query.oldest_first {
            query.above = query.above.max(after);
        } else {
            query.below = query.below.min(after);
        }
    }
    Ok((!empty).then_some(query))
}

async fn page(
    state: &AppState,
    reader: &Reader,
    snapshot: &Snapshot,
    stream: &Stream,
    params: &Params,
    max: i64,
) -> Result<(Vec<i64>, Option<String>), AppError> {
    let Some(query) = stream_query(state, stream, params, max).await? else {
        return Ok((Vec::new(), None));
    };
    let found = streams::ids(&state.db, reader.user.id, snapshot, &query).await?;
    let continuation = found
        .more
        .then(|| found.items.last().map(|i| i.id.to_string()))
        .flatten();
    Ok((found.items.iter().map(|i| i.id).collect(), continuation))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemRef {
    id: String,
    direct_stream_ids: Vec<String>,
    timestamp_usec: String,
}

/// `stream/items/ids`: the ids of a stream, decimal, newest first (or
/// oldest with `r=o`), `n` at a time (at most 10,000).
async fn item_ids(State(state): State<AppState>, reader: Reader, params: Params) -> Reply {
    let stream = parse_stream(params.get("s").unwrap_or(READING_LIST))?;
    let snapshot = reader.snapshot(&state).await?;
    let (ids, continuation) = page(&state, &reader, &snapshot, &stream, &params, MAX_IDS).await?;
    let times = if ids.is_empty() {
        HashMap::new()
    } else {
        store::streams::stored_at(&state.db.reader, &ids).await?
    };
    let refs: Vec<ItemRef> = ids
        .iter()
        .map(|id| ItemRef {
            id: id.to_string(),
            direct_stream_ids: Vec::new(),
            timestamp_usec: (times.get(id).copied().unwrap_or_default() * 1_000_000).to_string(),
        })
        .collect();
    let mut body = json!({ "itemRefs": refs });
    if let Some(c) = continuation {
        body["continuation"] = Value::String(c);
    }
    Ok(Json(body).into_response())
}

async fn stream_contents_query(state: State<AppState>, reader: Reader, params: Params) -> Reply {
    let stream = params.get("s").unwrap_or(READING_LIST).to_owned();
    stream_contents(state, reader, &stream, params).await
}

/// `stream/contents/{stream}`: the path arrives decoded, so `feed%2F3`
/// and `feed/3` are one stream.
async fn stream_contents_path(
    state: State<AppState>,
    reader: Reader,
    Path(stream): Path<String>,
    params: Params,
) -> Reply {
    stream_contents(state, reader, &stream, params).await
}

async fn stream_contents(State(state): State<AppState>, reader: Reader, stream_id: &str, params: Params) -> Reply {
    let stream = parse_stream(stream_id)?;
    let snapshot = reader.snapshot(&state).await?;
    let (ids, continuation) = page(&state, &reader, &snapshot, &stream, &params, MAX_CONTENTS).await?;
    let mut body = contents(&state, &reader, &snapshot, stream_id, &ids).await?;
    if let Some(c) = continuation {
        body["continuation"] = Value::String(c);
    }
    Ok(Json(body).into_response())
}

/// `stream/items/contents`: items by id (`i`, repeated; GET or POST), in
/// the order asked; ids of deleted stories are left out.
async fn item_contents(State(state): State<AppState>, reader: Reader, params: Params) -> Reply {
    let ids = item_ids_of(&params)?;
    let snapshot = reader.snapshot(&state).await?;
    Ok(Json(contents(&state, &reader, &snapshot, READING_LIST, &ids).await?).into_response())
}

/// A stream's JSON with its items in full.
async fn contents(
    state: &AppState,
    reader: &Reader,
    snapshot: &Snapshot,
    stream_id: &str,
    ids: &[i64],
) -> Result<Value, AppError> {
    let articles = store::articles::full_by_ids(&state.db.reader, ids).await?;
    let mut labels: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, label) in store::streams::labels_on(&state.db.reader, reader.user.id, ids).await? {
        labels.entry(id).or_default().push(label);
    }
    let items: Vec<Value> = articles
        .iter()
        .map(|article| item_json(state, snapshot, article, labels.get(&article.id)))
        .collect();
    Ok(json!({
        "direction": "ltr",
        "id": stream_id,
        "title": state.site.name,
        "updated": store::now_unix(),
        "items": items,
    }))
}

fn item_json(state: &AppState, snapshot: &Snapshot, article: &Article, labels: Option<&Vec<String>>) -> Value {
    let base = &state.site.base_url;
    let mut categories = vec![READING_LIST.to_owned(), folder_id(&state.site.name)];
    if snapshot.is_read(article.id, article.section_id) {
        categories.push(READ.to_owned());
    }
    if snapshot.is_saved(article.id) {
        categories.push(STARRED.to_owned());
    }
    categories.extend(article.tags.iter().map(|t| label_id(t)));
    categories.extend(labels.into_iter().flatten().map(|l| label_id(l)));
    let page = format!("{base}{}", article.path());
    let crawled = article.created_at.timestamp();
    let mut item = json!({
        "id": long_id(article.id),
        "crawlTimeMsec": (crawled * 1000).to_string(),
        "timestampUsec": (crawled * 1_000_000).to_string(),
        "published": article.published_at.timestamp(),
        "updated": article.updated_at.timestamp(),
        "title": article.title,
        "author": article.author.clone().unwrap_or_default(),
        "categories": categories,
        "alternate": [{ "href": page, "type": "text/html" }],
        "canonical": [{ "href": article.url.clone().unwrap_or_else(|| page.clone()) }],
        "origin": {
            "streamId": format!("feed/{}", article.section_id),
            "title": article.section_name,
            "htmlUrl": format!("{base}/sections/{}", article.section_slug),
        },
        "summary": { "direction": "ltr", "content": article.body_html },
    });
    if let Some(image) = &article.image_url {
        item["enclosure"] = json!([{ "href": image, "type": "image/jpeg" }]);
    }
    item
}

// ---- lists and counts ---------------------------------------------------

async fn tag_list(State(state): State<AppState>, reader: Reader) -> Reply {
    let counts = state.reading.counts(&state.db, reader.user.id, reader.version).await?;
    let mut tags = vec![
        json!({ "id": STARRED }),
        json!({ "id": folder_id(&state.site.name), "type": "folder", "unread_count": counts.total.unread }),
    ];
    let mut names: Vec<String> = store::streams::tags(&state.db.reader, MAX_TAGS)
        .await?
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    names.extend(store::streams::labels(&state.db.reader, reader.user.id).await?);
    names.sort();
    names.dedup();
    tags.extend(
        names
            .iter()
            .filter(|name| **name != state.site.name)
            .map(|name| json!({ "id": label_id(name), "type": "tag" })),
    );
    Ok(Json(json!({ "tags": tags })).into_response())
}

async fn subscription_list(State(state): State<AppState>, _reader: Reader) -> Reply {
    let base = &state.site.base_url;
    let sections = super::sections_by_name(&state.db).await?;
    let folder = json!([{ "id": folder_id(&state.site.name), "label": state.site.name }]);
    let subscriptions: Vec<Value> = sections
        .iter()
        .map(|s| {
            json!({
                "id": format!("feed/{}", s.id),
                "title": s.name,
                "categories": folder,
                "url": format!("{base}/sections/{}/feed.atom", s.slug),
                "htmlUrl": format!("{base}/sections/{}", s.slug),
                "iconUrl": format!("{base}/static/favicon.svg"),
                "sortid": format!("{:08x}", s.id),
                "firstitemmsec": "0",
            })
        })
        .collect();
    Ok(Json(json!({ "subscriptions": subscriptions })).into_response())
}

/// `unread-count`: per feed, the folder and the reading list, capped at
/// `max` (1000) like the web pages' counts, which these always equal.
async fn unread_count(State(state): State<AppState>, reader: Reader) -> Reply {
    let counts = state.reading.counts(&state.db, reader.user.id, reader.version).await?;
    let sections = super::sections_by_name(&state.db).await?;
    let usec = |t: Option<chrono::DateTime<chrono::Utc>>| (t.map_or(0, |t| t.timestamp()) * 1_000_000).to_string();
    let newest = sections.iter().filter_map(|s| s.latest_at).max();
    let mut unread: Vec<Value> = sections
        .iter()
        .map(|s| {
            json!({
                "id": format!("feed/{}", s.id),
                "count": counts.by_section.get(&s.id).map_or(0, |c| c.unread),
                "newestItemTimestampUsec": usec(s.latest_at),
            })
        })
        .collect();
    for id in [folder_id(&state.site.name), READING_LIST.to_owned()] {
        unread.push(json!({ "id": id, "count": counts.total.unread, "newestItemTimestampUsec": usec(newest) }));
    }
    Ok(Json(json!({ "max": crate::reading::COUNT_CAP, "unreadcounts": unread })).into_response())
}

// ---- changing state -----------------------------------------------------

/// `edit-tag`: `a` adds and `r` removes read, starred, kept-unread or a
/// label, on the items named by `i`. Items deleted since the app saw them
/// are skipped; a request naming none that exist is a 404.
async fn edit_tag(State(state): State<AppState>, reader: Reader, params: Params) -> Reply {
    writing!(reader, params);
    let ids = item_ids_of(&params)?;
    if ids.is_empty() {
        return Err(AppError::invalid("i", "name the items to change with i").into());
    }
    let mut changes = Vec::new();
    for (key, add) in [("a", true), ("r", false)] {
        for tag in params.all(key) {
            let change = match (parse_stream(tag).map_err(|_| bad_tag(key, tag))?, add) {
                (Stream::Read, true) | (Stream::KeptUnread, false) => Some(Change::Act(Action::Read)),
                (Stream::Read, false) | (Stream::KeptUnread, true) => Some(Change::Act(Action::Unread)),
                (Stream::Starred, true) => Some(Change::Act(Action::Save)),
                (Stream::Starred, false) => Some(Change::Act(Action::Unsave)),
                (Stream::Label(name), _) if name == state.site.name => None,
                (Stream::Label(name), add) => Some(Change::Label(name, add)),
                (Stream::OtherState | Stream::ReadingList, _) => None,
                (Stream::Feed(_), _) => return Err(bad_tag(key, tag).into()),
            };
            changes.extend(change);
        }
    }
    if changes.is_empty() && !params.has("a") && !params.has("r") {
        return Err(AppError::invalid("a", "say what to change with a (add) or r (remove)").into());
    }
    let mut found = None;
    for change in changes {
        let done = match change {
            Change::Act(action) => state.reading.act_many(&state.db, reader.user.id, &ids, action).await?,
            Change::Label(name, on) => crate::reading::labels::set(&state.db, reader.user.id, &ids, &name, on).await?,
        };
        found = Some(done);
    }
    if found == Some(0) {
        return Err(AppError::NotFound("item").into());
    }
    ok()
}

enum Change {
    Act(Action),
    Label(String, bool),
}

fn bad_tag(key: &str, tag: &str) -> AppError {
    AppError::invalid(
        key,
        format!(
            "{tag:?} is not a tag this server has: use user/-/state/com.google/read, starred, kept-unread or user/-/label/NAME"
        ),
    )
}

/// `mark-all-as-read`: a stream read up to `ts` (microseconds; now if
/// absent): stories stored after it stay unread.
async fn mark_all_as_read(State(state): State<AppState>, reader: Reader, params: Params) -> Reply {
    writing!(reader, params);
    let stream_id = params
        .get("s")
        .ok_or_else(|| AppError::invalid("s", "name the stream to mark with s"))?;
    let stream = parse_stream(stream_id)?;
    let until = match params.int("ts")? {
        Some(usec) => usec / 1_000_000,
        None => store::now_unix(),
    };
    let user_id = reader.user.id;
    match &stream {
        Stream::ReadingList | Stream::KeptUnread => {
            state
                .reading
                .read_section(&state.db, user_id, None, UpTo::Time(until))
                .await?
        }
        Stream::Label(name) if *name == state.site.name => {
            state
                .reading
                .read_section(&state.db, user_id, None, UpTo::Time(until))
                .await?
        }
        Stream::Feed(id) => {
            state
                .reading
                .read_section(&state.db, user_id, Some(*id), UpTo::Time(until))
                .await?
        }
        Stream::Read | Stream::OtherState => {}
        Stream::Starred | Stream::Label(_) => {
            let source = match stream {
                Stream::Label(name) => Source::Label(name),
                _ => Source::Starred,
            };
            let (_, below) = streams::stored_between(&state.db, None, Some(until)).await?;
            let query = Query {
                read: ReadFilter::Unread,
                below,
                limit: MAX_MARKED_AT_ONCE,
                ..Query::new(source)
            };
            let snapshot = reader.snapshot(&state).await?;
            let found = streams::ids(&state.db, user_id, &snapshot, &query).await?;
            let ids: Vec<i64> = found.items.iter().map(|i| i.id).collect();
            state.reading.act_many(&state.db, user_id, &ids, Action::Read).await?;
        }
    }
    ok()
}

/// A label named by `s` or `t` (a stream id or a bare name), or by `key`.
fn label_param(params: &Params, keys: &[&str]) -> Result<String, AppError> {
    let raw = keys
        .iter()
        .find_map(|k| params.get(k))
        .ok_or_else(|| AppError::invalid(keys[0], "name the label"))?;
    match parse_stream(raw) {
        Ok(Stream::Label(name)) => Ok(name),
        Ok(_) => Err(AppError::invalid(keys[0], format!("{raw:?} is not a label"))),
        Err(_) => Ok(raw.to_owned()),
    }
}

/// `rename-tag`: renames one of the reader's own labels (`s` or `t` to
/// `dest`). The folder is the site's name, and articles' tags come with
/// them: neither can be renamed from an app.
async fn rename_tag(State(state): State<AppState>, reader: Reader, params: Params) -> Reply {
    writing!(reader, params);
    let from = label_param(&params, &["s", "t"])?;
    let to = label_param(&params, &["dest"])?;
    if from == state.site.name {
        return Err(AppError::Forbidden(
            "the folder is named after the site and cannot be renamed from an app".to_owned(),
        )
        .into());
    }
    crate::reading::labels::rename(&state.db, reader.user.id, &from, &to).await?;
    ok()
}

/// `disable-tag`: removes one of the reader's own labels from every story.
async fn disable_tag(State(state): State<AppState>, reader: Reader, params: Params) -> Reply {
    writing!(reader, params);
    let label = label_param(&params, &["s", "t"])?;
    if label == state.site.name {
        return Err(AppError::Forbidden("the site's folder holds every feed and cannot be removed".to_owned()).into());
    }
    crate::reading::labels::delete(&state.db, reader.user.id, &label).await?;
    ok()
}

// ---- feeds (admins) -----------------------------------------------------

/// `subscription/quickadd`: subscribes to a feed (or a page naming one)
/// into a new section named after it. Admins only.
async fn quickadd(State(state): State<AppState>, reader: Reader, params: Params) -> Reply {
    writing!(reader, params);
    reader.require_admin()?;
    let url = params
        .get("quickadd")
        .ok_or_else(|| AppError::invalid("quickadd", "give the feed's address in quickadd"))?;
    let url = url.strip_prefix("feed/").unwrap_or(url);
    let (section_id, name) = subscribe(&state, url, None).await?;
    Ok(Json(json!({
        "query": url,
        "numResults": 1,
        "streamId": format!("feed/{section_id}"),
        "streamName": name,
    }))
    .into_response())
}

async fn subscribe(state: &AppState, url: &str, title: Option<&str>) -> Result<(i64, String), AppError> {
    let (feed, _) = crate::feeds::subscribe_as_section(&state.db, &state.fetcher, url, title).await?;
    let slug = crate::domain::slug::slugify_or(&feed.feed.section, "section");
    let section = store::sections::by_slug(&state.db.reader, &slug)
        .await?
        .ok_or(AppError::NotFound("section"))?;
    Ok((section.id, section.name))
}

/// `subscription/edit`: `ac=subscribe` (as quickadd, titled `t`), `edit`
/// (renames the section to `t`) or `unsubscribe` (removes the feed
/// subscriptions that fill the section; its stories stay). Admins only.
async fn subscription_edit(State(state): State<AppState>, reader: Reader, params: Params) -> Reply {
    writing!(reader, params);
    reader.require_admin()?;
    let stream = params
        .get("s")
        .ok_or_else(|| AppError::invalid("s", "name the feed with s"))?;
    let folder = folder_id(&state.site.name);
    for key in ["a", "r"] {
        if let Some(other) = params.all(key).find(|label| *label != folder) {
            return Err(AppError::invalid(
                key,
                format!("{other:?}: every feed is in the one folder, {:?}", state.site.name),
            )
            .into());
        }
    }
    match params.get("ac").unwrap_or_default() {
        "subscribe" => {
            let url = stream.strip_prefix("feed/").unwrap_or(stream);
            subscribe(&state, url, params.get("t").filter(|t| !t.trim().is_empty())).await?;
        }
        "edit" => {
            let Stream::Feed(id) = parse_stream(stream)? else {
                return Err(AppError::invalid("s", "edit takes a feed/ID stream").into());
            };
            if let Some(title) = params.get("t").map(str::trim).filter(|t| !t.is_empty()) {
                let title: String = title.chars().take(crate::domain::article::MAX_SECTION_CHARS).collect();
                let renamed = state
                    .db
                    .writer
                    .transaction(async |conn| store::sections::rename(conn, id, &title).await)
                    .await?;
                if !renamed {
                    return Err(AppError::NotFound("feed").into());
                }
                state.db.changed();
            }
        }
        "unsubscribe" => {
            let Stream::Feed(id) = parse_stream(stream)? else {
                return Err(AppError::invalid("s", "unsubscribe takes a feed/ID stream").into());
            };
            let sections = store::sections::list(&state.db).await?;
            let section = sections.iter().find(|s| s.id == id).ok_or(AppError::NotFound("feed"))?;
            let feeds: Vec<i64> = crate::feeds::list(&state.db)
                .await?
                .into_iter()
                .filter(|f| crate::domain::slug::slugify_or(&f.feed.section, "section") == section.slug)
                .map(|f| f.feed.id)
                .collect();
            if feeds.is_empty() {
                return Err(AppError::Conflict(format!(
                    "{} is filled through the ingest API, not by a feed subscription: there is nothing to unsubscribe",
                    section.name
                ))
                .into());
            }
            for feed in feeds {
                crate::feeds::remove(&state.db, feed).await?;
            }
        }
        other => {
            return Err(AppError::invalid("ac", format!("{other:?}: ac is subscribe, edit or unsubscribe")).into());
        }
    }
    ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_form_apps_send_is_read() {
        assert_eq!(
            parse_item_id("tag:google.com,2005:reader/item/000000000000001f").ok(),
            Some(31)
        );
        assert_eq!(parse_item_id("tag:google.com,2005:reader/item/1f").ok(), Some(31));
        assert_eq!(parse_item_id("000000000000001f").ok(), Some(31));
        assert_eq!(parse_item_id("31").ok(), Some(31));
        assert_eq!(long_id(31), "tag:google.com,2005:reader/item/000000000000001f");
        for bad in ["", "abc", "-5", "0", "tag:google.com,2005:reader/item/xyz"] {
            assert!(parse_item_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn streams_are_named_as_apps_name_them() {
        assert_eq!(
            parse_stream("user/-/state/com.google/reading-list").ok(),
            Some(Stream::ReadingList)
        );
        assert_eq!(parse_stream("user/7/state/com.google/read").ok(), Some(Stream::Read));
        assert_eq!(parse_stream("feed/3").ok(), Some(Stream::Feed(3)));
        assert_eq!(
            parse_stream("user/-/label/Boxing").ok(),
            Some(Stream::Label("Boxing".to_owned()))
        );
        assert!(parse_stream("feed/http://example.com/rss").is_err());
        assert!(parse_stream("pop/topic/top/language/en").is_err());
    }

    #[test]
    fn write_tokens_follow_their_auth_token() {
        assert_eq!(
            app_passwords::greader_write_token("a"),
            app_passwords::greader_write_token("a")
        );
        assert_ne!(
            app_passwords::greader_write_token("a"),
            app_passwords::greader_write_token("b")
        );
    }
}
