//! Group commit: single articles posted at the same moment share one
//! transaction and one fsync.

use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::{Prepared, Saved, commit_group};
use crate::error::AppError;
use crate::store::Db;

/// Single articles posted at the same moment share one transaction, so
/// 64 clients pay for one fsync between them rather than one each.
///
/// Each request queues its article, then waits for the writer; whoever
/// gets it writes everything queued by then (its own article, or nothing
/// if an earlier writer took it along) and answers every request of the
/// group. Each article is acknowledged only after the commit that holds it.
pub struct GroupCommit {
    db: Db,
    queue: Mutex<Vec<Queued>>,
    /// Held by the task writing a group, so the next group gathers
    /// behind it.
    turn: tokio::sync::Mutex<()>,
}

struct Queued {
    article: Prepared,
    reply: oneshot::Sender<Result<Saved, AppError>>,
}

impl GroupCommit {
    pub fn new(db: Db) -> Arc<Self> {
        Arc::new(GroupCommit {
            db,
            queue: Mutex::new(Vec::new()),
            turn: tokio::sync::Mutex::new(()),
        })
    }

    /// The database it writes to.
    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn save(self: &Arc<Self>, article: Prepared) -> Result<Saved, AppError> {
        let (reply, answer) = oneshot::channel();
        self.lock().push(Queued { article, reply });
        // In its own task: a client that hangs up must not cancel a commit
        // that carries other clients' articles.
        tokio::spawn(Arc::clone(self).write_queued());
        answer.await.unwrap_or_else(|_| {
            Err(AppError::Internal(anyhow::anyhow!(
                "the writer stopped before answering"
            )))
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Queued>> {
        self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn write_queued(self: Arc<Self>) {
        // Waiting for the writer is what lets a group form: everything
        // queued while the previous group was committing goes together.
        let _turn = self.turn.lock().await;
        let group = std::mem::take(&mut *self.lock());
        if group.is_empty() {
            return;
        }
        let (articles, replies): (Vec<Prepared>, Vec<_>) = group.into_iter().map(|q| (q.article, q.reply)).unzip();
        let outcomes = commit_group(&self.db, &articles).await;
        match outcomes {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Err(err) => {
                // Nothing of the group was stored; each request says so.
                for reply in replies {
                    let _ = reply.send(Err(err.for_another_request()));
                }
            }
        }
    }
}
