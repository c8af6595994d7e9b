//! Several instances on one database keep their caches (rendered pages,
//! the section list, sessions) right by telling each other of their
//! changes: PostgreSQL's NOTIFY after each commit, LISTEN on a connection
//! of its own. A notification missed while the listening connection was
//! down cannot be known, so after every (re)connection each cache is
//! treated as stale, once.
//!
//! The statements are unchecked (`sqlx::query`): this module is compiled
//! in both passes of .ci/prepare-sqlx, and they name no table.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

use crate::store::{Change, Db};

const CHANNEL: &str = "gazette_changes";

/// How long to wait before listening again after the connection failed.
const RETRY: Duration = Duration::from_secs(1);

/// Sends `change` to the other instances, without holding up the caller:
/// the write it reports is committed already. A notification that cannot
/// be sent (the database just went away) is logged; the others flush
/// everything when their own connection comes back.
pub fn tell(pool: &PgPool, instance: u64, change: Change) {
    notify(pool, format!("{} {instance}", label(change)));
}

/// Sends new articles' topics (their counters, see `store::topics`): the
/// others make stale only the pages made from them. The list rides as a
/// third word of an "articles" notice, which a release that does not read
/// it takes as a change to everything, as before; too long a list for one
/// notification (8,000 bytes) is left off, with the same effect.
pub fn tell_topics(pool: &PgPool, instance: u64, slots: &[u32]) {
    let list: Vec<String> = slots.iter().map(u32::to_string).collect();
    let mut payload = format!("{} {instance}", label(Change::Articles));
    if list.len() <= MAX_LISTED_TOPICS {
        payload = format!("{payload} {}", list.join(","));
    }
    notify(pool, payload);
}

/// Counters of up to five digits and a comma: well within a notification.
const MAX_LISTED_TOPICS: usize = 1_000;

fn notify(pool: &PgPool, payload: String) {
    let pool = pool.clone();
    tokio::spawn(async move {
        if let Err(err) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(&payload)
            .execute(&pool)
            .await
        {
            tracing::warn!(%err, "cannot tell the other instances of a change; their caches catch up on reconnecting");
        }
    });
}

/// Applies the other instances' changes to `db`'s caches until `shutdown`.
pub async fn follow(db: &Db, pool: &PgPool, instance: u64, mut shutdown: watch::Receiver<bool>) {
    loop {
        let outcome = tokio::select! {
            outcome = listen(db, pool, instance) => outcome,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        if let Err(err) = outcome {
            tracing::warn!(%err, "not hearing other instances' changes; listening again shortly");
        }
        tokio::select! {
            () = tokio::time::sleep(RETRY) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

async fn listen(db: &Db, pool: &PgPool, instance: u64) -> sqlx::Result<()> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    stale_everything(db);
    loop {
        match listener.try_recv().await? {
            Some(notification) => {
                let mut words = notification.payload().split(' ');
                let change = words.next().and_then(parse);
                let from: Option<u64> = words.next().and_then(|id| id.parse().ok());
                let topics: Option<Vec<u32>> = words
                    .next()
                    .and_then(|list| list.split(',').map(|n| n.parse().ok()).collect());
                match (change, from, topics) {
                    (Some(_), Some(from), _) if from == instance => {}
                    (Some(Change::Articles), Some(_), Some(slots)) => db.note_topics(&slots),
                    (Some(change), Some(_), _) => db.note(change),
                    _ => tracing::warn!(payload = notification.payload(), "unreadable change notification"),
                }
            }
            // The connection dropped and sqlx connected again: whatever
            // was said meanwhile is lost.
            None => stale_everything(db),
        }
    }
}

fn stale_everything(db: &Db) {
    db.note(Change::Articles);
    db.note(Change::Accounts);
    db.note(Change::Rules);
}

fn label(change: Change) -> &'static str {
    match change {
        Change::Articles => "articles",
        Change::Accounts => "accounts",
        Change::Reading => "reading",
        Change::Rules => "rules",
    }
}

fn parse(label: &str) -> Option<Change> {
    match label {
        "articles" => Some(Change::Articles),
        "accounts" => Some(Change::Accounts),
        "reading" => Some(Change::Reading),
        "rules" => Some(Change::Rules),
        _ => None,
    }
}
