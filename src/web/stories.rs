//! A story's versions: `/stories/{id}` for readers and
//! `/api/v1/stories/{id}` for clients, and the "also reported by" links
//! on cards.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use chrono::Utc;
use serde::Serialize;

use crate::AppState;
use crate::domain::listing::{article_path, from_unix};
use crate::error::{AppError, AppResult};
use crate::store;
use crate::store::articles::Shown;
use crate::store::stories::Version;
use crate::store::topics::Topic;
use crate::web::cache::MadeFrom;
use crate::web::pages::{PageResult, render};
use crate::web::personal::Viewer;
use crate::web::views::{CardView, Layout, StoryLink, TimeView, section_href};

/// Fills in each card's link to its story, in one query.
pub(crate) async fn link_cards(state: &AppState, cards: &mut [CardView]) -> AppResult<()> {
    let ids: Vec<i64> = cards.iter().map(|c| c.id).collect();
    for story in store::stories::of_articles(&state.db.reader, &ids).await? {
        if let Some(card) = cards.iter_mut().find(|c| c.id == story.article_id) {
            card.also = StoryLink::new(&story);
        }
    }
    Ok(())
}

fn story_id(text: &str) -> AppResult<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AppError::NotFound("story"))
}

/// A story's published versions; a story with none (yet) is not found.
async fn versions(state: &AppState, id: i64) -> AppResult<Vec<Version>> {
    let versions = store::stories::versions(&state.db.reader, id, Shown::Published.until()).await?;
    if versions.is_empty() {
        return Err(AppError::NotFound("story"));
    }
    Ok(versions)
}

#[derive(Serialize)]
pub struct StoryJson {
    id: i64,
    articles: Vec<VersionJson>,
}

#[derive(Serialize)]
struct VersionJson {
    id: i64,
    page_url: String,
    title: String,
    section: String,
    author: Option<String>,
    source: Option<String>,
    url: Option<String>,
    published_at: String,
    duplicate_of: Option<i64>,
}

/// `GET /api/v1/stories/{id}`: a story's articles, first-seen first.
pub async fn story_json(State(state): State<AppState>, Path(id): Path<String>) -> AppResult<Json<StoryJson>> {
    let id = story_id(&id)?;
    let articles = versions(&state, id)
        .await?
        .into_iter()
        .map(|v| VersionJson {
            page_url: format!("{}{}", state.site.base_url, article_path(v.id, &v.slug)),
            id: v.id,
            title: v.title,
            section: v.section_slug,
            author: v.author,
            source: v.source,
            url: v.url,
            published_at: from_unix(v.published_at).to_rfc3339(),
            duplicate_of: v.duplicate_of,
        })
        .collect();
    Ok(Json(StoryJson { id, articles }))
}

#[derive(Template)]
#[template(path = "story.html")]
struct StoryPage {
    layout: Layout,
    title: String,
    sources: usize,
    versions: Vec<VersionView>,
}

struct VersionView {
    title: String,
    href: String,
    source: Option<String>,
    author: Option<String>,
    time: TimeView,
    section_name: String,
    section_href: String,
    /// The headline of the version it copies, when it is a copy.
    copy_of: Option<String>,
}

/// `/stories/{id}`: every version of a story, first-seen first, copies
/// marked as such.
pub async fn story_page(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> PageResult {
    let id = story_id(&id)?;
    let made_from = state.db.stamp(&[Topic::Newest]);
    let versions = versions(&state, id).await?;
    let now = Utc::now();
    let title = versions.first().map(|v| v.title.clone()).unwrap_or_default();
    let mut sources: Vec<&str> = versions.iter().filter_map(|v| v.source.as_deref()).collect();
    sources.sort_unstable();
    sources.dedup();
    let sources = sources.len();
    let headline_of = |id: i64| versions.iter().find(|v| v.id == id).map(|v| v.title.clone());
    let views: Vec<VersionView> = versions
        .iter()
        .map(|v| VersionView {
            title: v.title.clone(),
            href: article_path(v.id, &v.slug),
            source: v.source.clone(),
            author: v.author.clone(),
            time: TimeView::new(from_unix(v.published_at), now),
            section_name: v.section_name.clone(),
            section_href: section_href(&v.section_slug),
            copy_of: v
                .duplicate_of
                .map(|o| headline_of(o).unwrap_or_else(|| "an earlier version".to_owned())),
        })
        .collect();
    let sections = store::sections::list(&state.db).await?;
    let layout = crate::web::views::Layout::new(&state.site, &sections, &title, None)
        .with_canonical(&state.site, &format!("/stories/{id}"))
        .for_viewer(&viewer);
    let mut response = render(&StoryPage {
        layout,
        title,
        sources,
        versions: views,
    })?;
    response.extensions_mut().insert(MadeFrom(made_from));
    Ok(response)
}

/// How many other versions an article page lists before "all versions".
const OTHER_VERSIONS: usize = 5;

/// The article page's box of its story's other versions.
pub struct OtherVersions {
    pub href: String,
    pub versions: Vec<OtherVersion>,
    pub more: usize,
}

pub struct OtherVersion {
    pub title: String,
    pub href: String,
    pub source: Option<String>,
    pub is_copy: bool,
}

/// The other versions of an article's story; None for a story of one.
pub(crate) async fn other_versions(state: &AppState, article_id: i64) -> AppResult<Option<OtherVersions>> {
    let Some(story) = store::stories::of_articles(&state.db.reader, &[article_id])
        .await?
        .pop()
    else {
        return Ok(None);
    };
    if story.articles < 2 {
        return Ok(None);
    }
    let versions = store::stories::versions(&state.db.reader, story.id, Shown::Published.until()).await?;
    let original = story.duplicate_of.unwrap_or(article_id);
    let others: Vec<OtherVersion> = versions
        .into_iter()
        .filter(|v| v.id != article_id)
        .map(|v| OtherVersion {
            is_copy: v.id == original || v.duplicate_of == Some(original),
            href: article_path(v.id, &v.slug),
            title: v.title,
            source: v.source,
        })
        .collect();
    if others.is_empty() {
        return Ok(None);
    }
    let more = others.len().saturating_sub(OTHER_VERSIONS);
    Ok(Some(OtherVersions {
        href: format!("/stories/{}", story.id),
        versions: others.into_iter().take(OTHER_VERSIONS).collect(),
        more,
    }))
}
