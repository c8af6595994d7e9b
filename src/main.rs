//! The `gazette` command: parse arguments, then call into the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use gazette::accounts::{self, Role};
use gazette::config::{Config, LogFormat};
use gazette::store::{self, Db};
use gazette::{Application, tokens};

#[derive(Parser)]
#[command(name = "gazette", version, about = "A self-hosted news site fed by an ingest API")]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the site and the API (the default).
    Serve,
    /// Manage ingest tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage the accounts people sign in with.
    #[command(subcommand)]
    User(UserCommand),
    /// Ask the running server whether it is ready; exit 0 if so, 1 if not.
    Healthcheck,
    /// Import articles from a JSON array or NDJSON file ("-" for standard input).
    Import { file: PathBuf },
    /// Manage feed subscriptions.
    #[command(subcommand)]
    Feed(FeedCommand),
    /// Write a consistent copy of the database to FILE, while the server runs.
    Backup { file: PathBuf },
    /// Replace the database with the backup in FILE (stop the server first).
    Restore { file: PathBuf },
    /// Copy the whole Gazette (--database) into another, empty database:
    /// a postgres:// URL or a SQLite file. One transaction: a failed copy
    /// leaves the target empty.
    Copy {
        /// The database to copy into.
        #[arg(long)]
        to: store::Location,
    },
}

#[derive(Subcommand)]
enum FeedCommand {
    /// Subscribe to a feed (or a web page that links to one); it is fetched once to check it.
    Add {
        url: String,
        /// Section its articles go to.
        #[arg(long)]
        section: String,
        #[arg(long)]
        title: Option<String>,
        /// Minutes between polls (default 15).
        #[arg(long)]
        interval_minutes: Option<u64>,
        /// Fetch each new entry's page for its full story (feeds that
        /// carry only a summary).
        #[arg(long)]
        full_content: bool,
    },
    /// List subscriptions with their state.
    List,
    /// Remove a subscription by id or URL (its articles stay).
    Remove { feed: String },
    /// Subscribe to every feed of an OPML file; categories become sections.
    Import {
        file: PathBuf,
        /// Section for feeds outside any category.
        #[arg(long, default_value = "Feeds")]
        section: String,
    },
    /// Print all subscriptions as OPML.
    Export,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it (it is stored only as a hash).
    Create { name: String },
    /// List token names and creation times.
    List,
    /// Revoke a token; it stops working on the next request.
    Revoke { name: String },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account (asks for its password twice on a terminal).
    Add {
        name: String,
        /// Make it an admin (manages feeds, tokens, users, settings).
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts with their role and creation time.
    List,
    /// Set an account's password (its browsers are signed out).
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove an account; its sessions end at once.
    Remove { name: String },
    /// Make an app password, for a reader app (Google Reader or Fever API):
    /// printed once; revoked on the account page.
    AppPassword {
        name: String,
        /// What the password is for, to tell it apart on the account page.
        #[arg(long, default_value = "Reader app")]
        app: String,
    },
}

/// mimalloc rather than the system allocator: rendering and ingest make
/// many short-lived strings, and glibc's per-thread arenas grew the
/// resident size under load (docs/BENCHMARKS.md).
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    #[cfg(not(feature = "system-allocator"))]
    gazette::allocator::configure();
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "gazette=info,tower_http=warn".into());
    // Colour only for a person at a terminal: a container's log, a file or
    // a pipe gets plain text (and NO_COLOR is honoured).
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    match cli.config.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.config).await,
        Command::Token(command) => token(&cli.config, command).await,
        Command::User(command) => user(&cli.config, command).await,
        Command::Healthcheck => return healthcheck(&cli.config).await,
        Command::Feed(command) => feed(&cli.config, command).await,
        Command::Import { file } => import(&cli.config, &file).await,
        Command::Backup { file } => backup(&cli.config, &file).await,
        Command::Restore { file } => restore(&cli.config, &file).await,
        Command::Copy { to } => copy(&cli.config, &to).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gazette: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: &Config) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    tracing::info!(
        address = %app.local_addr()?,
        database = %config.database,
        max_connections = app.connection_limits().max_connections,
        "Gazette is serving"
    );
    match app.run_until(shutdown_signal()).await? {
        store::Checkpoint::Done => tracing::info!("stopped cleanly"),
        store::Checkpoint::WalKept => tracing::warn!(
            "stopped; the final WAL checkpoint failed, so the WAL file was kept beside the database: \
             it holds every committed write and is replayed at the next start (this is safe)"
        ),
    }
    Ok(())
}

/// Completes on SIGINT or SIGTERM (what `docker compose stop` sends).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// A new password: one line of standard input, or typed twice at a
/// terminal (never echoed). Never logged.
fn read_new_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_owned());
    }
    anyhow::ensure!(
        std::io::IsTerminal::is_terminal(&std::io::stdin()),
        "no terminal to ask for the password: pass --password-stdin and send it on standard input"
    );
    let first = rpassword::prompt_password("New password: ")?;
    let second = rpassword::prompt_password("Again: ")?;
    anyhow::ensure!(first == second, "the two passwords differ; nothing was changed");
    Ok(first)
}

/// An account error as the command line shows it: the client message.
fn account_error(err: gazette::error::AppError) -> anyhow::Error {
    anyhow::anyhow!("{}", err.body().message)
}

async fn user(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    let db = Db::connect_existing(&config.database, config.database_connections).await?;
    match command {
        UserCommand::Add {
            name,
            admin,
            password_stdin,
        } => {
            let role = if admin { Role::Admin } else { Role::Reader };
            let password = read_new_password(password_stdin)?;
            let user = accounts::add(&db, &name, password, role).await.map_err(account_error)?;
            eprintln!("Account {:?} created ({}).", user.name, user.role.as_str());
        }
        UserCommand::List => {
            let users = accounts::list(&db).await.map_err(account_error)?;
            if users.is_empty() {
                eprintln!("No accounts.");
            }
            for listed in users {
                let created = chrono::DateTime::from_timestamp(listed.created_at, 0).unwrap_or_default();
                println!(
                    "{}\t{}\t{}",
                    listed.user.name,
                    listed.user.role.as_str(),
                    created.to_rfc3339()
                );
            }
        }
        UserCommand::Passwd { name, password_stdin } => {
            let password = read_new_password(password_stdin)?;
            accounts::set_password(&db, &name, password)
                .await
                .map_err(account_error)?;
            eprintln!("Password of {name:?} changed; its browsers were signed out.");
        }
        UserCommand::Remove { name } => {
            accounts::remove(&db, &name).await.map_err(account_error)?;
            eprintln!("Account {name:?} removed; its sessions have ended.");
        }
        UserCommand::AppPassword { name, app } => {
            let user = accounts::by_name(&db, &name)
                .await
                .map_err(account_error)?
                .ok_or_else(|| anyhow::anyhow!("no account is named {name:?}"))?;
            let password = accounts::app_passwords::create(&db, &user, &app)
                .await
                .map_err(account_error)?;
            println!("{password}");
            eprintln!(
                "App password {app:?} made for {name:?}. It is shown only now. In the app: server {base}/api/greader \
                 (Google Reader) or {base}/api/fever (Fever), user {name}, and this password.",
                base = config.public_base_url()
            );
        }
    }
    db.close().await;
    Ok(())
}

async fn token(config: &Config, command: TokenCommand) -> anyhow::Result<()> {
    let db = Db::connect_existing(&config.database, config.database_connections).await?;
    match command {
        TokenCommand::Create { name } => {
            let token = tokens::create(&db, &name).await?;
            println!("{token}");
            eprintln!("Token {name:?} created. It is shown only now; Gazette keeps only its hash.");
        }
        TokenCommand::List => {
            let list = store::tokens::list(&db.reader).await?;
            if list.is_empty() {
                eprintln!("No stored tokens.");
            }
            for token in list {
                let created = chrono::DateTime::from_timestamp(token.created_at, 0).unwrap_or_default();
                println!("{}\t{}", token.name, created.to_rfc3339());
            }
        }
        TokenCommand::Revoke { name } => {
            anyhow::ensure!(
                db.writer
                    .transaction(async |conn| store::tokens::revoke(conn, &name).await)
                    .await?,
                "no token named {name:?}"
            );
            eprintln!("Token {name:?} revoked.");
        }
    }
    db.close().await;
    Ok(())
}

/// Asks /readyz over plain HTTP, so a container image needs no curl.
async fn healthcheck(config: &Config) -> ExitCode {
    let url = format!("http://{}/readyz", config.local_addr_for(config.bind));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build();
    let ready = match client {
        Ok(client) => client.get(&url).send().await.is_ok_and(|r| r.status().is_success()),
        Err(_) => false,
    };
    if ready {
        ExitCode::SUCCESS
    } else {
        eprintln!("gazette: {url} is not ready");
        ExitCode::FAILURE
    }
}

/// The SQLite file that `backup` and `restore` work on. A PostgreSQL
/// database has its own tools, which know more than Gazette could.
fn sqlite_file<'a>(config: &'a Config, doing: &str) -> anyhow::Result<&'a std::path::Path> {
    match &config.database {
        store::Location::Sqlite(path) => Ok(path),
        store::Location::Postgres(_) => anyhow::bail!(
            "gazette {doing} works on a SQLite database; on PostgreSQL use pg_dump and pg_restore \
             (or your provider's backups), which copy a live database consistently"
        ),
    }
}

async fn backup(config: &Config, file: &std::path::Path) -> anyhow::Result<()> {
    let report = store::backup::backup(sqlite_file(config, "backup")?, file).await?;
    eprintln!(
        "Backed up {} articles in {} sections to {} (integrity check: ok).",
        report.articles,
        report.sections,
        file.display()
    );
    Ok(())
}

async fn restore(config: &Config, file: &std::path::Path) -> anyhow::Result<()> {
    let database = sqlite_file(config, "restore")?;
    let _lock =
        gazette::lock_database(database).map_err(|err| anyhow::anyhow!("{err}: stop the server before restoring"))?;
    let report = store::backup::restore(database, file).await?;
    eprintln!(
        "Restored {} articles in {} sections from {} into {}.",
        report.articles,
        report.sections,
        file.display(),
        database.display()
    );
    Ok(())
}

async fn copy(config: &Config, to: &store::Location) -> anyhow::Result<()> {
    if *to == config.database {
        anyhow::bail!("--to names the database being copied");
    }
    // A mistyped source is an error, not a new empty database copied.
    if let store::Location::Sqlite(path) = &config.database {
        anyhow::ensure!(
            path.is_file(),
            "no Gazette database at {} to copy: check --database (GAZETTE_DATABASE)",
            path.display()
        );
    }
    // A SQLite source stays still while it is read: its server is stopped.
    let _lock = match &config.database {
        store::Location::Sqlite(path) => {
            Some(gazette::lock_database(path).map_err(|err| anyhow::anyhow!("{err}: stop the server before copying"))?)
        }
        store::Location::Postgres(_) => None,
    };
    let from = Db::connect_existing(&config.database, config.database_connections).await?;
    let into = Db::connect(to, config.database_connections).await?;
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} rows ({eta} left)")
            .map_err(|err| anyhow::anyhow!("{err}"))?
            .progress_chars("=> "),
    );
    let report = store::copy::copy(&from, &into, |progress| {
        bar.set_length(progress.total);
        bar.set_position(progress.copied);
        bar.set_message(progress.table.to_owned());
    })
    .await;
    bar.finish_and_clear();
    let report = report?;
    let rows: u64 = report.rows.iter().map(|(_, n)| n).sum();
    let articles = report
        .rows
        .iter()
        .find(|(t, _)| *t == "articles")
        .map_or(0, |(_, n)| *n);
    eprintln!(
        "Copied {rows} rows ({articles} articles) from {} into {to}.",
        config.database
    );
    from.close().await;
    into.close().await;
    Ok(())
}

async fn feed(config: &Config, command: FeedCommand) -> anyhow::Result<()> {
    use gazette::feeds::{self, Subscription, fetch::Fetcher};
    let db = Db::connect_existing(&config.database, config.database_connections).await?;
    let fetcher = Fetcher::new(
        config.fetch_settings(),
        gazette::ingest::budget::MemoryBudget::new(config.memory_budget),
    )?;
    match command {
        FeedCommand::Add {
            url,
            section,
            title,
            interval_minutes,
            full_content,
        } => {
            let sub = Subscription {
                url: &url,
                section: &section,
                title: title.as_deref(),
                interval: interval_minutes.map(|m| Duration::from_secs(m.saturating_mul(60))),
                full_content,
                extraction: None,
            };
            let (feed, poll) = feeds::subscribe(&db, &fetcher, sub).await?;
            println!("{}\t{}\t{}", feed.feed.id, feed.feed.url, feed.feed.section);
            eprintln!(
                "Subscribed; {} new articles now, polled every {} minutes.",
                poll.created,
                feed.feed.interval_secs / 60
            );
        }
        FeedCommand::List => {
            for view in feeds::list(&db).await? {
                let f = &view.feed;
                println!(
                    "{}\t{}\t{}\t{}\tarticles={}\terrors={}{}{}",
                    f.id,
                    view.state,
                    f.section,
                    f.url,
                    f.articles_ingested,
                    f.error_count,
                    if f.full_content { "\tfull stories" } else { "" },
                    f.last_error
                        .as_deref()
                        .map(|e| format!("\tlast error: {e}"))
                        .unwrap_or_default()
                );
            }
        }
        FeedCommand::Remove { feed } => {
            let all = feeds::list(&db).await?;
            let found = all
                .iter()
                .find(|v| v.feed.id.to_string() == feed || v.feed.url == feed)
                .ok_or_else(|| anyhow::anyhow!("no subscription {feed:?}"))?;
            feeds::remove(&db, found.feed.id).await?;
            eprintln!("Removed {}; its articles stay.", found.feed.url);
        }
        FeedCommand::Import { file, section } => {
            let xml = std::fs::read_to_string(&file)?;
            for result in feeds::import_opml(&db, &fetcher, &xml, &section).await? {
                println!(
                    "{}\t{}\t{}{}",
                    result.status,
                    result.section,
                    result.url,
                    result.error.map(|e| format!("\t{e}")).unwrap_or_default()
                );
            }
        }
        FeedCommand::Export => print!("{}", feeds::export_opml(&db, &config.site_name).await?),
    }
    db.close().await;
    Ok(())
}

async fn import(config: &Config, file: &std::path::Path) -> anyhow::Result<()> {
    use std::io::BufReader;
    let db = Db::connect(&config.database, config.database_connections).await?;
    let summary = if file.as_os_str() == "-" {
        gazette::ingest::import::import(&db, BufReader::new(std::io::stdin().lock()), None).await?
    } else {
        let handle =
            std::fs::File::open(file).map_err(|err| anyhow::anyhow!("cannot read {}: {err}", file.display()))?;
        let size = handle.metadata().ok().map(|m| m.len());
        gazette::ingest::import::import(&db, BufReader::with_capacity(1 << 20, handle), size).await?
    };
    db.close().await;
    for (line, problem) in summary.errors.iter().take(100) {
        eprintln!("line {line}: {problem}");
    }
    if summary.errors.len() > 100 {
        eprintln!("… and {} more errors", summary.errors.len() - 100);
    }
    let rate = summary.total() as f64 / summary.seconds.max(1e-9);
    eprintln!(
        "Imported {} articles in {:.1} s ({rate:.0}/s): {} created, {} updated, {} unchanged, {} filtered by rules, {} errors.",
        summary.total(),
        summary.seconds,
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.filtered,
        summary.errors.len()
    );
    anyhow::ensure!(
        summary.errors.is_empty() || summary.total() > summary.errors.len() as u64,
        "nothing could be imported"
    );
    Ok(())
}
