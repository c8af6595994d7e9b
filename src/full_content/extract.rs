//! The story on a web page: found by dom_smoothie (a maintained port of
//! Mozilla's Readability) with trafilatura (a port of go-trafilatura) as a
//! second opinion, or where a site rule says. The pair was chosen on public
//! data (docs/BENCHMARKS.md, "Extraction"): dom_smoothie keeps a story's
//! structure and images and is right on most pages; on the pages where it
//! finds under half the words trafilatura finds, it has most often missed
//! the story (a page split into many blocks, a story below a long teaser),
//! and trafilatura's is taken. What comes out is HTML still to be
//! sanitised by the write path, like every other body; its relative links
//! and images are made absolute there, against the page's URL.

use chrono::{DateTime, Utc};
use dom_query::{Document, Matcher};
use url::Url;

use super::rules::SiteRule;

/// Elements a page may have before it is given up on: a real article page
/// has a few thousand; a hostile one of ten megabytes, millions, and
/// reading them all would hold a thread for seconds.
const MAX_ELEMENTS: usize = 60_000;

/// Opening tags a page may have before it is given up on unparsed: a
/// page's document tree costs far more memory than its text (a hostile
/// 10 MB page of empty elements would take hundreds of megabytes to parse
/// before its elements could be counted), and tags are counted in one pass
/// over the bytes. Some tags sit in scripts and comments, hence the margin
/// over the elements read.
const MAX_TAGS: usize = 3 * MAX_ELEMENTS;

/// What was found on a page.
#[derive(Debug)]
pub struct Story {
    /// The story's body, unsanitised.
    pub html: String,
    /// The page's headline (its metadata, else its title), if it names one.
    pub title: Option<String>,
    pub byline: Option<String>,
    /// The page's lead image (its metadata), absolute.
    pub image: Option<String>,
    pub published: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ExtractError {
    /// No story found (or one the rule's selector does not match).
    #[error("no story found on the page")]
    NoStory,
    #[error("the page has more than {MAX_ELEMENTS} elements")]
    TooComplex,
}

impl ExtractError {
    /// The reason an article's full content shows for it.
    pub fn reason(&self) -> &'static str {
        match self {
            ExtractError::NoStory => "no_story",
            ExtractError::TooComplex => "too_complex",
        }
    }
}

/// Finds the story on a page fetched from `url`, by `rule` when there is
/// one.
pub fn extract(html: &str, url: &Url, rule: Option<&SiteRule>) -> Result<Story, ExtractError> {
    if opening_tags(html) > MAX_TAGS {
        return Err(ExtractError::TooComplex);
    }
    let document = Document::from(html);
    if let Some(rule) = rule {
        for selector in &rule.strip {
            if let Ok(matcher) = Matcher::new(selector) {
                document.select_matcher(&matcher).remove();
            }
        }
    }
    show_lazy_images(&document);
    let story = match rule.and_then(|rule| rule.body.as_deref()) {
        Some(selector) => by_selector(document, selector, url)?,
        None => by_readability(document, html, url)?,
    };
    Ok(Story {
        html: with_plain_image_sources(&story.html),
        ..story
    })
}

/// `<` followed by a letter: at least every element's opening tag.
fn opening_tags(html: &str) -> usize {
    html.as_bytes()
        .windows(2)
        .filter(|pair| pair[0] == b'<' && pair[1].is_ascii_alphabetic())
        .count()
}

fn by_selector(document: Document, selector: &str, url: &Url) -> Result<Story, ExtractError> {
    if document.select("*").length() > MAX_ELEMENTS {
        return Err(ExtractError::TooComplex);
    }
    let matcher = Matcher::new(selector).map_err(|_| ExtractError::NoStory)?;
    let found = document.select_matcher(&matcher);
    if found.is_empty() {
        return Err(ExtractError::NoStory);
    }
    let html: String = found.nodes().iter().map(|node| node.html().to_string()).collect();
    // The page's metadata still names the byline and lead image.
    let metadata = dom_smoothie::Readability::with_document(document, Some(url.as_str()), None)
        .map(|readability| readability.get_article_metadata(readability.parse_json_ld()))
        .ok();
    Ok(Story {
        html,
        title: metadata
            .as_ref()
            .map(|m| m.title.clone())
            .filter(|t| !t.trim().is_empty()),
        byline: metadata.as_ref().and_then(|m| m.byline.clone()),
        image: metadata.as_ref().and_then(|m| m.image.clone()),
        published: metadata
            .as_ref()
            .and_then(|m| m.published_time.as_deref())
            .and_then(parse_time),
    })
}

fn by_readability(document: Document, html: &str, url: &Url) -> Result<Story, ExtractError> {
    let config = dom_smoothie::Config {
        max_elements_to_parse: MAX_ELEMENTS,
        ..Default::default()
    };
    let mut readability = dom_smoothie::Readability::with_document(document, Some(url.as_str()), Some(config))
        .map_err(|_| ExtractError::NoStory)?;
    let first = readability.parse();
    if let Err(dom_smoothie::ReadabilityError::TooManyElements(..)) = first {
        return Err(ExtractError::TooComplex);
    }
    let second = trafilatura::extract(html, &trafilatura::Options::default().with_url(url.clone()))
        .ok()
        .filter(|found| !found.content_html.trim().is_empty());
    let words = |text: &str| text.split_whitespace().count();
    let first_is_the_story = match (&first, &second) {
        (Ok(article), Some(other)) => 2 * words(&article.text_content) >= words(&other.content_text),
        (Ok(_), None) => true,
        (Err(_), _) => false,
    };
    match (first, second) {
        (Ok(article), _) if first_is_the_story => Ok(Story {
            html: article.content.to_string(),
            title: Some(article.title.clone()).filter(|t| !t.trim().is_empty()),
            byline: article.byline.filter(|b| !b.trim().is_empty()),
            image: article.image,
            published: article.published_time.as_deref().and_then(parse_time),
        }),
        (first, Some(other)) => {
            let article = first.ok();
            let metadata = &other.metadata;
            Ok(Story {
                title: article
                    .as_ref()
                    .map(|a| a.title.clone())
                    .or_else(|| Some(metadata.title.clone()))
                    .filter(|t| !t.trim().is_empty()),
                html: other.content_html,
                byline: article
                    .as_ref()
                    .and_then(|a| a.byline.clone())
                    .or_else(|| Some(metadata.author.clone()))
                    .filter(|b| !b.trim().is_empty()),
                image: article
                    .as_ref()
                    .and_then(|a| a.image.clone())
                    .or_else(|| Some(metadata.image.clone()))
                    .filter(|i| !i.trim().is_empty()),
                published: article
                    .as_ref()
                    .and_then(|a| a.published_time.as_deref())
                    .and_then(parse_time),
            })
        }
        (_, None) => Err(ExtractError::NoStory),
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// The story without its opening heading when that heading is `title`:
/// the page above the story shows the headline already.
pub fn without_headline(html: &str, title: &str) -> String {
    let same = |text: &str| {
        let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
        words(text) == words(title)
    };
    let fragment = Document::fragment(html);
    let Some(first) = fragment.select("h1, h2, h3").nodes().first().cloned() else {
        return html.to_owned();
    };
    // Only a heading that comes before any of the story's text.
    let before = html.find(&*first.html()).map_or("", |at| &html[..at]);
    if !same(&first.text()) || !Document::fragment(before).text().trim().is_empty() {
        return html.to_owned();
    }
    first.remove_from_parent();
    fragment.html_root().inner_html().to_string()
}

/// Attributes lazy-loading scripts keep an image's real source in.
const LAZY_SOURCES: [&str; 5] = ["data-src", "data-lazy-src", "data-original", "data-lazy", "data-url"];

/// Lazy images shown as a browser with their script would: the real
/// source in `src` (and `srcset`), in place of a placeholder. dom_smoothie
/// does this for the story it finds; a rule's selector gets the same.
fn show_lazy_images(document: &Document) {
    for image in document.select("img").nodes() {
        let placeholder = image
            .attr("src")
            .is_none_or(|src| src.trim().is_empty() || src.starts_with("data:"));
        let lazy = LAZY_SOURCES
            .iter()
            .find_map(|name| image.attr(name))
            .filter(|v| !v.trim().is_empty());
        if let Some(real) = lazy
            && (placeholder || image.has_class("lazyload") || image.has_class("lazy"))
        {
            image.set_attr("src", real.trim());
        }
        if let Some(set) = image.attr("data-srcset").filter(|v| !v.trim().is_empty()) {
            image.set_attr("srcset", &set);
        }
    }
}

/// Every image with a `src`: the sanitiser keeps `src` and not `srcset`,
/// so an image known only by its `srcset` gets its widest candidate.
fn with_plain_image_sources(html: &str) -> String {
    if !html.contains("srcset") {
        return html.to_owned();
    }
    let fragment = Document::fragment(html);
    for image in fragment.select("img[srcset]").nodes() {
        let has_src = image
            .attr("src")
            .is_some_and(|src| !src.trim().is_empty() && !src.starts_with("data:"));
        if !has_src && let Some(widest) = image.attr("srcset").as_deref().and_then(widest_candidate) {
            image.set_attr("src", &widest);
        }
    }
    fragment.html_root().inner_html().to_string()
}

/// The candidate of a `srcset` with the largest width (or density).
fn widest_candidate(srcset: &str) -> Option<String> {
    srcset
        .split(',')
        .filter_map(|candidate| {
            let mut parts = candidate.split_whitespace();
            let url = parts.next()?;
            let size = parts
                .next()
                .and_then(|d| d.trim_end_matches(['w', 'x']).parse::<f64>().ok())
                .unwrap_or(1.0);
            Some((size, url.to_owned()))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, url)| url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str) -> String {
        format!(
            "<html><head><title>Harbour cranes</title></head><body><nav><a href=\"/\">Home</a> <a href=\"/world\">World</a></nav>\
             <main><article><h1>Harbour cranes</h1>{body}</article></main><footer>Copyright the harbour desk</footer></body></html>"
        )
    }

    fn paragraphs(n: usize) -> String {
        (0..n)
            .map(|i| format!("<p>Paragraph {i} of the story about cranes returning to the harbour, with enough words in it to read as prose, as stories are written.</p>"))
            .collect()
    }

    #[test]
    fn the_story_is_found_and_the_navigation_left_out() {
        let html = page(&paragraphs(8));
        let story = extract(&html, &Url::parse("https://harbour.test/stories/1").unwrap(), None).unwrap();
        assert!(story.html.contains("Paragraph 7 of the story"), "{}", story.html);
        assert!(!story.html.contains("Copyright the harbour desk"));
    }

    #[test]
    fn lazy_images_and_srcset_only_images_get_a_source() {
        let body = format!(
            "{}<figure><img src=\"data:image/gif;base64,R0lGOD\" data-src=\"/img/crane.jpg\" alt=\"A crane\"></figure>\
             <figure><img srcset=\"/img/quay-320.jpg 320w, /img/quay-1280.jpg 1280w\" alt=\"The quay\"></figure>{}",
            paragraphs(4),
            paragraphs(4)
        );
        let story = extract(
            &page(&body),
            &Url::parse("https://harbour.test/stories/1").unwrap(),
            None,
        )
        .unwrap();
        assert!(story.html.contains("crane.jpg"), "{}", story.html);
        assert!(!story.html.contains("data:image"), "{}", story.html);
        assert!(story.html.contains("quay-1280.jpg\""), "{}", story.html);
        assert!(
            !story.html.contains("<html>"),
            "a fragment stays a fragment: {}",
            story.html
        );
    }

    #[test]
    fn a_rule_picks_the_body_and_strips_what_it_names() {
        let html = "<html><body><div class=\"teaser\">Subscribe to read</div><div class=\"story\"><p>Only this.</p><aside class=\"ad\">Buy</aside></div></body></html>";
        let rule = SiteRule {
            body: Some(".story".to_owned()),
            strip: vec![".ad".to_owned()],
            ..Default::default()
        };
        let story = extract(html, &Url::parse("https://a.test/x").unwrap(), Some(&rule)).unwrap();
        assert!(story.html.contains("Only this."));
        assert!(!story.html.contains("Buy") && !story.html.contains("Subscribe"));
        let missing = SiteRule {
            body: Some(".nowhere".to_owned()),
            ..Default::default()
        };
        assert_eq!(
            extract(html, &Url::parse("https://a.test/x").unwrap(), Some(&missing)).unwrap_err(),
            ExtractError::NoStory
        );
    }

    #[test]
    fn a_hostile_page_of_millions_of_tags_is_given_up_on_before_it_is_parsed() {
        let html = page(&"<i></i>".repeat(10 * 1024 * 1024 / 7));
        let started = std::time::Instant::now();
        assert_eq!(
            extract(&html, &Url::parse("https://a.test/x").unwrap(), None).unwrap_err(),
            ExtractError::TooComplex
        );
        // One pass over the bytes, not a parse: far under a second even in
        // a debug build.
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn a_page_of_too_many_elements_is_given_up_on() {
        let html = page(&"<div><span>x</span></div>".repeat(MAX_ELEMENTS));
        assert_eq!(
            extract(&html, &Url::parse("https://a.test/x").unwrap(), None).unwrap_err(),
            ExtractError::TooComplex
        );
    }

    #[test]
    fn the_headline_is_not_repeated_above_the_story() {
        let html = "<div><h2>Harbour  cranes</h2><p>Text.</p><h2>Harbour cranes</h2></div>";
        let without = without_headline(html, "Harbour cranes");
        assert_eq!(without.matches("<h2>").count(), 1, "{without}");
        assert!(without.starts_with("<div><p>Text."), "{without}");
        let later = "<div><p>Intro.</p><h2>Harbour cranes</h2></div>";
        assert_eq!(without_headline(later, "Harbour cranes"), later);
        let other = "<div><h2>Background</h2><p>Text.</p></div>";
        assert_eq!(without_headline(other, "Harbour cranes"), other);
    }

    #[test]
    fn the_widest_candidate_of_a_srcset() {
        assert_eq!(widest_candidate("a.jpg 1x, b.jpg 2x").as_deref(), Some("b.jpg"));
        assert_eq!(widest_candidate("a.jpg 800w, b.jpg 400w").as_deref(), Some("a.jpg"));
        assert_eq!(widest_candidate("").as_deref(), None);
    }
}
