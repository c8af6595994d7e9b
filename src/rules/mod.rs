//! Rules: a rule matches words or a regular expression in an article's
//! fields, within a scope (everything, one section, one feed), and acts.
//! Two kinds share the one shape. Site rules are an admin's say over what
//! enters the library and where it goes: they drop the article, keep only
//! what matches (per feed), add tags or file it under another section,
//! and are applied in the one write path, so feeds and the ingest API
//! cannot differ. Reader rules are a reader's own: they mute what they do
//! not want to see, or mark new articles read or saved for them
//! (`crate::reading::rules`). See [`set::RuleSet`] for how rules are
//! compiled and run.

pub mod apply;
pub mod set;

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::domain::article::BodyFormat;
use crate::domain::{NewArticle, body};
use crate::error::AppError;
use crate::store::{self, Db, memo::Version};
use set::RuleSet;

use crate::domain::article::{FieldError, MAX_SECTION_CHARS, MAX_TAG_CHARS, MAX_TAGS};
use crate::domain::slug::slugify_or;

/// The longest pattern or word list a condition takes.
pub const MAX_PATTERN_CHARS: usize = 1_000;
/// What one compiled pattern may take in memory: the regex crate refuses
/// a pattern whose program would be larger (`(a{1000}){1000}`, say).
pub const MAX_PATTERN_BYTES: usize = 256 * 1024;
pub const MAX_CONDITIONS: usize = 20;
pub const MAX_NAME_CHARS: usize = 200;
/// Rules one site keeps: each is compiled into the sets every new
/// article runs through.
pub const MAX_RULES: usize = 500;

/// What a rule does to the articles it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The article is not stored.
    Drop,
    /// Only matching articles of the scope's feed are stored.
    KeepOnly,
    /// The rule's tags are added.
    Tag,
    /// The article is filed under the rule's section.
    Section,
    /// A reader's: the article leaves their listings, counts, search
    /// results and app syncs (unless they show what is muted).
    Mute,
    /// A reader's: a new article is marked read for them.
    MarkRead,
    /// A reader's: a new article is saved for them.
    Save,
}

/// Whose rule it is, which decides the actions and fields it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An admin's, over what enters the library.
    Site,
    /// A reader's, over what they see.
    Reader,
}

impl Action {
    pub fn kind(self) -> Kind {
        match self {
            Action::Drop | Action::KeepOnly | Action::Tag | Action::Section => Kind::Site,
            Action::Mute | Action::MarkRead | Action::Save => Kind::Reader,
        }
    }
}

/// Which articles a rule looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scope {
    All(All),
    Section { section: String },
    Feed { feed: i64 },
}

/// The scope written `"all"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum All {
    All,
}

impl Default for Scope {
    fn default() -> Self {
        Scope::All(All::All)
    }
}

/// Whether every condition must match, or any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    All,
    Any,
}

/// The part of an article a condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Title,
    Summary,
    Body,
    Author,
    Source,
    Url,
    Tags,
    Any,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::Title,
        Field::Summary,
        Field::Body,
        Field::Author,
        Field::Source,
        Field::Url,
        Field::Tags,
        Field::Any,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Summary => "summary",
            Field::Body => "body",
            Field::Author => "author",
            Field::Source => "source",
            Field::Url => "url",
            Field::Tags => "tags",
            Field::Any => "any",
        }
    }
}

/// One test on one field: words (case- and accent-insensitive, whole
/// words; several alternatives separated by commas, each a word or a
/// phrase) or a regular expression (as written: `(?i)` for any case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: Field,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
}

impl Condition {
    fn sentence(&self) -> String {
        let field = self.field.as_str();
        match (&self.words, &self.regex) {
            (Some(words), _) => format!("{field} has “{words}”"),
            (None, Some(regex)) => format!("{field} matches /{regex}/"),
            (None, None) => field.to_owned(),
        }
    }
}

/// A rule as the API and the database hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    pub action: Action,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default, rename = "match")]
    pub mode: Mode,
    pub conditions: Vec<Condition>,
    /// For `tag`: the tags added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// For `section`: the section's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// A rule can be kept but switched off.
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

impl Rule {
    /// The rule in a sentence: "Drop · in section business · title has
    /// “horoscope”".
    pub fn sentence(&self) -> String {
        let action = match self.action {
            Action::Drop => "Drop".to_owned(),
            Action::KeepOnly => "Keep only".to_owned(),
            Action::Tag => format!("Tag {}", self.tags.join(", ")),
            Action::Section => format!("File under {}", self.section.as_deref().unwrap_or_default()),
            Action::Mute => "Mute".to_owned(),
            Action::MarkRead => "Mark read".to_owned(),
            Action::Save => "Save".to_owned(),
        };
        let scope = match &self.scope {
            Scope::All(_) => "everywhere".to_owned(),
            Scope::Section { section } => format!("in section {section}"),
            Scope::Feed { feed } => format!("from feed {feed}"),
        };
        if self.conditions.is_empty() {
            return format!("{action} · {scope} · everything");
        }
        let joiner = if self.mode == Mode::Any { " or " } else { " and " };
        let conditions: Vec<String> = self.conditions.iter().map(Condition::sentence).collect();
        format!("{action} · {scope} · {}", conditions.join(joiner))
    }

    /// The section a reader's rule mutes as a whole, if it is one: such a
    /// rule is kept as a set in the reader's state, not as a mark on each
    /// of the section's articles.
    pub fn muted_section(&self) -> Option<&str> {
        match &self.scope {
            Scope::Section { section } if self.enabled && self.action == Action::Mute && self.conditions.is_empty() => {
                Some(section)
            }
            _ => None,
        }
    }
}

impl Rule {
    /// Checks a rule of `kind` as sent, naming the first field at fault,
    /// and normalises it (trimmed names, tags, the scope's section as a
    /// slug).
    pub fn validated(mut self, kind: Kind) -> Result<Rule, FieldError> {
        self.name = self.name.trim().to_owned();
        if self.name.is_empty() || self.name.chars().count() > MAX_NAME_CHARS {
            return Err(FieldError::new(
                "name",
                format!("name is required, at most {MAX_NAME_CHARS} characters"),
            ));
        }
        if self.action.kind() != kind {
            return Err(FieldError::new(
                "action",
                match kind {
                    Kind::Site => "a site rule's action is drop, keep_only, tag or section",
                    Kind::Reader => "a reader's rule's action is mute, mark_read or save",
                },
            ));
        }
        // A reader may mute (or mark) a whole section or feed: no condition.
        let whole_scope = kind == Kind::Reader && !matches!(self.scope, Scope::All(_));
        if (self.conditions.is_empty() && !whole_scope) || self.conditions.len() > MAX_CONDITIONS {
            return Err(FieldError::new(
                "conditions",
                format!("a rule needs 1 to {MAX_CONDITIONS} conditions"),
            ));
        }
        for (n, condition) in self.conditions.iter_mut().enumerate() {
            let at = format!("conditions[{n}]");
            if kind == Kind::Reader && condition.field == Field::Body {
                // Reader rules run on what a listing shows of an article.
                return Err(FieldError::new(
                    &format!("{at}.field"),
                    "a reader's rule looks at title, summary, author, source, url, tags or any",
                ));
            }
            match (condition.words.take(), condition.regex.take()) {
                (Some(words), None) => {
                    let words = words.trim().to_owned();
                    if words.chars().count() > MAX_PATTERN_CHARS {
                        return Err(FieldError::new(
                            &format!("{at}.words"),
                            format!("words are at most {MAX_PATTERN_CHARS} characters"),
                        ));
                    }
                    if set::word_pattern(&words).is_none() {
                        return Err(FieldError::new(
                            &format!("{at}.words"),
                            "words must hold at least one word (alternatives separated by commas)",
                        ));
                    }
                    condition.words = Some(words);
                }
                (None, Some(regex)) => {
                    if regex.chars().count() > MAX_PATTERN_CHARS {
                        return Err(FieldError::new(
                            &format!("{at}.regex"),
                            format!("a pattern is at most {MAX_PATTERN_CHARS} characters"),
                        ));
                    }
                    if let Err(err) = set::compile(&regex) {
                        return Err(FieldError::new(
                            &format!("{at}.regex"),
                            format!("invalid pattern: {err}"),
                        ));
                    }
                    condition.regex = Some(regex);
                }
                _ => {
                    return Err(FieldError::new(
                        &at,
                        "a condition has either \"words\" or \"regex\", not both",
                    ));
                }
            }
        }
        match &mut self.scope {
            Scope::Section { section } => {
                if section.trim().is_empty() {
                    return Err(FieldError::new("scope", "scope's section must not be empty"));
                }
                *section = slugify_or(section, "section");
            }
            Scope::Feed { feed } if *feed < 1 => {
                return Err(FieldError::new("scope", "scope's feed must be a feed's id"));
            }
            _ => {}
        }
        if self.action == Action::KeepOnly && !matches!(self.scope, Scope::Feed { .. }) {
            return Err(FieldError::new(
                "scope",
                "keep_only applies to one feed: give the scope as {\"feed\": <id>}",
            ));
        }
        self.tags = self
            .tags
            .iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        match self.action {
            Action::Tag if self.tags.is_empty() || self.tags.len() > MAX_TAGS => {
                return Err(FieldError::new("tags", format!("tag needs 1 to {MAX_TAGS} tags")));
            }
            Action::Tag if self.tags.iter().any(|t| t.chars().count() > MAX_TAG_CHARS) => {
                return Err(FieldError::new(
                    "tags",
                    format!("a tag is at most {MAX_TAG_CHARS} characters"),
                ));
            }
            Action::Tag => {}
            _ if !self.tags.is_empty() => {
                return Err(FieldError::new("tags", "tags are for the tag action"));
            }
            _ => {}
        }
        self.section = self.section.map(|s| s.trim().to_owned());
        match (self.action, &self.section) {
            (Action::Section, Some(s)) if !s.is_empty() && s.chars().count() <= MAX_SECTION_CHARS => {}
            (Action::Section, _) => {
                return Err(FieldError::new(
                    "section",
                    format!("section needs a section name of at most {MAX_SECTION_CHARS} characters"),
                ));
            }
            (_, Some(_)) => return Err(FieldError::new("section", "section is for the section action")),
            _ => {}
        }
        Ok(self)
    }
}

/// The site's rules, compiled: read and compiled again only after a
/// change (or a minute, for changes another instance made unheard).
pub async fn current(db: &Db) -> Result<Arc<RuleSet>, AppError> {
    let version = Version::of_rules(db);
    if let Some(set) = db.compiled_rules.get(&(), version) {
        return Ok(set);
    }
    let rows = store::rules::list(&db.reader).await?;
    let rules: Vec<(i64, Rule)> = rows
        .iter()
        .filter_map(|row| Some((row.id, serde_json::from_str(&row.spec).ok()?)))
        .collect();
    let set = Arc::new(RuleSet::compile(rules.iter().map(|(id, rule)| (*id, rule))).map_err(anyhow::Error::from)?);
    db.compiled_rules.put((), version, Arc::clone(&set));
    Ok(set)
}

/// Runs the site's rules over a new article: the article as they left it
/// (tagged, filed elsewhere), or [`AppError::Filtered`] naming the rule
/// that keeps it out. The rules that acted are added to `acted`.
pub fn admit(rules: &RuleSet, mut article: NewArticle, acted: &mut Vec<i64>) -> Result<NewArticle, AppError> {
    if rules.is_empty() {
        return Ok(article);
    }
    let body_text = match (rules.reads_body(), article.body_format) {
        (false, _) => String::new(),
        (true, BodyFormat::Html) => body::plain_text(&article.body),
        (true, _) => article.body.clone(),
    };
    let verdict = rules.apply(&mut article, &body_text);
    acted.extend(&verdict.acted);
    match verdict.dropped_by {
        Some((rule_id, rule)) => Err(AppError::Filtered { rule_id, rule }),
        None => Ok(article),
    }
}

/// Counts what the rules did, once it is committed.
pub async fn record(db: &Db, acted: &[i64]) {
    if acted.is_empty() {
        return;
    }
    let mut counts: HashMap<i64, i64> = HashMap::new();
    for id in acted {
        *counts.entry(*id).or_default() += 1;
    }
    let counts: Vec<(i64, i64)> = counts.into_iter().collect();
    let Ok(json) = serde_json::to_string(&counts) else {
        return;
    };
    let now = store::now_unix();
    let outcome = db
        .writer
        .transaction(async |conn| {
            store::rules::count_matches(conn, &json, now)
                .await
                .map_err(AppError::from)
        })
        .await;
    if let Err(err) = outcome {
        // The counts are a report; the articles are stored.
        tracing::warn!(error = %err, "cannot count what the site rules did");
    }
}
