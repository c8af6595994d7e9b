//! `gazette copy`: moves a whole Gazette from one database to another,
//! SQLite to PostgreSQL or back, in one transaction on the target (so a
//! copy that fails leaves the target as empty as it was) from one
//! consistent snapshot of the source.
//!
//! Rows travel as JSON, a batch per statement: the source writes each row
//! as a JSON object in SQL, the target reads a batch of them back into
//! typed columns in SQL. The statements are built from the fixed table
//! list below, never from input, and are not checked by sqlx: they are
//! the same few shapes for every table. Counts and search entries are not
//! copied but made again by the target, as its own write path makes them.

use futures_util::TryStreamExt;
use sqlx::AssertSqlSafe;

use super::{Db, Reader, Tx};
use crate::error::AppError;

/// One table to copy: its name and the columns both schemas share, of
/// which `blobs` hold bytes.
struct Table {
    name: &'static str,
    columns: &'static [&'static str],
    blobs: &'static [&'static str],
}

/// In the order that keeps every foreign key satisfied.
const TABLES: &[Table] = &[
    Table {
        name: "sections",
        // article_count is counted again by the target's triggers.
        columns: &["id", "name", "slug", "created_at", "description", "position", "hidden"],
        blobs: &[],
    },
    Table {
        name: "section_aliases",
        columns: &["slug", "section_id"],
        blobs: &[],
    },
    Table {
        name: "articles",
        columns: &[
            "id",
            "section_id",
            "ingest_key",
            "url_key",
            "external_id",
            "url",
            "slug",
            "title",
            "summary",
            "author",
            "author_slug",
            "source",
            "body_format",
            "body",
            "body_deflated",
            "body_html",
            "word_count",
            "image_url",
            "image_caption",
            "tags",
            "published_at",
            "claimed_published_at",
            "created_at",
            "updated_at",
            "content_hash",
            "listed",
        ],
        blobs: &["body_deflated"],
    },
    Table {
        name: "stories",
        columns: &[
            "id",
            "lead_article_id",
            "article_count",
            "source_count",
            "first_at",
            "last_at",
            "centroid",
        ],
        blobs: &[],
    },
    Table {
        name: "story_members",
        columns: &["article_id", "story_id", "duplicate_of", "source_key"],
        blobs: &[],
    },
    Table {
        name: "story_terms",
        columns: &["week", "term", "at", "story_id"],
        blobs: &[],
    },
    Table {
        name: "term_counts",
        columns: &["term", "articles"],
        blobs: &[],
    },
    Table {
        name: "article_fingerprints",
        columns: &["article_id", "shingles", "signature"],
        blobs: &["signature"],
    },
    Table {
        name: "fingerprint_bands",
        columns: &["week", "band", "article_id"],
        blobs: &[],
    },
    Table {
        name: "article_tags",
        columns: &["tag_slug", "published_at", "article_id", "tag_name"],
        blobs: &[],
    },
    Table {
        name: "tombstones",
        columns: &["ingest_key", "article_id", "deleted_at"],
        blobs: &[],
    },
    Table {
        name: "tokens",
        columns: &["id", "name", "token_hash", "created_at"],
        blobs: &[],
    },
    Table {
        name: "feeds",
        columns: &[
            "id",
            "url",
            "section",
            "title",
            "interval_secs",
            "etag",
            "last_modified",
            "created_at",
            "last_fetch_at",
            "last_success_at",
            "next_fetch_at",
            "error_count",
            "last_error",
            "articles_ingested",
            "entries_filtered",
            "full_content",
            "extraction",
        ],
        blobs: &[],
    },
    Table {
        name: "page_fetches",
        columns: &[
            "article_id",
            "url",
            "feed_id",
            "state",
            "reason",
            "attempts",
            "requested_at",
            "next_attempt_at",
            "claimed_until",
            "fetched_at",
            "fill_title",
            "fill_date",
        ],
        blobs: &[],
    },
    Table {
        name: "users",
        columns: &[
            "id",
            "name",
            "password_hash",
            "role",
            "created_at",
            "hide_read",
            "show_copies",
            "show_muted",
            "mutes_version",
            "state_version",
        ],
        blobs: &[],
    },
    Table {
        name: "sessions",
        columns: &["id_hash", "user_id", "csrf_token", "created_at", "last_seen_at"],
        blobs: &[],
    },
    Table {
        name: "read_horizons",
        columns: &["user_id", "section_id", "read_through"],
        blobs: &[],
    },
    Table {
        name: "article_states",
        columns: &["user_id", "article_id", "read", "saved_at", "muted_by"],
        blobs: &[],
    },
    Table {
        name: "api_keys",
        columns: &["id", "user_id", "name", "key_hash", "created_at", "last_used_at"],
        blobs: &[],
    },
    Table {
        name: "app_passwords",
        columns: &[
            "id",
            "user_id",
            "name",
            "password_hash",
            "auth_hash",
            "fever_hash",
            "created_at",
            "last_used_at",
        ],
        blobs: &[],
    },
    Table {
        name: "user_labels",
        columns: &["user_id", "label", "article_id"],
        blobs: &[],
    },
    Table {
        name: "site_rules",
        columns: &[
            "id",
            "name",
            "spec",
            "matched",
            "last_matched_at",
            "created_at",
            "updated_at",
        ],
        blobs: &[],
    },
    Table {
        name: "reader_rules",
        columns: &[
            "id",
            "user_id",
            "name",
            "spec",
            "matched",
            "last_matched_at",
            "created_at",
            "updated_at",
        ],
        blobs: &[],
    },
];

/// Tables whose ids PostgreSQL hands out: their sequences continue after
/// the copied ids.
const IDENTITY_TABLES: &[&str] = &[
    "sections",
    "articles",
    "tokens",
    "feeds",
    "users",
    "api_keys",
    "app_passwords",
    "site_rules",
    "reader_rules",
];

/// Rows per statement.
const BATCH: usize = 500;

/// How far a copy has come, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub table: &'a str,
    pub copied: u64,
    pub total: u64,
}

/// What was copied: rows per table.
#[derive(Debug, Default)]
pub struct Report {
    pub rows: Vec<(&'static str, u64)>,
}

/// Copies everything in `from` into `to`, which must hold no data.
pub async fn copy(from: &Db, to: &Db, mut progress: impl FnMut(Progress<'_>)) -> anyhow::Result<Report> {
    let mut source = Source::open(&from.reader).await?;
    let counts = source.counts().await?;
    let total: u64 = counts.iter().sum();
    let report = to
        .writer
        .transaction(async |tx| {
            let held: Vec<String> = {
                let mut held = Vec::new();
                for table in TABLES.iter().map(|t| t.name) {
                    let rows = count(tx, table).await?;
                    if rows > 0 {
                        held.push(format!("{rows} in {table}"));
                    }
                }
                held
            };
            if !held.is_empty() {
                return Err(AppError::Conflict(format!(
                    "the target database is not empty ({}): copy into a new, empty database",
                    held.join(", ")
                )));
            }
            let mut report = Report::default();
            let mut copied = 0u64;
            for table in TABLES {
                let mut rows = source.rows(table);
                let mut batch: Vec<String> = Vec::with_capacity(BATCH);
                let mut in_table = 0u64;
                loop {
                    let row = rows.try_next().await?;
                    let done = row.is_none();
                    batch.extend(row);
                    if batch.len() == BATCH || (done && !batch.is_empty()) {
                        insert(tx, table, &batch).await?;
                        if table.name == "articles" {
                            index(tx, &batch).await?;
                        }
                        in_table += batch.len() as u64;
                        copied += batch.len() as u64;
                        batch.clear();
                        progress(Progress {
                            table: table.name,
                            copied,
                            total,
                        });
                    }
                    if done {
                        break;
                    }
                }
                drop(rows);
                report.rows.push((table.name, in_table));
            }
            let (last_write_at, placed_through) = source.site_state().await?;
            finish(tx, last_write_at, placed_through).await?;
            Ok(report)
        })
        .await
        .map_err(|err| match err {
            AppError::Conflict(message) => anyhow::anyhow!(message),
            other => anyhow::anyhow!("{other}"),
        })?;
    source.close().await?;
    to.changed();
    Ok(report)
}

/// The source, read in one transaction: one consistent state however long
/// the copy takes.
enum Source {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

type RowStream<'a> = std::pin::Pin<Box<dyn futures_util::Stream<Item = sqlx::Result<String>> + Send + 'a>>;

impl Source {
    async fn open(reader: &Reader) -> sqlx::Result<Source> {
        Ok(match reader {
            Reader::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                sqlx::raw_sql("BEGIN").execute(&mut *conn).await?;
                Source::Sqlite(conn)
            }
            Reader::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .execute(&mut *conn)
                    .await?;
                Source::Postgres(conn)
            }
        })
    }

    async fn counts(&mut self) -> sqlx::Result<Vec<u64>> {
        let mut counts = Vec::new();
        for table in TABLES {
            let sql = format!("SELECT count(*) FROM {}", table.name);
            let n: i64 = match self {
                Source::Sqlite(conn) => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut **conn).await?,
                Source::Postgres(conn) => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut **conn).await?,
            };
            counts.push(n.max(0) as u64);
        }
        Ok(counts)
    }

    /// Every row of `table`, each a JSON object of its shared columns
    /// (bytes as `\x` and hex digits, as PostgreSQL writes them).
    fn rows<'a>(&'a mut self, table: &Table) -> RowStream<'a> {
        match self {
            Source::Sqlite(conn) => {
                let fields: Vec<String> = table
                    .columns
                    .iter()
                    .map(|c| {
                        if table.blobs.contains(c) {
                            format!("'{c}', CASE WHEN {c} IS NULL THEN NULL ELSE '\\x' || hex({c}) END")
                        } else {
                            format!("'{c}', {c}")
                        }
                    })
                    .collect();
                let sql = format!("SELECT json_object({}) FROM {}", fields.join(", "), table.name);
                Box::pin(sqlx::query_scalar(AssertSqlSafe(sql)).fetch(&mut **conn))
            }
            Source::Postgres(conn) => {
                let fields: Vec<String> = table.columns.iter().map(|c| format!("'{c}', {c}")).collect();
                let sql = format!(
                    "SELECT json_build_object({})::text FROM {}",
                    fields.join(", "),
                    table.name
                );
                Box::pin(sqlx::query_scalar(AssertSqlSafe(sql)).fetch(&mut **conn))
            }
        }
    }

    /// The site's last write time, and how far placing in stories came.
    async fn site_state(&mut self) -> sqlx::Result<(i64, i64)> {
        let sql = "SELECT last_write_at, stories_placed_through FROM site_state WHERE id = 1";
        let state: Option<(i64, i64)> = match self {
            Source::Sqlite(conn) => sqlx::query_as(sql).fetch_optional(&mut **conn).await?,
            Source::Postgres(conn) => sqlx::query_as(sql).fetch_optional(&mut **conn).await?,
        };
        Ok(state.unwrap_or((0, 0)))
    }

    async fn close(self) -> sqlx::Result<()> {
        match self {
            Source::Sqlite(mut conn) => sqlx::raw_sql("COMMIT").execute(&mut *conn).await.map(|_| ()),
            Source::Postgres(mut conn) => sqlx::raw_sql("COMMIT").execute(&mut *conn).await.map(|_| ()),
        }
    }
}

async fn count(tx: &mut Tx<'_>, table: &str) -> sqlx::Result<i64> {
    let sql = format!("SELECT count(*) FROM {table}");
    match tx {
        Tx::Sqlite(conn) => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut **conn).await,
        Tx::Postgres(conn) => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut **conn).await,
    }
}

/// Inserts a batch of rows (JSON objects) into `table` on the target.
async fn insert(tx: &mut Tx<'_>, table: &Table, rows: &[String]) -> sqlx::Result<()> {
    let json = format!("[{}]", rows.join(","));
    let columns = table.columns.join(", ");
    match tx {
        Tx::Sqlite(conn) => {
            let values: Vec<String> = table
                .columns
                .iter()
                .map(|c| {
                    if table.blobs.contains(c) {
                        format!("unhex(substr(value ->> '{c}', 3))")
                    } else {
                        format!("value ->> '{c}'")
                    }
                })
                .collect();
            let sql = format!(
                "INSERT INTO {} ({columns}) SELECT {} FROM json_each(?)",
                table.name,
                values.join(", ")
            );
            sqlx::query(AssertSqlSafe(sql)).bind(json).execute(&mut **conn).await?;
        }
        Tx::Postgres(conn) => {
            // PostgreSQL reads each JSON value as its column's type from
            // its text: 1 and 0 are booleans, "\x…" is bytes.
            let sql = format!(
                "INSERT INTO {table} ({columns}) SELECT {columns} FROM jsonb_populate_recordset(NULL::{table}, $1::text::jsonb)",
                table = table.name
            );
            sqlx::query(AssertSqlSafe(sql)).bind(json).execute(&mut **conn).await?;
        }
    }
    Ok(())
}

/// Writes the search entries of a batch of copied articles, from their
/// rendered bodies: what the write path would have indexed.
async fn index(tx: &mut Tx<'_>, rows: &[String]) -> Result<(), AppError> {
    #[derive(serde::Deserialize)]
    struct Row {
        id: i64,
        body_html: String,
    }
    let mut derived = Vec::with_capacity(rows.len());
    for row in rows {
        let row: Row = serde_json::from_str(row).map_err(|err| AppError::Internal(err.into()))?;
        let body_text =
            crate::domain::body::plain_text_of(crate::domain::article::BodyFormat::Html, "", &row.body_html);
        let fields = serde_json::to_string(&super::articles::Derived {
            tags: &[],
            body_text: &body_text,
        })
        .map_err(|err| AppError::Internal(err.into()))?;
        derived.push((row.id, fields));
    }
    let pairs: Vec<(i64, &str)> = derived.iter().map(|(id, fields)| (*id, fields.as_str())).collect();
    super::articles::write_derived(tx, &pairs, false).await?;
    Ok(())
}

/// After the rows: the site's last write time and how far placing came,
/// and on PostgreSQL the id sequences past the copied ids.
async fn finish(tx: &mut Tx<'_>, last_write_at: i64, placed_through: i64) -> sqlx::Result<()> {
    let update = "UPDATE site_state SET last_write_at = $1, stories_placed_through = $2 WHERE id = 1";
    match tx {
        Tx::Sqlite(conn) => {
            sqlx::query(update)
                .bind(last_write_at)
                .bind(placed_through)
                .execute(&mut **conn)
                .await?;
        }
        Tx::Postgres(conn) => {
            sqlx::query(update)
                .bind(last_write_at)
                .bind(placed_through)
                .execute(&mut **conn)
                .await?;
            for table in IDENTITY_TABLES {
                // A deleted article's id is not handed out again: its
                // tombstone remembers it.
                let floor = if *table == "articles" {
                    "(SELECT COALESCE(max(article_id), 0) FROM tombstones)"
                } else {
                    "0"
                };
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST(COALESCE(max(id), 0), {floor}) + 1, false) \
                     FROM {table}"
                );
                sqlx::query(AssertSqlSafe(sql)).execute(&mut **conn).await?;
            }
        }
    }
    Ok(())
}
