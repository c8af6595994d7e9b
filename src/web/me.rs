//! `/api/v1/me`: a reader's own state as JSON, for scripts and apps.
//! Reached with a personal API key (`Authorization: Bearer gzk_…`), or
//! from a signed-in browser, where anything but a read also needs the
//! session's token in `X-CSRF-Token` and this site's Origin (CSRF).

use axum::Json;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::DateTime;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::accounts::User;
use crate::error::{AppError, AppResult};
use crate::ingest::decode;
use crate::reading::{Action, Count, UpTo};
use crate::store;
use crate::store::articles::Scope;
use crate::web::api::{CardJson, add_stories, list_query, section_id};
use crate::web::auth::bearer_token;
use crate::web::body::{BodyKind, IngestBody};
use crate::web::reading::{StoryState, saved_page, story_state};

/// Ids one `POST /api/v1/me/read` may mark.
const MAX_IDS: usize = 1000;

/// The reader a request speaks for.
pub struct Me {
    pub user: User,
    pub version: i64,
}

impl FromRequestParts<AppState> for Me {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(key) = bearer_token(&parts.headers) {
            let (user, version) = crate::reading::keys::owner(&state.db, key)
                .await?
                .ok_or(AppError::Unauthorized)?;
            return Ok(Me { user, version });
        }
        let session = crate::web::session::from_cookie_checked(parts, state).await?;
        Ok(Me {
            version: session.state_version,
            user: session.user,
        })
    }
}

#[derive(Serialize)]
pub struct MeJson {
    name: String,
    role: &'static str,
    hide_read: bool,
    show_copies: bool,
    show_muted: bool,
    unread: UnreadJson,
}

#[derive(Serialize)]
struct UnreadJson {
    /// Counts stop at 1000; `more` says one did.
    total: Count,
    sections: Vec<SectionUnread>,
}

#[derive(Serialize)]
struct SectionUnread {
    slug: String,
    name: String,
    #[serde(flatten)]
    count: Count,
}

pub async fn me(me: Me, State(state): State<AppState>) -> AppResult<Json<MeJson>> {
    me_json(&state, me.user, me.version).await
}

async fn me_json(state: &AppState, user: User, version: i64) -> AppResult<Json<MeJson>> {
    let snapshot = state.reading.snapshot(&state.db, user.id, version).await?;
    let counts = state.reading.counts(&state.db, user.id, version).await?;
    let sections = store::sections::list(&state.db).await?;
    Ok(Json(MeJson {
        name: user.name,
        role: user.role.as_str(),
        hide_read: snapshot.hide_read,
        show_copies: snapshot.show_copies,
        show_muted: snapshot.show_muted,
        unread: UnreadJson {
            total: counts.total,
            sections: sections
                .iter()
                .map(|s| SectionUnread {
                    slug: s.slug.clone(),
                    name: s.name.clone(),
                    count: counts.by_section.get(&s.id).copied().unwrap_or_default(),
                })
                .collect(),
        },
    }))
}

/// `PATCH /api/v1/me`: the reader's settings; those not sent stay.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    hide_read: Option<bool>,
    show_copies: Option<bool>,
    show_muted: Option<bool>,
}

pub async fn change_settings(me: Me, State(state): State<AppState>, body: IngestBody) -> AppResult<Json<MeJson>> {
    if body.kind != BodyKind::Json {
        return Err(AppError::UnsupportedMediaType(
            "send settings as application/json".to_owned(),
        ));
    }
    let settings: Settings = match serde_json::from_slice::<serde_json::Value>(&body.bytes) {
        Ok(value @ serde_json::Value::Object(_)) => {
            serde_json::from_value(value).map_err(|err| AppError::invalid("settings", err.to_string()))?
        }
        Ok(_) => return Err(AppError::invalid("settings", "settings are a JSON object")),
        Err(err) => return Err(AppError::MalformedJson(err.to_string())),
    };
    let now = state.reading.snapshot(&state.db, me.user.id, me.version).await?;
    state
        .reading
        .set_settings(
            &state.db,
            me.user.id,
            settings.hide_read.unwrap_or(now.hide_read),
            settings.show_copies.unwrap_or(now.show_copies),
            settings.show_muted.unwrap_or(now.show_muted),
        )
        .await?;
    me_json(&state, me.user, 0).await
}

#[derive(Serialize)]
pub struct MyList {
    articles: Vec<MyCard>,
    /// Pass as `before` for the next page; null on the last page.
    next_cursor: Option<String>,
}

#[derive(Serialize)]
struct MyCard {
    #[serde(flatten)]
    card: CardJson,
    read: bool,
    saved: bool,
}

/// `GET /api/v1/me/unread?section=&limit=&before=`: newest first.
pub async fn unread(me: Me, State(state): State<AppState>, RawQuery(query): RawQuery) -> AppResult<Json<MyList>> {
    let query = list_query(query.as_deref())?;
    let section_id = match &query.section {
        Some(slug) => Some(section_id(&state, slug).await?),
        None => None,
    };
    let snapshot = state.reading.snapshot(&state.db, me.user.id, me.version).await?;
    let scope = section_id.map_or(Scope::All, Scope::Section);
    let page = crate::reading::unread_page(&state.db, &snapshot, scope, query.before, query.limit).await?;
    let mut articles: Vec<MyCard> = page
        .items
        .into_iter()
        .map(|card| MyCard {
            saved: snapshot.is_saved(card.id),
            read: false,
            card: CardJson::new(card, &state.site.base_url),
        })
        .collect();
    add_stories(&state, articles.iter_mut().map(|a| &mut a.card)).await?;
    Ok(Json(MyList {
        articles,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// `GET /api/v1/me/saved?limit=&before=`: newest save first.
pub async fn saved(me: Me, State(state): State<AppState>, RawQuery(query): RawQuery) -> AppResult<Json<MyList>> {
    let query = list_query(query.as_deref())?;
    let (ids, next) = saved_page(&state, me.user.id, query.before, query.limit).await?;
    let snapshot = state.reading.snapshot(&state.db, me.user.id, me.version).await?;
    let cards = store::articles::cards_by_ids(&state.db.reader, &ids).await?;
    let mut articles: Vec<MyCard> = cards
        .into_iter()
        .map(|card| MyCard {
            read: snapshot.is_read(card.id, card.section_id),
            saved: true,
            card: CardJson::new(card, &state.site.base_url),
        })
        .collect();
    add_stories(&state, articles.iter_mut().map(|a| &mut a.card)).await?;
    Ok(Json(MyList {
        articles,
        next_cursor: next.map(|c| c.encode()),
    }))
}

fn article_id(text: &str) -> AppResult<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AppError::NotFound("article"))
}

async fn apply(state: &AppState, me: &Me, id: &str, action: Action) -> AppResult<Json<StoryState>> {
    let id = article_id(id)?;
    state.reading.act(&state.db, me.user.id, id, action).await?;
    Ok(Json(story_state(state, me.user.id, id).await?))
}

pub async fn put_read(me: Me, State(state): State<AppState>, Path(id): Path<String>) -> AppResult<Json<StoryState>> {
    apply(&state, &me, &id, Action::Read).await
}

pub async fn delete_read(me: Me, State(state): State<AppState>, Path(id): Path<String>) -> AppResult<Json<StoryState>> {
    apply(&state, &me, &id, Action::Unread).await
}

pub async fn put_saved(me: Me, State(state): State<AppState>, Path(id): Path<String>) -> AppResult<Json<StoryState>> {
    apply(&state, &me, &id, Action::Save).await
}

pub async fn delete_saved(
    me: Me,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Json<StoryState>> {
    apply(&state, &me, &id, Action::Unsave).await
}

/// `POST /api/v1/me/read`: `{"ids": [...]}`, or `{"section": "slug" or
/// null for all, "before": "RFC 3339 time"}` (stories stored after that
/// time stay unread).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkReadJson {
    ids: Option<Vec<i64>>,
    section: Option<String>,
    before: Option<String>,
}

#[derive(Serialize)]
pub struct Marked {
    /// Articles marked, for a list of ids; null for a section.
    marked: Option<usize>,
}

pub async fn mark_read(
    me: Me,
    State(state): State<AppState>,
    body: IngestBody,
) -> AppResult<(StatusCode, Json<Marked>)> {
    if body.kind != BodyKind::Json {
        return Err(AppError::UnsupportedMediaType("send application/json".to_owned()));
    }
    let input: MarkReadJson = decode::object(&body.bytes)?;
    match (input.ids, input.before) {
        (Some(ids), None) if input.section.is_none() => {
            if ids.len() > MAX_IDS {
                return Err(AppError::TooManyItems {
                    limit: MAX_IDS,
                    got: ids.len(),
                });
            }
            let marked = state
                .reading
                .act_many(&state.db, me.user.id, &ids, Action::Read)
                .await?;
            Ok((StatusCode::OK, Json(Marked { marked: Some(marked) })))
        }
        (None, Some(before)) => {
            let time = DateTime::parse_from_rfc3339(&before)
                .map_err(|_| AppError::invalid("before", "before must be an RFC 3339 time, like 2026-11-29T18:00:00Z"))?
                .timestamp();
            let section = match &input.section {
                Some(slug) => Some(section_id(&state, slug).await?),
                None => None,
            };
            state
                .reading
                .read_section(&state.db, me.user.id, section, UpTo::Time(time))
                .await?;
            Ok((StatusCode::OK, Json(Marked { marked: None })))
        }
        _ => Err(AppError::invalid(
            "ids",
            "send either ids (a list of article ids) or before (a time) with an optional section",
        )),
    }
}
