//! The feed subscription API under /api/v1/feeds. Every route needs a
//! token: subscriptions make the server fetch URLs.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::feeds::{self, FeedChange, FeedView, ImportResult, PollReport, Subscription};
use crate::full_content::rules::SiteRule;
use crate::ingest::decode;
use crate::store;
use crate::web::auth::IngestToken;
use crate::web::body::{BodyKind, IngestBody};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewFeedJson {
    url: Option<String>,
    section: Option<String>,
    title: Option<String>,
    interval_minutes: Option<u64>,
    #[serde(default)]
    full_content: bool,
    extraction: Option<SiteRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedChangeJson {
    section: Option<String>,
    title: Option<String>,
    interval_minutes: Option<u64>,
    full_content: Option<bool>,
    /// `null` clears the feed's rule; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    extraction: Option<Option<SiteRule>>,
}

/// A field that was sent, `null` included: `Some(None)` for `null`, where
/// an absent field is `None` (serde's default).
fn present<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(from: D) -> Result<Option<T>, D::Error> {
    T::deserialize(from).map(Some)
}

#[derive(Serialize)]
pub struct Subscribed {
    feed: FeedView,
    poll: PollReport,
}

#[derive(Serialize)]
pub struct FeedList {
    feeds: Vec<FeedView>,
}

#[derive(Serialize)]
pub struct ImportReport {
    results: Vec<ImportResult>,
}

fn json_body(body: &IngestBody) -> AppResult<()> {
    if body.kind != BodyKind::Json {
        return Err(AppError::UnsupportedMediaType("send application/json".to_owned()));
    }
    Ok(())
}

fn parse_id(text: &str) -> AppResult<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AppError::NotFound("feed"))
}

pub async fn list(_: IngestToken, State(state): State<AppState>) -> AppResult<Json<FeedList>> {
    Ok(Json(FeedList {
        feeds: feeds::list(&state.db).await?,
    }))
}

pub async fn create(_: IngestToken, State(state): State<AppState>, body: IngestBody) -> AppResult<Response> {
    json_body(&body)?;
    let input: NewFeedJson = decode::object(&body.bytes)?;
    let url = input.url.ok_or_else(|| AppError::invalid("url", "url is required"))?;
    let section = input
        .section
        .ok_or_else(|| AppError::invalid("section", "section is required"))?;
    let sub = Subscription {
        url: &url,
        section: &section,
        title: input.title.as_deref(),
        interval: input
            .interval_minutes
            .map(|m| Duration::from_secs(m.saturating_mul(60))),
        full_content: input.full_content,
        extraction: input.extraction.as_ref(),
    };
    let (feed, poll) = feeds::subscribe(&state.db, &state.fetcher, sub).await?;
    let location = HeaderValue::from_str(&format!("/api/v1/feeds/{}", feed.feed.id)).ok();
    let mut response = (StatusCode::CREATED, Json(Subscribed { feed, poll })).into_response();
    if let Some(location) = location {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

pub async fn show(_: IngestToken, State(state): State<AppState>, Path(id): Path<String>) -> AppResult<Json<FeedView>> {
    let feed = store::feeds::get(&state.db.reader, parse_id(&id)?)
        .await?
        .ok_or(AppError::NotFound("feed"))?;
    Ok(Json(feed.into()))
}

pub async fn change(
    _: IngestToken,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: IngestBody,
) -> AppResult<Json<FeedView>> {
    json_body(&body)?;
    let input: FeedChangeJson = decode::object(&body.bytes)?;
    let interval = input
        .interval_minutes
        .map(|m| Duration::from_secs(m.saturating_mul(60)));
    let title = input.title.as_deref().map(|t| Some(t).filter(|t| !t.trim().is_empty()));
    let change = FeedChange {
        section: input.section.as_deref(),
        title,
        interval,
        full_content: input.full_content,
        extraction: input.extraction.as_ref().map(Option::as_ref),
    };
    Ok(Json(feeds::update(&state.db, parse_id(&id)?, change).await?))
}

pub async fn remove(_: IngestToken, State(state): State<AppState>, Path(id): Path<String>) -> AppResult<StatusCode> {
    feeds::remove(&state.db, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Polls a feed now, whatever its schedule, and says what happened.
pub async fn poll_now(
    _: IngestToken,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Json<PollReport>> {
    let feed = store::feeds::get(&state.db.reader, parse_id(&id)?)
        .await?
        .ok_or(AppError::NotFound("feed"))?;
    Ok(Json(feeds::poll(&state.db, &state.fetcher, &feed).await?))
}

pub async fn export_opml(_: IngestToken, State(state): State<AppState>) -> AppResult<Response> {
    let xml = feeds::export_opml(&state.db, &state.site.name).await?;
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static("text/x-opml; charset=utf-8"))],
        xml,
    )
        .into_response())
}

pub async fn import_opml(
    _: IngestToken,
    State(state): State<AppState>,
    body: IngestBody,
) -> AppResult<Json<ImportReport>> {
    if body.kind != BodyKind::Xml {
        return Err(AppError::UnsupportedMediaType(
            "send OPML as text/x-opml or application/xml".to_owned(),
        ));
    }
    let xml = std::str::from_utf8(&body.bytes).map_err(|_| AppError::MalformedJson("OPML must be UTF-8".to_owned()))?;
    let results = feeds::import_opml(&state.db, &state.fetcher, xml, "Feeds").await?;
    Ok(Json(ImportReport { results }))
}
