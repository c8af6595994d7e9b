//! Feeds for other readers (Atom, RSS 2.0, JSON Feed 1.1), sitemaps for
//! search engines, and robots.txt. Every URL in them is absolute, built
//! from the configured base URL.

use atom_syndication as atom;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_TYPE, LAST_MODIFIED};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;

use std::collections::HashMap;

use crate::domain::body::{self, escape};
use crate::domain::listing::article_path;
use crate::domain::{Article, Section};
use crate::error::{AppError, AppResult};
use crate::store::stories::StoryRef;
use crate::store::topics::Topic;
use crate::web::cache::{FreshUntil, MadeFrom};
use crate::web::views::{StoryLink, section_href, tag_href};
use crate::{AppState, Site, store};

/// Items per feed: a day's news on a busy site, as most readers expect.
const FEED_ITEMS: u32 = 50;
/// The most of one article's body a feed carries: a long feature whole;
/// past it, the opening and a link to the whole story on the site.
const ENTRY_CONTENT_BYTES: usize = 64 * 1024;
/// The most of all bodies together in one feed, so a feed stays a few
/// hundred kilobytes whatever its stories hold (titles, summaries and
/// links are bounded at ingest). Past it, entries carry a link only.
const FEED_CONTENT_BYTES: usize = 1024 * 1024;
/// Below this much room, an opening is not worth sending.
const MIN_OPENING_BYTES: usize = 1024;
/// How long an article sitemap file with nothing scheduled stays current
/// in the page cache when no write touches it: it shows no relative times.
const SITEMAP_FRESH_FOR: chrono::TimeDelta = chrono::TimeDelta::hours(6);
/// The news sitemap protocol: the last two days, at most 1,000 stories.
const NEWS_WINDOW_SECS: i64 = 48 * 3600;
const NEWS_MAX_URLS: u32 = 1_000;

/// How many recent articles a story feed picks its stories from: enough
/// for [`FEED_ITEMS`] stories when a busy story has many versions.
const STORY_FEED_WINDOW: u32 = FEED_ITEMS * 4;

/// The articles a feed holds, and what it is called.
struct FeedSource {
    title: String,
    /// What the feed is about, where an admin said (a section's
    /// description).
    description: Option<String>,
    /// The page the feed mirrors, as a path.
    page_path: String,
    /// The feed's own path without its extension.
    feed_path: String,
    articles: Vec<Article>,
    /// In a story feed, each entry's story (by article id), where it has
    /// other versions: the entry links to them.
    stories: HashMap<i64, StoryRef>,
}

/// What a feed has one entry for: every article (`feed.*`, as every
/// reader expects), or every story (`stories.*`: its first version in the
/// feed's window, linking to the others).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entries {
    Articles,
    Stories,
}

/// Each article's body as a feed carries it (see [`ENTRY_CONTENT_BYTES`]).
fn entry_contents(site: &Site, source: &FeedSource) -> Vec<String> {
    let mut room = FEED_CONTENT_BYTES;
    source
        .articles
        .iter()
        .map(|a| {
            let allowed = ENTRY_CONTENT_BYTES.min(room);
            let mut content = match body::opening(&a.body_html, allowed) {
                None => a.body_html.clone(),
                Some(_) if allowed < MIN_OPENING_BYTES => continue_reading(site, a),
                Some(opening) => opening + &continue_reading(site, a),
            };
            if let Some(story) = source.stories.get(&a.id) {
                content.push_str(&other_versions(site, story));
            }
            room = room.saturating_sub(content.len());
            content
        })
        .collect()
}

/// "Also reported by N sources", linking to the story's page.
fn other_versions(site: &Site, story: &StoryRef) -> String {
    match StoryLink::new(story) {
        Some(also) => format!(
            "<p><a href=\"{}\">{}</a></p>",
            escape(&absolute(site, &also.href)),
            escape(&also.text)
        ),
        None => String::new(),
    }
}

fn continue_reading(site: &Site, article: &Article) -> String {
    format!(
        "<p><a href=\"{}\">Continue reading on {}</a></p>",
        escape(&absolute(site, &article.path())),
        escape(&site.name)
    )
}

async fn site_source(state: &AppState, entries: Entries) -> AppResult<FeedSource> {
    let (title, feed_path) = match entries {
        Entries::Articles => (state.site.name.clone(), "/feed"),
        Entries::Stories => (format!("Stories · {}", state.site.name), "/stories"),
    };
    source(state, None, entries, title, "/".to_owned(), feed_path.to_owned()).await
}

async fn section_source(state: &AppState, slug: &str, entries: Entries) -> AppResult<FeedSource> {
    let section: Section = store::sections::by_slug(&state.db.reader, slug)
        .await?
        .ok_or(AppError::NotFound("section"))?;
    let page_path = section_href(&section.slug);
    let (title, feed_path) = match entries {
        Entries::Articles => (
            format!("{} · {}", section.name, state.site.name),
            format!("{page_path}/feed"),
        ),
        Entries::Stories => (
            format!("{} stories · {}", section.name, state.site.name),
            format!("{page_path}/stories"),
        ),
    };
    let mut source = source(state, Some(section.id), entries, title, page_path, feed_path).await?;
    source.description = section.description;
    Ok(source)
}

async fn source(
    state: &AppState,
    section_id: Option<i64>,
    entries: Entries,
    title: String,
    page_path: String,
    feed_path: String,
) -> AppResult<FeedSource> {
    let (articles, stories) = match entries {
        Entries::Articles => (
            store::articles::recent_full(&state.db.reader, section_id, FEED_ITEMS).await?,
            HashMap::new(),
        ),
        Entries::Stories => {
            let recent = store::articles::recent_full(&state.db.reader, section_id, STORY_FEED_WINDOW).await?;
            one_per_story(state, recent).await?
        }
    };
    Ok(FeedSource {
        title,
        description: None,
        page_path,
        feed_path,
        articles,
        stories,
    })
}

/// Of recent articles (newest first), each story's first version among
/// them, newest first, at most [`FEED_ITEMS`]; and the stories that have
/// other versions.
async fn one_per_story(state: &AppState, recent: Vec<Article>) -> AppResult<(Vec<Article>, HashMap<i64, StoryRef>)> {
    let ids: Vec<i64> = recent.iter().map(|a| a.id).collect();
    let story_of: HashMap<i64, StoryRef> = store::stories::of_articles(&state.db.reader, &ids)
        .await?
        .into_iter()
        .map(|s| (s.article_id, s))
        .collect();
    // The oldest article seen of each story is its entry.
    let mut first: HashMap<i64, usize> = HashMap::new();
    for (n, article) in recent.iter().enumerate() {
        let story = story_of.get(&article.id).map_or(-article.id, |s| s.id);
        first.insert(story, n);
    }
    let mut keep: Vec<usize> = first.into_values().collect();
    keep.sort_unstable();
    keep.truncate(FEED_ITEMS as usize);
    let mut slots: Vec<Option<Article>> = recent.into_iter().map(Some).collect();
    let articles: Vec<Article> = keep.iter().filter_map(|&n| slots[n].take()).collect();
    let stories = articles
        .iter()
        .filter_map(|a| story_of.get(&a.id).filter(|s| s.articles > 1).map(|s| (a.id, *s)))
        .collect();
    Ok((articles, stories))
}

/// Feed routes end in a format: `feed.atom`, `feed.rss` or `feed.json`.
#[derive(Clone, Copy)]
enum Format {
    Atom,
    Rss,
    Json,
}

pub async fn site_feed(State(state): State<AppState>, Path(file): Path<String>) -> AppResult<Response> {
    let (entries, format) = parse_file(&file)?;
    let source = site_source(&state, entries).await?;
    respond(&state, format, &source).await
}

pub async fn section_feed(
    State(state): State<AppState>,
    Path((slug, file)): Path<(String, String)>,
) -> AppResult<Response> {
    let (entries, format) = parse_file(&file)?;
    let source = match section_source(&state, &slug, entries).await {
        // A retired slug (the section was renamed, or merged into another).
        Err(AppError::NotFound(_)) => match crate::sections::current_slug(&state.db, &slug).await? {
            Some(current) => return Ok(moved_permanently(&format!("{}/{file}", section_href(&current)))),
            None => return Err(AppError::NotFound("section")),
        },
        source => source?,
    };
    respond(&state, format, &source).await
}

/// A feed's file name: what it has entries for, and its format.
fn parse_file(file: &str) -> AppResult<(Entries, Format)> {
    let (name, extension) = file.split_once('.').ok_or(AppError::NotFound("feed"))?;
    let entries = match name {
        "feed" => Entries::Articles,
        "stories" => Entries::Stories,
        _ => return Err(AppError::NotFound("feed")),
    };
    let format = match extension {
        "atom" => Format::Atom,
        "rss" => Format::Rss,
        "json" => Format::Json,
        _ => return Err(AppError::NotFound("feed")),
    };
    Ok((entries, format))
}

async fn respond(state: &AppState, format: Format, source: &FeedSource) -> AppResult<Response> {
    let site = &state.site;
    let (content_type, body) = match format {
        Format::Atom => (
            "application/atom+xml; charset=utf-8",
            atom_feed(site, source).to_string(),
        ),
        Format::Rss => ("application/rss+xml; charset=utf-8", rss_feed(site, source).to_string()),
        Format::Json => (
            "application/feed+json; charset=utf-8",
            json_feed(site, source).to_string(),
        ),
    };
    // A scheduled article that falls due changes the feed without a write:
    // its publication time moves Last-Modified on.
    let last_write = store::site::last_write_at(&state.db.reader)
        .await?
        .max(feed_updated(source));
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (LAST_MODIFIED, http_date(last_write)),
        ],
        body,
    )
        .into_response())
}

fn http_date(time: DateTime<Utc>) -> HeaderValue {
    HeaderValue::from_str(&time.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
}

fn absolute(site: &Site, path: &str) -> String {
    format!("{}{path}", site.base_url)
}

fn feed_updated(source: &FeedSource) -> DateTime<Utc> {
    source
        .articles
        .iter()
        .map(|a| a.updated_at.max(a.published_at))
        .max()
        .unwrap_or_default()
}

/// Categories of an item: its section first, then its tags.
fn categories(article: &Article) -> impl Iterator<Item = &str> {
    std::iter::once(article.section_name.as_str()).chain(article.tags.iter().map(String::as_str))
}

fn atom_feed(site: &Site, source: &FeedSource) -> atom::Feed {
    let link = |href: String, rel: &str, mime: Option<&str>| atom::Link {
        href,
        rel: rel.to_owned(),
        mime_type: mime.map(str::to_owned),
        ..Default::default()
    };
    let contents = entry_contents(site, source);
    let entries = source
        .articles
        .iter()
        .zip(contents)
        .map(|(a, content)| {
            let url = absolute(site, &a.path());
            atom::Entry {
                title: atom::Text::plain(&a.title),
                id: url.clone(),
                updated: a.updated_at.max(a.published_at).fixed_offset(),
                published: Some(a.published_at.fixed_offset()),
                authors: a
                    .author
                    .iter()
                    .map(|name| atom::Person {
                        name: name.clone(),
                        ..Default::default()
                    })
                    .collect(),
                categories: categories(a)
                    .map(|term| atom::Category {
                        term: term.to_owned(),
                        label: Some(term.to_owned()),
                        ..Default::default()
                    })
                    .collect(),
                links: vec![link(url, "alternate", Some("text/html"))],
                summary: a.summary.as_deref().map(atom::Text::plain),
                content: Some(atom::Content {
                    value: Some(content),
                    content_type: Some("html".to_owned()),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    atom::Feed {
        title: atom::Text::plain(&source.title),
        subtitle: source.description.as_deref().map(atom::Text::plain),
        id: absolute(site, &format!("{}.atom", source.feed_path)),
        updated: feed_updated(source).fixed_offset(),
        links: vec![
            link(absolute(site, &source.page_path), "alternate", Some("text/html")),
            link(
                absolute(site, &format!("{}.atom", source.feed_path)),
                "self",
                Some("application/atom+xml"),
            ),
        ],
        generator: Some(atom::Generator {
            value: "Gazette".to_owned(),
            ..Default::default()
        }),
        entries,
        ..Default::default()
    }
}

fn rss_feed(site: &Site, source: &FeedSource) -> rss::Channel {
    let contents = entry_contents(site, source);
    let items = source
        .articles
        .iter()
        .zip(contents)
        .map(|(a, content)| {
            let url = absolute(site, &a.path());
            let mut dc = rss::extension::dublincore::DublinCoreExtension::default();
            dc.set_creators(a.author.iter().cloned().collect::<Vec<_>>());
            rss::Item {
                title: Some(a.title.clone()),
                link: Some(url.clone()),
                guid: Some(rss::Guid {
                    value: url,
                    permalink: true,
                }),
                pub_date: Some(a.published_at.to_rfc2822()),
                description: a.summary.clone(),
                content: Some(content),
                categories: categories(a)
                    .map(|c| rss::Category {
                        name: c.to_owned(),
                        domain: None,
                    })
                    .collect(),
                dublin_core_ext: a.author.is_some().then_some(dc),
                ..Default::default()
            }
        })
        .collect();
    let mut namespaces = std::collections::BTreeMap::new();
    namespaces.insert("dc".to_owned(), rss::extension::dublincore::NAMESPACE.to_owned());
    namespaces.insert(
        "content".to_owned(),
        "http://purl.org/rss/1.0/modules/content/".to_owned(),
    );
    rss::Channel {
        title: source.title.clone(),
        link: absolute(site, &source.page_path),
        description: source
            .description
            .clone()
            .unwrap_or_else(|| format!("The latest stories from {}", source.title)),
        last_build_date: Some(feed_updated(source).to_rfc2822()),
        generator: Some("Gazette".to_owned()),
        namespaces,
        items,
        ..Default::default()
    }
}

fn json_feed(site: &Site, source: &FeedSource) -> serde_json::Value {
    let contents = entry_contents(site, source);
    let items: Vec<serde_json::Value> = source
        .articles
        .iter()
        .zip(contents)
        .map(|(a, content)| {
            let url = absolute(site, &a.path());
            let mut item = json!({
                "id": url,
                "url": url,
                "title": a.title,
                "content_html": content,
                "date_published": a.published_at.to_rfc3339(),
                "date_modified": a.updated_at.max(a.published_at).to_rfc3339(),
                "tags": categories(a).collect::<Vec<_>>(),
            });
            if let Some(summary) = &a.summary {
                item["summary"] = json!(summary);
            }
            if let Some(author) = &a.author {
                item["authors"] = json!([{ "name": author }]);
            }
            if let Some(image) = &a.image_url {
                item["image"] = json!(image);
            }
            if let Some(original) = &a.url {
                item["external_url"] = json!(original);
            }
            item
        })
        .collect();
    let mut feed = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": source.title,
        "home_page_url": absolute(site, &source.page_path),
        "feed_url": absolute(site, &format!("{}.json", source.feed_path)),
        "language": "en",
        "items": items,
    });
    if let Some(description) = &source.description {
        feed["description"] = json!(description);
    }
    feed
}

fn xml(body: String) -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/xml; charset=utf-8"))],
        body,
    )
        .into_response()
}

/// `/sitemap.xml`: an index of the sitemap files, so the site can grow
/// past the URLs one file may hold.
pub async fn sitemap_index(State(state): State<AppState>) -> AppResult<Response> {
    let max_id = store::site::max_article_id(&state.db.reader).await?;
    let per_file = state.site.sitemap_file_urls;
    let files = (max_id + per_file - 1) / per_file;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    let mut names = vec!["pages.xml".to_owned(), "news.xml".to_owned()];
    names.extend((0..files).map(|n| format!("articles-{n}.xml")));
    for name in names {
        out.push_str(&format!(
            "  <sitemap><loc>{}</loc></sitemap>\n",
            escape(&absolute(&state.site, &format!("/sitemaps/{name}")))
        ));
    }
    out.push_str("</sitemapindex>\n");
    Ok(xml(out))
}

/// `/sitemaps/{file}`: the front, section, author and tag pages
/// (`pages.xml`), the news of the last 48 hours (`news.xml`), or the
/// articles whose ids fall in one block (`articles-N.xml`).
pub async fn sitemap_file(State(state): State<AppState>, Path(file): Path<String>) -> AppResult<Response> {
    match file.as_str() {
        "pages.xml" => sitemap_of_pages(&state).await,
        "news.xml" => sitemap_of_news(&state).await,
        _ => {
            let block: i64 = file
                .strip_prefix("articles-")
                .and_then(|rest| rest.strip_suffix(".xml"))
                .and_then(|n| n.parse().ok())
                .filter(|n| (0..i64::MAX / state.site.sitemap_file_urls).contains(n))
                .ok_or(AppError::NotFound("sitemap"))?;
            sitemap_of_articles(&state, block).await
        }
    }
}

const URLSET: &str = "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n";

fn sitemap_url(out: &mut String, site: &Site, path: &str, lastmod: Option<DateTime<Utc>>) {
    out.push_str(&format!("  <url><loc>{}</loc>", escape(&absolute(site, path))));
    if let Some(time) = lastmod {
        out.push_str(&format!(
            "<lastmod>{}</lastmod>",
            time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
    }
    out.push_str("</url>\n");
}

async fn sitemap_of_pages(state: &AppState) -> AppResult<Response> {
    let mut out = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{URLSET}");
    sitemap_url(&mut out, &state.site, "/", None);
    for section in store::sections::list(&state.db).await?.iter() {
        sitemap_url(&mut out, &state.site, &section_href(&section.slug), section.latest_at);
    }
    for author in store::site::author_slugs(&state.db.reader).await? {
        sitemap_url(&mut out, &state.site, &format!("/authors/{author}"), None);
    }
    for tag in store::site::tag_names(&state.db.reader).await? {
        sitemap_url(&mut out, &state.site, &tag_href(&tag), None);
    }
    out.push_str("</urlset>\n");
    Ok(xml(out))
}

async fn sitemap_of_news(state: &AppState) -> AppResult<Response> {
    let site = &state.site;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" xmlns:news=\"http://www.google.com/schemas/sitemap-news/0.9\">\n",
    );
    let since = Utc::now().timestamp() - NEWS_WINDOW_SECS;
    for entry in store::site::published_since(&state.db.reader, since, NEWS_MAX_URLS).await? {
        out.push_str(&format!(
            "  <url><loc>{}</loc><news:news><news:publication><news:name>{}</news:name><news:language>en</news:language></news:publication><news:publication_date>{}</news:publication_date><news:title>{}</news:title></news:news></url>\n",
            escape(&absolute(site, &article_path(entry.id, &entry.slug))),
            escape(&site.name),
            entry.published_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            escape(&entry.title),
        ));
    }
    out.push_str("</urlset>\n");
    Ok(xml(out))
}

/// One file of article URLs. It is made from its ids alone: a new article
/// elsewhere leaves it current in the page cache, so a large site's files
/// are built once per change to them, not once per crawl; it falls due
/// when a scheduled story in it does.
async fn sitemap_of_articles(state: &AppState, block: i64) -> AppResult<Response> {
    let per_file = state.site.sitemap_file_urls;
    let (first, last) = (block * per_file + 1, (block + 1) * per_file);
    let made_from = state.db.stamp(&Topic::ids_from(first, last).collect::<Vec<_>>());
    let now = Utc::now();
    let mut out = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{URLSET}");
    let mut next_due = now + SITEMAP_FRESH_FOR;
    for entry in store::site::articles_in_id_range(&state.db.reader, first, last).await? {
        if entry.published_at > now {
            next_due = next_due.min(entry.published_at);
            continue;
        }
        sitemap_url(
            &mut out,
            &state.site,
            &article_path(entry.id, &entry.slug),
            Some(entry.updated_at),
        );
    }
    out.push_str("</urlset>\n");
    let mut response = xml(out);
    response.extensions_mut().insert(MadeFrom(made_from));
    response.extensions_mut().insert(FreshUntil(next_due.timestamp()));
    Ok(response)
}

pub async fn robots(State(state): State<AppState>) -> Response {
    let base = &state.site.base_url;
    let body = if state.site.private {
        "User-agent: *\nDisallow: /\n".to_owned()
    } else {
        format!(
            "User-agent: *\nAllow: /\nDisallow: /api/\nDisallow: /search\n\nSitemap: {base}/sitemap.xml\nSitemap: {base}/sitemaps/news.xml\n"
        )
    };
    (
        [(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
        body,
    )
        .into_response()
}

/// A 301 to `path`: the address an old link should be changed to.
pub(crate) fn moved_permanently(path: &str) -> Response {
    (
        axum::http::StatusCode::MOVED_PERMANENTLY,
        [(axum::http::header::LOCATION, path.to_owned())],
    )
        .into_response()
}
