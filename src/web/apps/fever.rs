//! The Fever API, at `/api/fever` and `/fever/`: one endpoint, `?api`
//! plus the parts wanted (`groups`, `feeds`, `items`, …), with `api_key`
//! (md5 of "name:app password") in the form body or the query. Each
//! section is a feed, all in one group named after the site; item ids are
//! article ids, so they grow with ingestion as the protocol expects.

use std::fmt::Write as _;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value, json};

use crate::web::client::ClientAddr;

use super::Params;
use crate::AppState;
use crate::accounts::app_passwords::{self, AppUser};
use crate::error::AppError;
use crate::reading::streams::{self, Query, ReadFilter, Source};
use crate::reading::{Action, UpTo};
use crate::store;

const API_VERSION: i64 = 3;
/// Items per `items` answer, as the protocol fixes.
const ITEMS_PER_PAGE: usize = 50;
/// The one group: every section is in it.
const GROUP_ID: i64 = 1;
/// Group 0 is Fever's "Kindling" (everything); -1 its "Sparks" (none here).
const KINDLING: i64 = 0;
const SPARKS: i64 = -1;
const FAVICON_ID: i64 = 1;

fn base() -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("api_version".to_owned(), json!(API_VERSION));
    body
}

/// An error in the protocol's shape: the request was understood to be a
/// Fever one, signed in, and this part of it is wrong.
fn error(err: AppError) -> Response {
    let mut body = base();
    body.insert("auth".to_owned(), json!(1));
    body.insert("error".to_owned(), json!(err.body().message));
    super::in_protocol(err, "application/json", Value::Object(body).to_string())
}

pub async fn endpoint(State(state): State<AppState>, client: ClientAddr, params: Result<Params, AppError>) -> Response {
    let params = match params {
        Ok(params) => params,
        Err(err) => return error(err),
    };
    let key = params.get("api_key").unwrap_or_default();
    let app = match app_passwords::by_fever_key(&state.db, key).await {
        Ok(app) => app,
        Err(err) => return error(err),
    };
    let Some(app) = app else {
        // The protocol's answer to a wrong key; repeated ones from one
        // address slow down like wrong passwords do.
        let address = client.limit_key();
        if let Err(wait) = state
            .login_limits
            .attempt(&format!("fever api_key from {address}"), address)
        {
            return error(AppError::RateLimited { retry_after_secs: wait });
        }
        let mut body = base();
        body.insert("auth".to_owned(), json!(0));
        return Json(Value::Object(body)).into_response();
    };
    match answer(&state, &app, &params).await {
        Ok(body) => Json(Value::Object(body)).into_response(),
        Err(err) => error(err),
    }
}

async fn answer(state: &AppState, app: &AppUser, params: &Params) -> Result<Map<String, Value>, AppError> {
    let user_id = app.user.id;
    // A mark goes first, so the rest of the answer shows it.
    if let Some(kind) = params.get("mark") {
        mark(state, user_id, kind, params).await?;
    }
    let mut body = base();
    body.insert("auth".to_owned(), json!(1));
    let sections = super::sections_by_name(&state.db).await?;
    let refreshed = sections
        .iter()
        .filter_map(|s| s.latest_at)
        .max()
        .map_or(0, |t| t.timestamp());
    body.insert("last_refreshed_on_time".to_owned(), json!(refreshed));
    let feed_ids = comma_separated(sections.iter().map(|s| s.id));
    let feeds_groups = json!([{ "group_id": GROUP_ID, "feed_ids": feed_ids }]);
    if params.has("groups") {
        body.insert(
            "groups".to_owned(),
            json!([{ "id": GROUP_ID, "title": state.site.name }]),
        );
        body.insert("feeds_groups".to_owned(), feeds_groups.clone());
    }
    if params.has("feeds") {
        let base_url = &state.site.base_url;
        let feeds: Vec<Value> = sections
            .iter()
            .map(|s| {
                json!({
                    "id": s.id,
                    "favicon_id": FAVICON_ID,
                    "title": s.name,
                    "url": format!("{base_url}/sections/{}/feed.atom", s.slug),
                    "site_url": format!("{base_url}/sections/{}", s.slug),
                    "is_spark": 0,
                    "last_updated_on_time": s.latest_at.map_or(0, |t| t.timestamp()),
                })
            })
            .collect();
        body.insert("feeds".to_owned(), json!(feeds));
        body.insert("feeds_groups".to_owned(), feeds_groups);
    }
    if params.has("favicons") {
        let data = base64::engine::general_purpose::STANDARD.encode(include_bytes!("../../../static/favicon.svg"));
        body.insert(
            "favicons".to_owned(),
            json!([{ "id": FAVICON_ID, "data": format!("image/svg+xml;base64,{data}") }]),
        );
    }
    if params.has("links") {
        body.insert("links".to_owned(), json!([]));
    }
    let snapshot = if params.has("items") || params.has("unread_item_ids") || params.has("saved_item_ids") {
        Some(state.reading.snapshot(&state.db, user_id, app.state_version).await?)
    } else {
        None
    };
    if let Some(snapshot) = &snapshot {
        if params.has("items") {
            let total: i64 = sections.iter().map(|s| s.article_count).sum();
            body.insert("total_items".to_owned(), json!(total));
            body.insert("items".to_owned(), items(state, user_id, snapshot, params).await?);
        }
        for (part, query) in [
            (
                "unread_item_ids",
                Query {
                    read: ReadFilter::Unread,
                    limit: usize::MAX - 1,
                    any_order: true,
                    ..Query::new(Source::All)
                },
            ),
            (
                "saved_item_ids",
                Query {
                    limit: usize::MAX - 1,
                    any_order: true,
                    ..Query::new(Source::Starred)
                },
            ),
        ] {
            if params.has(part) {
                let found = streams::ids(&state.db, user_id, snapshot, &query).await?;
                body.insert(
                    part.to_owned(),
                    json!(comma_separated(found.items.iter().map(|i| i.id))),
                );
            }
        }
    }
    Ok(body)
}

/// Ids as the protocol lists them, "3,2,1": written into one string, as a
/// reader who has read nothing may have a million.
fn comma_separated(ids: impl Iterator<Item = i64>) -> String {
    let mut out = String::new();
    for id in ids {
        if !out.is_empty() {
            out.push(',');
        }
        // Writing to a String cannot fail.
        let _ = write!(out, "{id}");
    }
    out
}

/// `items`: 50 at a time; `since_id` gives those after an id (oldest
/// first), `max_id` those before one (newest first), `with_ids` those
/// named (at most 50). With none, the first 50 ever, as `since_id=0`.
async fn items(
    state: &AppState,
    user_id: i64,
    snapshot: &crate::reading::Snapshot,
    params: &Params,
) -> Result<Value, AppError> {
    let ids: Vec<i64> = if let Some(list) = params.get("with_ids") {
        let ids = list
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| {
                id.parse::<i64>()
                    .map_err(|_| AppError::invalid("with_ids", format!("{id:?} is not an item id")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if ids.len() > ITEMS_PER_PAGE {
            return Err(AppError::invalid(
                "with_ids",
                format!("at most {ITEMS_PER_PAGE} ids at a time; this names {}", ids.len()),
            ));
        }
        ids
    } else {
        let mut query = Query {
            limit: ITEMS_PER_PAGE,
            ..Query::new(Source::All)
        };
        match (params.int("max_id")?, params.int("since_id")?) {
            (Some(max_id), _) if max_id > 0 => query.below = max_id,
            (Some(_), _) => {}
            (None, since) => {
                query.above = since.unwrap_or(0);
                query.oldest_first = true;
            }
        }
        // Every item is listed, read or not: the snapshot filters nothing here.
        streams::ids(&state.db, user_id, snapshot, &query)
            .await?
            .items
            .iter()
            .map(|i| i.id)
            .collect()
    };
    let articles = store::articles::full_by_ids(&state.db.reader, &ids).await?;
    let base_url = &state.site.base_url;
    Ok(Value::Array(
        articles
            .iter()
            .map(|a| {
                json!({
                    "id": a.id,
                    "feed_id": a.section_id,
                    "title": a.title,
                    "author": a.author.clone().unwrap_or_default(),
                    "html": a.body_html,
                    "url": format!("{base_url}{}", a.path()),
                    "is_saved": i64::from(snapshot.is_saved(a.id)),
                    "is_read": i64::from(snapshot.is_read(a.id, a.section_id)),
                    "created_on_time": a.created_at.timestamp(),
                })
            })
            .collect(),
    ))
}

/// `mark=item&as=read|unread|saved|unsaved&id=N` (saved and unsaved set,
/// never toggle), or `mark=feed|group&as=read&id=N&before=T`.
async fn mark(state: &AppState, user_id: i64, kind: &str, params: &Params) -> Result<(), AppError> {
    let id = params
        .int("id")?
        .ok_or_else(|| AppError::invalid("id", "a mark needs the id of what it marks"))?;
    let how = params.get("as").unwrap_or_default();
    match kind {
        "item" => {
            let action = match how {
                "read" => Action::Read,
                "unread" => Action::Unread,
                "saved" => Action::Save,
                "unsaved" => Action::Unsave,
                other => {
                    return Err(AppError::invalid(
                        "as",
                        format!("{other:?}: an item is marked as read, unread, saved or unsaved"),
                    ));
                }
            };
            state.reading.act(&state.db, user_id, id, action).await
        }
        "feed" | "group" => {
            if how != "read" {
                return Err(AppError::invalid("as", "a feed or group is marked as read"));
            }
            // "Before" is exclusive: stories stored at that second stay unread.
            let before = params.int("before")?.unwrap_or_else(store::now_unix);
            let up_to = UpTo::Time(before.saturating_sub(1));
            let section = match (kind, id) {
                ("feed", id) => Some(id),
                (_, GROUP_ID | KINDLING) => None,
                (_, SPARKS) => return Ok(()),
                _ => return Err(AppError::NotFound("group")),
            };
            state.reading.read_section(&state.db, user_id, section, up_to).await
        }
        other => Err(AppError::invalid(
            "mark",
            format!("{other:?}: mark takes item, feed or group"),
        )),
    }
}
