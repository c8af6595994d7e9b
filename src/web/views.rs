//! View models: every value a template shows, computed here so templates
//! hold nothing but loops and conditionals.

use chrono::{DateTime, Utc};

use crate::Site;
use crate::domain::reltime::relative_time;
use crate::domain::{Article, ArticleCard, Section};
use crate::web::assets;

/// What the shared layout needs on every page.
pub struct Layout {
    pub site_name: String,
    pub page_title: String,
    pub stylesheet: String,
    pub nav: Vec<NavLink>,
    /// The absolute URL of this page, for the canonical link.
    pub canonical: Option<String>,
}

pub struct NavLink {
    pub name: String,
    pub href: String,
    pub current: bool,
}

impl Layout {
    pub fn new(site: &Site, sections: &[Section], page_title: &str, current_section: Option<&str>) -> Self {
        let page_title = if page_title.is_empty() {
            site.name.clone()
        } else {
            format!("{page_title} · {}", site.name)
        };
        Layout {
            site_name: site.name.clone(),
            page_title,
            stylesheet: assets::stylesheet_href(),
            nav: sections
                .iter()
                .map(|s| NavLink {
                    name: s.name.clone(),
                    href: section_href(&s.slug),
                    current: current_section == Some(s.slug.as_str()),
                })
                .collect(),
            canonical: None,
        }
    }

    pub fn with_canonical(mut self, site: &Site, path: &str) -> Self {
        self.canonical = Some(format!("{}{path}", site.base_url));
        self
    }
}

/// A moment shown both ways: "17 hrs ago" for reading, the exact time for
/// machines (`datetime`) and for the curious (`title`).
pub struct TimeView {
    pub relative: String,
    pub iso: String,
    pub exact: String,
}

impl TimeView {
    pub fn new(time: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        TimeView {
            relative: relative_time(time, now),
            iso: time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            exact: time.format("%-d %B %Y, %H:%M UTC").to_string(),
        }
    }
}

/// One story in a listing or the sidebar.
pub struct CardView {
    pub title: String,
    pub href: String,
    pub summary: Option<String>,
    pub byline: Option<String>,
    pub time: TimeView,
    pub section_name: String,
    pub section_href: String,
    pub image_url: Option<String>,
}

impl CardView {
    pub fn new(card: ArticleCard, now: DateTime<Utc>) -> Self {
        CardView {
            href: card.path(),
            title: card.title,
            summary: card.summary,
            byline: card.author.map(|a| format!("By {a}")),
            time: TimeView::new(card.published_at, now),
            section_href: section_href(&card.section_slug),
            section_name: card.section_name,
            image_url: card.image_url,
        }
    }

    pub fn list(cards: Vec<ArticleCard>, now: DateTime<Utc>) -> Vec<Self> {
        cards.into_iter().map(|c| CardView::new(c, now)).collect()
    }
}

/// The article page's main column.
pub struct ArticleView {
    pub title: String,
    pub summary: Option<String>,
    pub source: Option<String>,
    pub byline: Option<String>,
    pub published: TimeView,
    /// Shown when the article was corrected after publication.
    pub updated: Option<TimeView>,
    pub image_url: Option<String>,
    pub image_caption: Option<String>,
    /// Rendered and sanitised at ingest.
    pub body_html: String,
    pub tags: Vec<String>,
    pub section_name: String,
    pub section_href: String,
    pub original_url: Option<String>,
}

impl ArticleView {
    pub fn new(article: Article, now: DateTime<Utc>) -> Self {
        // Corrections within a minute of publication are not worth a notice.
        let updated = (article.updated_at - article.created_at > chrono::Duration::minutes(1))
            .then(|| TimeView::new(article.updated_at, now));
        ArticleView {
            title: article.title,
            summary: article.summary,
            source: article.source,
            byline: article.author.map(|a| format!("By {a}")),
            published: TimeView::new(article.published_at, now),
            updated,
            image_url: article.image_url,
            image_caption: article.image_caption,
            body_html: article.body_html,
            tags: article.tags,
            section_href: section_href(&article.section_slug),
            section_name: article.section_name,
            original_url: article.url,
        }
    }
}

pub fn section_href(slug: &str) -> String {
    format!("/sections/{slug}")
}
