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

use crate::domain::body::escape;
use crate::domain::listing::article_path;
use crate::domain::{Article, Section};
use crate::error::{AppError, AppResult};
use crate::web::views::{section_href, tag_href};
use crate::{AppState, Site, store};

/// Items per feed: a day's news on a busy site, as most readers expect.
const FEED_ITEMS: u32 = 50;
/// The sitemap protocol's limit of URLs per file.
pub const SITEMAP_URLS: i64 = 50_000;
/// The news sitemap protocol: the last two days, at most 1,000 stories.
const NEWS_WINDOW_SECS: i64 = 48 * 3600;
const NEWS_MAX_URLS: u32 = 1_000;

/// The articles a feed holds, and what it is called.
struct FeedSource {
    title: String,
    /// The page the feed mirrors, as a path.
    page_path: String,
    /// The feed's own path without its extension.
    feed_path: String,
    articles: Vec<Article>,
}

async fn site_source(state: &AppState) -> AppResult<FeedSource> {
    Ok(FeedSource {
        title: state.site.name.clone(),
        page_path: "/".to_owned(),
        feed_path: "/feed".to_owned(),
        articles: store::articles::recent_full(&state.db.reader, None, FEED_ITEMS).await?,
    })
}

async fn section_source(state: &AppState, slug: &str) -> AppResult<FeedSource> {
    let section: Section = store::sections::by_slug(&state.db.reader, slug)
        .await?
        .ok_or(AppError::NotFound("section"))?;
    Ok(FeedSource {
        title: format!("{} · {}", section.name, state.site.name),
        page_path: section_href(&section.slug),
        feed_path: format!("{}/feed", section_href(&section.slug)),
        articles: store::articles::recent_full(&state.db.reader, Some(section.id), FEED_ITEMS).await?,
    })
}

/// Feed routes end in a format: `feed.atom`, `feed.rss` or `feed.json`.
#[derive(Clone, Copy)]
enum Format {
    Atom,
    Rss,
    Json,
}

pub async fn site_feed(State(state): State<AppState>, Path(file): Path<String>) -> AppResult<Response> {
    let format = parse_format(&file)?;
    let source = site_source(&state).await?;
    respond(&state, format, &source).await
}

pub async fn section_feed(
    State(state): State<AppState>,
    Path((slug, file)): Path<(String, String)>,
) -> AppResult<Response> {
    let format = parse_format(&file)?;
    let source = section_source(&state, &slug).await?;
    respond(&state, format, &source).await
}

fn parse_format(file: &str) -> AppResult<Format> {
    match file {
        "feed.atom" => Ok(Format::Atom),
        "feed.rss" => Ok(Format::Rss),
        "feed.json" => Ok(Format::Json),
        _ => Err(AppError::NotFound("feed")),
    }
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
    let entries = source
        .articles
        .iter()
        .map(|a| {
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
                    value: Some(a.body_html.clone()),
                    content_type: Some("html".to_owned()),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    atom::Feed {
        title: atom::Text::plain(&source.title),
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
    let items = source
        .articles
        .iter()
        .map(|a| {
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
                content: Some(a.body_html.clone()),
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
        description: format!("The latest stories from {}", source.title),
        last_build_date: Some(feed_updated(source).to_rfc2822()),
        generator: Some("Gazette".to_owned()),
        namespaces,
        items,
        ..Default::default()
    }
}

fn json_feed(site: &Site, source: &FeedSource) -> serde_json::Value {
    let items: Vec<serde_json::Value> = source
        .articles
        .iter()
        .map(|a| {
            let url = absolute(site, &a.path());
            let mut item = json!({
                "id": url,
                "url": url,
                "title": a.title,
                "content_html": a.body_html,
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
    json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": source.title,
        "home_page_url": absolute(site, &source.page_path),
        "feed_url": absolute(site, &format!("{}.json", source.feed_path)),
        "language": "en",
        "items": items,
    })
}

fn xml(body: String) -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/xml; charset=utf-8"))],
        body,
    )
        .into_response()
}

/// `/sitemap.xml`: an index of the sitemap files, so the site can grow
/// past the 50,000 URLs one file may hold.
pub async fn sitemap_index(State(state): State<AppState>) -> AppResult<Response> {
    let max_id = store::site::max_article_id(&state.db.reader).await?;
    let files = (max_id + SITEMAP_URLS - 1) / SITEMAP_URLS;
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
/// articles whose ids fall in one block of 50,000 (`articles-N.xml`).
pub async fn sitemap_file(State(state): State<AppState>, Path(file): Path<String>) -> AppResult<Response> {
    let site = &state.site;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let url = |out: &mut String, path: &str, lastmod: Option<DateTime<Utc>>| {
        out.push_str(&format!("  <url><loc>{}</loc>", escape(&absolute(site, path))));
        if let Some(time) = lastmod {
            out.push_str(&format!(
                "<lastmod>{}</lastmod>",
                time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        out.push_str("</url>\n");
    };
    if file == "pages.xml" {
        out.push_str("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
        url(&mut out, "/", None);
        for section in store::sections::list(&state.db).await?.iter() {
            url(&mut out, &section_href(&section.slug), section.latest_at);
        }
        for author in store::site::author_slugs(&state.db.reader).await? {
            url(&mut out, &format!("/authors/{author}"), None);
        }
        for tag in store::site::tag_names(&state.db.reader).await? {
            url(&mut out, &tag_href(&tag), None);
        }
    } else if file == "news.xml" {
        out.push_str("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" xmlns:news=\"http://www.google.com/schemas/sitemap-news/0.9\">\n");
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
    } else {
        let block: i64 = file
            .strip_prefix("articles-")
            .and_then(|rest| rest.strip_suffix(".xml"))
            .and_then(|n| n.parse().ok())
            .filter(|n| *n >= 0)
            .ok_or(AppError::NotFound("sitemap"))?;
        out.push_str("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
        let first = block * SITEMAP_URLS + 1;
        for entry in store::site::articles_in_id_range(&state.db.reader, first, first + SITEMAP_URLS - 1).await? {
            url(&mut out, &article_path(entry.id, &entry.slug), Some(entry.updated_at));
        }
    }
    out.push_str("</urlset>\n");
    Ok(xml(out))
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
