//! Running a rule over what is already stored, in the background: the
//! library is walked from the newest article to the oldest, a page at a
//! time. A site's `drop` rule deletes every article it matches the way
//! the API deletes one (a tombstone keeps it from coming back); a
//! reader's `mute` rule mutes them for its reader. Progress is kept in
//! memory, one job per rule, and shown with the rule.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::Rule;
use super::set::RuleSet;
use crate::error::AppError;
use crate::store::{self, Db};

/// Articles read per step.
const STEP: i64 = 500;

/// What a run does to the articles its rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A site rule's: they are deleted.
    Delete,
    /// A reader's rule's: they are muted for the reader.
    Mute { user_id: i64 },
}

/// How far a rule's run over the library has come.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Progress {
    /// "running", "done" or "failed".
    pub state: &'static str,
    pub looked_at: i64,
    /// The articles stored when the run began.
    pub total: i64,
    /// A site rule's: the articles deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<i64>,
    /// A reader's rule's: the articles muted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub muted: Option<i64>,
    pub started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The runs of this process, by rule id.
#[derive(Default)]
pub struct Jobs(Mutex<HashMap<i64, Progress>>);

impl Jobs {
    pub fn progress(&self, rule_id: i64) -> Option<Progress> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(&rule_id).cloned()
    }

    fn update(&self, rule_id: i64, change: impl FnOnce(&mut Progress)) {
        if let Some(progress) = self.0.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&rule_id) {
            change(progress);
        }
    }

    /// Starts running `rule` (a site's `drop` rule, a reader's `mute`)
    /// over the library; a run of the same rule already going is a
    /// conflict.
    pub fn start(
        self: &Arc<Self>,
        db: &Db,
        rule_id: i64,
        rule: &Rule,
        total: i64,
        effect: Effect,
    ) -> Result<Progress, AppError> {
        let set = RuleSet::compile([(rule_id, rule)]).map_err(anyhow::Error::from)?;
        let progress = Progress {
            state: "running",
            looked_at: 0,
            total,
            deleted: (effect == Effect::Delete).then_some(0),
            muted: (effect != Effect::Delete).then_some(0),
            started_at: chrono::Utc::now().to_rfc3339(),
            finished_at: None,
            error: None,
        };
        {
            let mut jobs = self.0.lock().unwrap_or_else(|p| p.into_inner());
            if jobs.get(&rule_id).is_some_and(|p| p.state == "running") {
                return Err(AppError::Conflict("this rule is already being applied".to_owned()));
            }
            jobs.insert(rule_id, progress.clone());
        }
        let (jobs, db) = (Arc::clone(self), db.clone());
        tokio::spawn(async move {
            let outcome = match effect {
                Effect::Delete => delete(&jobs, &db, rule_id, &set).await,
                Effect::Mute { user_id } => mute(&jobs, &db, user_id, rule_id, &set).await,
            };
            jobs.update(rule_id, |p| {
                p.finished_at = Some(chrono::Utc::now().to_rfc3339());
                match outcome {
                    Ok(()) => p.state = "done",
                    Err(err) => {
                        tracing::warn!(rule = rule_id, error = %err, "applying a rule to stored articles failed");
                        p.state = "failed";
                        p.error = Some(err.body().message);
                    }
                }
            });
        });
        Ok(progress)
    }
}

async fn delete(jobs: &Jobs, db: &Db, rule_id: i64, set: &RuleSet) -> Result<(), AppError> {
    let mut before = i64::MAX;
    loop {
        let ids = store::articles::ids_before(&db.reader, before, STEP).await?;
        let Some(&last) = ids.last() else { break };
        before = last;
        let articles = store::articles::full_by_ids(&db.reader, &ids).await?;
        let matching: Vec<i64> = articles
            .iter()
            .filter(|a| set.first_acts_on_stored(a))
            .map(|a| a.id)
            .collect();
        let now = store::now_unix();
        let deleted = db
            .writer
            .transaction(async |conn| {
                let mut deleted = 0;
                for id in &matching {
                    if store::articles::delete(conn, *id, now).await? {
                        deleted += 1;
                    }
                }
                Ok::<_, AppError>(deleted)
            })
            .await?;
        if deleted > 0 {
            db.changed();
            super::record(db, &vec![rule_id; deleted]).await;
        }
        jobs.update(rule_id, |p| {
            p.looked_at += ids.len() as i64;
            p.deleted = Some(p.deleted.unwrap_or(0) + deleted as i64);
        });
    }
    Ok(())
}

async fn mute(jobs: &Jobs, db: &Db, user_id: i64, rule_id: i64, set: &RuleSet) -> Result<(), AppError> {
    let mut before = i64::MAX;
    loop {
        let ids = store::articles::ids_before(&db.reader, before, STEP).await?;
        let Some(&last) = ids.last() else { break };
        before = last;
        let matching: Vec<i64> = store::reader_rules::subjects(&db.reader, &ids)
            .await?
            .iter()
            .filter(|a| !set.reader_actions(a).is_empty())
            .map(|a| a.id)
            .collect();
        if !matching.is_empty() {
            let now = store::now_unix();
            db.writer
                .transaction(async |conn| {
                    store::reader_rules::mute(conn, user_id, rule_id, &matching).await?;
                    store::reader_rules::add_matches(conn, rule_id, matching.len() as i64, now).await
                })
                .await?;
        }
        jobs.update(rule_id, |p| {
            p.looked_at += ids.len() as i64;
            p.muted = Some(p.muted.unwrap_or(0) + matching.len() as i64);
        });
    }
    // The reader's muted set is read again once, when the run is over,
    // rather than after every step.
    db.writer
        .transaction(async |conn| store::reading::bump_mutes(conn, user_id).await)
        .await?;
    db.readers_changed();
    Ok(())
}
