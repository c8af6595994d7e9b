//! The write path: every article, whatever its origin, is decoded,
//! validated, rendered and stored here, so the rules for identity,
//! de-duplication and tombstones live in one place.

pub mod decode;
pub mod import;

use serde::Serialize;
use sqlx::SqliteConnection;

use crate::domain::article::url_ingest_key;
use crate::domain::listing::article_path;
use crate::domain::slug::slugify_or;
use crate::domain::{NewArticle, body};
use crate::error::{AppError, ErrorBody};
use crate::store::{self, Db, articles::ArticleRow};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SaveStatus {
    Created,
    Updated,
    Unchanged,
}

/// What the write path did with one article.
#[derive(Debug, Clone, Serialize)]
pub struct Saved {
    pub id: i64,
    pub status: SaveStatus,
    /// The path of the article's page.
    pub url: String,
}

/// One entry of a batch's answer, in the order of the request.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum BatchItem {
    Saved {
        index: usize,
        #[serde(flatten)]
        saved: Saved,
    },
    Failed {
        index: usize,
        status: &'static str,
        error: ErrorBody,
    },
}

impl SaveStatus {
    fn label(self) -> &'static str {
        match self {
            SaveStatus::Created => "created",
            SaveStatus::Updated => "updated",
            SaveStatus::Unchanged => "unchanged",
        }
    }
}

/// Counts ingest outcomes for /metrics.
fn count(outcome: &Result<Saved, AppError>) {
    let label = match outcome {
        Ok(saved) => saved.status.label(),
        Err(_) => "error",
    };
    metrics::counter!("gazette_ingest_articles_total", "status" => label).increment(1);
}

/// Decodes, validates and stores one JSON article.
pub async fn ingest_one(db: &Db, json: &[u8]) -> Result<Saved, AppError> {
    let outcome = match decode::article(json) {
        Ok(article) => save_one(db, &article).await,
        Err(err) => Err(err),
    };
    count(&outcome);
    outcome
}

/// Decodes and stores a batch (a JSON array, or NDJSON).
pub async fn ingest_batch(db: &Db, body: &[u8], ndjson: bool) -> Result<Vec<BatchItem>, AppError> {
    let items = decode::batch(body, ndjson)?;
    save_batch(db, items).await
}

/// Stores one article in its own transaction.
pub async fn save_one(db: &Db, article: &NewArticle) -> Result<Saved, AppError> {
    let mut tx = db.writer.begin().await?;
    let saved = save(&mut tx, article, store::now_unix()).await?;
    tx.commit().await?;
    if saved.status != SaveStatus::Unchanged {
        db.changed();
    }
    Ok(saved)
}

/// Stores every valid article of a batch in one transaction; invalid or
/// refused items are reported in place and store nothing.
pub async fn save_batch(db: &Db, items: Vec<Result<NewArticle, AppError>>) -> Result<Vec<BatchItem>, AppError> {
    let now = store::now_unix();
    let mut tx = db.writer.begin().await?;
    let mut results = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let outcome = match item {
            Ok(article) => save(&mut tx, &article, now).await,
            Err(err) => Err(err),
        };
        count(&outcome);
        results.push(match outcome {
            Ok(saved) => BatchItem::Saved { index, saved },
            // A storage failure is not the item's fault: abandon the whole
            // transaction rather than report a half-stored batch.
            Err(err @ (AppError::Database(_) | AppError::Internal(_))) => return Err(err),
            Err(err) => BatchItem::Failed {
                index,
                status: "error",
                error: err.body(),
            },
        });
    }
    tx.commit().await?;
    db.changed();
    Ok(results)
}

/// Deletes an article, leaving a tombstone of its key.
pub async fn delete(db: &Db, id: i64) -> Result<(), AppError> {
    let mut tx = db.writer.begin().await?;
    if !store::articles::delete(&mut tx, id, store::now_unix()).await? {
        return Err(AppError::NotFound("article"));
    }
    tx.commit().await?;
    db.changed();
    Ok(())
}

/// Identity rules: a key seen before is updated in place (or reported
/// unchanged); a tombstoned key is refused; no key means a new article.
async fn save(conn: &mut SqliteConnection, article: &NewArticle, now: i64) -> Result<Saved, AppError> {
    let key = article.ingest_key();
    let url_key = article.url_key();
    let hash = article.content_hash();
    let url_tombstone = url_key.as_deref().map(url_ingest_key);
    for tombstone in [&key, &url_tombstone].into_iter().flatten() {
        if store::articles::is_tombstoned(conn, tombstone).await? {
            return Err(AppError::Deleted);
        }
    }
    // Its own key first; else the same story known by its URL.
    let existing = match &key {
        Some(key) => store::articles::find_by_key(conn, key).await?,
        None => None,
    };
    if existing.is_none()
        && let Some(url_key) = &url_key
        && let Some(same_story) = store::articles::find_by_url_key(conn, url_key).await?
    {
        // The same story from another sender (a second feed, or a feed and
        // the API): the first version stands. Updating it would make two
        // feeds move it back and forth between their sections on every poll.
        return Ok(Saved {
            id: same_story.id,
            status: SaveStatus::Unchanged,
            url: article_path(same_story.id, &same_story.slug),
        });
    }
    if let Some(existing) = &existing
        && existing.content_hash == hash
    {
        return Ok(Saved {
            id: existing.id,
            status: SaveStatus::Unchanged,
            url: article_path(existing.id, &existing.slug),
        });
    }

    let section_slug = slugify_or(&article.section, "section");
    let section_id = store::sections::ensure(conn, &article.section, &section_slug, now).await?;
    let slug = slugify_or(&article.title, "article");
    let body_html = article.body_html();
    let body_text = body::plain_text(&body_html);
    let author_slug = article.author.as_deref().map(|a| slugify_or(a, "author"));
    let tags = tag_slugs(&article.tags);
    let tags_json = serde_json::to_string(&article.tags).map_err(anyhow::Error::from)?;
    let row = ArticleRow {
        section_id,
        ingest_key: key.as_deref(),
        url_key: url_key.as_deref(),
        external_id: article.external_id.as_deref(),
        url: article.url.as_deref(),
        slug: &slug,
        title: &article.title,
        summary: article.summary.as_deref(),
        author: article.author.as_deref(),
        source: article.source.as_deref(),
        body_format: article.body_format.as_str(),
        body: &article.body,
        body_html: &body_html,
        body_text: &body_text,
        word_count: body::word_count(&body_text) as i64,
        author_slug: author_slug.as_deref(),
        tags: &tags,
        image_url: article.image_url.as_deref(),
        image_caption: article.image_caption.as_deref(),
        tags_json: &tags_json,
        published_at: article.published_at.map(|t| t.timestamp()),
        content_hash: &hash,
        now,
    };
    let (id, status) = match existing {
        Some(existing) => {
            store::articles::update(conn, existing.id, &row).await?;
            (existing.id, SaveStatus::Updated)
        }
        None => (store::articles::insert(conn, &row).await?, SaveStatus::Created),
    };
    Ok(Saved {
        id,
        status,
        url: article_path(id, &slug),
    })
}

/// Each tag with its slug; tags that slugify alike are one tag, named as
/// first given.
fn tag_slugs(tags: &[String]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(tags.len());
    for tag in tags {
        let slug = slugify_or(tag, "tag");
        if !out.iter().any(|(s, _)| *s == slug) {
            out.push((slug, tag.clone()));
        }
    }
    out
}
