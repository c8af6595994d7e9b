//! An article as a sender submits it, and the validated form the write
//! path accepts.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::body;

/// Limits on what a sender may submit. Generous for real journalism,
/// tight enough that one field cannot swallow the page.
pub const MAX_TITLE_CHARS: usize = 300;
pub const MAX_SECTION_CHARS: usize = 100;
pub const MAX_SHORT_FIELD_CHARS: usize = 300;
pub const MAX_SUMMARY_CHARS: usize = 2_000;
pub const MAX_URL_CHARS: usize = 2_048;
pub const MAX_TAGS: usize = 50;
pub const MAX_TAG_CHARS: usize = 100;

/// The JSON object of the ingest API, exactly as sent. Every field is
/// optional here so that a missing field is reported by name through
/// validation; unknown fields are refused so a sender's typo surfaces.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    pub title: Option<String>,
    pub section: Option<String>,
    pub body: Option<String>,
    pub body_format: Option<String>,
    pub summary: Option<String>,
    pub author: Option<String>,
    pub source: Option<String>,
    pub url: Option<String>,
    pub external_id: Option<String>,
    pub image_url: Option<String>,
    pub image_caption: Option<String>,
    pub tags: Option<Vec<String>>,
    pub published_at: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Text,
    Markdown,
    Html,
}

impl BodyFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            BodyFormat::Text => "text",
            BodyFormat::Markdown => "markdown",
            BodyFormat::Html => "html",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "text" => Some(BodyFormat::Text),
            "markdown" => Some(BodyFormat::Markdown),
            "html" => Some(BodyFormat::Html),
            _ => None,
        }
    }
}

/// A problem with one field of a submitted article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// An article whose every field has been checked and normalised; the only
/// way to build one is [`NewArticle::parse`].
#[derive(Debug, Clone)]
pub struct NewArticle {
    pub title: String,
    pub section: String,
    pub body: String,
    pub body_format: BodyFormat,
    pub summary: Option<String>,
    pub author: Option<String>,
    pub source: Option<String>,
    pub url: Option<String>,
    pub external_id: Option<String>,
    pub image_url: Option<String>,
    pub image_caption: Option<String>,
    pub tags: Vec<String>,
    /// As sent; `None` means "the time of ingest" for a new article and
    /// "keep the original time" for an update.
    pub published_at: Option<DateTime<Utc>>,
    /// A feed entry's own date when it was ahead of the fetch: the article
    /// is placed at the fetch time (`published_at: None`) and this is kept.
    pub claimed_published_at: Option<DateTime<Utc>>,
    /// Where relative links and images in an HTML body point from (a feed
    /// entry's link); None for the API, whose bodies keep their links.
    pub base_url: Option<url::Url>,
}

impl NewArticle {
    /// Validates and normalises a submitted article, naming the first
    /// field at fault.
    pub fn parse(input: ArticleInput) -> Result<Self, FieldError> {
        let title = required_line("title", input.title, MAX_TITLE_CHARS)?;
        let section = required_line("section", input.section, MAX_SECTION_CHARS)?;
        let body = input.body.unwrap_or_default();
        if body.trim().is_empty() {
            return Err(FieldError::new("body", "body is required and must not be empty"));
        }
        let body_format = match input.body_format.as_deref() {
            None => BodyFormat::Text,
            Some(value) => BodyFormat::parse(value).ok_or_else(|| {
                FieldError::new("body_format", "body_format must be \"text\", \"markdown\" or \"html\"")
            })?,
        };
        let tags = parse_tags(input.tags.unwrap_or_default())?;
        let published_at = input
            .published_at
            .map(|value| {
                DateTime::parse_from_rfc3339(value.trim())
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        FieldError::new(
                            "published_at",
                            "published_at must be an RFC 3339 time with an offset, such as 2024-06-12T09:30:00Z",
                        )
                    })
            })
            .transpose()?;
        Ok(NewArticle {
            title,
            section,
            body,
            body_format,
            summary: optional_text("summary", input.summary, MAX_SUMMARY_CHARS)?,
            author: optional_line("author", input.author, MAX_SHORT_FIELD_CHARS)?,
            source: optional_line("source", input.source, MAX_SHORT_FIELD_CHARS)?,
            url: optional_web_url("url", input.url)?,
            external_id: optional_line("external_id", input.external_id, MAX_SHORT_FIELD_CHARS)?,
            image_url: optional_web_url("image_url", input.image_url)?,
            image_caption: optional_line("image_caption", input.image_caption, MAX_SUMMARY_CHARS)?,
            tags,
            published_at,
            claimed_published_at: None,
            base_url: None,
        })
    }

    /// The identity a sender re-posts under: the external id, else the
    /// URL, else none (every post is a new article).
    pub fn ingest_key(&self) -> Option<String> {
        match (&self.external_id, self.url_key()) {
            (Some(id), _) => Some(format!("id:{id}")),
            (None, Some(url)) => Some(url_ingest_key(&url)),
            (None, None) => None,
        }
    }

    /// The normalised URL, by which the same story from different senders
    /// is one article.
    pub fn url_key(&self) -> Option<String> {
        self.url.as_deref().and_then(super::url_norm::normalize)
    }

    /// The body as sanitised HTML.
    pub fn body_html(&self) -> String {
        match (&self.base_url, self.body_format) {
            (Some(base), BodyFormat::Html) => body::sanitize_with_base(&self.body, base),
            _ => body::render(self.body_format, &self.body),
        }
    }

    /// A digest of everything the sender said, to tell a re-post of the
    /// same article ("unchanged") from a correction ("updated").
    pub fn content_hash(&self) -> String {
        let mut hasher = Sha256::new();
        let fields: [Option<&str>; 11] = [
            Some(&self.title),
            Some(&self.section),
            Some(&self.body),
            Some(self.body_format.as_str()),
            self.summary.as_deref(),
            self.author.as_deref(),
            self.source.as_deref(),
            self.url.as_deref(),
            self.image_url.as_deref(),
            self.image_caption.as_deref(),
            self.external_id.as_deref(),
        ];
        for field in fields {
            // A length prefix keeps ("ab", "c") and ("a", "bc") apart.
            match field {
                Some(value) => {
                    hasher.update((value.len() as u64 + 1).to_le_bytes());
                    hasher.update(value.as_bytes());
                }
                None => hasher.update(0u64.to_le_bytes()),
            }
        }
        for tag in &self.tags {
            hasher.update((tag.len() as u64).to_le_bytes());
            hasher.update(tag.as_bytes());
        }
        for time in [self.published_at, self.claimed_published_at] {
            hasher.update(time.map_or(i64::MIN, |t| t.timestamp()).to_le_bytes());
        }
        hex::encode(hasher.finalize())
    }
}

/// The ingest key (and tombstone) of an article known by its URL alone.
pub fn url_ingest_key(url_key: &str) -> String {
    format!("url:{url_key}")
}

/// Removes characters that have no place in a one-line field: control
/// characters (a newline in a title, a NUL) and the invisible bidi
/// controls that can make a headline read differently from its bytes.
pub(crate) fn clean_line(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

fn required_line(field: &str, value: Option<String>, max: usize) -> Result<String, FieldError> {
    let value = value.ok_or_else(|| FieldError::new(field, format!("{field} is required")))?;
    let line = clean_line(&value);
    if line.is_empty() {
        return Err(FieldError::new(field, format!("{field} must not be empty")));
    }
    check_length(field, &line, max)?;
    Ok(line)
}

fn optional_line(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, FieldError> {
    let Some(line) = value.map(|v| clean_line(&v)).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    check_length(field, &line, max)?;
    Ok(Some(line))
}

/// Like [`optional_line`] but keeps paragraph breaks.
fn optional_text(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, FieldError> {
    let Some(text) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    check_length(field, &text, max)?;
    let text: String = text.chars().filter(|c| !c.is_control() || *c == '\n').collect();
    Ok(Some(text))
}

fn check_length(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    Ok(())
}

fn optional_web_url(field: &str, value: Option<String>) -> Result<Option<String>, FieldError> {
    let Some(raw) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    check_length(field, &raw, MAX_URL_CHARS)?;
    let parsed = url::Url::parse(&raw)
        .map_err(|_| FieldError::new(field, format!("{field} must be an absolute http or https URL")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(FieldError::new(
            field,
            format!("{field} must be an absolute http or https URL"),
        ));
    }
    Ok(Some(parsed.to_string()))
}

fn parse_tags(tags: Vec<String>) -> Result<Vec<String>, FieldError> {
    if tags.len() > MAX_TAGS {
        return Err(FieldError::new("tags", format!("at most {MAX_TAGS} tags are allowed")));
    }
    let mut clean: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let tag = clean_line(&tag);
        if tag.is_empty() {
            continue;
        }
        check_length("tags", &tag, MAX_TAG_CHARS)?;
        if !clean.iter().any(|t| t.eq_ignore_ascii_case(&tag)) {
            clean.push(tag);
        }
    }
    Ok(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ArticleInput {
        ArticleInput {
            title: Some("  League final set for Saturday ".into()),
            section: Some("Football".into()),
            body: Some("One.\n\nTwo.".into()),
            ..Default::default()
        }
    }

    #[test]
    fn trims_and_defaults() {
        let article = NewArticle::parse(input()).unwrap();
        assert_eq!(article.title, "League final set for Saturday");
        assert_eq!(article.body_format, BodyFormat::Text);
        assert_eq!(article.ingest_key(), None);
    }

    #[test]
    fn names_the_field_at_fault() {
        let cases: Vec<(ArticleInput, &str)> = vec![
            (ArticleInput { title: None, ..input() }, "title"),
            (
                ArticleInput {
                    title: Some("x".repeat(301)),
                    ..input()
                },
                "title",
            ),
            (
                ArticleInput {
                    section: Some("  ".into()),
                    ..input()
                },
                "section",
            ),
            (
                ArticleInput {
                    body: Some(" \n ".into()),
                    ..input()
                },
                "body",
            ),
            (
                ArticleInput {
                    body_format: Some("rtf".into()),
                    ..input()
                },
                "body_format",
            ),
            (
                ArticleInput {
                    url: Some("javascript:alert(1)".into()),
                    ..input()
                },
                "url",
            ),
            (
                ArticleInput {
                    image_url: Some("ftp://x.org/a".into()),
                    ..input()
                },
                "image_url",
            ),
            (
                ArticleInput {
                    published_at: Some("yesterday".into()),
                    ..input()
                },
                "published_at",
            ),
            (
                ArticleInput {
                    tags: Some(vec!["t".into(); 51]),
                    ..input()
                },
                "tags",
            ),
        ];
        for (case, field) in cases {
            assert_eq!(NewArticle::parse(case).unwrap_err().field, field);
        }
    }

    #[test]
    fn title_of_exactly_300_characters_is_accepted() {
        let article = NewArticle::parse(ArticleInput {
            title: Some("ա".repeat(300)),
            ..input()
        })
        .unwrap();
        assert_eq!(article.title.chars().count(), 300);
    }

    #[test]
    fn control_and_bidi_characters_leave_titles() {
        let article = NewArticle::parse(ArticleInput {
            title: Some("Score\u{202E}draw\u{0}\nlate".into()),
            ..input()
        })
        .unwrap();
        assert_eq!(article.title, "Scoredraw late");
    }

    #[test]
    fn key_prefers_external_id_then_url() {
        let with_url = ArticleInput {
            url: Some("https://example.org/a".into()),
            ..input()
        };
        assert_eq!(
            NewArticle::parse(with_url).unwrap().ingest_key().unwrap(),
            "url:https://example.org/a"
        );
        let with_both = ArticleInput {
            url: Some("https://example.org/a".into()),
            external_id: Some("wire-7".into()),
            ..input()
        };
        assert_eq!(NewArticle::parse(with_both).unwrap().ingest_key().unwrap(), "id:wire-7");
    }

    #[test]
    fn hash_changes_with_content_only() {
        let a = NewArticle::parse(input()).unwrap();
        let b = NewArticle::parse(input()).unwrap();
        assert_eq!(a.content_hash(), b.content_hash());
        let c = NewArticle::parse(ArticleInput {
            body: Some("Changed.".into()),
            ..input()
        })
        .unwrap();
        assert_ne!(a.content_hash(), c.content_hash());
    }
}
