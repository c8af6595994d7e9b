//! The read-side shapes of articles: the full article and the card a
//! listing shows, plus the keyset cursor that pages listings.

use chrono::{DateTime, Utc};

/// An article as stored, ready to display.
#[derive(Debug, Clone)]
pub struct Article {
    pub id: i64,
    pub section_id: i64,
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub author: Option<String>,
    pub source: Option<String>,
    pub url: Option<String>,
    pub external_id: Option<String>,
    pub body_format: String,
    pub body_html: String,
    pub word_count: i64,
    pub image_url: Option<String>,
    pub image_caption: Option<String>,
    pub tags: Vec<String>,
    pub section_name: String,
    pub section_slug: String,
    pub published_at: DateTime<Utc>,
    /// The later date its feed claimed, when the article was placed at the
    /// time it was fetched instead (see migration 0006).
    pub claimed_published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Article {
    /// The path of the article's page.
    pub fn path(&self) -> String {
        article_path(self.id, &self.slug)
    }
}

/// What a listing shows of an article.
#[derive(Debug, Clone)]
pub struct ArticleCard {
    pub id: i64,
    pub section_id: i64,
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub author: Option<String>,
    pub image_url: Option<String>,
    pub section_name: String,
    pub section_slug: String,
    pub published_at: DateTime<Utc>,
}

impl ArticleCard {
    pub fn path(&self) -> String {
        article_path(self.id, &self.slug)
    }

    /// Where the listing continues after this card.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            published_at: self.published_at.timestamp(),
            id: self.id,
        }
    }
}

/// The path of an article's page: `/articles/{id}/{slug}`.
pub fn article_path(id: i64, slug: &str) -> String {
    format!("/articles/{id}/{slug}")
}

/// A position in a newest-first listing: everything strictly older than
/// (published_at, id). Keyset paging stays fast at any depth, where
/// OFFSET would scan every row it skips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub published_at: i64,
    pub id: i64,
}

impl Cursor {
    /// The start of a listing: newer than anything stored.
    pub const START: Cursor = Cursor {
        published_at: i64::MAX,
        id: i64::MAX,
    };

    pub fn encode(&self) -> String {
        format!("{}.{}", self.published_at, self.id)
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let (time, id) = text.split_once('.')?;
        Some(Cursor {
            published_at: time.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

/// One page of a listing and where the next one starts.
#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<ArticleCard>,
    pub next: Option<Cursor>,
}

/// Converts stored unix seconds; out-of-range values (never written by
/// Gazette) fall back to the epoch rather than failing a page.
pub fn from_unix(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn cursor_round_trips_and_rejects_junk() {
        let cursor = Cursor {
            published_at: 1_718_000_000,
            id: 42,
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for junk in ["", "12", "a.b", "1.2.3", "1.", ".1"] {
            assert_eq!(Cursor::decode(junk), None, "{junk}");
        }
    }
}
