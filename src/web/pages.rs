//! The HTML pages of the news site. Reading needs no JavaScript.

use askama::Template;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;

use crate::AppState;
use crate::domain::reltime;
use crate::domain::{Cursor, Section};
use crate::error::AppError;
use crate::store;
use crate::store::articles::Scope;
use crate::store::topics::{Stamp, Topic};
use crate::web::cache::{self, FillWith, FreshUntil, MadeFrom, Stitching};
use crate::web::personal::{self, Viewer};
use crate::web::search::{self, SearchForm, SearchOutcome};
use crate::web::stories;
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
        // Rendered by `error_pages`, which knows the site's name; the text
        // alone stands in should nothing render it.
        let mut response = (status, format!("{heading}: {message}")).into_response();
        if let Some(wait) = self.0.retry_after() {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, wait);
        }
        response.extensions_mut().insert(ErrorPageText { heading, message });
        if let Some(detail) = self.0.log_detail() {
            response.extensions_mut().insert(detail);
        }
        response
    }
}

pub(crate) type PageResult = Result<Response, PageError>;

/// What an error page says, until `error_pages` renders it.
#[derive(Clone)]
struct ErrorPageText {
    heading: &'static str,
    message: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    heading: &'a str,
    message: &'a str,
}

/// Renders the error pages of every layer in the site's layout, under the
/// configured site name.
pub async fn error_pages(State(state): State<AppState>, request: axum::extract::Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let Some(text) = response.extensions_mut().remove::<ErrorPageText>() else {
        return response;
    };
    let site_name = &state.site.name;
    let page = ErrorPage {
        layout: Layout::bare(site_name, &format!("{} · {site_name}", text.heading)),
        heading: text.heading,
        message: &text.message,
    };
    if let Ok(html) = page.render() {
        let (mut parts, _) = response.into_parts();
        // The stand-in text may have been compressed on its way out.
        for name in [
            axum::http::header::CONTENT_LENGTH,
            axum::http::header::CONTENT_ENCODING,
            axum::http::header::ETAG,
        ] {
            parts.headers.remove(name);
        }
        parts.headers.insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        response = Response::from_parts(parts, axum::body::Body::from(html));
    }
    response
}

pub(crate) fn render(template: &impl Template) -> PageResult {
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
    /// Where the block starts and ends, for a reader who mutes its section.
    hide_from_mark: String,
    hide_to_mark: String,
}

pub async fn front(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let now = Utc::now();
    let db = &state.db.reader;
    let sections = store::sections::list(&state.db).await?;
    // Hidden sections stay off the front page: the lead is the newest
    // story of a shown one.
    let hidden: std::collections::HashSet<&str> =
        sections.iter().filter(|s| s.hidden).map(|s| s.slug.as_str()).collect();
    let lead = store::articles::page(db, Scope::All, Cursor::START, if hidden.is_empty() { 1 } else { 50 })
        .await?
        .items
        .into_iter()
        .find(|card| !hidden.contains(card.section_slug.as_str()));
    let lead_id = lead.as_ref().map(|l| l.id);
    let mut newest = store::articles::newest_by_section(db, FRONT_PER_SECTION + 1).await?;
    let mut blocks = Vec::with_capacity(sections.len());
    // The busiest sections first.
    let mut by_activity: Vec<&Section> = sections.iter().filter(|s| !s.hidden).collect();
    // Sections an admin placed first, in their order; then the busiest.
    by_activity.sort_by_key(|s| (s.position.is_none(), s.position, std::cmp::Reverse(s.latest_at)));
    for section in by_activity {
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
                hide_from_mark: personal::mark(personal::Mark::HideFrom, 0, section.id),
                hide_to_mark: personal::mark(personal::Mark::HideTo, 0, 0),
            });
        }
    }
    let mut lead: Vec<CardView> = lead.into_iter().map(|l| CardView::new(l, now)).collect();
    stories::link_cards(&state, &mut lead).await?;
    for block in &mut blocks {
        stories::link_cards(&state, &mut block.items).await?;
    }
    // A story carried by several sections is shown once here, where it
    // comes first: the lead, then the busiest sections.
    let mut seen = std::collections::HashSet::new();
    for card in &lead {
        if let Some(story) = &card.also {
            seen.insert(story.story_id);
        }
    }
    for block in &mut blocks {
        block
            .items
            .retain(|card| card.also.as_ref().is_none_or(|story| seen.insert(story.story_id)));
    }
    blocks.retain(|block| !block.items.is_empty());
    render(&FrontPage {
        layout: Layout::new(&state.site, &sections, "", None)
            .with_canonical(&state.site, "/")
            .for_viewer(&viewer),
        lead: lead.pop(),
        blocks,
        api_url: format!("{}/api/v1/articles", state.site.base_url),
    })
}

/// A section, author or tag page: a newest-first listing paged by keyset.
#[derive(Template)]
#[template(path = "listing.html")]
pub(crate) struct ListingPage {
    pub layout: Layout,
    pub kicker: &'static str,
    pub name: String,
    /// A section's description, under its name.
    pub description: Option<String>,
    pub items: Vec<CardView>,
    /// Whether cards name their section (not on a section's own page).
    pub show_section: bool,
    pub older_href: Option<String>,
    pub newest_href: Option<String>,
    /// "Mark all as read", on a signed-in reader's section page.
    pub mark_all: Option<String>,
    pub empty_note: &'static str,
}

struct Listing<'a> {
    scope: Scope<'a>,
    kicker: &'static str,
    name: String,
    href: String,
    current_section: Option<&'a Section>,
}

async fn show_listing(
    state: &AppState,
    viewer: &Viewer,
    listing: Listing<'_>,
    sections: &[Section],
    query: Option<&str>,
) -> PageResult {
    let before = query_param(query, "before");
    let cursor = match &before {
        Some(text) => Cursor::decode(text).ok_or(AppError::NotFound("page"))?,
        None => Cursor::START,
    };
    let page = match viewer.hiding_read() {
        Some(snapshot) => {
            crate::reading::unread_page(&state.db, snapshot, listing.scope, cursor, LISTING_PAGE_SIZE).await?
        }
        None => store::articles::page(&state.db.reader, listing.scope, cursor, LISTING_PAGE_SIZE).await?,
    };
    let mark_all = match (viewer.is_signed_in(), listing.current_section) {
        (true, Some(section)) => store::reading::newest_id(&state.db.reader, Some(section.id))
            .await?
            .map(|newest| personal::mark(personal::Mark::MarkAll, section.id, newest)),
        _ => None,
    };
    let mut layout = Layout::new(
        &state.site,
        sections,
        &listing.name,
        listing.current_section.map(|s| s.slug.as_str()),
    )
    .with_canonical(&state.site, &listing.href)
    .for_viewer(viewer);
    if let Some(section) = listing.current_section {
        layout = layout.with_section_feeds(section);
    }
    let href = listing.href;
    let mut items = CardView::list(page.items, Utc::now());
    stories::link_cards(state, &mut items).await?;
    render(&ListingPage {
        layout,
        kicker: listing.kicker,
        description: listing.current_section.and_then(|s| s.description.clone()),
        name: listing.name,
        show_section: listing.current_section.is_none(),
        older_href: page.next.map(|c| format!("{href}?before={}", c.encode())),
        newest_href: before.is_some().then(|| href.clone()),
        items,
        mark_all,
        empty_note: if viewer.hiding_read().is_some() {
            "No unread stories here."
        } else {
            "No stories here yet."
        },
    })
}

pub async fn section(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
) -> PageResult {
    let made_from = state.db.stamp(&[Topic::Section(&slug)]);
    let sections = store::sections::list(&state.db).await?;
    let section: Section = match sections.iter().find(|s| s.slug == slug) {
        Some(s) => s.clone(),
        None => match store::sections::by_slug(&state.db.reader, &slug).await? {
            Some(section) => section,
            // A retired slug: the section was renamed, or merged into another.
            None => match crate::sections::current_slug(&state.db, &slug).await? {
                Some(current) => {
                    let to = match &query {
                        Some(query) => format!("{}?{query}", section_href(&current)),
                        None => section_href(&current),
                    };
                    return Ok(crate::web::feeds::moved_permanently(&to));
                }
                None => return Err(AppError::NotFound("section").into()),
            },
        },
    };
    let listing = Listing {
        scope: Scope::Section(section.id),
        kicker: "Section",
        name: section.name.clone(),
        href: section_href(&section.slug),
        current_section: Some(&section),
    };
    made(
        made_from,
        show_listing(&state, &viewer, listing, &sections, query.as_deref()).await,
    )
}

/// A page with what it was made from, for the page cache.
fn made(made_from: Stamp, page: PageResult) -> PageResult {
    let mut page = page?;
    page.extensions_mut().insert(MadeFrom(made_from));
    Ok(page)
}

pub async fn author(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
) -> PageResult {
    let made_from = state.db.stamp(&[Topic::Author(&slug)]);
    let name = store::articles::author_name(&state.db.reader, &slug)
        .await?
        .ok_or(AppError::NotFound("author"))?;
    let href = format!("/authors/{slug}");
    let listing = Listing {
        scope: Scope::Author(&slug),
        kicker: "Stories by",
        name,
        href,
        current_section: None,
    };
    made(
        made_from,
        show_named_listing(&state, &viewer, listing, query.as_deref()).await,
    )
}

pub async fn tag(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
) -> PageResult {
    let made_from = state.db.stamp(&[Topic::Tag(&slug)]);
    let name = store::articles::tag_name(&state.db.reader, &slug)
        .await?
        .ok_or(AppError::NotFound("tag"))?;
    let href = format!("/tags/{slug}");
    let listing = Listing {
        scope: Scope::Tag(&slug),
        kicker: "Tagged",
        name,
        href,
        current_section: None,
    };
    made(
        made_from,
        show_named_listing(&state, &viewer, listing, query.as_deref()).await,
    )
}

/// An author's or a tag's listing: no section is current.
async fn show_named_listing(
    state: &AppState,
    viewer: &Viewer,
    listing: Listing<'_>,
    query: Option<&str>,
) -> PageResult {
    let sections = store::sections::list(&state.db).await?;
    show_listing(state, viewer, listing, &sections, query).await
}

#[derive(Template)]
#[template(path = "article.html")]
struct ArticlePage {
    layout: Layout,
    article: ArticleView,
    sidebar: Vec<CardView>,
    /// Where the sidebar goes when the page cache fills it in.
    hole: Option<&'static str>,
    /// The story's other versions, when it has any.
    story: Option<stories::OtherVersions>,
}

/// The sidebar alone: the newest stories outside a section.
#[derive(Template)]
#[template(path = "sidebar.html")]
struct Sidebar {
    layout: FragmentLayout,
    sidebar: Vec<CardView>,
}

/// What a fragment's cards ask of the page around them.
struct FragmentLayout {
    personal: bool,
}

/// `/articles/{id}` and any stale slug redirect to the canonical path, so
/// a corrected headline never breaks an old link.
pub async fn article(
    State(state): State<AppState>,
    viewer: Viewer,
    stitching: Option<Extension<Stitching>>,
    Path((id, slug)): Path<(String, String)>,
) -> PageResult {
    show_article(state, &viewer, stitching.is_some(), &id, Some(&slug)).await
}

pub async fn article_without_slug(
    State(state): State<AppState>,
    viewer: Viewer,
    stitching: Option<Extension<Stitching>>,
    Path(id): Path<String>,
) -> PageResult {
    show_article(state, &viewer, stitching.is_some(), &id, None).await
}

/// An article's page. Its sidebar lists the newest stories elsewhere, which
/// every new article changes: when the page cache will fill it in, the page
/// leaves a hole for it instead, so the page itself stays current until its
/// own article changes.
async fn show_article(state: AppState, viewer: &Viewer, stitching: bool, id: &str, slug: Option<&str>) -> PageResult {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound("article"))?;
    let made_from = state.db.stamp(&[Topic::Article(id)]);
    let article = store::articles::get(&state.db.reader, id, store::articles::Shown::Published)
        .await?
        .ok_or(AppError::NotFound("article"))?;
    if slug != Some(article.slug.as_str()) {
        return Ok(Redirect::permanent(&article.path()).into_response());
    }
    let now = Utc::now();
    let sections = store::sections::list(&state.db).await?;
    let sidebar = match stitching {
        true => Vec::new(),
        false => sidebar_cards(&state, article.section_id).await?,
    };
    let mut layout = Layout::new(&state.site, &sections, &article.title, Some(&article.section_slug))
        .with_canonical(&state.site, &article.path())
        .for_viewer(viewer);
    if let Some(section) = sections.iter().find(|s| s.id == article.section_id) {
        layout = layout.with_section_feeds(section);
    }
    layout.meta = Some(PageMeta::for_article(&article, &state.site));
    let fragment = stitching.then(|| sidebar_address(article.section_id, layout.personal));
    let fresh_until = [article.published_at, article.updated_at]
        .into_iter()
        .map(|time| reltime::changes_at(time, now).timestamp())
        .min();
    let story = stories::other_versions(&state, article.id).await?;
    let mut response = render(&ArticlePage {
        layout,
        article: ArticleView::new(article, now),
        sidebar,
        hole: stitching.then_some(cache::HOLE),
        story,
    })?;
    let extensions = response.extensions_mut();
    extensions.insert(MadeFrom(made_from));
    if let Some(at) = fresh_until {
        extensions.insert(FreshUntil(at));
    }
    if let Some(fragment) = fragment {
        extensions.insert(FillWith(fragment));
    }
    Ok(response)
}

async fn sidebar_cards(state: &AppState, section_id: i64) -> Result<Vec<CardView>, AppError> {
    let cards = store::articles::sidebar(&state.db, section_id, SIDEBAR_ITEMS).await?;
    Ok(CardView::list(cards.iter().cloned(), Utc::now()))
}

/// Where the page cache asks for the sidebar of an article in this section,
/// with marks for signed-in readers or without.
fn sidebar_address(section_id: i64, personal: bool) -> String {
    format!(
        "/_fragments/sidebar/{section_id}{}",
        if personal { "/personal" } else { "" }
    )
}

/// `/_fragments/sidebar/{section}[/personal]`: asked by the page cache
/// alone (see `show_article`); any client gets 404.
pub async fn sidebar_fragment(
    State(state): State<AppState>,
    stitching: Option<Extension<Stitching>>,
    Path(rest): Path<String>,
) -> PageResult {
    let (section, personal) = match rest.split_once('/') {
        Some((section, "personal")) => (section, true),
        None => (rest.as_str(), false),
        Some(_) => return Err(AppError::NotFound("page").into()),
    };
    let section_id: i64 = section.parse().map_err(|_| AppError::NotFound("page"))?;
    if stitching.is_none() {
        return Err(AppError::NotFound("page").into());
    }
    render(&Sidebar {
        layout: FragmentLayout { personal },
        sidebar: sidebar_cards(&state, section_id).await?,
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

pub async fn search_page(
    State(state): State<AppState>,
    viewer: Viewer,
    client: crate::web::client::ClientAddr,
    RawQuery(query): RawQuery,
) -> PageResult {
    let form = SearchForm::from_query(query.as_deref());
    let sections = store::sections::list(&state.db).await?;
    let outcome = search::run(&state, client, &sections, &form).await?;
    let mut layout = Layout::new(&state.site, &sections, "Search", None).for_viewer(&viewer);
    layout.query = form.q.clone();
    let section_options = sections
        .iter()
        .map(|s| SectionOption {
            slug: s.slug.clone(),
            name: s.name.clone(),
            selected: form.section == s.slug,
        })
        .collect();
    let refused = outcome.refused;
    let mut response = render(&SearchPage {
        layout,
        form,
        section_options,
        outcome,
    })?;
    if let Some(status) = refused {
        *response.status_mut() = status;
    }
    Ok(response)
}

pub async fn not_found() -> PageError {
    PageError(AppError::NotFound("page"))
}

pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}
