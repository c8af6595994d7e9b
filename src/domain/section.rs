//! A section of the site: Football, Boxing, Volleyball and Handball.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct Section {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub article_count: i64,
    pub latest_at: Option<DateTime<Utc>>,
}
