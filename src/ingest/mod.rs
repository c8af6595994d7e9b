//! The write path: every article, whatever its origin, is decoded,
//! validated, rendered and stored here, so the rules for identity,
//! de-duplication and tombstones live in one place.

pub mod budget;
pub mod decode;
mod group_commit;
pub mod import;
pub(crate) mod workers;

pub use group_commit::GroupCommit;

use std::collections::{HashSet, VecDeque};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;
use serde::Serialize;

use crate::domain::article::url_ingest_key;
use crate::domain::listing::article_path;
use crate::domain::slug::slugify_or;
use crate::domain::{NewArticle, Section, body};
use crate::error::{AppError, ErrorBody};
use crate::rules;
use crate::store::articles::{ArticleRow, Derived, Existing, NewRow};
use crate::store::topics::Topic;
use crate::store::{self, Db};

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
    /// Set when the article is dated in the future: it is scheduled, and
    /// shown nowhere on the site until this time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<String>,
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
    /// A site rule kept it out (`status` is "filtered").
    Filtered {
        index: usize,
        status: &'static str,
        rule: String,
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
        Err(AppError::Filtered { .. }) => "filtered",
        Err(_) => "error",
    };
    metrics::counter!("gazette_ingest_articles_total", "status" => label).increment(1);
}

/// Decodes, validates and stores one JSON article, committed together
/// with any others sent at the same moment (see [`GroupCommit`]).
pub async fn ingest_one(commits: &Arc<GroupCommit>, json: &[u8]) -> Result<Saved, AppError> {
    let outcome = match decode::article(json) {
        Ok(article) => admit_and_save(commits, article).await,
        Err(err) => Err(err),
    };
    count(&outcome);
    outcome
}

/// Runs the site's rules over one article, then stores what they admit.
async fn admit_and_save(commits: &Arc<GroupCommit>, article: NewArticle) -> Result<Saved, AppError> {
    let db = commits.db();
    let rule_set = rules::current(db).await?;
    let aliases = store::sections::aliases(db).await?;
    let mut acted = Vec::new();
    let outcome = match admit(&rule_set, &aliases, article, &mut acted) {
        Ok(article) => commits.save(Prepared::new(article)?).await,
        Err(filtered) => Err(filtered),
    };
    if matches!(outcome, Ok(_) | Err(AppError::Filtered { .. })) {
        rules::record(db, &acted).await;
    }
    outcome
}

/// Files an article under the section its name leads to now (see
/// [`crate::sections::file`]), before the site's rules see it and after
/// they filed it.
fn admit(
    rule_set: &rules::set::RuleSet,
    aliases: &std::collections::HashMap<String, store::sections::Alias>,
    mut article: NewArticle,
    acted: &mut Vec<i64>,
) -> Result<NewArticle, AppError> {
    crate::sections::file(aliases, &mut article);
    let mut article = rules::admit(rule_set, article, acted)?;
    crate::sections::file(aliases, &mut article);
    Ok(article)
}

/// Decodes and stores a batch (a JSON array, or NDJSON).
pub async fn ingest_batch(db: &Db, body: Vec<u8>, ndjson: bool) -> Result<Vec<BatchItem>, AppError> {
    // Where each item is, checked before anything is stored: a malformed
    // array, an empty batch or one of too many items fails as a whole.
    let (body, spans) =
        tokio::task::spawn_blocking(move || decode::batch_spans(&body, ndjson).map(|spans| (body, spans)))
            .await
            .map_err(anyhow::Error::from)??;
    // Each item is decoded only when its turn to be prepared comes: the
    // request's bytes are the only whole copy of the batch in memory.
    let steps_at_once = if body.len() <= SHORT_BATCH_BYTES {
        1
    } else {
        workers::WORKERS
    };
    let items = spans.into_iter().map(move |span| decode::item(&body, span));
    save_batch_with(db, items, steps_at_once).await
}

/// How much input one step of a batch carries. A batch is prepared and
/// written a step at a time, in one transaction: steps are written while
/// the next ones are prepared, so a batch holds a few steps in memory
/// whatever its size (it held all of them: ten times its request in
/// memory for a batch of long articles).
pub(crate) const STEP_BYTES: usize = 1024 * 1024;

/// About the size of an article as sent: what a step is measured in.
fn input_size(article: &NewArticle) -> usize {
    article.body.len() + article.title.len() + article.summary.as_ref().map_or(0, String::len)
}

/// Stores every valid article of a batch in one transaction, in order;
/// invalid or refused items are reported in place and store nothing. The
/// answer has an entry for every item.
///
/// Rendering and sanitising is the costly part, so the writer is taken
/// only once a batch is prepared as far as its memory allows: a batch that
/// was read to its end while its first step was prepared (a few steps, most
/// batches) is prepared whole first and holds the writer only to write, as
/// it always did; a longer one takes the writer after its first step and
/// holds it while its later steps are prepared, on two threads, beside the
/// writes. Holding the steps of a short batch costs nothing more: they are
/// the steps in flight its reservation already counts
/// ([`budget::batch_cost`]).
pub async fn save_batch<I>(db: &Db, items: I) -> Result<Vec<BatchItem>, AppError>
where
    I: IntoIterator<Item = Result<NewArticle, AppError>>,
    I::IntoIter: Send + 'static,
{
    save_batch_with(db, items, workers::WORKERS).await
}

/// A batch of at most this much input (a few steps: most batches) is
/// prepared a step at a time, on one preparing thread. The writer is busy
/// with another sender's batch meanwhile, so a short batch split over both
/// threads made no time, and the other sender's next batch waited for a
/// thread while the writer went idle (batches of short articles at 100k:
/// 0.86-1.02x of before the memory budget this way, mean 0.94; 0.82-0.93
/// with both threads; docs/BENCHMARKS.md). A longer batch keeps both, as
/// its preparation is what the writer waits for.
const SHORT_BATCH_BYTES: usize = 4 * STEP_BYTES;

async fn save_batch_with<I>(db: &Db, items: I, steps_at_once: usize) -> Result<Vec<BatchItem>, AppError>
where
    I: IntoIterator<Item = Result<NewArticle, AppError>>,
    I::IntoIter: Send + 'static,
{
    let items = items.into_iter();
    // The site's rules, as they are when the batch starts, run on the
    // preparing threads; what they did is counted once it is committed.
    let rule_set = rules::current(db).await?;
    let aliases = store::sections::aliases(db).await?;
    let acted: Arc<std::sync::Mutex<Vec<i64>>> = Arc::default();
    // Decoding is cheap and in order: one thread reads the items into
    // steps of about STEP_BYTES of input.
    let (steps, decoded) = tokio::sync::mpsc::channel::<Vec<Result<NewArticle, AppError>>>(1);
    let read_all = Arc::new(AtomicBool::new(false));
    let reader_done = Arc::clone(&read_all);
    let mut reading = tokio::task::spawn_blocking(move || {
        let mut step = Vec::new();
        let mut size = 0;
        let mut count = 0;
        for item in items {
            size += item.as_ref().map_or(0, input_size);
            step.push(item);
            count += 1;
            if size >= STEP_BYTES {
                if steps.blocking_send(std::mem::take(&mut step)).is_err() {
                    // The write failed and nothing will be stored.
                    return count;
                }
                size = 0;
            }
        }
        reader_done.store(true, Ordering::Release);
        if !step.is_empty() {
            let _ = steps.blocking_send(step);
        }
        count
    });
    // Rendering and sanitising, the costly part, runs on the preparing
    // threads beside the writes; the steps come out in order.
    let mut ready = Box::pin(
        futures_util::stream::unfold(decoded, |mut decoded| async move {
            let step = decoded.recv().await?;
            Some((step, decoded))
        })
        .map({
            let acted = Arc::clone(&acted);
            move |step| {
                let (rule_set, aliases, acted) = (Arc::clone(&rule_set), Arc::clone(&aliases), Arc::clone(&acted));
                workers::run(move || {
                    let mut mine = Vec::new();
                    let prepared = step
                        .into_iter()
                        .map(|item| {
                            item.and_then(|article| admit(&rule_set, &aliases, article, &mut mine))
                                .and_then(Prepared::new)
                        })
                        .collect::<Vec<_>>();
                    acted.lock().unwrap_or_else(|p| p.into_inner()).extend(mine);
                    prepared
                })
            }
        })
        .buffered(steps_at_once.max(1)),
    );
    let mut next_step = async || ready.next().await.transpose();
    let mut ahead = VecDeque::new();
    while let Some(step) = next_step().await? {
        ahead.push_back(step);
        if !read_all.load(Ordering::Acquire) {
            break;
        }
    }
    // The sections every page names before the write: an article in any
    // other changes every page's navigation. Unknown, if it cannot be read.
    let shown = store::sections::list(db).await.ok();
    let writing = db.placing.ingest_writing();
    let stored = db
        .writer
        .transaction(async |conn| {
            let mut stored: Vec<(Option<CacheNote>, Result<Saved, AppError>)> = Vec::new();
            loop {
                // The steps prepared before the writer was taken are
                // written as one group: each statement that writes to
                // SQLite's search index first writes out the terms the one
                // before left pending as a segment of their own, so a short
                // batch written a step at a time made three segments where
                // it made one (and later merges read and wrote them again).
                // Its statements stay bounded ([`STATEMENT_BYTES`]).
                let items: Vec<_> = if ahead.is_empty() {
                    match next_step().await? {
                        Some(items) => items,
                        None => break,
                    }
                } else {
                    ahead.drain(..).flatten().collect()
                };
                let mut valid = Vec::with_capacity(items.len());
                let places: Vec<Result<usize, AppError>> = items
                    .into_iter()
                    .map(|item| {
                        item.map(|article| {
                            valid.push(article);
                            valid.len() - 1
                        })
                    })
                    .collect();
                let mut outcomes: Vec<Option<Result<Saved, AppError>>> =
                    write_group(conn, &valid).await?.into_iter().map(Some).collect();
                for place in places {
                    stored.push(match place {
                        Ok(at) => (
                            valid.get(at).map(Prepared::cache_note),
                            outcomes.get_mut(at).and_then(Option::take).unwrap_or_else(|| {
                                Err(AppError::Internal(anyhow::anyhow!(
                                    "article {at} of a step has no outcome"
                                )))
                            }),
                        ),
                        Err(err) => (None, Err(err)),
                    });
                }
            }
            // The steps ended because every item was read, not because
            // reading stopped half-way (a panic): only then commit.
            let read = (&mut reading).await.map_err(anyhow::Error::from)?;
            if read != stored.len() {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "{read} articles read, {} written",
                    stored.len()
                )));
            }
            Ok::<_, AppError>(stored)
        })
        .await?;
    drop(writing);
    metrics::counter!("gazette_ingest_commits_total").increment(1);
    committed(db, &stored, shown.as_deref());
    let acted = std::mem::take(&mut *acted.lock().unwrap_or_else(|p| p.into_inner()));
    rules::record(db, &acted).await;
    Ok(stored
        .into_iter()
        .enumerate()
        .map(|(index, (_, outcome))| {
            count(&outcome);
            match outcome {
                Ok(saved) => BatchItem::Saved { index, saved },
                Err(AppError::Filtered { rule, .. }) => BatchItem::Filtered {
                    index,
                    status: "filtered",
                    rule,
                },
                Err(err) => BatchItem::Failed {
                    index,
                    status: "error",
                    error: err.body(),
                },
            }
        })
        .collect())
}

/// Replaces a stored story's body with `story`'s (the full story found on
/// its page) and records the `attempt` that found it, in one transaction.
/// The body is rendered and sanitised like every other, searched by its
/// own words, and told to the caches as an edit; the story's keys and
/// content hash stay the sender's, so its feed's next poll finds it
/// unchanged. Its title and date are `story`'s (the sender's, or the
/// page's where the sender gave none); a date of `None` keeps the stored
/// one. False when the article is gone.
pub async fn replace_body(
    db: &Db,
    id: i64,
    story: NewArticle,
    attempt: &store::page_fetches::Attempt<'_>,
) -> Result<bool, AppError> {
    let (prepared, print) = workers::run(move || {
        let prepared = Prepared::new(story)?;
        let print = prepared.fingerprint();
        Ok::<_, AppError>((prepared, print))
    })
    .await??;
    let article = &prepared.article;
    let body = store::articles::StoryBody {
        title: &article.title,
        published_at: article.published_at.map(|t| t.timestamp()),
        summary: article.summary.as_deref(),
        author: article.author.as_deref(),
        author_slug: prepared.author_slug.as_deref(),
        image_url: article.image_url.as_deref(),
        body_format: article.body_format.as_str(),
        body_deflated: &prepared.body_deflated,
        body_html: &prepared.body_html,
        word_count: prepared.word_count,
        now: prepared.now,
    };
    let replaced = db
        .writer
        .transaction(async |conn| {
            if !store::articles::replace_body(conn, id, &body).await? {
                return Ok::<_, AppError>(false);
            }
            store::articles::write_derived(conn, &[(id, prepared.derived_json.as_str())], true).await?;
            crate::stories::reprint(conn, id, print.as_ref()).await?;
            store::page_fetches::record(conn, attempt).await?;
            Ok(true)
        })
        .await?;
    if replaced {
        db.changed();
    }
    Ok(replaced)
}

/// Deletes an article, leaving a tombstone of its key.
pub async fn delete(db: &Db, id: i64) -> Result<(), AppError> {
    db.writer
        .transaction(
            async |conn| match store::articles::delete(conn, id, store::now_unix()).await? {
                true => Ok(()),
                false => Err(AppError::NotFound("article")),
            },
        )
        .await?;
    db.changed();
    Ok(())
}

/// What a committed group changed, told to those who keep copies: the
/// caches, and the write health (a new article took fresh space: whatever
/// filled the disk is gone).
///
/// New articles in the sections `shown` before the write name what they
/// touch (their page, section, author, tags and the newest stories); an
/// edit may have moved a story out of any of those, and a new section
/// changes every page's navigation, so either makes every page stale.
fn committed(db: &Db, stored: &[(Option<CacheNote>, Result<Saved, AppError>)], shown: Option<&[Section]>) {
    let is_shown = |slug: &str| shown.is_some_and(|sections| sections.iter().any(|s| s.slug == slug));
    let saved = || {
        stored
            .iter()
            .filter_map(|(note, outcome)| Some((note.as_ref()?, outcome.as_ref().ok()?)))
    };
    let mut created = saved().filter(|(_, s)| s.status == SaveStatus::Created).peekable();
    if created.peek().is_some() {
        db.writer.health().succeeded();
        db.placing.stored();
    }
    if saved().any(|(_, s)| s.status == SaveStatus::Updated)
        || saved().any(|(note, s)| s.status == SaveStatus::Created && !is_shown(&note.section_slug))
    {
        db.changed();
    } else if created.peek().is_some() {
        db.articles_added(
            created
                .flat_map(|(note, saved)| note.topics(saved.id))
                .chain([Topic::Newest]),
        );
    }
}

/// What the caches need to know of a stored article: the pages it is on.
/// A batch keeps this much of each article until its commit, not the
/// article.
#[derive(Debug)]
struct CacheNote {
    section_slug: String,
    author_slug: Option<String>,
    tag_slugs: Vec<String>,
}

impl CacheNote {
    /// The pages a new article with this `id` appears on, besides the lists
    /// of the newest stories.
    fn topics(&self, id: i64) -> impl Iterator<Item = Topic<'_>> {
        [Topic::Article(id), Topic::Section(&self.section_slug), Topic::of_id(id)]
            .into_iter()
            .chain(self.author_slug.as_deref().map(Topic::Author))
            .chain(self.tag_slugs.iter().map(|slug| Topic::Tag(slug)))
    }
}

/// An article made ready to store: everything derived from it that needs
/// no database (identity, digest, rendering, sanitising, compression, and
/// the JSON the store writes), so the writer is held only to write.
#[derive(Debug)]
pub struct Prepared {
    article: NewArticle,
    key: Option<String>,
    url_key: Option<String>,
    /// The tombstone a deletion by URL would have left.
    url_tombstone: Option<String>,
    hash: String,
    section_slug: String,
    slug: String,
    body_html: String,
    /// Cleared once written into `derived_json`: only the JSON is stored.
    body_text: String,
    word_count: i64,
    body_deflated: Vec<u8>,
    author_slug: Option<String>,
    tags: Vec<(String, String)>,
    tags_json: String,
    /// When it was received: its "now" for created and updated times.
    now: i64,
    /// [`ArticleRow`] as JSON.
    row_json: String,
    /// [`Derived`] as JSON.
    derived_json: String,
}

impl Prepared {
    pub fn new(article: NewArticle) -> Result<Self, AppError> {
        let url_key = article.url_key();
        let body_html = article.body_html();
        let mut deflater = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        deflater
            .write_all(article.body.as_bytes())
            .map_err(anyhow::Error::from)?;
        let mut prepared = Prepared {
            key: article.ingest_key(),
            url_tombstone: url_key.as_deref().map(url_ingest_key),
            url_key,
            hash: article.content_hash(),
            section_slug: slugify_or(&article.section, "section"),
            slug: slugify_or(&article.title, "article"),
            body_text: body::plain_text_of(article.body_format, &article.body, &body_html),
            word_count: 0,
            body_html,
            body_deflated: deflater.finish().map_err(anyhow::Error::from)?,
            author_slug: article.author.as_deref().map(|a| slugify_or(a, "author")),
            tags: tag_slugs(&article.tags),
            tags_json: serde_json::to_string(&article.tags).map_err(anyhow::Error::from)?,
            now: store::now_unix(),
            article,
            row_json: String::new(),
            derived_json: String::new(),
        };
        prepared.word_count = body::word_count(&prepared.body_text) as i64;
        prepared.row_json = serde_json::to_string(&prepared.row()).map_err(anyhow::Error::from)?;
        prepared.derived_json = serde_json::to_string(&Derived {
            tags: &prepared.tags,
            body_text: &prepared.body_text,
        })
        .map_err(anyhow::Error::from)?;
        // What the store writes is in the two JSON texts (and, for an
        // update, the row's fields): the sender's body and its text are
        // no longer needed, and a batch holds a thousand of them.
        prepared.body_text = String::new();
        prepared.article.body = String::new();
        Ok(prepared)
    }

    /// When the article is scheduled for: its date, if in the future.
    fn scheduled(&self) -> Option<String> {
        self.article
            .published_at
            .filter(|t| t.timestamp() > self.now)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }

    fn cache_note(&self) -> CacheNote {
        CacheNote {
            section_slug: self.section_slug.clone(),
            author_slug: self.author_slug.clone(),
            tag_slugs: self.tags.iter().map(|(slug, _)| slug.clone()).collect(),
        }
    }

    /// The keys by which this article may already be known.
    fn identities(&self) -> impl Iterator<Item = &str> {
        [&self.key, &self.url_key].into_iter().flatten().map(String::as_str)
    }

    /// Its fingerprint as placing takes it (see `crate::stories`).
    fn fingerprint(&self) -> Option<crate::stories::fingerprint::Fingerprint> {
        let text = crate::stories::whole_text(self.article.summary.as_deref(), &self.body_html);
        crate::stories::fingerprint::Fingerprint::of(&text)
    }

    fn row(&self) -> ArticleRow<'_> {
        let article = &self.article;
        ArticleRow {
            section_slug: &self.section_slug,
            ingest_key: self.key.as_deref(),
            url_key: self.url_key.as_deref(),
            external_id: article.external_id.as_deref(),
            url: article.url.as_deref(),
            slug: &self.slug,
            title: &article.title,
            summary: article.summary.as_deref(),
            author: article.author.as_deref(),
            source: article.source.as_deref(),
            body_format: article.body_format.as_str(),
            body_deflated: &self.body_deflated,
            body_html: &self.body_html,
            word_count: self.word_count,
            author_slug: self.author_slug.as_deref(),
            image_url: article.image_url.as_deref(),
            image_caption: article.image_caption.as_deref(),
            tags_json: &self.tags_json,
            published_at: article.published_at.map(|t| t.timestamp()),
            claimed_published_at: article.claimed_published_at.map(|t| t.timestamp()),
            content_hash: &self.hash,
            now: self.now,
        }
    }
}

/// Stores a group of prepared articles in one transaction, and tells the
/// caches when it changed anything. Every outcome is returned only after
/// the commit that holds it succeeded; `Err` means nothing was stored.
async fn commit_group(db: &Db, items: &[Prepared]) -> Result<Vec<Result<Saved, AppError>>, AppError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let shown = store::sections::list(db).await.ok();
    let outcomes = {
        let _writing = db.placing.ingest_writing();
        db.writer
            .transaction(async |conn| write_group(conn, items).await)
            .await?
    };
    metrics::counter!("gazette_ingest_commits_total").increment(1);
    let stored: Vec<_> = items.iter().map(|item| Some(item.cache_note())).zip(outcomes).collect();
    committed(db, &stored, shown.as_deref());
    Ok(stored.into_iter().map(|(_, outcome)| outcome).collect())
}

/// Stores articles in the open transaction with the outcome of storing
/// them one by one, in order, but in a few statements for the whole group.
///
/// Identity rules: a key seen before is updated in place (or reported
/// unchanged); a tombstoned key is refused; a URL already stored by
/// another sender is the same story, left as first stored; no key means a
/// new article. The group is written in runs: a run ends before an article
/// whose key or URL an earlier one of the run shares, so every article is
/// judged against what the articles before it wrote.
///
/// `Err` means storage failed and the transaction must be abandoned.
async fn write_group(conn: &mut store::Tx<'_>, items: &[Prepared]) -> Result<Vec<Result<Saved, AppError>>, AppError> {
    let mut outcomes = Vec::with_capacity(items.len());
    let mut start = 0;
    while start < items.len() {
        let mut seen = HashSet::new();
        let end = start
            + items[start..]
                .iter()
                .take_while(|item| item.identities().all(|id| seen.insert(id)))
                .count()
                .max(1);
        outcomes.extend(write_run(conn, &items[start..end]).await?);
        start = end;
    }
    Ok(outcomes)
}

/// Stores a run of articles none of which shares a key or URL.
async fn write_run(conn: &mut store::Tx<'_>, run: &[Prepared]) -> Result<Vec<Result<Saved, AppError>>, AppError> {
    let sections: Vec<(&str, &str)> = run
        .iter()
        .map(|p| (p.article.section.as_str(), p.section_slug.as_str()))
        .collect();
    let now = run.first().map_or_else(store::now_unix, |p| p.now);
    store::sections::ensure_many(conn, &sections, now).await?;
    let keys: Vec<&str> = run
        .iter()
        .flat_map(|p| [&p.key, &p.url_tombstone])
        .flatten()
        .map(String::as_str)
        .collect();
    let url_keys: Vec<&str> = run.iter().filter_map(|p| p.url_key.as_deref()).collect();
    let known = store::articles::identities(conn, &keys, &url_keys).await?;

    enum Plan<'a> {
        Done(Result<Saved, AppError>),
        Insert(&'a Prepared),
        Update(i64, &'a Prepared),
    }
    let plans: Vec<Plan> = run
        .iter()
        .map(|item| {
            let refused = [&item.key, &item.url_tombstone]
                .into_iter()
                .flatten()
                .any(|key| known.tombstoned.contains(key));
            let existing = item.key.as_ref().and_then(|key| known.by_key.get(key));
            let same_story = item.url_key.as_ref().and_then(|url| known.by_url.get(url));
            let unchanged = |found: &Existing, scheduled: Option<String>| {
                Plan::Done(Ok(Saved {
                    id: found.id,
                    status: SaveStatus::Unchanged,
                    url: article_path(found.id, &found.slug),
                    scheduled,
                }))
            };
            match (existing, same_story) {
                _ if refused => Plan::Done(Err(AppError::Deleted)),
                // The same story from another sender (a second feed, or a
                // feed and the API): the first version stands. Updating it
                // would make two feeds move it back and forth between their
                // sections on every poll.
                (None, Some(first)) => unchanged(first, None),
                // The same content hash means the same date.
                (Some(existing), _) if existing.content_hash == item.hash => unchanged(existing, item.scheduled()),
                (Some(existing), _) => Plan::Update(existing.id, item),
                (None, None) => Plan::Insert(item),
            }
        })
        .collect();

    let inserts: Vec<&Prepared> = plans
        .iter()
        .filter_map(|plan| match plan {
            Plan::Insert(item) => Some(*item),
            _ => None,
        })
        .collect();
    let rows: Vec<NewRow<'_>> = inserts
        .iter()
        .map(|item| NewRow {
            row_json: &item.row_json,
            derived_json: &item.derived_json,
        })
        .collect();
    let mut new_ids = Vec::with_capacity(rows.len());
    for chunk in by_size(&rows, |r| r.row_json.len() + r.derived_json.len()) {
        new_ids.extend(store::articles::insert_many(conn, chunk).await?);
    }
    let mut updated = Vec::new();
    for plan in &plans {
        if let Plan::Update(id, item) = plan {
            store::articles::update(conn, *id, &item.row()).await?;
            // Updates are few: their fingerprint is taken here rather
            // than for every article on the preparing threads.
            crate::stories::reprint(conn, *id, item.fingerprint().as_ref()).await?;
            updated.push((*id, item.derived_json.as_str()));
        }
    }
    for chunk in by_size(&updated, |(_, derived)| derived.len()) {
        store::articles::write_derived(conn, chunk, true).await?;
    }

    let mut new_ids = new_ids.into_iter();
    Ok(plans
        .into_iter()
        .map(|plan| match plan {
            Plan::Done(outcome) => outcome,
            Plan::Insert(item) => {
                let id = new_ids.next().unwrap_or_default();
                Ok(Saved {
                    id,
                    status: SaveStatus::Created,
                    url: article_path(id, &item.slug),
                    scheduled: item.scheduled(),
                })
            }
            Plan::Update(id, item) => Ok(Saved {
                id,
                status: SaveStatus::Updated,
                url: article_path(id, &item.slug),
                scheduled: item.scheduled(),
            }),
        })
        .collect())
}

/// The most JSON one statement of a group's write carries: about one step
/// of a batch ([`STEP_BYTES`] of input), so a step is written in one
/// statement. Larger, and memory grows: each statement's JSON is copied by
/// sqlx and by SQLite, parsed by SQLite, and kept bound to SQLite's cached
/// statement until its next run (a batch written in one statement cost
/// several times its size, and kept some of it). Smaller, and the writer
/// slows: every statement after one that wrote to SQLite's search index
/// writes the index's pending terms out as a new segment, which later
/// merges read and write again (statements of 1 MiB cost the SQLite
/// threads up to a tenth more work on batches of short articles;
/// docs/BENCHMARKS.md).
const STATEMENT_BYTES: usize = 4 * 1024 * 1024;

/// `items` in runs of at most [`STATEMENT_BYTES`] by `size` (a larger item
/// is a run of its own), in order.
fn by_size<T>(items: &[T], size: impl Fn(&T) -> usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut total = 0;
        let mut end = 0;
        while end < rest.len() && (end == 0 || total + size(&rest[end]) <= STATEMENT_BYTES) {
            total += size(&rest[end]);
            end += 1;
        }
        let (run, after) = rest.split_at(end);
        rest = after;
        Some(run)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_written_in_runs_of_bounded_size_in_order() {
        let mb = STATEMENT_BYTES;
        let sizes = [mb / 2, mb / 2, mb / 2, 3 * mb, 10, 20];
        let runs: Vec<&[usize]> = by_size(&sizes, |s| *s).collect();
        assert_eq!(runs, [&sizes[0..2], &sizes[2..3], &sizes[3..4], &sizes[4..6]]);
        assert_eq!(by_size(&[] as &[usize], |s| *s).count(), 0);
    }
}
