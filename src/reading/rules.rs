//! A reader's own rules: what they do not want to see (`mute`), and what
//! they want done to new articles for them (`mark_read`, `save`). The
//! rule is the site rules' JSON (`crate::rules::Rule`) with the reader's
//! actions; its effects are that reader's alone.
//!
//! Rules act once per article, not at every page view: the story placing
//! worker, which visits every stored article once in arrival order, runs
//! every reader's rules over each step of new articles in its transaction
//! and leaves marks beside read and saved (`article_states.muted_by`, or a
//! read or saved mark). Everything that reads a reader's state (pages,
//! counts, the Unread page, search results, Google Reader and Fever
//! syncs) then filters on what it already loads (`Snapshot::hides`). A
//! `mute` rule saved or changed later is also run over what is stored, in
//! the background; `mark_read` and `save` act on articles that arrive from
//! then on. A rule that mutes a whole section is kept as a set of sections
//! in the reader's state rather than a mark on each of its articles.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::AppError;
use crate::rules::apply::{Effect, Progress};
use crate::rules::set::RuleSet;
use crate::rules::{Action, Kind, Rule};
use crate::store::{self, Db, Tx, memo::Version, reader_rules::Subject, rules::RuleRow};

/// Rules one reader keeps: every new article runs through each of them.
pub const MAX_READER_RULES: usize = 100;

/// Every reader's rules, compiled for new articles: one set per reader.
#[derive(Debug, Default)]
pub struct Compiled {
    readers: Vec<(i64, RuleSet)>,
}

impl Compiled {
    pub fn is_empty(&self) -> bool {
        self.readers.is_empty()
    }
}

/// A stored rule's JSON, which was checked when it was saved.
pub fn parse(row: &RuleRow) -> Result<Rule, AppError> {
    Ok(serde_json::from_str(&row.spec).map_err(anyhow::Error::from)?)
}

/// Every reader's rules, compiled: read again only after a change to any
/// rule (or a minute, for changes another instance made unheard).
pub async fn compiled(db: &Db) -> Result<Arc<Compiled>, AppError> {
    let version = Version::of_rules(db);
    if let Some(compiled) = db.compiled_reader_rules.get(&(), version) {
        return Ok(compiled);
    }
    let mut by_reader: Vec<(i64, Vec<(i64, Rule)>)> = Vec::new();
    for row in store::reader_rules::everyone(&db.reader).await? {
        let Ok(rule) = serde_json::from_str::<Rule>(&row.spec) else {
            continue;
        };
        // A whole muted section is the reader's state's business.
        if rule.muted_section().is_some() {
            continue;
        }
        match by_reader.last_mut() {
            Some((user_id, rules)) if *user_id == row.user_id => rules.push((row.id, rule)),
            _ => by_reader.push((row.user_id, vec![(row.id, rule)])),
        }
    }
    let mut readers = Vec::with_capacity(by_reader.len());
    for (user_id, rules) in by_reader {
        let set = RuleSet::compile(rules.iter().map(|(id, rule)| (*id, rule))).map_err(anyhow::Error::from)?;
        if !set.is_empty() {
            readers.push((user_id, set));
        }
    }
    let compiled = Arc::new(Compiled { readers });
    db.compiled_reader_rules.put((), version, Arc::clone(&compiled));
    Ok(compiled)
}

/// Runs every reader's rules over new articles, in the transaction that
/// places them, and leaves the marks they call for. Returns whether any
/// reader's state changed (see [`Db::readers_changed`]).
pub async fn act_on_new(conn: &mut Tx<'_>, compiled: &Compiled, articles: &[Subject], now: i64) -> sqlx::Result<bool> {
    let mut changed = false;
    for (user_id, set) in &compiled.readers {
        let mut muted: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut read = Vec::new();
        let mut saved = Vec::new();
        let mut matched: HashMap<i64, i64> = HashMap::new();
        for article in articles {
            for (rule_id, action) in set.reader_actions(article) {
                *matched.entry(rule_id).or_default() += 1;
                match action {
                    Action::Mute => muted.entry(rule_id).or_default().push(article.id),
                    Action::MarkRead => read.push(article.id),
                    Action::Save => saved.push(article.id),
                    _ => {}
                }
            }
        }
        if matched.is_empty() {
            continue;
        }
        for (rule_id, ids) in &muted {
            store::reader_rules::mute(conn, *user_id, *rule_id, ids).await?;
        }
        read.dedup();
        for id in read {
            store::reading::set_read(conn, *user_id, id, true).await?;
        }
        saved.dedup();
        for id in saved {
            store::reading::set_saved(conn, *user_id, id, true, now).await?;
        }
        for (rule_id, n) in matched {
            store::reader_rules::add_matches(conn, rule_id, n, now).await?;
        }
        // New mutes are of articles past where placing was: the reader's
        // muted set is read on from there (`Reading::muted`), not again.
        store::reading::bump_version(conn, *user_id).await?;
        changed = true;
    }
    Ok(changed)
}

/// The ids of the sections a reader's rules mute as a whole.
pub async fn muted_sections(db: &Db, user_id: i64) -> Result<Vec<i64>, AppError> {
    let slugs: Vec<String> = store::reader_rules::list(&db.reader, user_id)
        .await?
        .iter()
        .filter_map(|row| parse(row).ok()?.muted_section().map(str::to_owned))
        .collect();
    Ok(store::reader_rules::section_ids(&db.reader, &slugs).await?)
}

/// Checks a reader's rule as sent.
pub fn checked(rule: Rule) -> Result<Rule, AppError> {
    rule.validated(Kind::Reader).map_err(AppError::Invalid)
}

/// Stores a checked rule of a reader's; a `mute` rule then runs over
/// what is stored, in the background.
pub async fn create(
    db: &Db,
    jobs: &Arc<crate::rules::apply::Jobs>,
    user_id: i64,
    rule: &Rule,
) -> Result<i64, AppError> {
    let spec = serde_json::to_string(rule).map_err(anyhow::Error::from)?;
    let now = store::now_unix();
    let id = db
        .writer
        .transaction(async |conn| {
            if store::reader_rules::count(conn, user_id).await? >= MAX_READER_RULES as i64 {
                return Err(AppError::Conflict(format!(
                    "a reader keeps at most {MAX_READER_RULES} rules: delete one first"
                )));
            }
            let id = store::reader_rules::insert(conn, user_id, &rule.name, &spec, now).await?;
            store::reading::bump_mutes(conn, user_id).await?;
            Ok(id)
        })
        .await?;
    changed(db);
    apply_to_stored(db, jobs, user_id, id, rule).await?;
    Ok(id)
}

/// Replaces a reader's rule, keeping its counts: what it muted is unmuted
/// and, for a `mute` rule, muted again by the rule as it now is. False
/// when the reader has no rule with this id.
pub async fn replace(
    db: &Db,
    jobs: &Arc<crate::rules::apply::Jobs>,
    user_id: i64,
    id: i64,
    rule: &Rule,
) -> Result<bool, AppError> {
    let spec = serde_json::to_string(rule).map_err(anyhow::Error::from)?;
    let now = store::now_unix();
    let found = db
        .writer
        .transaction(async |conn| {
            if !store::reader_rules::update(conn, user_id, id, &rule.name, &spec, now).await? {
                return Ok(false);
            }
            store::reader_rules::unmute(conn, user_id, id).await?;
            store::reading::bump_mutes(conn, user_id).await?;
            Ok::<_, AppError>(true)
        })
        .await?;
    if found {
        changed(db);
        apply_to_stored(db, jobs, user_id, id, rule).await?;
    }
    Ok(found)
}

/// Deletes a reader's rule and what it muted; false when there was none.
pub async fn remove(db: &Db, user_id: i64, id: i64) -> Result<bool, AppError> {
    let found = db
        .writer
        .transaction(async |conn| {
            if !store::reader_rules::delete(conn, user_id, id).await? {
                return Ok(false);
            }
            store::reader_rules::unmute(conn, user_id, id).await?;
            store::reading::bump_mutes(conn, user_id).await?;
            Ok::<_, AppError>(true)
        })
        .await?;
    if found {
        changed(db);
    }
    Ok(found)
}

/// A reader's rules changed: the compiled rules and the reader's state
/// are read again, here and by other instances.
fn changed(db: &Db) {
    db.rules_changed();
    db.readers_changed();
}

/// Starts muting what is stored by an enabled `mute` rule with
/// conditions (a whole muted section needs no run).
async fn apply_to_stored(
    db: &Db,
    jobs: &Arc<crate::rules::apply::Jobs>,
    user_id: i64,
    id: i64,
    rule: &Rule,
) -> Result<Option<Progress>, AppError> {
    if rule.action != Action::Mute || !rule.enabled || rule.muted_section().is_some() {
        return Ok(None);
    }
    let total = store::sections::list(db).await?.iter().map(|s| s.article_count).sum();
    match jobs.start(db, id, rule, total, Effect::Mute { user_id }) {
        Ok(progress) => Ok(Some(progress)),
        // A run of the rule as it was is still going: it has unmuted
        // nothing of this one's, and the reader can save it again.
        Err(AppError::Conflict(_)) => Ok(None),
        Err(err) => Err(err),
    }
}
