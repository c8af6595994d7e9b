//! What an article is about, as weighted terms of its headline and lead:
//! the words a story's versions share whoever wrote them.

use std::collections::HashMap;

/// Words of the lead (the summary, else the start of the text) counted
/// beside the headline: the who, what and where of a news story.
const LEAD_WORDS: usize = 60;

/// A headline's words weigh this much more than the lead's.
const TITLE_WEIGHT: f32 = 2.0;

/// An article's terms: folded, stemmed words with their weights, and
/// which of them come from the lead (not only the headline).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Terms {
    pub weights: Vec<(String, f32)>,
    /// True when the article has a lead of its own beside its headline.
    pub has_lead: bool,
    /// The lead's terms, sorted.
    pub lead: Vec<String>,
    /// The headline's terms, sorted.
    pub title: Vec<String>,
    /// The lead's names and numbers (see [`facts`]), sorted.
    pub facts: Vec<String>,
}

impl Terms {
    /// The terms of a headline and a lead text (plain text).
    pub fn of(title: &str, lead_text: &str) -> Terms {
        let mut weights: HashMap<String, f32> = HashMap::new();
        let title_words = words(title);
        for word in &title_words {
            *weights.entry(word.clone()).or_default() += TITLE_WEIGHT;
        }
        // A lead that repeats the headline (headline-only items, or bodies
        // that open with it) adds nothing of its own.
        let mut lead: Vec<String> = words(lead_text)
            .into_iter()
            .take(LEAD_WORDS + title_words.len())
            .collect();
        if lead.starts_with(&title_words) {
            lead.drain(..title_words.len());
        }
        lead.truncate(LEAD_WORDS);
        for word in &lead {
            *weights.entry(word.clone()).or_default() += 1.0;
        }
        let has_lead = lead.len() >= 8;
        let mut lead_terms = lead;
        lead_terms.sort();
        lead_terms.dedup();
        let mut weights: Vec<(String, f32)> = weights.into_iter().collect();
        weights.sort_by(|a, b| a.0.cmp(&b.0));
        let mut title = title_words;
        title.sort();
        title.dedup();
        let mut facts = if has_lead { facts(lead_text) } else { Vec::new() };
        facts.sort();
        facts.dedup();
        Terms {
            weights,
            has_lead,
            lead: lead_terms,
            title,
            facts,
        }
    }
}

/// The words of a text as terms: transliterated, lower-case, plurals and
/// possessives trimmed, stop words and single letters left out.
pub fn words(text: &str) -> Vec<String> {
    deunicode::deunicode(text)
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '\'')
        .filter_map(|w| {
            let w = w.trim_matches('\'');
            let w = w.strip_suffix("'s").unwrap_or(w);
            let w: String = w.chars().filter(|c| *c != '\'').collect();
            let is_number = !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit());
            if (w.len() < 2 && !is_number) || STOP_WORDS.binary_search(&w.as_str()).is_ok() {
                return None;
            }
            Some(stem(w))
        })
        .collect()
}

/// The names and numbers of the first [`LEAD_WORDS`] words of a text:
/// words with a digit, and capitalised words that do not open a sentence,
/// as terms. Two reports of one event name the same places, people and
/// figures; a templated report of another event changes them.
pub fn facts(text: &str) -> Vec<String> {
    let mut seen = 0;
    let mut out = Vec::new();
    for sentence in text.split(['.', '!', '?', '\n']) {
        for (n, word) in sentence
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .enumerate()
        {
            seen += 1;
            if seen > LEAD_WORDS {
                return out;
            }
            let fact = word.chars().any(|c| c.is_ascii_digit())
                || (n > 0 && word.chars().next().is_some_and(char::is_uppercase));
            if fact {
                out.extend(words(word));
            }
        }
    }
    out
}

/// A light plural stem: "talks" and "talk" are one term, "bus" and
/// "crisis" stay as they are.
fn stem(word: String) -> String {
    let keep = ["ss", "us", "is", "ws"];
    if word.len() > 4 && word.ends_with('s') && !keep.iter().any(|end| word.ends_with(end)) {
        if let Some(stem) = word.strip_suffix("ies") {
            return format!("{stem}y");
        }
        if ["sses", "xes", "ches", "shes"].iter().any(|end| word.ends_with(end)) {
            return word[..word.len() - 2].to_owned();
        }
        return word[..word.len() - 1].to_owned();
    }
    word
}

/// Words that say nothing of what a story is about, sorted.
const STOP_WORDS: &[&str] = &[
    "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does",
    "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her",
    "here", "hers", "him", "his", "how", "if", "in", "into", "is", "it", "its", "itself", "just", "last", "may", "me",
    "might", "more", "most", "mr", "mrs", "ms", "much", "must", "my", "new", "no", "nor", "not", "now", "of", "off",
    "on", "once", "one", "only", "or", "other", "our", "out", "over", "own", "said", "same", "say", "says", "she",
    "should", "so", "some", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this",
    "those", "through", "to", "told", "too", "under", "until", "up", "update", "us", "very", "was", "we", "were",
    "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "year", "years", "yet",
    "you", "your",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn words_are_folded_stemmed_and_stop_words_dropped() {
        assert_eq!(
            words("Zürich's talks on the crisis: buses & ferries stopped"),
            ["zurich", "talk", "crisis", "buse", "ferry", "stopped"]
        );
    }

    #[test]
    fn a_lead_repeating_the_headline_counts_once() {
        let terms = Terms::of("Harbour closed", "Harbour closed");
        assert_eq!(terms.weights, [("closed".to_owned(), 2.0), ("harbour".to_owned(), 2.0)]);
        assert!(!terms.has_lead);
    }
}
