//! Feed subscriptions: subscribing (validated by a first fetch, with
//! discovery in HTML pages), polling into the shared write path, and OPML.

pub mod charset;
pub mod fetch;
pub mod parse;
pub mod poller;
pub mod schedule;

use std::time::Duration;

use serde::Serialize;
use url::Url;

use crate::domain::listing::from_unix;
use crate::error::AppError;
use crate::full_content::rules::SiteRule;
use crate::ingest::budget::Reserved;
use crate::ingest::{self, BatchItem, SaveStatus};
use crate::store::feeds::{Feed, FeedSettings, NewFeed, PollRecord};
use crate::store::writer::WriteError;
use crate::store::{self, Db};
use fetch::{FetchError, Fetched, Fetcher};
use parse::ParsedFeed;

/// Shortest poll interval a subscription may ask for: politeness.
pub const MIN_INTERVAL: Duration = Duration::from_secs(60);

/// What one poll did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PollReport {
    /// "ok", "not_modified" or "error".
    pub status: &'static str,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Entries refused: deleted stories (tombstoned) or invalid entries.
    pub skipped: usize,
    /// Entries a site rule kept out.
    pub filtered: usize,
    pub error: Option<String>,
    pub next_fetch_at: String,
}

/// A subscription as the API and CLI show it.
#[derive(Debug, Clone, Serialize)]
pub struct FeedView {
    #[serde(flatten)]
    pub feed: Feed,
    /// "pending" (never polled), "ok", or "failing" (after repeated errors).
    pub state: &'static str,
    /// The feed's own rule for finding the story on its pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extraction: Option<SiteRule>,
}

impl From<Feed> for FeedView {
    fn from(feed: Feed) -> Self {
        let state = if feed.error_count >= schedule::FAILING_AFTER {
            "failing"
        } else if feed.last_fetch_at.is_none() {
            "pending"
        } else {
            "ok"
        };
        let extraction = SiteRule::from_stored(feed.extraction.as_deref());
        FeedView {
            feed,
            state,
            extraction,
        }
    }
}

fn feed_error(code: &'static str, message: impl Into<String>) -> AppError {
    AppError::Feed {
        code,
        message: message.into(),
    }
}

fn parse_url(raw: &str) -> Result<Url, AppError> {
    let url =
        Url::parse(raw.trim()).map_err(|_| AppError::invalid("url", "url must be an absolute http or https URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(AppError::invalid("url", "url must be an absolute http or https URL"));
    }
    Ok(url)
}

fn check_section(section: &str) -> Result<String, AppError> {
    let section = section.split_whitespace().collect::<Vec<_>>().join(" ");
    if section.is_empty() || section.chars().count() > crate::domain::article::MAX_SECTION_CHARS {
        return Err(AppError::invalid(
            "section",
            "section is required, at most 100 characters",
        ));
    }
    Ok(section)
}

/// What subscribing needs to know of a new feed.
pub struct Subscription<'a> {
    pub url: &'a str,
    pub section: &'a str,
    pub title: Option<&'a str>,
    pub interval: Option<Duration>,
    /// Fetch each new entry's page for its full story.
    pub full_content: bool,
    /// The feed's own rule for finding the story on its pages.
    pub extraction: Option<&'a SiteRule>,
}

/// Subscribes to a feed: fetches it once (following a web page's
/// `<link rel="alternate">` to its feed), refuses what is unreachable or
/// not a feed, stores the subscription and ingests its entries at once.
pub async fn subscribe(db: &Db, fetcher: &Fetcher, sub: Subscription<'_>) -> Result<(FeedView, PollReport), AppError> {
    let url = parse_url(sub.url)?;
    let section = check_section(sub.section)?;
    let interval = sub.interval.unwrap_or(schedule::DEFAULT_INTERVAL);
    if interval < MIN_INTERVAL {
        return Err(AppError::invalid(
            "interval_minutes",
            "the poll interval is at least one minute",
        ));
    }
    let extraction = stored_rule(sub.extraction)?;
    let fetched = fetch_feed(fetcher, &url).await?;
    let settings = FeedSettings {
        section: &section,
        title: sub.title,
        interval_secs: interval.as_secs() as i64,
        full_content: sub.full_content,
        extraction: extraction.as_deref(),
    };
    store_subscription(db, fetched, &settings).await
}

/// A feed's extraction rule as stored, refused by name when it cannot be
/// used.
fn stored_rule(rule: Option<&SiteRule>) -> Result<Option<String>, AppError> {
    let Some(rule) = rule else {
        return Ok(None);
    };
    if let Some(problem) = rule.problem() {
        return Err(AppError::invalid("extraction", problem));
    }
    Ok(Some(serde_json::to_string(rule).map_err(anyhow::Error::from)?))
}

/// Subscribes to a feed into a section of its own, named after the feed
/// (`title`, else the feed's own title, else its host): what adding a feed
/// from a reader app does. The section exists from then on, even before
/// the feed has stories.
pub async fn subscribe_as_section(
    db: &Db,
    fetcher: &Fetcher,
    url: &str,
    title: Option<&str>,
) -> Result<(FeedView, PollReport), AppError> {
    let url = parse_url(url)?;
    let fetched = fetch_feed(fetcher, &url).await?;
    let name = title
        .map(str::to_owned)
        .or_else(|| fetched.1.title.clone())
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| fetched.0.host_str().unwrap_or("Feed").to_owned());
    let name: String = name.chars().take(crate::domain::article::MAX_SECTION_CHARS).collect();
    let section = check_section(&name)?;
    let slug = crate::domain::slug::slugify_or(&section, "section");
    let now = store::now_unix();
    db.writer
        .transaction(async |conn| store::sections::ensure_many(conn, &[(section.as_str(), slug.as_str())], now).await)
        .await?;
    let settings = FeedSettings {
        section: &section,
        title: None,
        interval_secs: schedule::DEFAULT_INTERVAL.as_secs() as i64,
        full_content: false,
        extraction: None,
    };
    store_subscription(db, fetched, &settings).await
}

/// Stores a subscription to a fetched feed and ingests its entries at once.
async fn store_subscription(
    db: &Db,
    // The room is held until the entries are stored.
    (feed_url, parsed, validators, _room): FoundFeed,
    settings: &FeedSettings<'_>,
) -> Result<(FeedView, PollReport), AppError> {
    let now = store::now_unix();
    let title = settings.title.map(str::to_owned).or_else(|| parsed.title.clone());
    let interval_secs = settings.interval_secs;
    let new_feed = NewFeed {
        url: feed_url.as_str(),
        section: settings.section,
        title: title.as_deref(),
        interval_secs,
        now,
        // This request is the feed's first poll. Due at once, the scheduler
        // could fetch and ingest the same entries beside it (a subscription
        // reported none of its stories as created: they were the
        // scheduler's), and ask the feed's server twice in a second.
        first_fetch_at: now + interval_secs,
        full_content: settings.full_content,
        extraction: settings.extraction,
    };
    let id = db
        .writer
        .transaction(async |conn| store::feeds::insert(conn, &new_feed).await)
        .await
        .map_err(|err| match err {
            sqlx::Error::Database(e) if e.is_unique_violation() => {
                AppError::Conflict(format!("already subscribed to {feed_url}"))
            }
            other => other.into(),
        })?;
    let feed = store::feeds::get(&db.reader, id)
        .await?
        .ok_or(AppError::NotFound("feed"))?;
    let report = match ingest_and_record(db, &feed, &feed_url, parsed, validators, None, now).await {
        Ok(report) => report,
        Err(err) => {
            // Subscribed but not ingested: retried soon, as any failed poll
            // is, rather than at the first scheduled poll. If the database
            // cannot take even that, the feed stays due at its first poll.
            if let Err(also) = record_failed_poll(db, &feed, err.to_string(), None, now).await {
                tracing::warn!(feed = id, error = %also, "cannot record the failed first poll");
            }
            return Err(err);
        }
    };
    let feed = store::feeds::get(&db.reader, id)
        .await?
        .ok_or(AppError::NotFound("feed"))?;
    Ok((feed.into(), report))
}

/// ETag, Last-Modified and cache floor of a fetched document.
type Validators = (Option<String>, Option<String>, Option<Duration>);

/// A feed fetched and parsed for subscribing, with its room in the memory
/// budget.
type FoundFeed = (Url, ParsedFeed, Validators, Reserved);

/// Fetches and parses a feed for subscribing, discovering it in a page.
async fn fetch_feed(fetcher: &Fetcher, url: &Url) -> Result<FoundFeed, AppError> {
    let mut target = url.clone();
    for attempt in 0..2 {
        let fetched = fetcher.fetch(&target, None, None).await.map_err(|err| match err {
            FetchError::PrivateAddress(_) => feed_error("feed_refused", err.to_string()),
            FetchError::Busy => AppError::Overloaded,
            _ => feed_error("feed_unreachable", format!("{target}: {err}")),
        })?;
        let Fetched::Body {
            bytes,
            content_type,
            etag,
            last_modified,
            final_url,
            cache_floor,
            room,
            ..
        } = fetched
        else {
            return Err(feed_error(
                "feed_unreachable",
                format!("{target} answered 304 to a plain request"),
            ));
        };
        match parse::parse(&bytes, &final_url, content_type.as_deref()) {
            Ok(parsed) => return Ok((final_url, parsed, (etag, last_modified, cache_floor), *room)),
            Err(problem) if attempt == 0 && parse::looks_like_html(&bytes, content_type.as_deref()) => {
                target = parse::discover(&bytes, &final_url).into_iter().next().ok_or_else(|| {
                    feed_error(
                        "not_a_feed",
                        format!("{final_url} is a web page that names no feed ({problem})"),
                    )
                })?;
            }
            Err(problem) => return Err(feed_error("not_a_feed", format!("{final_url}: {problem}"))),
        }
    }
    Err(feed_error(
        "not_a_feed",
        format!("{url}: the page's feed link leads to another page"),
    ))
}

/// Polls one feed and records the outcome; a failure is recorded, never
/// raised, so one broken feed never stops the others.
pub async fn poll(db: &Db, fetcher: &Fetcher, feed: &Feed) -> Result<PollReport, AppError> {
    let now = store::now_unix();
    let Ok(url) = Url::parse(&feed.url) else {
        return record_failure(db, feed, &FetchError::BadUrl(feed.url.clone()), now).await;
    };
    match fetcher
        .fetch(&url, feed.etag.as_deref(), feed.last_modified.as_deref())
        .await
    {
        Ok(Fetched::NotModified { moved_to, cache_floor }) => {
            let next = now + next_after_success(feed, cache_floor, None);
            save_poll(
                db,
                &PollRecord {
                    id: feed.id,
                    now,
                    success: true,
                    next_fetch_at: next,
                    error: None,
                    etag: None,
                    last_modified: None,
                    moved_to: moved_to.as_ref().map(Url::as_str),
                    title: None,
                    ingested: 0,
                    filtered: 0,
                },
            )
            .await?;
            Ok(PollReport {
                status: "not_modified",
                next_fetch_at: from_unix(next).to_rfc3339(),
                ..Default::default()
            })
        }
        Ok(Fetched::Body {
            bytes,
            content_type,
            etag,
            last_modified,
            final_url,
            moved_to,
            cache_floor,
            room,
        }) => match parse::parse(&bytes, &final_url, content_type.as_deref()) {
            Ok(parsed) => {
                // The entries hold what is needed now; the document goes.
                drop(bytes);
                let _room = room;
                let validators = (etag, last_modified, cache_floor);
                match ingest_and_record(db, feed, &final_url, parsed, validators, moved_to, now).await {
                    // Its entries were not stored (a full disk): the feed is
                    // failing and backs off, rather than being fetched again
                    // every second. The write path has logged the cause.
                    Err(err) if err.fault().is_some() => {
                        let _ = record_failed_poll(db, feed, err.body().message, None, now).await;
                        Err(err)
                    }
                    outcome => outcome,
                }
            }
            Err(problem) => record_failure(db, feed, &FetchError::Network(problem), now).await,
        },
        Err(err) => record_failure(db, feed, &err, now).await,
    }
}

/// Writes a poll's outcome back to its feed.
async fn save_poll(db: &Db, record: &PollRecord<'_>) -> sqlx::Result<()> {
    db.writer
        .transaction(async |conn| store::feeds::record_poll(conn, record).await)
        .await
}

fn next_after_success(feed: &Feed, cache_floor: Option<Duration>, ttl: Option<Duration>) -> i64 {
    let interval = Duration::from_secs(feed.interval_secs.max(1) as u64);
    schedule::after_success(interval, &[cache_floor, ttl], rand::random::<f64>()).as_secs() as i64
}

async fn record_failure(db: &Db, feed: &Feed, err: &FetchError, now: i64) -> Result<PollReport, AppError> {
    let message = err.to_string();
    tracing::warn!(feed = feed.id, url = %feed.url, error = %message, "feed poll failed");
    record_failed_poll(db, feed, message, err.retry_after(), now).await
}

/// Records a failed poll and backs the feed off, so a failing feed is
/// retried politely and its owner sees why.
async fn record_failed_poll(
    db: &Db,
    feed: &Feed,
    message: String,
    retry_after: Option<Duration>,
    now: i64,
) -> Result<PollReport, AppError> {
    let interval = Duration::from_secs(feed.interval_secs.max(1) as u64);
    let next = now + schedule::after_failure(interval, feed.error_count + 1, retry_after).as_secs() as i64;
    save_poll(
        db,
        &PollRecord {
            id: feed.id,
            now,
            success: false,
            next_fetch_at: next,
            error: Some(&message),
            etag: None,
            last_modified: None,
            moved_to: None,
            title: None,
            ingested: 0,
            filtered: 0,
        },
    )
    .await?;
    metrics::counter!("gazette_feed_polls_total", "status" => "error").increment(1);
    Ok(PollReport {
        status: "error",
        error: Some(message),
        next_fetch_at: from_unix(next).to_rfc3339(),
        ..Default::default()
    })
}

/// Stores a parsed feed's entries through the write path (one
/// transaction) and records the poll.
async fn ingest_and_record(
    db: &Db,
    feed: &Feed,
    url: &Url,
    parsed: ParsedFeed,
    (etag, last_modified, cache_floor): Validators,
    moved_to: Option<Url>,
    now: i64,
) -> Result<PollReport, AppError> {
    let (ttl, has_entries) = (parsed.ttl, !parsed.entries.is_empty());
    // The pages of a full-content feed's new and changed entries are
    // fetched once they are stored.
    // What an entry lacks (a title, a date) is taken from its page.
    let links: Vec<Option<(Url, bool, bool)>> = match feed.full_content {
        true => parsed
            .entries
            .iter()
            .map(|entry| {
                let untitled = entry.title.as_ref().is_none_or(|t| t.content.trim().is_empty());
                let undated = entry.published.or(entry.updated).is_none();
                parse::entry_link(entry, url).map(|link| (link, untitled, undated))
            })
            .collect(),
        false => Vec::new(),
    };
    let mut pages = Vec::new();
    // Each entry becomes an article when its turn to be stored comes, and
    // is dropped then: the feed is never held twice over.
    let (feed_id, source, section) = (feed.id, url.clone(), feed.section.clone());
    let items = parsed
        .entries
        .into_iter()
        .map(move |entry| parse::to_article(&entry, feed_id, &source, &section, now).map_err(AppError::from));
    let mut report = PollReport {
        status: "ok",
        ..Default::default()
    };
    if has_entries {
        for item in ingest::save_batch(db, items).await? {
            match item {
                BatchItem::Saved { saved, index } => {
                    match saved.status {
                        SaveStatus::Created => report.created += 1,
                        SaveStatus::Updated => report.updated += 1,
                        SaveStatus::Unchanged => {
                            report.unchanged += 1;
                            continue;
                        }
                    }
                    if let Some(Some((link, untitled, undated))) = links.get(index) {
                        pages.push(crate::full_content::PageRequest {
                            article_id: saved.id,
                            url: link.to_string(),
                            fill_title: *untitled,
                            fill_date: *undated,
                        });
                    }
                }
                BatchItem::Failed { .. } => report.skipped += 1,
                BatchItem::Filtered { .. } => report.filtered += 1,
            }
        }
    }
    if let Err(err) = crate::full_content::request(db, feed.id, &pages).await {
        // The stories are stored with the feed's text, which they keep.
        tracing::warn!(feed = feed.id, error = %err, "cannot ask for the full stories of new entries");
    }
    let next = now + next_after_success(feed, cache_floor, ttl);
    let moved = moved_to.as_ref().map(Url::as_str);
    let record = PollRecord {
        id: feed.id,
        now,
        success: true,
        next_fetch_at: next,
        error: None,
        etag: etag.as_deref(),
        last_modified: last_modified.as_deref(),
        moved_to: moved,
        title: parsed.title.as_deref(),
        ingested: report.created as i64,
        filtered: report.filtered as i64,
    };
    if let Err(err) = save_poll(db, &record).await {
        // The new URL may already be another subscription: keep the old one.
        let sqlx::Error::Database(e) = &err else {
            return Err(err.into());
        };
        if !e.is_unique_violation() {
            return Err(err.into());
        }
        save_poll(
            db,
            &PollRecord {
                moved_to: None,
                ..record
            },
        )
        .await?;
    }
    metrics::counter!("gazette_feed_polls_total", "status" => "ok").increment(1);
    report.next_fetch_at = from_unix(next).to_rfc3339();
    Ok(report)
}

pub async fn list(db: &Db) -> Result<Vec<FeedView>, AppError> {
    Ok(store::feeds::list(&db.reader)
        .await?
        .into_iter()
        .map(FeedView::from)
        .collect())
}

/// What may change of a subscription; `None` leaves a setting as it is.
#[derive(Debug, Default)]
pub struct FeedChange<'a> {
    pub section: Option<&'a str>,
    /// `Some(None)` clears the title.
    pub title: Option<Option<&'a str>>,
    pub interval: Option<Duration>,
    pub full_content: Option<bool>,
    /// `Some(None)` clears the feed's rule.
    pub extraction: Option<Option<&'a SiteRule>>,
}

/// Changes a subscription's settings.
pub async fn update(db: &Db, id: i64, change: FeedChange<'_>) -> Result<FeedView, AppError> {
    let feed = store::feeds::get(&db.reader, id)
        .await?
        .ok_or(AppError::NotFound("feed"))?;
    let section = match change.section {
        Some(s) => check_section(s)?,
        None => feed.section.clone(),
    };
    let interval_secs = match change.interval {
        Some(i) if i < MIN_INTERVAL => {
            return Err(AppError::invalid(
                "interval_minutes",
                "the poll interval is at least one minute",
            ));
        }
        Some(i) => i.as_secs() as i64,
        None => feed.interval_secs,
    };
    let extraction = match change.extraction {
        Some(rule) => stored_rule(rule)?,
        None => feed.extraction.clone(),
    };
    let settings = FeedSettings {
        section: &section,
        title: change.title.unwrap_or(feed.title.as_deref()),
        interval_secs,
        full_content: change.full_content.unwrap_or(feed.full_content),
        extraction: extraction.as_deref(),
    };
    db.writer
        .transaction(async |conn| store::feeds::update_settings(conn, id, &settings).await)
        .await?;
    Ok(store::feeds::get(&db.reader, id)
        .await?
        .ok_or(AppError::NotFound("feed"))?
        .into())
}

/// Removes a subscription; its articles stay.
pub async fn remove(db: &Db, id: i64) -> Result<(), AppError> {
    if !db
        .writer
        .transaction(async |conn| store::feeds::delete(conn, id).await)
        .await?
    {
        return Err(AppError::NotFound("feed"));
    }
    Ok(())
}

/// Gazette's own OPML namespace, for the settings other readers have no
/// attribute for: whether a feed's stories are fetched whole
/// (`gazette:fullContent="true"`) and its extraction rule
/// (`gazette:extraction`, the JSON the API takes).
pub const OPML_NS: &str = "urn:x-gazette:opml:1";

/// All subscriptions as OPML 2.0, one outline per section. Written with
/// quick-xml rather than the opml crate, which has no way to carry
/// another namespace's attributes.
pub async fn export_opml(db: &Db, site_name: &str) -> Result<String, AppError> {
    use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
    let feeds = store::feeds::list(&db.reader).await?;
    let mut sections: Vec<(&str, Vec<&Feed>)> = Vec::new();
    for feed in &feeds {
        match sections.iter_mut().find(|(name, _)| *name == feed.section) {
            Some((_, members)) => members.push(feed),
            None => sections.push((&feed.section, vec![feed])),
        }
    }
    let mut writer = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
    let write = |writer: &mut quick_xml::Writer<Vec<u8>>, event: Event<'_>| {
        writer
            .write_event(event)
            .map_err(|err| AppError::Internal(anyhow::anyhow!("cannot write OPML: {err}")))
    };
    write(&mut writer, Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut root = BytesStart::new("opml");
    root.push_attribute(("version", "2.0"));
    root.push_attribute(("xmlns:gazette", OPML_NS));
    write(&mut writer, Event::Start(root))?;
    write(&mut writer, Event::Start(BytesStart::new("head")))?;
    write(&mut writer, Event::Start(BytesStart::new("title")))?;
    let title = format!("{site_name} subscriptions");
    write(&mut writer, Event::Text(BytesText::new(&title)))?;
    write(&mut writer, Event::End(BytesEnd::new("title")))?;
    write(&mut writer, Event::End(BytesEnd::new("head")))?;
    write(&mut writer, Event::Start(BytesStart::new("body")))?;
    for (section, members) in sections {
        let mut category = BytesStart::new("outline");
        category.push_attribute(("text", section));
        category.push_attribute(("title", section));
        write(&mut writer, Event::Start(category))?;
        for feed in members {
            let mut outline = BytesStart::new("outline");
            outline.push_attribute(("text", feed.title.as_deref().unwrap_or(&feed.url)));
            if let Some(title) = &feed.title {
                outline.push_attribute(("title", title.as_str()));
            }
            outline.push_attribute(("type", "rss"));
            outline.push_attribute(("xmlUrl", feed.url.as_str()));
            if feed.full_content {
                outline.push_attribute(("gazette:fullContent", "true"));
            }
            if let Some(rule) = &feed.extraction {
                outline.push_attribute(("gazette:extraction", rule.as_str()));
            }
            write(&mut writer, Event::Empty(outline))?;
        }
        write(&mut writer, Event::End(BytesEnd::new("outline")))?;
    }
    write(&mut writer, Event::End(BytesEnd::new("body")))?;
    write(&mut writer, Event::End(BytesEnd::new("opml")))?;
    String::from_utf8(writer.into_inner()).map_err(|err| AppError::Internal(anyhow::anyhow!("OPML: {err}")))
}

/// Gazette's own settings of each feed in an OPML document, by feed URL
/// (see [`OPML_NS`]); whatever cannot be read is left at its default.
fn gazette_settings(xml: &str) -> std::collections::HashMap<String, (bool, Option<SiteRule>)> {
    use quick_xml::events::Event;
    use quick_xml::name::{Namespace, ResolveResult};
    let mut settings = std::collections::HashMap::new();
    let mut reader = quick_xml::NsReader::from_str(xml);
    loop {
        let outline = match reader.read_event() {
            Ok(Event::Start(tag) | Event::Empty(tag)) if tag.local_name().as_ref() == "outline" => tag,
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => continue,
        };
        let (mut url, mut full_content, mut rule) = (None, false, None);
        for attribute in outline.attributes().flatten() {
            let Ok(value) = attribute.normalized_value(quick_xml::XmlVersion::Implicit1_0) else {
                continue;
            };
            let (namespace, name) = reader.resolver().resolve_attribute(attribute.key);
            let ours = matches!(namespace, ResolveResult::Bound(Namespace(ns)) if ns == OPML_NS);
            match (ours, name.as_ref()) {
                (false, "xmlUrl") => url = Some(value.into_owned()),
                (true, "fullContent") => full_content = value.trim() == "true",
                (true, "extraction") => rule = serde_json::from_str::<SiteRule>(&value).ok(),
                _ => {}
            }
        }
        if let Some(url) = url {
            settings.insert(url, (full_content, rule.filter(|r| r.problem().is_none())));
        }
    }
    settings
}

/// One line of an OPML import's answer.
#[derive(Debug, Clone, Serialize)]
pub struct ImportResult {
    pub url: String,
    pub section: String,
    /// "subscribed", "exists" or "error".
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Subscribes to every feed of an OPML document. A feed's section is its
/// category: the outline it sits in, else its `category` attribute, else
/// `default_section`.
pub async fn import_opml(
    db: &Db,
    fetcher: &Fetcher,
    xml: &str,
    default_section: &str,
) -> Result<Vec<ImportResult>, AppError> {
    let document = opml::OPML::from_str(xml).map_err(|err| AppError::MalformedJson(format!("not OPML: {err}")))?;
    let mut wanted = Vec::new();
    collect(&document.body.outlines, None, default_section, &mut wanted);
    let ours = gazette_settings(xml);
    let mut results = Vec::with_capacity(wanted.len());
    for (url, section, title) in wanted {
        let (full_content, extraction) = ours.get(&url).cloned().unwrap_or_default();
        let sub = Subscription {
            url: &url,
            section: &section,
            title: title.as_deref(),
            interval: None,
            full_content,
            extraction: extraction.as_ref(),
        };
        let (status, error) = match subscribe(db, fetcher, sub).await {
            Ok(_) => ("subscribed", None),
            Err(AppError::Conflict(_)) => ("exists", None),
            Err(err) => ("error", Some(err.to_string())),
        };
        results.push(ImportResult {
            url,
            section,
            status,
            error,
        });
    }
    Ok(results)
}

fn collect(
    outlines: &[opml::Outline],
    category: Option<&str>,
    default: &str,
    out: &mut Vec<(String, String, Option<String>)>,
) {
    for outline in outlines {
        match &outline.xml_url {
            Some(url) => {
                let section = category
                    .map(str::to_owned)
                    .or_else(|| {
                        outline
                            .category
                            .as_deref()
                            .and_then(|c| c.split(',').next())
                            .map(|c| c.trim_matches('/').to_owned())
                    })
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| default.to_owned());
                let title = outline
                    .title
                    .clone()
                    .or_else(|| Some(outline.text.clone()))
                    .filter(|t| !t.is_empty());
                out.push((url.clone(), section, title));
            }
            None => {
                let name = outline.title.as_deref().unwrap_or(&outline.text);
                collect(
                    &outline.outlines,
                    Some(name).filter(|n| !n.is_empty()).or(category),
                    default,
                    out,
                );
            }
        }
    }
}
