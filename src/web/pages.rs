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
use crate::web::views::{ArticleView, CardView, Layout, section_href};

/// How many stories each block shows: the front page's per-section lists,
/// a section page, and the article page's sidebar.
const FRONT_PER_SECTION: u32 = 4;
const SECTION_PAGE_SIZE: u32 = 20;
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
                "There is no story at this address. It may have been removed, or the link may be mistyped.",
            ),
            _ => (
                "Something went wrong",
                "The server could not show this page. Please try again in a moment.",
            ),
        };
        let mut response = render_error(status, heading, message);
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

/// Error pages carry no section navigation, so showing one never needs
/// the database (which may be what failed).
fn render_error(status: StatusCode, heading: &str, message: &str) -> Response {
    let layout = Layout {
        site_name: "Gazette".to_owned(),
        page_title: heading.to_owned(),
        stylesheet: crate::web::assets::stylesheet_href(),
        nav: Vec::new(),
        canonical: None,
    };
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
    let sections = store::sections::list(&state.db.reader).await?;
    let lead = store::articles::page(&state.db.reader, None, Cursor::START, 1)
        .await?
        .items
        .into_iter()
        .next();
    let lead_id = lead.as_ref().map(|l| l.id);
    let mut blocks = Vec::with_capacity(sections.len());
    for section in &sections {
        let page =
            store::articles::page(&state.db.reader, Some(section.id), Cursor::START, FRONT_PER_SECTION + 1).await?;
        let items: Vec<_> = page
            .items
            .into_iter()
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

#[derive(Template)]
#[template(path = "section.html")]
struct SectionPage {
    layout: Layout,
    name: String,
    items: Vec<CardView>,
    older_href: Option<String>,
    newest_href: Option<String>,
}

pub async fn section(State(state): State<AppState>, Path(slug): Path<String>, RawQuery(query): RawQuery) -> PageResult {
    let sections = store::sections::list(&state.db.reader).await?;
    let section: Section = match sections.iter().find(|s| s.slug == slug) {
        Some(s) => s.clone(),
        None => store::sections::by_slug(&state.db.reader, &slug)
            .await?
            .ok_or(AppError::NotFound("section"))?,
    };
    let before = query_param(query.as_deref(), "before");
    let cursor = match &before {
        Some(text) => Cursor::decode(text).ok_or(AppError::NotFound("page"))?,
        None => Cursor::START,
    };
    let page = store::articles::page(&state.db.reader, Some(section.id), cursor, SECTION_PAGE_SIZE).await?;
    let href = section_href(&section.slug);
    render(&SectionPage {
        layout: Layout::new(&state.site, &sections, &section.name, Some(&section.slug))
            .with_canonical(&state.site, &href),
        older_href: page.next.map(|c| format!("{href}?before={}", c.encode())),
        newest_href: before.is_some().then(|| href.clone()),
        name: section.name,
        items: CardView::list(page.items, Utc::now()),
    })
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
    let article = store::articles::get(&state.db.reader, id)
        .await?
        .ok_or(AppError::NotFound("article"))?;
    if slug != Some(article.slug.as_str()) {
        return Ok(Redirect::permanent(&article.path()).into_response());
    }
    let now = Utc::now();
    let sections = store::sections::list(&state.db.reader).await?;
    let sidebar = store::articles::latest_outside_section(&state.db.reader, article.section_id, SIDEBAR_ITEMS).await?;
    let path = article.path();
    let layout = Layout::new(&state.site, &sections, &article.title, Some(&article.section_slug))
        .with_canonical(&state.site, &path);
    render(&ArticlePage {
        layout,
        article: ArticleView::new(article, now),
        sidebar: CardView::list(sidebar, now),
    })
}

pub async fn not_found() -> PageError {
    PageError(AppError::NotFound("page"))
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}
