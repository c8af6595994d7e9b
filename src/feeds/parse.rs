//! RSS 0.9x/1.0/2.0, Atom and JSON Feed (through feed-rs) to articles, and
//! feed discovery in HTML pages.

use feed_rs::model::{Entry, Feed};
use sha2::{Digest, Sha256};
use url::Url;

use crate::domain::article::MAX_SHORT_FIELD_CHARS;
use crate::domain::body::{plain_text, sanitize};
use crate::domain::{ArticleInput, FieldError, NewArticle};

/// A parsed feed: its title, its RSS `<ttl>`, and its entries.
pub struct ParsedFeed {
    pub title: Option<String>,
    pub ttl: Option<std::time::Duration>,
    pub entries: Vec<Entry>,
}

/// Parses a fetched document (decoded to UTF-8 first, see charset.rs).
/// A panic in the parser becomes an error for this feed alone.
pub fn parse(bytes: &[u8], url: &Url, content_type: Option<&str>) -> Result<ParsedFeed, String> {
    let decoded = super::charset::to_utf8(bytes, content_type);
    parse_decoded(&readable_root(&decoded), url)
}

/// The RSS versions feed-rs reads: it refuses the whole feed for any other
/// `version` on the `<rss>` root (0.93, 0.94, 2.01, none at all), though
/// these are the same format and served in the wild.
const RSS_VERSIONS_READ: [&str; 4] = ["2.0", "", "0.91", "0.92"];
const ATOM_03_NS: &str = "http://purl.org/atom/ns#";
const ATOM_10_NS: &str = "http://www.w3.org/2005/Atom";

/// Rewrites the root element of the feeds feed-rs would otherwise refuse
/// or read as empty, so they are read as the format they nearly are:
/// - an `<rss>` root with a version feed-rs does not know gets
///   `version="2.0"` (the old value kept as `x-version`): RSS 2.0 reading
///   covers every 0.9x element;
/// - an Atom 0.3 feed (its namespace) is read as Atom 1.0: feed-rs reads
///   its root but none of its entries. Their titles, links, ids, authors
///   and content carry over; 0.3's dates (`issued`, `modified`) do not,
///   so those entries are dated when first fetched.
fn readable_root(doc: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use quick_xml::events::Event;
    let unchanged = std::borrow::Cow::Borrowed(doc);
    let Ok(text) = std::str::from_utf8(doc) else {
        return unchanged;
    };
    let mut reader = quick_xml::Reader::from_str(text);
    let (start, root) = loop {
        let start = reader.buffer_position() as usize;
        match reader.read_event() {
            Ok(Event::Start(tag) | Event::Empty(tag)) => break (start, tag),
            Ok(Event::Eof) | Err(_) => return unchanged,
            // The prolog: declaration, comments, doctype, whitespace.
            Ok(_) => continue,
        }
    };
    let end = reader.buffer_position() as usize;
    let mut tag = text[start..end].to_owned();
    match root.name().as_ref() {
        "rss" => {
            let version = root.try_get_attribute("version").ok().flatten();
            if version.as_ref().is_some_and(|v| RSS_VERSIONS_READ.contains(&&*v.value)) {
                return unchanged;
            }
            if version.is_some()
                && let Some(at) = version_attribute_at(&tag)
            {
                tag.insert_str(at, "x-");
            }
            tag.insert_str("<rss".len(), " version=\"2.0\"");
        }
        "feed" if tag.contains(ATOM_03_NS) => tag = tag.replace(ATOM_03_NS, ATOM_10_NS),
        _ => return unchanged,
    }
    std::borrow::Cow::Owned([&doc[..start], tag.as_bytes(), &doc[end..]].concat())
}

/// Where the `version` attribute's name starts in a start tag's text.
fn version_attribute_at(tag: &str) -> Option<usize> {
    tag.match_indices("version").map(|(at, _)| at).find(|&at| {
        let before = tag[..at].chars().next_back().is_some_and(char::is_whitespace);
        let after = tag[at + "version".len()..].trim_start().starts_with('=');
        before && after
    })
}

fn parse_decoded(bytes: &[u8], url: &Url) -> Result<ParsedFeed, String> {
    let parser = feed_rs::parser::Builder::new().base_uri(Some(url.as_str())).build();
    let feed: Feed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(bytes)))
        .map_err(|panic| {
            let what = crate::error::panic_message(panic.as_ref());
            metrics::counter!("gazette_feed_parser_panics_total").increment(1);
            format!("the feed parser failed on this document ({what})")
        })?
        .map_err(|err| format!("not a feed: {err}"))?;
    Ok(ParsedFeed {
        title: feed.title.map(|t| text_of(&t.content)).filter(|t| !t.is_empty()),
        ttl: feed
            .ttl
            .map(|minutes| std::time::Duration::from_secs(u64::from(minutes) * 60)),
        entries: feed.entries,
    })
}

/// Whether a document that is not a feed looks like a web page.
pub fn looks_like_html(bytes: &[u8], content_type: Option<&str>) -> bool {
    if content_type.is_some_and(|t| t.to_ascii_lowercase().starts_with("text/html")) {
        return true;
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    head.contains("<!doctype html") || head.contains("<html")
}

/// The feeds a page announces with `<link rel="alternate">`, absolute.
pub fn discover(html: &[u8], page: &Url) -> Vec<Url> {
    let doc = scraper::Html::parse_document(&String::from_utf8_lossy(html));
    let Ok(selector) = scraper::Selector::parse("link[rel~=alternate][href]") else {
        return Vec::new();
    };
    doc.select(&selector)
        .filter(|link| {
            let kind = link.value().attr("type").unwrap_or_default().to_ascii_lowercase();
            matches!(
                kind.as_str(),
                "application/rss+xml" | "application/atom+xml" | "application/feed+json" | "application/json"
            )
        })
        .filter_map(|link| page.join(link.value().attr("href")?).ok())
        .collect()
}

/// The readable text of a title or summary that may hold HTML.
fn text_of(html: &str) -> String {
    plain_text(&sanitize(html))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// An entry's stable id within its feed: its own id (or feed-rs's, made
/// from its link and title when it has none), prefixed with the feed so two
/// feeds' "1" never collide; hashed when too long to be an external id.
fn external_id(feed_id: i64, entry: &Entry) -> String {
    let id = format!("feed:{feed_id}:{}", entry.id);
    if id.chars().count() <= MAX_SHORT_FIELD_CHARS {
        return id;
    }
    format!(
        "feed:{feed_id}:sha256:{}",
        hex::encode(Sha256::digest(entry.id.as_bytes()))
    )
}

/// Turns a feed entry fetched at `fetched_at` (unix seconds) into an
/// article for `section`, through the same validation as the API.
/// The web page an entry links to, absolute.
pub fn entry_link(entry: &Entry, feed_url: &Url) -> Option<Url> {
    entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|rel| rel == "alternate"))
        .and_then(|l| feed_url.join(&l.href).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

pub fn to_article(
    entry: &Entry,
    feed_id: i64,
    feed_url: &Url,
    section: &str,
    fetched_at: i64,
) -> Result<NewArticle, FieldError> {
    let link = entry_link(entry, feed_url);
    let content = entry
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .filter(|b| !b.trim().is_empty());
    let summary = entry
        .summary
        .as_ref()
        .map(|s| s.content.clone())
        .filter(|s| !s.trim().is_empty());
    let title = entry
        .title
        .as_ref()
        .map(|t| text_of(&t.content))
        .filter(|t| !t.is_empty());
    let body = content
        .clone()
        .or_else(|| summary.clone())
        .or_else(|| title.clone())
        .unwrap_or_default();
    let title = title.unwrap_or_else(|| {
        let words: Vec<String> = text_of(&body).split_whitespace().take(12).map(str::to_owned).collect();
        if words.is_empty() {
            "Untitled".to_owned()
        } else {
            words.join(" ")
        }
    });
    let standfirst = content
        .is_some()
        .then_some(summary)
        .flatten()
        .map(|s| text_of(&s))
        .filter(|s| !s.is_empty());
    let mut tags: Vec<String> = entry
        .categories
        .iter()
        .map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()))
        .collect();
    tags.truncate(crate::domain::article::MAX_TAGS);
    let input = ArticleInput {
        title: Some(title.chars().take(crate::domain::article::MAX_TITLE_CHARS).collect()),
        section: Some(section.to_owned()),
        body: Some(body),
        body_format: Some("html".to_owned()),
        summary: standfirst.map(|s| s.chars().take(crate::domain::article::MAX_SUMMARY_CHARS).collect()),
        author: entry.authors.first().and_then(|a| a.name.as_deref()).and_then(byline),
        source: None,
        url: link.as_ref().map(Url::to_string),
        external_id: Some(external_id(feed_id, entry)),
        image_url: None,
        image_caption: None,
        tags: Some(
            tags.into_iter()
                .filter(|t| t.chars().count() <= crate::domain::article::MAX_TAG_CHARS)
                .collect(),
        ),
        published_at: None,
    };
    let mut article = NewArticle::parse(input)?;
    // An entry without a date gets the time it was first seen: the write
    // path's default for new articles (None), kept on later updates. So
    // does an entry dated after its fetch: a feed publishes what it holds,
    // so a later date is a broken clock or time zone, not a schedule, and
    // taken at its word it would sit at the top of the site until then.
    // The claimed date is kept for the API.
    match entry.published.or(entry.updated) {
        Some(date) if date.timestamp() > fetched_at => article.claimed_published_at = Some(date),
        date => article.published_at = date,
    }
    article.base_url = Some(link.unwrap_or_else(|| feed_url.clone()));
    Ok(article)
}

/// The byline of an entry's first author. RSS's `<author>` is
/// "email (Name)": feed-rs keeps the email apart and leaves "(Name)" as
/// the name, or the whole of it when it cannot tell.
fn byline(name: &str) -> Option<String> {
    let name = name.trim();
    let name = match name.find('(') {
        Some(open) if name.ends_with(')') && (open == 0 || name[..open].contains('@')) => {
            &name[open + 1..name.len() - 1]
        }
        _ => name,
    };
    Some(name.trim().to_owned()).filter(|n| !n.is_empty())
}

#[cfg(test)]
mod bylines {
    use super::byline;

    #[test]
    fn an_rss_author_becomes_a_name() {
        assert_eq!(byline("(Lena Marsh)").as_deref(), Some("Lena Marsh"));
        assert_eq!(byline("lena@example.org (Lena Marsh)").as_deref(), Some("Lena Marsh"));
        assert_eq!(byline("  Lena Marsh ").as_deref(), Some("Lena Marsh"));
        assert_eq!(
            byline("Lena Marsh (Riverside)").as_deref(),
            Some("Lena Marsh (Riverside)")
        );
        assert_eq!(byline("()"), None);
        assert_eq!(byline(" "), None);
    }
}

#[cfg(test)]
mod readable_roots {
    use super::parse;

    fn titles(doc: &str) -> Result<Vec<String>, String> {
        let url = url::Url::parse("http://example.org/feed.xml").unwrap();
        let feed = parse(doc.as_bytes(), &url, None)?;
        Ok(feed
            .entries
            .iter()
            .map(|e| e.title.as_ref().map(|t| t.content.clone()).unwrap_or_default())
            .collect())
    }

    #[test]
    fn every_rss_version_and_none_is_read() {
        for root in [
            "<rss>",
            "<rss version=\"0.93\">",
            "<rss version='0.94' xmlns:dc=\"http://purl.org/dc/elements/1.1/\">",
            "<rss\n  version = \"2.01\">",
            "<rss version=\"2.0\">",
            "<rss version=\"0.91\">",
        ] {
            let doc = format!(
                "<?xml version=\"1.0\"?>\n<!-- <rss version=\"9\"> in a comment -->\n{root}<channel><title>Desk</title>\
                 <item><title>Kept &amp; read</title><link>http://example.org/1</link></item></channel></rss>"
            );
            assert_eq!(titles(&doc), Ok(vec!["Kept & read".to_owned()]), "{root}");
        }
    }

    #[test]
    fn atom_03_entries_are_read() {
        let doc = "<?xml version=\"1.0\"?><feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><title>Old</title>\
                   <entry><title>From 2004</title><id>tag:old,2004:1</id>\
                   <content type=\"text/html\" mode=\"escaped\">&lt;b&gt;bold&lt;/b&gt; body</content></entry></feed>";
        assert_eq!(titles(doc), Ok(vec!["From 2004".to_owned()]));
        let url = url::Url::parse("http://example.org/feed.xml").unwrap();
        let feed = parse(doc.as_bytes(), &url, None).unwrap();
        let article = super::to_article(&feed.entries[0], 1, &url, "Old", 0).unwrap();
        assert_eq!(article.body_html(), "<b>bold</b> body");
    }

    #[test]
    fn other_documents_are_left_alone() {
        let atom = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title><entry><title>One</title><id>1</id></entry></feed>";
        assert_eq!(super::readable_root(atom.as_bytes()), atom.as_bytes());
        let versioned = "<rss version=\"2.0\"><channel></channel></rss>";
        assert_eq!(super::readable_root(versioned.as_bytes()), versioned.as_bytes());
        assert_eq!(super::readable_root(b"not xml at all"), &b"not xml at all"[..]);
    }
}

#[cfg(test)]
mod parser_panics {
    use super::{parse, parse_decoded};

    const UTF16_FEED: &[u8] = include_bytes!("../../tests/data/utf16-feed.xml");

    /// Found by the `feed_parse` fuzzer: feed-rs 3.0.0 slices an author
    /// string one byte before the e-mail address it found (parser/util),
    /// which panics when that character is not ASCII ("«" here). Legal,
    /// and plausible in a French feed; reported upstream with this file.
    #[test]
    fn the_upstream_parser_panics_on_an_author_before_a_guillemet_and_the_panic_is_contained() {
        let doc: &[u8] = include_bytes!("../../tests/data/feed-rs-email-boundary.xml");
        let raw = std::panic::catch_unwind(|| feed_rs::parser::parse(doc));
        assert!(raw.is_err(), "feed-rs no longer panics: drop this note and the file");
        let url = url::Url::parse("http://example.org/feed.xml").unwrap();
        let err = parse(doc, &url, Some("application/rss+xml"))
            .err()
            .expect("an error, not a crash");
        assert!(err.contains("the feed parser failed"), "{err}");
    }

    #[test]
    fn the_upstream_parser_panics_on_raw_utf16_and_the_panic_is_contained() {
        let url = url::Url::parse("http://example.org/feed.xml").unwrap();
        // Undecoded, the parser panics (tests/data/README.md); the panic
        // is an error for this feed, not a crash.
        let err = parse_decoded(UTF16_FEED, &url).err().expect("the raw bytes still fail");
        assert!(err.contains("the feed parser failed"), "{err}");
        // Decoded first, the feed parses with its text intact.
        let feed = parse(UTF16_FEED, &url, Some("application/rss+xml")).unwrap();
        assert_eq!(feed.title.as_deref(), Some("Wire in UTF-16"));
        let entry = &feed.entries[0];
        assert_eq!(
            entry.title.as_ref().map(|t| t.content.as_str()),
            Some("Zürich votes – Ελλάδα – Москва")
        );
    }
}
