//! View models: every value a template shows, computed here so templates
//! hold nothing but loops and conditionals.

use chrono::{DateTime, Utc};

use crate::Site;
use crate::domain::body::escape;
use crate::domain::reltime::relative_time;
use crate::domain::search::{MATCH_END, MATCH_START};
use crate::domain::slug::slugify_or;
use crate::domain::{Article, ArticleCard, Section};
use crate::store::search::Hit;
use crate::store::stories::StoryRef;
use crate::web::assets;
use crate::web::personal::{self, Viewer};

/// Average adult reading speed, words per minute, for "4 min read".
const WORDS_PER_MINUTE: i64 = 230;

/// How many characters of section names fit the navigation's row in a
/// desktop window (about 1,100 pixels of the site's bold sans at 15px,
/// with "More" beside them), and what the gap between two counts as.
const NAV_ROW_CHARS: usize = 104;
const NAV_GAP_CHARS: usize = 3;

/// What the shared layout needs on every page.
pub struct Layout {
    pub site_name: String,
    pub page_title: String,
    pub stylesheet: String,
    pub script: String,
    /// The sections in the navigation, in the chosen order: those from
    /// `nav_more` on go under "More".
    pub nav: Vec<NavLink>,
    pub nav_more: usize,
    /// The absolute URL of this page, for the canonical link.
    pub canonical: Option<String>,
    /// Feeds offered for autodiscovery.
    pub feeds: Vec<FeedLink>,
    /// What the header's search box shows.
    pub query: String,
    pub meta: Option<PageMeta>,
    /// Rendered for a signed-in reader: the page carries marks that
    /// `web::personal` fills in with that reader's state.
    pub personal: bool,
    /// On a page made for one signed-in person (account, admin): their name.
    pub account_name: Option<String>,
}

pub struct NavLink {
    pub section_id: i64,
    pub name: String,
    pub href: String,
    pub current: bool,
    /// Where the reader's unread count goes (personal pages only).
    pub unread_mark: String,
}

pub struct FeedLink {
    pub title: String,
    pub href: String,
    pub mime: &'static str,
}

/// Social and search-engine metadata of an article page.
pub struct PageMeta {
    pub title: String,
    pub description: String,
    pub url: String,
    pub image: Option<String>,
    pub published_iso: String,
    pub modified_iso: String,
    pub section: String,
    pub author: Option<String>,
    pub twitter_card: &'static str,
    /// schema.org NewsArticle, already escaped for a script data block.
    pub json_ld: String,
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
            script: assets::script_href(),
            nav: sections
                .iter()
                .filter(|s| !s.hidden)
                .map(|s| NavLink {
                    section_id: s.id,
                    name: s.name.clone(),
                    href: section_href(&s.slug),
                    current: current_section == Some(s.slug.as_str()),
                    unread_mark: String::new(),
                })
                .collect(),
            nav_more: 0,
            canonical: None,
            feeds: feed_links(&site.name, ""),
            query: String::new(),
            meta: None,
            personal: false,
            account_name: None,
        }
        .with_more_menu()
    }

    /// Puts the sections that would not fit a desktop window's row under
    /// "More" (a menu that opens without JavaScript), rather than cutting
    /// the row off at the window's edge.
    fn with_more_menu(mut self) -> Self {
        let mut used = 0;
        self.nav_more = self
            .nav
            .iter()
            .position(|link| {
                used += link.name.chars().count() + NAV_GAP_CHARS;
                used > NAV_ROW_CHARS
            })
            .unwrap_or(self.nav.len());
        // "More" for one section takes the room that section would.
        if self.nav_more + 1 == self.nav.len() {
            self.nav_more = self.nav.len();
        }
        self
    }

    /// The sections shown in the row.
    pub fn nav_row(&self) -> &[NavLink] {
        &self.nav[..self.nav_more]
    }

    /// The sections under "More".
    pub fn nav_overflow(&self) -> &[NavLink] {
        &self.nav[self.nav_more..]
    }

    /// Whether the current section is under "More" (the menu says so).
    pub fn more_is_current(&self) -> bool {
        self.nav_overflow().iter().any(|l| l.current)
    }

    /// Makes this a page for a signed-in reader (see `web::personal`).
    pub fn for_viewer(mut self, viewer: &Viewer) -> Self {
        if viewer.is_signed_in() {
            self.personal = true;
            for link in &mut self.nav {
                link.unread_mark = personal::mark(personal::Mark::NavCount, link.section_id, 0);
            }
        }
        self
    }

    /// A page for one signed-in person: the header names them.
    pub fn signed_in_as(mut self, name: &str) -> Self {
        self.account_name = Some(name.to_owned());
        self
    }

    /// Where the signed-in reader's links go in the header.
    pub fn header_mark(&self) -> String {
        personal::mark(personal::Mark::Header, 0, 0)
    }

    /// A layout with no section navigation, for error pages, which must
    /// render even when the database is what failed.
    pub fn bare(site_name: &str, page_title: &str) -> Self {
        Layout {
            site_name: site_name.to_owned(),
            page_title: page_title.to_owned(),
            stylesheet: assets::stylesheet_href(),
            script: assets::script_href(),
            nav: Vec::new(),
            nav_more: 0,
            canonical: None,
            feeds: feed_links(site_name, ""),
            query: String::new(),
            meta: None,
            personal: false,
            account_name: None,
        }
    }

    pub fn with_canonical(mut self, site: &Site, path: &str) -> Self {
        self.canonical = Some(format!("{}{path}", site.base_url));
        self
    }

    /// Adds a section's own feeds before the site's.
    pub fn with_section_feeds(mut self, section: &Section) -> Self {
        let mut feeds = feed_links(&section.name, &section_href(&section.slug));
        feeds.append(&mut self.feeds);
        self.feeds = feeds;
        self
    }
}

fn feed_links(title: &str, prefix: &str) -> Vec<FeedLink> {
    vec![
        FeedLink {
            title: format!("{title} (Atom)"),
            href: format!("{prefix}/feed.atom"),
            mime: "application/atom+xml",
        },
        FeedLink {
            title: format!("{title} (RSS)"),
            href: format!("{prefix}/feed.rss"),
            mime: "application/rss+xml",
        },
        FeedLink {
            title: format!("{title} (JSON Feed)"),
            href: format!("{prefix}/feed.json"),
            mime: "application/feed+json",
        },
        FeedLink {
            title: format!("{title}, one entry per story (Atom)"),
            href: format!("{prefix}/stories.atom"),
            mime: "application/atom+xml",
        },
    ]
}

/// A moment shown both ways: "17 hrs ago" for reading, the exact time for
/// machines (`datetime`) and for the curious (`title`).
pub struct TimeView {
    pub relative: String,
    pub iso: String,
    pub exact: String,
}

/// "7 March 2026, 14:05 UTC", parsed once: a listing formats dozens of
/// these, and parsing the pattern each time was most of the cost.
static EXACT_TIME: std::sync::LazyLock<Vec<chrono::format::Item<'static>>> = std::sync::LazyLock::new(|| {
    chrono::format::StrftimeItems::new("%-d %B %Y, %H:%M UTC")
        .parse_to_owned()
        .unwrap_or_default()
});

impl TimeView {
    pub fn new(time: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        TimeView {
            relative: relative_time(time, now),
            iso: time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            exact: time.format_with_items(EXACT_TIME.iter()).to_string(),
        }
    }
}

/// One story in a listing or the sidebar.
pub struct CardView {
    pub id: i64,
    pub section_id: i64,
    pub title: String,
    pub href: String,
    pub summary: Option<String>,
    pub byline: Option<Byline>,
    pub time: TimeView,
    pub section_name: String,
    pub section_href: String,
    pub image_url: Option<String>,
    /// Search results only: the matching passage, escaped, with `<mark>`s.
    pub snippet_html: Option<String>,
    /// "Also reported by 3 sources", when its story has other versions.
    pub also: Option<StoryLink>,
}

/// A link from one version of a story to the page of all its versions.
pub struct StoryLink {
    pub story_id: i64,
    pub text: String,
    pub href: String,
}

impl StoryLink {
    /// None for a story of one article.
    pub fn new(story: &StoryRef) -> Option<StoryLink> {
        let others = story.articles - 1;
        if others < 1 {
            return None;
        }
        let other_sources = story.sources - 1;
        let text = match other_sources {
            0 => format!("{others} more version{}", if others == 1 { "" } else { "s" }),
            n => format!("Also reported by {n} source{}", if n == 1 { "" } else { "s" }),
        };
        Some(StoryLink {
            story_id: story.id,
            text,
            href: format!("/stories/{}", story.id),
        })
    }
}

/// "By Ben Ahenda", linking to the author's page.
pub struct Byline {
    pub text: String,
    pub href: String,
}

impl Byline {
    fn new(author: Option<String>) -> Option<Self> {
        author.map(|a| Byline {
            href: format!("/authors/{}", slugify_or(&a, "author")),
            text: format!("By {a}"),
        })
    }
}

impl CardView {
    pub fn new(card: ArticleCard, now: DateTime<Utc>) -> Self {
        CardView {
            id: card.id,
            section_id: card.section_id,
            href: card.path(),
            title: card.title,
            summary: card.summary,
            byline: Byline::new(card.author),
            time: TimeView::new(card.published_at, now),
            section_href: section_href(&card.section_slug),
            section_name: card.section_name,
            image_url: card.image_url,
            snippet_html: None,
            also: None,
        }
    }

    /// Where " is-read" goes in the card's class (personal pages only);
    /// a card the reader's rules mute is left out from there.
    pub fn read_mark(&self) -> String {
        personal::mark(personal::Mark::CardClass, self.id, self.section_id)
    }

    /// Where the card's read and save buttons go (personal pages only).
    pub fn actions_mark(&self) -> String {
        personal::mark(personal::Mark::Actions, self.id, self.section_id)
    }

    pub fn list(cards: impl IntoIterator<Item = ArticleCard>, now: DateTime<Utc>) -> Vec<Self> {
        cards.into_iter().map(|c| CardView::new(c, now)).collect()
    }

    pub fn from_hit(hit: Hit, now: DateTime<Utc>) -> Self {
        let snippet = snippet_html(&hit.snippet);
        let mut view = CardView::new(hit.card, now);
        view.snippet_html = Some(snippet);
        view
    }
}

/// Escapes a snippet, then turns the match marks into `<mark>` elements.
pub fn snippet_html(snippet: &str) -> String {
    escape(snippet)
        .replace(MATCH_START, "<mark>")
        .replace(MATCH_END, "</mark>")
}

pub struct TagLink {
    pub name: String,
    pub href: String,
}

/// The article page's main column.
pub struct ArticleView {
    pub id: i64,
    pub section_id: i64,
    pub title: String,
    pub summary: Option<String>,
    pub source: Option<String>,
    pub byline: Option<Byline>,
    pub published: TimeView,
    /// Shown when the article was corrected after publication.
    pub updated: Option<TimeView>,
    pub reading_time: String,
    pub image_url: Option<String>,
    pub image_caption: Option<String>,
    /// Rendered and sanitised at ingest.
    pub body_html: String,
    pub tags: Vec<TagLink>,
    pub section_name: String,
    pub section_href: String,
    pub original_url: Option<String>,
}

impl ArticleView {
    pub fn new(article: Article, now: DateTime<Utc>) -> Self {
        // Corrections within a minute of publication are not worth a notice.
        let updated = (article.updated_at - article.created_at > chrono::Duration::minutes(1))
            .then(|| TimeView::new(article.updated_at, now));
        let minutes = ((article.word_count + WORDS_PER_MINUTE - 1) / WORDS_PER_MINUTE).max(1);
        ArticleView {
            id: article.id,
            section_id: article.section_id,
            title: article.title,
            summary: article.summary,
            source: article.source,
            byline: Byline::new(article.author),
            published: TimeView::new(article.published_at, now),
            updated,
            reading_time: format!("{minutes} min read"),
            image_url: article.image_url,
            image_caption: article.image_caption,
            body_html: article.body_html,
            tags: article
                .tags
                .iter()
                .map(|t| TagLink {
                    href: tag_href(t),
                    name: t.clone(),
                })
                .collect(),
            section_href: section_href(&article.section_slug),
            section_name: article.section_name,
            original_url: article.url,
        }
    }
}

impl ArticleView {
    /// Opening the page marks the story read, and the page shows it so.
    pub fn opened_mark(&self) -> String {
        personal::mark(personal::Mark::Opened, self.id, self.section_id)
    }

    pub fn read_mark(&self) -> String {
        personal::mark(personal::Mark::ReadClass, self.id, self.section_id)
    }

    pub fn actions_mark(&self) -> String {
        personal::mark(personal::Mark::Actions, self.id, self.section_id)
    }

    /// An admin's button to fetch the story's page again (filled in for
    /// admins only).
    pub fn full_story_mark(&self) -> String {
        personal::mark(personal::Mark::FullStory, self.id, 0)
    }
}

impl PageMeta {
    pub fn for_article(article: &Article, site: &Site) -> Self {
        let url = format!("{}{}", site.base_url, article.path());
        let description = article
            .summary
            .clone()
            .unwrap_or_else(|| first_words(&article.body_html, 40));
        let published_iso = article.published_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let modified_iso = article
            .updated_at
            .max(article.published_at)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut ld = serde_json::json!({
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": article.title,
            "datePublished": published_iso,
            "dateModified": modified_iso,
            "articleSection": article.section_name,
            "mainEntityOfPage": url,
            "url": url,
            "publisher": { "@type": "Organization", "name": site.name, "url": format!("{}/", site.base_url) },
        });
        if let Some(author) = &article.author {
            ld["author"] = serde_json::json!({ "@type": "Person", "name": author, "url": format!("{}/authors/{}", site.base_url, slugify_or(author, "author")) });
        }
        if let Some(image) = &article.image_url {
            ld["image"] = serde_json::json!([image]);
        }
        if !description.is_empty() {
            ld["description"] = serde_json::json!(description);
        }
        if !article.tags.is_empty() {
            ld["keywords"] = serde_json::json!(article.tags);
        }
        PageMeta {
            title: article.title.clone(),
            description,
            url,
            image: article.image_url.clone(),
            published_iso,
            modified_iso,
            section: article.section_name.clone(),
            author: article.author.clone(),
            twitter_card: if article.image_url.is_some() {
                "summary_large_image"
            } else {
                "summary"
            },
            json_ld: json_for_script(&ld),
        }
    }
}

/// JSON safe inside a `<script>` data block: no `<` can close the element.
fn json_for_script(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The first words of a body, as a description when there is no summary.
fn first_words(body_html: &str, words: usize) -> String {
    let text = crate::domain::body::plain_text(body_html);
    let mut out: Vec<&str> = text.split_whitespace().take(words + 1).collect();
    if out.len() > words {
        out.truncate(words);
        return format!("{}…", out.join(" "));
    }
    out.join(" ")
}

pub fn section_href(slug: &str) -> String {
    format!("/sections/{slug}")
}

pub fn tag_href(name: &str) -> String {
    format!("/tags/{}", slugify_or(name, "tag"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_time_reads_exactly_relatively_and_for_machines() {
        let time = Utc.with_ymd_and_hms(2026, 3, 7, 14, 5, 9).unwrap();
        let view = TimeView::new(time, time + chrono::Duration::hours(17));
        assert_eq!(view.exact, "7 March 2026, 14:05 UTC");
        assert_eq!(view.iso, "2026-03-07T14:05:09Z");
        assert_eq!(view.relative, "17 hrs ago");
    }
}
