//! The HTML pages of the news site. Reading needs no JavaScript.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;

use crate::AppState;
use crate::domain::{Cursor, Section};
use crate::error::AppError;
use crate::store;
use crate::store::articles::Scope;
use crate::web::search::{self, SearchForm, SearchOutcome};
use crate::web::views::{ArticleView, CardView, Layout, PageMeta, section_href};

/// How many stories each block shows: the front page's per-section lists,
/// a listing page, and the article page's sidebar.
const FRONT_PER_SECTION: u32 = 4;
const LISTING_PAGE_SIZE: u32 = 20;
const SIDEBAR_ITEMS: u32 = 8;

/// An error on a page: the API's mapping of error to status, shown as an
/// HTML page instead of JSON.
pub struct PageError(AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(err: E) -> Self {
        PageError(err.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let (heading, message) = match status {
            StatusCode::NOT_FOUND => (
                "Page not found",
                "There is no story at this address. It may have been removed, or the link may be mistyped.".to_owned(),
            ),
            // The client's own mistake (a stale form, say): say what it was.
            _ if status.is_client_error() => ("This request was refused", self.0.body().message),
            _ => (
                "Something went wrong",
                "The server could not show this page. Please try again in a moment.".to_owned(),
            ),
        };
        let mut response = render_error(status, heading, &message);
        if let Some(detail) = self.0.log_detail() {
            response.extensions_mut().insert(detail);
        }
        response
    }
}

type PageResult = Result<Response, PageError>;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    heading: &'a str,
    message: &'a str,
}

fn render_error(status: StatusCode, heading: &str, message: &str) -> Response {
    let layout = Layout::bare("Gazette", heading);
    match (ErrorPage {
        layout,
        heading,
        message,
    })
    .render()
    {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, heading.to_owned()).into_response(),
    }
}

fn render(template: &impl Template) -> PageResult {
    let html = template.render().map_err(|err| AppError::Internal(err.into()))?;
    Ok(Html(html).into_response())
}

#[derive(Template)]
#[template(path = "front.html")]
struct FrontPage {
    layout: Layout,
    lead: Option<CardView>,
    blocks: Vec<SectionBlock>,
    api_url: String,
}

struct SectionBlock {
    name: String,
    href: String,
    items: Vec<CardView>,
}

pub async fn front(State(state): State<AppState>) -> PageResult {
    let now = Utc::now();
    let db = &state.db.reader;
    let sections = store::sections::list(&state.db).await?;
    let lead = store::articles::page(db, Scope::All, Cursor::START, 1)
        .await?
        .items
        .into_iter()
        .next();
    let lead_id = lead.as_ref().map(|l| l.id);
    let mut newest = store::articles::newest_by_section(db, FRONT_PER_SECTION + 1).await?;
    let mut blocks = Vec::with_capacity(sections.len());
    for section in sections.iter() {
        let items: Vec<_> = newest
            .extract_if(.., |c| c.section_slug == section.slug)
            .filter(|c| Some(c.id) != lead_id)
            .take(FRONT_PER_SECTION as usize)
            .collect();
        if !items.is_empty() {
            blocks.push(SectionBlock {
                name: section.name.clone(),
                href: section_href(&section.slug),
                items: CardView::list(items, now),
            });
        }
    }
    render(&FrontPage {
        layout: Layout::new(&state.site, &sections, "", None).with_canonical(&state.site, "/"),
        lead: lead.map(|l| CardView::new(l, now)),
        blocks,
        api_url: format!("{}/api/v1/articles", state.site.base_url),
    })
}

/// A section, author or tag page: a newest-first listing paged by keyset.
#[derive(Template)]
#[template(path = "listing.html")]
struct ListingPage {
    layout: Layout,
    kicker: &'static str,
    name: String,
    items: Vec<CardView>,
    /// Whether cards name their section (not on a section's own page).
    show_section: bool,
    older_href: Option<String>,
    newest_href: Option<String>,
}

struct Listing<'a> {
    scope: Scope<'a>,
    kicker: &'static str,
    name: String,
    href: String,
    current_section: Option<&'a Section>,
}

async fn show_listing(state: &AppState, listing: Listing<'_>, sections: &[Section], query: Option<&str>) -> PageResult {
    let before = query_param(query, "before");
    let cursor = match &before {
        Some(text) => Cursor::decode(text).ok_or(AppError::NotFound("page"))?,
        None => Cursor::START,
    };
    let page = store::articles::page(&state.db.reader, listing.scope, cursor, LISTING_PAGE_SIZE).await?;
    let mut layout = Layout::new(
        &state.site,
        sections,
        &listing.name,
        listing.current_section.map(|s| s.slug.as_str()),
    )
    .with_canonical(&state.site, &listing.href);
    if let Some(section) = listing.current_section {
        layout = layout.with_section_feeds(section);
    }
    let href = listing.href;
    render(&ListingPage {
        layout,
        kicker: listing.kicker,
        name: listing.name,
        show_section: listing.current_section.is_none(),
        older_href: page.next.map(|c| format!("{href}?before={}", c.encode())),
        newest_href: before.is_some().then(|| href.clone()),
        items: CardView::list(page.items, Utc::now()),
    })
}

pub async fn section(State(state): State<AppState>, Path(slug): Path<String>, RawQuery(query): RawQuery) -> PageResult {
    let sections = store::sections::list(&state.db).await?;
    let section: Section = match sections.iter().find(|s| s.slug == slug) {
        Some(s) => s.clone(),
        None => store::sections::by_slug(&state.db.reader, &slug)
            .await?
            .ok_or(AppError::NotFound("section"))?,
    };
    let listing = Listing {
        scope: Scope::Section(section.id),
        kicker: "Section",
        name: section.name.clone(),
        href: section_href(&section.slug),
        current_section: Some(&section),
    };
    show_listing(&state, listing, &sections, query.as_deref()).await
}

pub async fn author(State(state): State<AppState>, Path(slug): Path<String>, RawQuery(query): RawQuery) -> PageResult {
    let name = store::articles::author_name(&state.db.reader, &slug)
        .await?
        .ok_or(AppError::NotFound("author"))?;
    let href = format!("/authors/{slug}");
    show_named_listing(&state, Scope::Author(&slug), "Stories by", name, href, query.as_deref()).await
}

pub async fn tag(State(state): State<AppState>, Path(slug): Path<String>, RawQuery(query): RawQuery) -> PageResult {
    let name = store::articles::tag_name(&state.db.reader, &slug)
        .await?
        .ok_or(AppError::NotFound("tag"))?;
    let href = format!("/tags/{slug}");
    show_named_listing(&state, Scope::Tag(&slug), "Tagged", name, href, query.as_deref()).await
}

/// An author's or a tag's listing: no section is current.
async fn show_named_listing(
    state: &AppState,
    scope: Scope<'_>,
    kicker: &'static str,
    name: String,
    href: String,
    query: Option<&str>,
) -> PageResult {
    let sections = store::sections::list(&state.db).await?;
    let listing = Listing {
        scope,
        kicker,
        name,
        href,
        current_section: None,
    };
    show_listing(state, listing, &sections, query).await
}

#[derive(Template)]
#[template(path = "article.html")]
struct ArticlePage {
    layout: Layout,
    article: ArticleView,
    sidebar: Vec<CardView>,
}

/// `/articles/{id}` and any stale slug redirect to the canonical path, so
/// a corrected headline never breaks an old link.
pub async fn article(State(state): State<AppState>, Path((id, slug)): Path<(String, String)>) -> PageResult {
    show_article(state, &id, Some(&slug)).await
}

pub async fn article_without_slug(State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    show_article(state, &id, None).await
}

async fn show_article(state: AppState, id: &str, slug: Option<&str>) -> PageResult {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound("article"))?;
    let article = store::articles::get(&state.db.reader, id, store::articles::Shown::Published)
        .await?
        .ok_or(AppError::NotFound("article"))?;
    if slug != Some(article.slug.as_str()) {
        return Ok(Redirect::permanent(&article.path()).into_response());
    }
    let now = Utc::now();
    let sections = store::sections::list(&state.db).await?;
    let sidebar = store::articles::latest_outside_section(&state.db.reader, article.section_id, SIDEBAR_ITEMS).await?;
    let mut layout = Layout::new(&state.site, &sections, &article.title, Some(&article.section_slug))
        .with_canonical(&state.site, &article.path());
    if let Some(section) = sections.iter().find(|s| s.id == article.section_id) {
        layout = layout.with_section_feeds(section);
    }
    layout.meta = Some(PageMeta::for_article(&article, &state.site));
    render(&ArticlePage {
        layout,
        article: ArticleView::new(article, now),
        sidebar: CardView::list(sidebar, now),
    })
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    form: SearchForm,
    section_options: Vec<SectionOption>,
    outcome: SearchOutcome,
}

struct SectionOption {
    slug: String,
    name: String,
    selected: bool,
}

pub async fn search_page(State(state): State<AppState>, RawQuery(query): RawQuery) -> PageResult {
    let form = SearchForm::from_query(query.as_deref());
    let sections = store::sections::list(&state.db).await?;
    let outcome = search::run(&state, &sections, &form).await?;
    let mut layout = Layout::new(&state.site, &sections, "Search", None);
    layout.query = form.q.clone();
    let section_options = sections
        .iter()
        .map(|s| SectionOption {
            slug: s.slug.clone(),
            name: s.name.clone(),
            selected: form.section == s.slug,
        })
        .collect();
    render(&SearchPage {
        layout,
        form,
        section_options,
        outcome,
    })
}

pub async fn not_found() -> PageError {
    PageError(AppError::NotFound("page"))
}

pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}
