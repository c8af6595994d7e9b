//! Full stories from summary-only feeds. The page behind an article is
//! fetched (with the feed fetcher's guards, politely: [`pace`]), its story
//! found ([`extract`], by a site's rule where it has one: [`rules`]) and
//! made the article's body; the feed's own text stays as its summary, and
//! is what the article keeps when the page cannot be had. Pages are
//! fetched by a background worker ([`worker`]) from a queue in the
//! database, one attempt per article at a time across every instance, so
//! polling and ingest never wait for a page.

pub mod extract;
pub mod pace;
pub mod rules;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use crate::domain::article::{MAX_SUMMARY_CHARS, MAX_TITLE_CHARS};
use crate::domain::listing::from_unix;
use crate::domain::{NewArticle, body};
use crate::error::AppError;
use crate::feeds::charset;
use crate::feeds::fetch::{FetchError, Fetched, Fetcher};
use crate::ingest::budget::{MemoryBudget, page_cost};
use crate::store::articles::Shown;
pub use crate::store::page_fetches::PageRequest;
use crate::store::page_fetches::{Attempt, PageFetch, PageJob};
use crate::store::{self, Db};
use extract::Story;
use pace::HostPace;
use rules::{SiteRule, SiteRules};

/// The largest story taken from a page, sanitised: the API's own limit
/// on a body (`--max-body-bytes`' default).
const MAX_STORY_BYTES: usize = 2 * 1024 * 1024;

/// The largest page whose story is looked for: ten times any article
/// page in the public test sets (the largest there are about 1.2 MB), and
/// its extraction (about 28 times its size: [`page_cost`]) fits the
/// default memory budget with room to spare.
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// How long a fetched page waits for room in the memory budget before the
/// attempt is given up (and made again later).
const BUDGET_WAIT: Duration = Duration::from_secs(20);

/// Attempts at one page before its article keeps the feed's text for good.
pub const MAX_ATTEMPTS: i64 = 4;

/// How long after a failed attempt the next is made, by attempts so far:
/// a host that was down or busy is given time, not hammered.
fn retry_delay(attempts: i64) -> Duration {
    match attempts {
        ..=1 => Duration::from_secs(5 * 60),
        2 => Duration::from_secs(30 * 60),
        _ => Duration::from_secs(3 * 60 * 60),
    }
}

/// An article's full content, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FullContentView {
    /// "pending", "done" or "failed".
    pub state: String,
    /// Why the last attempt failed: `http_404`, `timeout`, `too_large`,
    /// `not_html`, `no_story`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub attempts: i64,
    /// When the next attempt is made, while one is planned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<String>,
}

impl From<PageFetch> for FullContentView {
    fn from(fetch: PageFetch) -> Self {
        FullContentView {
            state: fetch.state,
            reason: fetch.reason,
            attempts: fetch.attempts,
            next_attempt_at: fetch.next_attempt_at.map(|t| from_unix(t).to_rfc3339()),
            fetched_at: fetch.fetched_at.map(|t| from_unix(t).to_rfc3339()),
        }
    }
}

/// Where an article's full content stands, if it was ever asked for.
pub async fn status(db: &Db, article_id: i64) -> Result<Option<FullContentView>, AppError> {
    Ok(store::page_fetches::get(&db.reader, article_id).await?.map(Into::into))
}

/// Asks for the pages of a feed's new or changed articles, and wakes the
/// worker.
pub async fn request(db: &Db, feed_id: i64, pages: &[PageRequest]) -> Result<(), AppError> {
    if pages.is_empty() {
        return Ok(());
    }
    let now = store::now_unix();
    db.writer
        .transaction(async |conn| {
            for page in pages {
                store::page_fetches::request(conn, page, Some(feed_id), now).await?;
            }
            Ok::<_, sqlx::Error>(())
        })
        .await?;
    worker::wake();
    Ok(())
}

/// What fetches pages and makes their stories articles' bodies.
pub struct PageFetcher {
    fetcher: Arc<Fetcher>,
    rules: SiteRules,
    pace: HostPace,
    /// Where the memory finding a story takes is reserved, beside batches
    /// and feeds (`--memory-budget`).
    budget: MemoryBudget,
}

/// How one attempt ended.
#[derive(Debug)]
enum Outcome {
    Done,
    /// The article keeps its text: why, and whether to try again (after
    /// at least the wait a host asked for).
    Failed {
        reason: String,
        retry: bool,
        retry_after: Option<Duration>,
    },
    /// The article is gone.
    Gone,
}

impl PageFetcher {
    pub fn new(fetcher: Arc<Fetcher>, rules: SiteRules, pace: Duration, budget: MemoryBudget) -> Self {
        PageFetcher {
            fetcher,
            rules,
            pace: HostPace::new(pace),
            budget,
        }
    }

    /// Fetches an article's page now, for an admin or API client, and
    /// says how it went. The attempt is claimed like the worker's, so a
    /// page is never fetched twice at once.
    pub async fn fetch_now(&self, db: &Db, article_id: i64) -> Result<FullContentView, AppError> {
        let article = store::articles::get(&db.reader, article_id, Shown::WithScheduled)
            .await?
            .ok_or(AppError::NotFound("article"))?;
        let url = article
            .url
            .clone()
            .ok_or_else(|| AppError::invalid("url", "the article has no link to fetch its story from"))?;
        let now = store::now_unix();
        let page = PageRequest {
            article_id,
            url: url.clone(),
            fill_title: false,
            fill_date: false,
        };
        let claimed = db
            .writer
            .transaction(async |conn| {
                store::page_fetches::request(conn, &page, None, now).await?;
                store::page_fetches::claim(conn, article_id, now, worker::LEASE_SECS).await
            })
            .await?;
        // The claim holds what a feed asked of the page before, if it did.
        let Some(job) = claimed else {
            return Err(AppError::Conflict(
                "the story's page is being fetched already".to_owned(),
            ));
        };
        let host = Url::parse(&job.url).ok().and_then(|u| u.host_str().map(str::to_owned));
        let turn = self.pace.wait_turn(host.as_deref().unwrap_or_default()).await;
        self.attempt(db, &job, turn).await?;
        status(db, article_id).await?.ok_or(AppError::NotFound("article"))
    }

    /// Makes one attempt at a claimed page and records it.
    async fn attempt(&self, db: &Db, job: &PageJob, turn: pace::Turn) -> Result<(), AppError> {
        let outcome = self.fetch_and_store(db, job).await;
        let retry_after = match &outcome {
            Ok(Outcome::Failed { retry_after, .. }) => *retry_after,
            _ => None,
        };
        turn.finish(retry_after);
        let now = store::now_unix();
        let (reason, retry, wait) = match outcome {
            Ok(Outcome::Done) => {
                metrics::counter!("gazette_full_content_total", "result" => "done").increment(1);
                return Ok(());
            }
            // Deleted meanwhile: its row went with it.
            Ok(Outcome::Gone) => return Ok(()),
            Ok(Outcome::Failed {
                reason,
                retry,
                retry_after,
            }) => (reason, retry, retry_after),
            // The store failed: the page is tried again, as a host that
            // was down would be.
            Err(err) => {
                tracing::warn!(article = job.article_id, error = %err, "cannot store a fetched story");
                ("storage".to_owned(), true, None)
            }
        };
        metrics::counter!("gazette_full_content_total", "result" => "failed").increment(1);
        let attempts = job.attempts + 1;
        let next = (retry && attempts < MAX_ATTEMPTS).then(|| {
            let delay = retry_delay(attempts).max(wait.unwrap_or_default());
            now + delay.as_secs() as i64
        });
        tracing::info!(article = job.article_id, url = %job.url, %reason, attempts, "full story not fetched");
        let attempt = Attempt {
            article_id: job.article_id,
            now,
            state: "failed",
            reason: Some(&reason),
            next_attempt_at: next,
        };
        db.writer
            .transaction(async |conn| store::page_fetches::record(conn, &attempt).await)
            .await?;
        Ok(())
    }

    async fn fetch_and_store(&self, db: &Db, job: &PageJob) -> Result<Outcome, AppError> {
        let failed = |reason: &str, retry: bool, retry_after: Option<Duration>| {
            Ok(Outcome::Failed {
                reason: reason.to_owned(),
                retry,
                retry_after,
            })
        };
        let Ok(url) = Url::parse(&job.url) else {
            return failed("bad_url", false, None);
        };
        let feed_rule = match job.feed_id {
            Some(feed) => store::feeds::get(&db.reader, feed)
                .await?
                .and_then(|feed| SiteRule::from_stored(feed.extraction.as_deref())),
            None => None,
        };
        let rule = feed_rule.as_ref().or_else(|| self.rules.for_url(&url)).cloned();
        let headers: Vec<(String, String)> = rule
            .as_ref()
            .map(|r| r.headers.clone().into_iter().collect())
            .unwrap_or_default();
        let (bytes, content_type, final_url, room) = match self.fetcher.fetch_page(&url, &headers).await {
            Ok(Fetched::Body {
                bytes,
                content_type,
                final_url,
                room,
                ..
            }) => (bytes, content_type, final_url, room),
            Ok(Fetched::NotModified { .. }) => return failed("http_304", true, None),
            Err(err) => {
                let (reason, retry) = reason_of(&err);
                return failed(&reason, retry, err.retry_after());
            }
        };
        if !is_html(content_type.as_deref()) {
            return failed("not_html", false, None);
        }
        if bytes.len() > MAX_PAGE_BYTES {
            return failed("too_large", false, None);
        }
        // The page's room covers its document too: the fetch's own goes.
        let Some(extracting) = self.budget.reserve(page_cost(bytes.len() as u64), BUDGET_WAIT).await else {
            metrics::counter!("gazette_memory_budget_refused_total").increment(1);
            return failed("busy", true, None);
        };
        drop(room);
        // The page's rule is that of where it ended up, after redirects.
        let rule = rule.or_else(|| self.rules.for_url(&final_url).cloned());
        let page_url = final_url.clone();
        let found = tokio::task::spawn_blocking(move || {
            let html = charset::html_to_string(&bytes, content_type.as_deref());
            drop(bytes);
            extract::extract(&html, &page_url, rule.as_ref())
        })
        .await
        .map_err(anyhow::Error::from)?;
        drop(extracting);
        let story = match found {
            Ok(story) => story,
            Err(err) => return failed(err.reason(), false, None),
        };
        let Some(article) = store::articles::get(&db.reader, job.article_id, Shown::WithScheduled).await? else {
            return Ok(Outcome::Gone);
        };
        let update = match story_update(article, story, final_url, job) {
            Ok(update) => update,
            Err(reason) => return failed(reason, false, None),
        };
        let attempt = Attempt {
            article_id: job.article_id,
            now: store::now_unix(),
            state: "done",
            reason: None,
            next_attempt_at: None,
        };
        Ok(
            match crate::ingest::replace_body(db, job.article_id, update, &attempt).await? {
                true => Outcome::Done,
                false => Outcome::Gone,
            },
        )
    }
}

/// The article with its page's story as its body; refused (with the
/// reason the article shows) when the story is no longer than what the
/// article shows already (a teaser page, a cookie wall, or the feed
/// carried the whole story), or larger than any body may be. The feed's text
/// becomes the summary where the feed gave none; the page's byline and
/// lead image fill only what the feed left empty, and its title and date
/// only where the feed's entry had none (`job`).
fn story_update(
    article: crate::domain::Article,
    story: Story,
    page_url: Url,
    job: &PageJob,
) -> Result<NewArticle, &'static str> {
    let shown_text = body::plain_text(&article.body_html);
    let story_html = body::sanitize_with_base(&extract::without_headline(&story.html, &article.title), &page_url);
    if story_html.len() > MAX_STORY_BYTES {
        return Err("too_large");
    }
    if body::word_count(&body::plain_text(&story_html)) <= body::word_count(&shown_text) {
        return Err("no_story");
    }
    let summary = article
        .summary
        .or_else(|| Some(cut(&shown_text, MAX_SUMMARY_CHARS)).filter(|s| !s.is_empty()));
    let title = story
        .title
        .filter(|t| job.fill_title && !t.trim().is_empty())
        .map(|t| cut(&t, MAX_TITLE_CHARS))
        .unwrap_or(article.title);
    // A date in the future is a broken clock, as it is in a feed.
    let published_at = story
        .published
        .filter(|t| job.fill_date && *t <= chrono::Utc::now())
        .or(Some(article.published_at));
    Ok(NewArticle {
        title,
        section: article.section_name,
        body: story_html,
        body_format: crate::domain::article::BodyFormat::Html,
        summary,
        author: article.author.or(story.byline.map(|b| cut(&b, 200))),
        source: article.source,
        url: article.url,
        external_id: article.external_id,
        image_url: article.image_url.or(story.image.filter(|i| i.starts_with("http"))),
        image_caption: article.image_caption,
        tags: article.tags,
        published_at,
        claimed_published_at: article.claimed_published_at,
        base_url: Some(page_url),
    })
}

/// At most `max` characters of `text`, cut at a word with an ellipsis.
fn cut(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    let kept = kept.rsplit_once(' ').map_or(kept.as_str(), |(head, _)| head);
    format!("{kept}…")
}

fn is_html(content_type: Option<&str>) -> bool {
    content_type.is_none_or(|t| {
        let t = t.to_ascii_lowercase();
        t.starts_with("text/html") || t.starts_with("application/xhtml")
    })
}

/// The reason an article shows for a failed fetch, and whether it is
/// worth trying again.
fn reason_of(err: &FetchError) -> (String, bool) {
    match err {
        FetchError::Status { status, .. } => (
            format!("http_{status}"),
            matches!(status, 408 | 425 | 429) || *status >= 500,
        ),
        FetchError::Timeout(_) => ("timeout".to_owned(), true),
        FetchError::TooLarge(_) => ("too_large".to_owned(), false),
        FetchError::PrivateAddress(_) => ("private_address".to_owned(), false),
        FetchError::RedirectLoop(_) | FetchError::TooManyRedirects => ("redirects".to_owned(), false),
        FetchError::BadUrl(_) => ("bad_url".to_owned(), false),
        FetchError::Network(_) => ("network".to_owned(), true),
        FetchError::Busy => ("busy".to_owned(), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_is_cut_at_a_word() {
        assert_eq!(cut("one two three", 100), "one two three");
        assert_eq!(cut("one two three four", 10), "one two…");
    }

    #[test]
    fn failures_worth_retrying_are_told_from_the_rest() {
        let status = |status| FetchError::Status {
            status,
            retry_after: None,
        };
        assert_eq!(reason_of(&status(404)), ("http_404".to_owned(), false));
        assert_eq!(reason_of(&status(503)), ("http_503".to_owned(), true));
        assert_eq!(reason_of(&status(429)), ("http_429".to_owned(), true));
        assert!(!reason_of(&FetchError::TooLarge(1)).1);
        assert!(reason_of(&FetchError::Timeout(Duration::from_secs(1))).1);
    }
}
