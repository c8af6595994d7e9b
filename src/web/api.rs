//! The JSON API under /api/v1: ingest, read and delete.

use axum::Json;
use axum::extract::{FromRequest, Path, RawQuery, Request, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::AppState;
use crate::domain::{Article, ArticleCard, Cursor};
use crate::error::{AppError, AppResult};
use crate::full_content::{self, FullContentView};
use crate::ingest::{self, SaveStatus};
use crate::store;
use crate::store::articles::{Scope, Shown};
use crate::store::stories::StoryRef;
use crate::web::auth::IngestToken;
use crate::web::body::{self, BodyKind, BodyLimit, IngestBody};
use crate::web::search::SearchForm;
use crate::web::views::snippet_html;

/// Page sizes of the read API: a default that suits a client's screen,
/// a cap that keeps one request cheap.
const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;

pub async fn create_article(_: IngestToken, State(state): State<AppState>, body: IngestBody) -> AppResult<Response> {
    if body.kind != BodyKind::Json {
        return Err(AppError::UnsupportedMediaType(
            "send one article as application/json; NDJSON goes to /api/v1/articles/batch".to_owned(),
        ));
    }
    let saved = match ingest::ingest_one(&state.commits, &body.bytes).await {
        Err(AppError::Filtered { rule, .. }) => {
            return Ok(Json(serde_json::json!({ "status": "filtered", "rule": rule })).into_response());
        }
        other => other?,
    };
    let mut response = Json(&saved).into_response();
    if saved.status == SaveStatus::Created {
        *response.status_mut() = StatusCode::CREATED;
        if let Ok(location) = HeaderValue::from_str(&saved.url) {
            response.headers_mut().insert(LOCATION, location);
        }
    }
    Ok(response)
}

#[derive(Serialize)]
pub struct BatchResponse {
    results: Vec<ingest::BatchItem>,
}

pub async fn create_batch(
    _: IngestToken,
    State(state): State<AppState>,
    request: Request,
) -> AppResult<Json<BatchResponse>> {
    if body::kind_of(&request)? == BodyKind::Xml {
        return Err(AppError::UnsupportedMediaType(
            "send a batch as a JSON array (application/json) or NDJSON (application/x-ndjson)".to_owned(),
        ));
    }
    // Room in the memory budget before the body is read: concurrent
    // batches take turns rather than together outgrowing a small machine.
    // A body of unknown length may be as large as the limit.
    let limit = request
        .extensions()
        .get::<BodyLimit>()
        .map_or(state.site.max_batch_body_bytes, |limit| limit.bytes);
    let size = body::declared_length(&request).map_or(limit as u64, |length| length.min(limit as u64));
    let Some(_room) = state
        .memory
        .reserve(ingest::budget::batch_cost(size), ingest::budget::BATCH_WAIT)
        .await
    else {
        metrics::counter!("gazette_memory_budget_refused_total").increment(1);
        body::drain(request.into_body(), limit).await;
        return Err(AppError::Overloaded);
    };
    let body = IngestBody::from_request(request, &state).await?;
    let results = ingest::ingest_batch(&state.db, body.bytes, body.kind == BodyKind::NdJson).await?;
    Ok(Json(BatchResponse { results }))
}

pub async fn delete_article(
    _: IngestToken,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let id = parse_id(&id)?;
    ingest::delete(&state.db, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An article as the read API shows it: the ingest fields under the same
/// names, plus where it lives on this site.
#[derive(Serialize)]
pub struct ArticleJson {
    id: i64,
    /// The article page, absolute.
    page_url: String,
    title: String,
    section: SectionRef,
    summary: Option<String>,
    author: Option<String>,
    source: Option<String>,
    url: Option<String>,
    external_id: Option<String>,
    image_url: Option<String>,
    image_caption: Option<String>,
    tags: Vec<String>,
    body_html: String,
    published_at: String,
    /// The later date a feed gave the entry, when it was placed at the
    /// time it was fetched instead; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    claimed_published_at: Option<String>,
    /// True while the article is dated in the future: shown only to a
    /// token holder until its time.
    scheduled: bool,
    updated_at: String,
    /// Where fetching its page for the full story stands, when it was
    /// asked for (a full-content feed's article, or a request).
    #[serde(skip_serializing_if = "Option::is_none")]
    full_content: Option<FullContentView>,
    /// The story it belongs to: `{id, articles, sources}`.
    story: Option<StoryRef>,
    /// The first-seen article it is a near-duplicate of, if any.
    duplicate_of: Option<i64>,
}

#[derive(Serialize)]
struct SectionRef {
    name: String,
    slug: String,
}

impl ArticleJson {
    fn new(article: Article, base_url: &str) -> Self {
        ArticleJson {
            id: article.id,
            page_url: format!("{base_url}{}", article.path()),
            title: article.title,
            section: SectionRef {
                name: article.section_name,
                slug: article.section_slug,
            },
            summary: article.summary,
            author: article.author,
            source: article.source,
            url: article.url,
            external_id: article.external_id,
            image_url: article.image_url,
            image_caption: article.image_caption,
            tags: article.tags,
            body_html: article.body_html,
            scheduled: article.published_at > chrono::Utc::now(),
            published_at: article.published_at.to_rfc3339(),
            claimed_published_at: article.claimed_published_at.map(|t| t.to_rfc3339()),
            updated_at: article.updated_at.to_rfc3339(),
            full_content: None,
            story: None,
            duplicate_of: None,
        }
    }
}

/// A scheduled article is found only with an ingest token; to anyone else
/// it does not exist yet.
pub async fn get_article(
    token: Option<IngestToken>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Json<ArticleJson>> {
    let id = parse_id(&id)?;
    let shown = match token {
        Some(IngestToken) => Shown::WithScheduled,
        None => Shown::Published,
    };
    let article = store::articles::get(&state.db.reader, id, shown)
        .await?
        .ok_or(AppError::NotFound("article"))?;
    let mut json = ArticleJson::new(article, &state.site.base_url);
    json.full_content = full_content::status(&state.db, id).await?;
    if let Some(story) = store::stories::of_articles(&state.db.reader, &[id]).await?.pop() {
        json.story = Some(story);
        json.duplicate_of = story.duplicate_of;
    }
    Ok(Json(json))
}

#[derive(Serialize)]
pub struct FullContentAnswer {
    id: i64,
    full_content: FullContentView,
}

/// Fetches an article's page now and makes the story found there its
/// body: for an article of a feed without the setting, or after a site
/// changed its layout. The answer says how it went (a failure included:
/// the article keeps its text).
pub async fn fetch_full_content(
    _: IngestToken,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Json<FullContentAnswer>> {
    let id = parse_id(&id)?;
    let full_content = state.pages.fetch_now(&state.db, id).await?;
    Ok(Json(FullContentAnswer { id, full_content }))
}

#[derive(Serialize)]
pub struct CardJson {
    id: i64,
    page_url: String,
    title: String,
    section: SectionRef,
    summary: Option<String>,
    author: Option<String>,
    image_url: Option<String>,
    published_at: String,
    story: Option<StoryRef>,
    duplicate_of: Option<i64>,
}

impl CardJson {
    pub(crate) fn new(card: ArticleCard, base_url: &str) -> Self {
        CardJson {
            id: card.id,
            page_url: format!("{base_url}{}", card.path()),
            title: card.title,
            section: SectionRef {
                name: card.section_name,
                slug: card.section_slug,
            },
            summary: card.summary,
            author: card.author,
            image_url: card.image_url,
            published_at: card.published_at.to_rfc3339(),
            story: None,
            duplicate_of: None,
        }
    }
}

/// Fills in the story of each card, in one query.
pub(crate) async fn add_stories<'a>(
    state: &AppState,
    cards: impl IntoIterator<Item = &'a mut CardJson>,
) -> AppResult<()> {
    let mut cards: Vec<&mut CardJson> = cards.into_iter().collect();
    let ids: Vec<i64> = cards.iter().map(|c| c.id).collect();
    let stories: std::collections::HashMap<i64, StoryRef> = store::stories::of_articles(&state.db.reader, &ids)
        .await?
        .into_iter()
        .map(|s| (s.article_id, s))
        .collect();
    for card in &mut cards {
        if let Some(story) = stories.get(&card.id) {
            card.story = Some(*story);
            card.duplicate_of = story.duplicate_of;
        }
    }
    Ok(())
}

#[derive(Serialize)]
pub struct ArticleList {
    articles: Vec<CardJson>,
    /// Pass as `before` for the next page; null on the last page.
    next_cursor: Option<String>,
}

pub async fn list_articles(State(state): State<AppState>, RawQuery(query): RawQuery) -> AppResult<Json<ArticleList>> {
    let query = list_query(query.as_deref())?;
    let scope = match &query.section {
        Some(slug) => Scope::Section(section_id(&state, slug).await?),
        None => Scope::All,
    };
    let page = store::articles::page(&state.db.reader, scope, query.before, query.limit).await?;
    let mut articles: Vec<CardJson> = page
        .items
        .into_iter()
        .map(|c| CardJson::new(c, &state.site.base_url))
        .collect();
    add_stories(&state, &mut articles).await?;
    Ok(Json(ArticleList {
        articles,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// The id of the section a `section=` parameter names.
pub(crate) async fn section_id(state: &AppState, slug: &str) -> AppResult<i64> {
    Ok(store::sections::by_slug(&state.db.reader, slug)
        .await?
        .ok_or(AppError::NotFound("section"))?
        .id)
}

/// `limit` and `before` of a list, and its `section` if it has one.
pub(crate) struct ListQuery {
    pub limit: u32,
    pub before: Cursor,
    pub section: Option<String>,
}

pub(crate) fn list_query(query: Option<&str>) -> AppResult<ListQuery> {
    let mut out = ListQuery {
        limit: DEFAULT_LIMIT,
        before: Cursor::START,
        section: None,
    };
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match &*key {
            "section" => out.section = Some(value.into_owned()),
            "limit" => {
                out.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        AppError::invalid("limit", format!("limit must be a number from 1 to {MAX_LIMIT}"))
                    })?
            }
            "before" => {
                out.before = Cursor::decode(&value).ok_or_else(|| {
                    AppError::invalid("before", "before must be a next_cursor value from an earlier response")
                })?
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Ids in paths are positive integers; anything else names no article.
fn parse_id(text: &str) -> AppResult<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AppError::NotFound("article"))
}

/// Unknown paths under /api answer in the API's format.
pub async fn not_found() -> AppError {
    AppError::NotFound("route")
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and writes are not failing: a server
/// whose disk is full still serves pages, but should not be sent articles.
pub async fn readyz(State(state): State<AppState>) -> AppResult<&'static str> {
    state.db.ping().await?;
    if let Some(failing) = state.db.writer.health().failing() {
        return Err(AppError::WritesFailing {
            fault: failing.fault,
            since: chrono::DateTime::from_timestamp(failing.since, 0)
                .unwrap_or_default()
                .to_rfc3339(),
        });
    }
    Ok("ready")
}

#[derive(Serialize)]
pub struct SearchHitJson {
    #[serde(flatten)]
    article: CardJson,
    /// The matching passage as HTML: escaped text with `<mark>` around hits.
    snippet_html: String,
}

#[derive(Serialize)]
pub struct SearchResults {
    results: Vec<SearchHitJson>,
    page: u32,
    /// The next page's number, or null on the last page.
    next_page: Option<u32>,
    /// Null when every match was weighed; else which matches were (the
    /// most recent `considered`, within the filters) and what to tell a
    /// reader.
    bounded: Option<BoundJson>,
    /// Prefixes that begin too many words, and the commonest words each
    /// was searched for as (empty when none was narrowed).
    narrowed: Vec<NarrowedJson>,
}

#[derive(Serialize)]
pub struct NarrowedJson {
    prefix: String,
    words: Vec<String>,
}

#[derive(Serialize)]
pub struct BoundJson {
    considered: i64,
    newest_first: bool,
    stories_searched: Option<i64>,
    notice: String,
}

/// `GET /api/v1/search?q=&section=&from=&to=&sort=newest&page=`.
pub async fn search(
    State(state): State<AppState>,
    client: crate::web::client::ClientAddr,
    RawQuery(query): RawQuery,
) -> AppResult<Json<SearchResults>> {
    let form = SearchForm::from_query(query.as_deref());
    let sections = store::sections::list(&state.db).await?;
    let search = form.validate(&sections)?;
    let crate::web::search::ResultsPage {
        hits,
        more,
        bound,
        narrowed,
    } = crate::web::search::hits(&state, client, &search).await?;
    let bounded = bound.map(|b| BoundJson {
        considered: b.considered,
        newest_first: b.newest_first,
        stories_searched: b.stories_searched,
        notice: crate::web::search::notice(&b, !hits.is_empty()),
    });
    let mut results: Vec<SearchHitJson> = hits
        .into_iter()
        .map(|hit| SearchHitJson {
            snippet_html: snippet_html(&hit.snippet),
            article: CardJson::new(hit.card, &state.site.base_url),
        })
        .collect();
    add_stories(&state, results.iter_mut().map(|r| &mut r.article)).await?;
    Ok(Json(SearchResults {
        results,
        page: search.page,
        next_page: more.then_some(search.page + 1),
        bounded,
        narrowed: narrowed
            .into_iter()
            .map(|n| NarrowedJson {
                prefix: n.prefix,
                words: n.words,
            })
            .collect(),
    }))
}
