//! A section of the site: Football, Boxing, Volleyball and Handball.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct Section {
    pub id: i64,
    pub name: String,
    pub slug: String,
    /// Its published articles (scheduled ones are not counted until due).
    pub article_count: i64,
    pub latest_at: Option<DateTime<Utc>>,
    /// Shown on its page and in its feed.
    pub description: Option<String>,
    /// Its place in the navigation, set by an admin; unplaced sections
    /// follow the placed ones, by slug.
    pub position: Option<i64>,
    /// Left out of the navigation and the front page; its page and feed
    /// still answer.
    pub hidden: bool,
}
