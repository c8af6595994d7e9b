//! Which story a new article joins: online, in arrival order, precision
//! first. A false merge hides news; a missed one shows a story twice.
//!
//! An article is compared with each recent story's centroid (the summed
//! terms of its members) by TF-IDF cosine, discounted by the time between
//! them, and joins the best story over [`JOIN_SCORE`] — only with real
//! evidence: at least [`MIN_SHARED`] informative terms in common, and,
//! when both have a lead of their own, terms of the lead among them, so a
//! reused headline alone never merges two stories. A story takes no new
//! article once [`QUIET_SECONDS`] pass without one.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::terms::Terms;

/// A story with no article for this long is closed.
pub const QUIET_SECONDS: i64 = 72 * 3600;

/// The weighted cosine an article needs to join a story, compared by
/// headline and lead.
pub const JOIN_SCORE: f64 = 0.40;

/// The same, compared by headline alone (when either has no lead).
pub const TITLE_JOIN_SCORE: f64 = 0.15;

/// Informative terms an article must share with a story to join it.
const MIN_SHARED: usize = 2;

/// Terms of its lead an article with one must share with a story whose
/// articles have leads.
const MIN_SHARED_LEAD: usize = 3;

/// A term in more than this share of articles is not evidence on its own.
/// Not less: in a busy news cycle one story's own name ("Malaysia",
/// "Crimea") is in several percent of everything, and at 5% the biggest
/// stories stopped gathering their versions (UCI headlines: B3 F1 0.491
/// at 5%, 0.511 at 9%, with precision 0.92 and 0.91; docs/BENCHMARKS.md).
const COMMON_SHARE: f64 = 0.09;

/// Terms a story's centroid keeps, by weight: enough for its vocabulary,
/// few enough that a long-running story cannot come to match everything.
const CENTROID_TERMS: usize = 64;

/// Names and numbers a story's centroid keeps.
const CENTROID_FACTS: usize = 32;

/// The share of an article's names and numbers its story must know: a
/// report of the same event names the same places, people and figures.
const SHARED_FACTS: f64 = 0.4;

/// How much of the score the quiet period can take away.
const TIME_DISCOUNT: f64 = 0.25;

/// The thousand commonest English words (wordfreq's list, Apache-2.0), as
/// terms: shared, they are no evidence of one story, whatever a small
/// library's own counts say ("A story on a server" and "A story that was
/// taken down" share a word, not an event).
static COMMON_WORDS: std::sync::LazyLock<std::collections::HashSet<String>> = std::sync::LazyLock::new(|| {
    include_str!("common_words.txt")
        .lines()
        .flat_map(super::terms::words)
        .collect()
});

/// Document frequencies: how many articles each term appeared in, of how
/// many in all.
#[derive(Debug, Default, Clone)]
pub struct Frequencies {
    pub total: f64,
    pub counts: HashMap<String, f64>,
}

impl Frequencies {
    pub fn idf(&self, term: &str) -> f64 {
        let df = self.counts.get(term).copied().unwrap_or(0.0);
        ((self.total + 1.0) / (df + 1.0)).ln() + 1.0
    }

    /// A term common enough that sharing it says little: one of English's
    /// commonest words, or (once there are enough articles to tell) in
    /// many of this library's.
    fn is_common(&self, term: &str) -> bool {
        COMMON_WORDS.contains(term)
            || (self.total >= 200.0 && self.counts.get(term).copied().unwrap_or(0.0) > COMMON_SHARE * self.total)
    }

    /// Counts one more article with `terms`.
    pub fn add(&mut self, terms: &Terms) {
        self.total += 1.0;
        for (term, _) in &terms.weights {
            *self.counts.entry(term.clone()).or_default() += 1.0;
        }
    }
}

/// A story's centroid as stored (JSON).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Centroid {
    pub terms: HashMap<String, f32>,
    /// Members with a lead of their own.
    #[serde(default)]
    pub leads: u32,
    /// The names and numbers of its members' leads.
    #[serde(default)]
    pub facts: HashMap<String, u32>,
}

impl Centroid {
    pub fn add(&mut self, terms: &Terms) {
        for (term, weight) in &terms.weights {
            *self.terms.entry(term.clone()).or_default() += weight;
        }
        if terms.has_lead {
            self.leads += 1;
        }
        for fact in &terms.facts {
            *self.facts.entry(fact.clone()).or_default() += 1;
        }
        if self.facts.len() > CENTROID_FACTS {
            let mut kept: Vec<(String, u32)> = self.facts.drain().collect();
            kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            kept.truncate(CENTROID_FACTS);
            self.facts = kept.into_iter().collect();
        }
        if self.terms.len() > CENTROID_TERMS {
            let mut kept: Vec<(String, f32)> = self.terms.drain().collect();
            kept.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            kept.truncate(CENTROID_TERMS);
            self.terms = kept.into_iter().collect();
        }
    }
}

/// A story as the decision sees it.
#[derive(Debug, Clone)]
pub struct Story {
    pub id: i64,
    pub first_at: i64,
    pub last_at: i64,
    pub centroid: Centroid,
}

impl Story {
    /// How far `at` is from the story's span of time, in seconds.
    fn gap(&self, at: i64) -> i64 {
        if at < self.first_at {
            self.first_at - at
        } else {
            at.saturating_sub(self.last_at).max(0)
        }
    }

    /// Whether `at` is within the story's active span, quiet period included.
    pub fn is_open_at(&self, at: i64) -> bool {
        self.gap(at) <= QUIET_SECONDS
    }

    pub fn absorb(&mut self, terms: &Terms, at: i64) {
        self.centroid.add(terms);
        self.touch(at);
    }

    /// Widens the story's span of time to `at`.
    pub fn touch(&mut self, at: i64) {
        self.first_at = self.first_at.min(at);
        self.last_at = self.last_at.max(at);
    }
}

/// How well an article published at `at` fits `story`: the time-weighted
/// cosine, or None when it is not enough to join or the evidence is too
/// thin whatever the score.
pub fn fit(terms: &Terms, at: i64, story: &Story, df: &Frequencies) -> Option<f64> {
    if !story.is_open_at(at) {
        return None;
    }
    let mut dot = 0.0;
    let mut article_norm = 0.0;
    let mut shared = 0;
    let mut shared_lead = 0;
    for (term, weight) in &terms.weights {
        let idf = df.idf(term);
        let a = f64::from(*weight) * idf;
        article_norm += a * a;
        if let Some(&s) = story.centroid.terms.get(term) {
            dot += a * f64::from(s) * idf;
            if !df.is_common(term) {
                shared += 1;
                if terms.lead.binary_search(term).is_ok() {
                    shared_lead += 1;
                }
            }
        }
    }
    if shared < MIN_SHARED {
        return None;
    }
    // Two versions with leads of their own must share more than their
    // headlines: sites reuse headlines ("Live: election results"). A
    // headline alone must agree on most of its words ("Morning bulletin"
    // is not "Evening bulletin"), and not on everything but its numbers
    // ("Round 3 results" is not "Round 4 results").
    let by_leads = terms.has_lead && story.centroid.leads > 0;
    let evidence = if by_leads {
        let known = terms
            .facts
            .iter()
            .filter(|f| story.centroid.facts.contains_key(*f))
            .count();
        let facts_agree = terms.facts.len() < 2 || known as f64 >= SHARED_FACTS * terms.facts.len() as f64;
        shared_lead >= MIN_SHARED_LEAD && facts_agree
    } else {
        let informative: Vec<&String> = terms.title.iter().filter(|t| !df.is_common(t)).collect();
        let in_story = informative
            .iter()
            .filter(|t| story.centroid.terms.contains_key(t.as_str()))
            .count();
        // Every number of a headline must be the story's: "Round 3
        // results" is not "Round 4 results".
        let numbers_differ = informative
            .iter()
            .any(|t| is_number(t) && !story.centroid.terms.contains_key(t.as_str()))
            && story.centroid.terms.keys().any(|t| is_number(t));
        in_story >= MIN_SHARED && !numbers_differ
    };
    if !evidence {
        return None;
    }
    let story_norm: f64 = story
        .centroid
        .terms
        .iter()
        .map(|(term, s)| {
            let v = f64::from(*s) * df.idf(term);
            v * v
        })
        .sum();
    if article_norm == 0.0 || story_norm == 0.0 {
        return None;
    }
    let cosine = dot / (article_norm.sqrt() * story_norm.sqrt());
    let discount = 1.0 - TIME_DISCOUNT * (story.gap(at) as f64 / QUIET_SECONDS as f64);
    // Headlines alone are short: their cosine runs lower for the same
    // story, and the evidence rule above already asked more of them.
    let needed = if by_leads { JOIN_SCORE } else { TITLE_JOIN_SCORE };
    let score = cosine * discount;
    (score >= needed).then_some(score)
}

fn is_number(term: &str) -> bool {
    term.bytes().all(|b| b.is_ascii_digit())
}

/// The story among `stories` that an article joins, if any.
pub fn best<'a>(terms: &Terms, at: i64, stories: impl Iterator<Item = &'a Story>, df: &Frequencies) -> Option<i64> {
    stories
        .filter_map(|story| Some((story.id, fit(terms, at, story, df)?)))
        .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map(|(id, _)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn story(id: i64, title: &str, lead: &str, at: i64) -> Story {
        let mut story = Story {
            id,
            first_at: at,
            last_at: at,
            centroid: Centroid::default(),
        };
        story.absorb(&Terms::of(title, lead), at);
        story
    }

    #[test]
    fn a_write_up_of_the_same_event_joins_and_a_reused_headline_does_not() {
        let df = Frequencies::default();
        let harbour = story(
            1,
            "Storm shuts northern harbour for a week",
            "The port authority closed the northern harbour after a storm damaged two cranes and the \
             breakwater; ships are diverted to the southern terminal.",
            0,
        );
        let write_up = Terms::of(
            "Northern harbour closed as storm wrecks cranes",
            "Two cranes and part of the breakwater were damaged by the storm, and the port authority \
             has sent ships to the southern terminal while the northern harbour stays shut.",
        );
        assert_eq!(best(&write_up, 3600, [&harbour].into_iter(), &df), Some(1));

        let same_headline = Terms::of(
            "Storm shuts northern harbour for a week",
            "Anglers on the lake say the weekend regatta was cancelled when the wind rose, and the \
             sailing club will hold its race next month instead of this Saturday.",
        );
        assert_eq!(best(&same_headline, 3600, [&harbour].into_iter(), &df), None);
    }

    #[test]
    fn a_story_closes_after_its_quiet_period() {
        let df = Frequencies::default();
        let harbour = story(1, "Storm shuts northern harbour", "", 0);
        let later = Terms::of("Northern harbour storm damage", "");
        assert_eq!(best(&later, QUIET_SECONDS / 2, [&harbour].into_iter(), &df), Some(1));
        assert_eq!(best(&later, QUIET_SECONDS + 1, [&harbour].into_iter(), &df), None);
    }

    #[test]
    fn one_shared_word_is_not_enough() {
        let df = Frequencies::default();
        let harbour = story(1, "Storm shuts harbour", "", 0);
        assert_eq!(
            best(&Terms::of("Harbour festival", ""), 10, [&harbour].into_iter(), &df),
            None
        );
    }
}
