//! Rules compiled for the write path: every condition on one field goes
//! into one `RegexSet` (words into one over the field's folded text), so
//! an article is read once per field however many rules there are, and
//! the regex crate's automata run in time linear in the text whatever the
//! pattern: no rule can hang ingest.

use std::collections::HashMap;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::{Action, Field, MAX_PATTERN_BYTES, Mode, Rule, Scope};
use crate::domain::article::MAX_TAGS;
use crate::domain::listing::Article;
use crate::domain::slug::slugify_or;
use crate::domain::{NewArticle, body};

/// Compiles one pattern as a rule would run it, within the size limit.
pub fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(MAX_PATTERN_BYTES)
        .dfa_size_limit(MAX_PATTERN_BYTES)
        .build()
}

/// Text as word conditions see it: accents and case folded ("Émeute" and
/// "EMEUTE" are "emeute"), other scripts transliterated alike on both
/// sides.
pub fn fold(text: &str) -> String {
    deunicode::deunicode(text).to_lowercase()
}

/// The pattern for a word list: alternatives separated by commas, each a
/// word or a phrase, matched as whole words in folded text. None when the
/// list holds no word.
pub fn word_pattern(words: &str) -> Option<String> {
    let alternatives: Vec<String> = words
        .split(',')
        .map(|alternative| {
            fold(alternative)
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join(r"\W+")
        })
        .filter(|a| !a.is_empty())
        .collect();
    (!alternatives.is_empty()).then(|| format!(r"\b(?:{})\b", alternatives.join("|")))
}

/// The feed a stored or new article came from: feed entries are keyed
/// `feed:<id>:…`.
pub fn feed_of(external_id: Option<&str>) -> Option<i64> {
    let rest = external_id?.strip_prefix("feed:")?;
    rest.split(':').next()?.parse().ok()
}

/// An article as rules read it.
struct Subject<'a> {
    pub title: &'a str,
    pub summary: &'a str,
    /// Its plain text; empty when no rule reads the body.
    pub body: &'a str,
    pub author: &'a str,
    pub source: &'a str,
    pub url: &'a str,
    pub tags: &'a [String],
    pub section: &'a str,
    pub feed: Option<i64>,
}

impl Subject<'_> {
    fn text(&self, field: Field) -> String {
        match field {
            Field::Title => self.title.to_owned(),
            Field::Summary => self.summary.to_owned(),
            Field::Body => self.body.to_owned(),
            Field::Author => self.author.to_owned(),
            Field::Source => self.source.to_owned(),
            Field::Url => self.url.to_owned(),
            Field::Tags => self.tags.join("\n"),
            Field::Any => [
                self.title,
                self.summary,
                self.body,
                self.author,
                self.source,
                self.url,
                &self.tags.join("\n"),
            ]
            .join("\n"),
        }
    }
}

/// A condition's place: the set of its field and kind, and its index there.
#[derive(Debug, Clone, Copy)]
struct Slot {
    set: usize,
    index: usize,
}

#[derive(Debug)]
struct Compiled {
    id: i64,
    name: String,
    action: Action,
    scope: Scope,
    mode: Mode,
    conditions: Vec<Slot>,
    tags: Vec<String>,
    section: Option<String>,
}

/// One field's conditions of one kind, as one set.
#[derive(Debug)]
struct FieldSet {
    field: Field,
    folded: bool,
    set: RegexSet,
}

/// What the rules decided for one new article.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The rule that keeps it out, by id and name.
    pub dropped_by: Option<(i64, String)>,
    /// The rules that acted on it (tagged, moved or dropped it).
    pub acted: Vec<i64>,
}

/// The site's enabled rules, compiled, in order.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Compiled>,
    sets: Vec<FieldSet>,
}

impl RuleSet {
    /// Compiles stored rules `(id, rule)`; disabled ones are left out.
    /// Each was checked when saved, so a pattern that no longer compiles
    /// (a newer regex crate) is an error.
    pub fn compile<'a>(rules: impl IntoIterator<Item = (i64, &'a Rule)>) -> Result<RuleSet, regex::Error> {
        let mut patterns: HashMap<(Field, bool), Vec<String>> = HashMap::new();
        let mut compiled = Vec::new();
        let mut slots_of: Vec<Vec<((Field, bool), usize)>> = Vec::new();
        for (id, rule) in rules.into_iter().filter(|(_, r)| r.enabled) {
            let mut slots = Vec::new();
            for condition in &rule.conditions {
                let (key, pattern) = match (&condition.words, &condition.regex) {
                    (Some(words), _) => ((condition.field, true), word_pattern(words).unwrap_or_default()),
                    (None, Some(regex)) => ((condition.field, false), regex.clone()),
                    (None, None) => continue,
                };
                let list = patterns.entry(key).or_default();
                list.push(pattern);
                slots.push((key, list.len() - 1));
            }
            slots_of.push(slots);
            compiled.push(Compiled {
                id,
                name: rule.name.clone(),
                action: rule.action,
                scope: rule.scope.clone(),
                mode: rule.mode,
                conditions: Vec::new(),
                tags: rule.tags.clone(),
                section: rule.section.clone(),
            });
        }
        let mut sets = Vec::new();
        let mut set_of: HashMap<(Field, bool), usize> = HashMap::new();
        for (key, list) in patterns {
            let set = RegexSetBuilder::new(&list)
                .size_limit(MAX_PATTERN_BYTES * list.len())
                .dfa_size_limit(MAX_PATTERN_BYTES * list.len())
                .build()?;
            set_of.insert(key, sets.len());
            sets.push(FieldSet {
                field: key.0,
                folded: key.1,
                set,
            });
        }
        for (rule, slots) in compiled.iter_mut().zip(slots_of) {
            rule.conditions = slots
                .into_iter()
                .filter_map(|(key, index)| {
                    Some(Slot {
                        set: *set_of.get(&key)?,
                        index,
                    })
                })
                .collect();
        }
        Ok(RuleSet { rules: compiled, sets })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether any rule reads the body (whose plain text costs a parse).
    pub fn reads_body(&self) -> bool {
        self.sets.iter().any(|s| matches!(s.field, Field::Body | Field::Any))
    }

    /// For each rule in order, whether it matches `subject`.
    fn matches(&self, subject: &Subject<'_>) -> Vec<bool> {
        let found: Vec<regex::SetMatches> = self
            .sets
            .iter()
            .map(|s| {
                let text = subject.text(s.field);
                match s.folded {
                    true => s.set.matches(&fold(&text)),
                    false => s.set.matches(&text),
                }
            })
            .collect();
        self.rules
            .iter()
            .map(|rule| {
                let mut each = rule.conditions.iter().map(|c| found[c.set].matched(c.index));
                // A reader's rule over a whole section or feed has none.
                rule.conditions.is_empty()
                    || match rule.mode {
                        Mode::All => each.all(|m| m),
                        Mode::Any => each.any(|m| m),
                    }
            })
            .collect()
    }

    /// Applies the rules, in order, to a new article: it may be dropped,
    /// tagged, or filed under another section (and a later rule scoped to
    /// a section sees the section an earlier one chose). Conditions look
    /// at the article as it was sent.
    pub fn apply(&self, article: &mut NewArticle, body_text: &str) -> Verdict {
        let mut verdict = Verdict::default();
        if self.is_empty() {
            return verdict;
        }
        let feed = feed_of(article.external_id.as_deref());
        let matched = {
            let subject = Subject {
                title: &article.title,
                summary: article.summary.as_deref().unwrap_or_default(),
                body: body_text,
                author: article.author.as_deref().unwrap_or_default(),
                source: article.source.as_deref().unwrap_or_default(),
                url: article.url.as_deref().unwrap_or_default(),
                tags: &article.tags,
                section: &article.section,
                feed,
            };
            self.matches(&subject)
        };
        for (rule, matched) in self.rules.iter().zip(matched) {
            let in_scope = match &rule.scope {
                Scope::All(_) => true,
                Scope::Section { section } => slugify_or(&article.section, "section") == *section,
                Scope::Feed { feed: id } => feed == Some(*id),
            };
            if !in_scope {
                continue;
            }
            match rule.action {
                Action::Drop | Action::KeepOnly if matched == (rule.action == Action::Drop) => {
                    verdict.acted.push(rule.id);
                    verdict.dropped_by = Some((rule.id, rule.name.clone()));
                    return verdict;
                }
                Action::Tag if matched => {
                    verdict.acted.push(rule.id);
                    for tag in &rule.tags {
                        if article.tags.len() < MAX_TAGS && !article.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
                            article.tags.push(tag.clone());
                        }
                    }
                }
                Action::Section if matched => {
                    verdict.acted.push(rule.id);
                    if let Some(section) = &rule.section {
                        article.section = section.clone();
                    }
                }
                _ => {}
            }
        }
        verdict
    }

    /// Whether the first rule would act on a stored article: drop, tag or
    /// move it, or, for `keep_only`, leave it out (a draft's preview, a
    /// rule run over the library).
    pub fn first_acts_on_stored(&self, article: &Article) -> bool {
        let body_text = match self.reads_body() {
            true => body::plain_text(&article.body_html),
            false => String::new(),
        };
        self.first_acts_on(&Subject {
            title: &article.title,
            summary: article.summary.as_deref().unwrap_or_default(),
            body: &body_text,
            author: article.author.as_deref().unwrap_or_default(),
            source: article.source.as_deref().unwrap_or_default(),
            url: article.url.as_deref().unwrap_or_default(),
            tags: &article.tags,
            section: &article.section_name,
            feed: feed_of(article.external_id.as_deref()),
        })
    }

    /// The reader rules that act on a stored article, with what each does,
    /// in order.
    pub fn reader_actions(&self, article: &crate::store::reader_rules::Subject) -> Vec<(i64, Action)> {
        if self.is_empty() {
            return Vec::new();
        }
        let tags: Vec<String> = serde_json::from_str(&article.tags).unwrap_or_default();
        let feed = feed_of(article.external_id.as_deref());
        let subject = Subject {
            title: &article.title,
            summary: article.summary.as_deref().unwrap_or_default(),
            body: "",
            author: article.author.as_deref().unwrap_or_default(),
            source: article.source.as_deref().unwrap_or_default(),
            url: article.url.as_deref().unwrap_or_default(),
            tags: &tags,
            section: &article.section_slug,
            feed,
        };
        self.rules
            .iter()
            .zip(self.matches(&subject))
            .filter(|(rule, matched)| *matched && in_scope(&rule.scope, &subject))
            .map(|(rule, _)| (rule.id, rule.action))
            .collect()
    }

    fn first_acts_on(&self, subject: &Subject<'_>) -> bool {
        let Some(rule) = self.rules.first() else {
            return false;
        };
        let matched = self.matches(subject).first().copied().unwrap_or(false);
        in_scope(&rule.scope, subject) && (matched != (rule.action == Action::KeepOnly))
    }
}

/// Whether an article is in a rule's scope.
fn in_scope(scope: &Scope, subject: &Subject<'_>) -> bool {
    match scope {
        Scope::All(_) => true,
        Scope::Section { section } => slugify_or(subject.section, "section") == *section,
        Scope::Feed { feed } => subject.feed == Some(*feed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_whole_words_whatever_the_case_and_accents() {
        let pattern = Regex::new(&word_pattern("horoscope, sponsored content").unwrap()).unwrap();
        for text in ["Your HOROSCOPE today", "Sponsored   content: a bank", "horoscopé"] {
            assert!(pattern.is_match(&fold(text)), "{text}");
        }
        for text in ["horoscopes", "unsponsored content", "sponsored"] {
            assert!(!pattern.is_match(&fold(text)), "{text}");
        }
        assert_eq!(word_pattern(" , ,"), None);
    }

    #[test]
    fn feeds_are_read_from_their_entries_keys() {
        assert_eq!(feed_of(Some("feed:12:urn:x")), Some(12));
        assert_eq!(feed_of(Some("wire-7")), None);
        assert_eq!(feed_of(None), None);
    }
}
