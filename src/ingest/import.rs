//! Bulk import: a JSON array or NDJSON file (or standard input) through
//! the same write path as the API, in batches, with progress.

use std::io::{BufRead, IsTerminal};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use super::{BatchItem, SaveStatus, decode, save_batch};
use crate::error::AppError;
use crate::store::Db;

/// Articles per transaction: the API's batch size.
const CHUNK: usize = decode::MAX_BATCH_ITEMS;

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportSummary {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Kept out by a site rule.
    pub filtered: u64,
    /// (line or item number, problem) of every refused item.
    pub errors: Vec<(u64, String)>,
    pub seconds: f64,
}

impl ImportSummary {
    pub fn total(&self) -> u64 {
        self.created + self.updated + self.unchanged + self.filtered + self.errors.len() as u64
    }
}

/// Where an item came from, for error messages.
enum Origin {
    Line(u64),
    Item(u64),
}

/// Imports from `reader` (`size` bytes if known, for the progress bar).
pub async fn import(db: &Db, mut reader: impl BufRead, size: Option<u64>) -> anyhow::Result<ImportSummary> {
    let started = Instant::now();
    let progress = progress_bar(size);
    let mut summary = ImportSummary::default();
    let first = reader.fill_buf()?.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first == Some(b'[') {
        // A JSON array is read whole; items are numbered from 1.
        let mut text = String::new();
        reader.read_to_string(&mut text)?;
        let items = serde_json::from_str::<Vec<&serde_json::value::RawValue>>(&text)
            .map_err(|err| anyhow::anyhow!("the file is not a JSON array of articles: {err}"))?;
        for (n, chunk) in items.chunks(CHUNK).enumerate() {
            let lines: Vec<(Origin, &str)> = chunk
                .iter()
                .enumerate()
                .map(|(i, raw)| (Origin::Item((n * CHUNK + i + 1) as u64), raw.get()))
                .collect();
            store_chunk(db, lines, &mut summary).await?;
            progress.set_position(
                text.len() as u64 * ((n + 1) * CHUNK).min(items.len()) as u64 / items.len().max(1) as u64,
            );
            progress.set_message(format!("{} articles", summary.total()));
        }
    } else {
        // NDJSON streams: memory stays flat whatever the file size.
        let mut pending: Vec<(u64, String)> = Vec::with_capacity(CHUNK);
        let mut line_number = 0u64;
        let mut read = 0u64;
        for line in reader.lines() {
            let line = line?;
            line_number += 1;
            read += line.len() as u64 + 1;
            if line.trim().is_empty() {
                continue;
            }
            pending.push((line_number, line));
            if pending.len() == CHUNK {
                flush(db, &mut pending, &mut summary).await?;
                progress.set_position(read);
                progress.set_message(format!("{} articles", summary.total()));
            }
        }
        flush(db, &mut pending, &mut summary).await?;
        progress.set_position(read);
    }
    progress.finish_and_clear();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

async fn flush(db: &Db, pending: &mut Vec<(u64, String)>, summary: &mut ImportSummary) -> anyhow::Result<()> {
    let lines: Vec<(Origin, &str)> = pending.iter().map(|(n, l)| (Origin::Line(*n), l.as_str())).collect();
    store_chunk(db, lines, summary).await?;
    pending.clear();
    Ok(())
}

async fn store_chunk(db: &Db, lines: Vec<(Origin, &str)>, summary: &mut ImportSummary) -> anyhow::Result<()> {
    let origins: Vec<u64> = lines
        .iter()
        .map(|(o, _)| match o {
            Origin::Line(n) | Origin::Item(n) => *n,
        })
        .collect();
    let items: Vec<_> = lines.iter().map(|(_, text)| decode::article(text.as_bytes())).collect();
    let results = save_batch(db, items)
        .await
        .map_err(|err: AppError| anyhow::anyhow!("import stopped: {err}"))?;
    for result in results {
        match result {
            BatchItem::Saved { saved, .. } => match saved.status {
                SaveStatus::Created => summary.created += 1,
                SaveStatus::Updated => summary.updated += 1,
                SaveStatus::Unchanged => summary.unchanged += 1,
            },
            BatchItem::Filtered { .. } => summary.filtered += 1,
            BatchItem::Failed { index, error, .. } => {
                let field = error.field.map(|f| format!(" ({f})")).unwrap_or_default();
                summary
                    .errors
                    .push((origins[index], format!("{}{field}: {}", error.code, error.message)));
            }
        }
    }
    Ok(())
}

/// A bar with count, rate and ETA on a terminal; nothing otherwise (the
/// caller prints a plain summary).
fn progress_bar(size: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(size.unwrap_or(0));
    let template = if size.is_some() {
        "{bar:40} {percent:>3}% {msg} · {binary_bytes_per_sec} · ETA {eta}"
    } else {
        "{spinner} {msg} · {binary_bytes_per_sec}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}
