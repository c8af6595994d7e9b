//! What a reader types into the search box, turned into a query that FTS5
//! always accepts.
//!
//! FTS5 has its own syntax (AND, OR, NOT, NEAR, columns, parentheses) and
//! answers a syntax error for unbalanced input. Rather than pass user text
//! through, this builds the query from scratch: every word and phrase is
//! quoted, so only the features offered below can take effect.

/// Bounds on one query: long enough for any real search, short enough
/// that no query costs much.
const MAX_QUERY_CHARS: usize = 500;
const MAX_TERMS: usize = 16;

/// A search ready for SQLite's FTS5 `MATCH` and PostgreSQL's `@@`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The FTS5 expression.
    pub fts: String,
    /// The same search as PostgreSQL `to_tsquery` input: every word a
    /// quoted lexeme of letters and digits, so no input is a syntax error.
    pub tsquery: String,
    /// The words to mark in snippets, folded as the index folds them, and
    /// whether each is a prefix.
    marks: Vec<(String, bool)>,
    terms: Vec<Term>,
    /// Prefixes searched for as their commonest words only (see
    /// [`SearchQuery::limit`]), to tell the reader.
    pub narrowed: Vec<Narrowed>,
}

/// A prefix that matched too much of the index to search for every word
/// it begins: the words it was searched for as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Narrowed {
    pub prefix: String,
    pub words: Vec<String>,
}

/// How many documents hold each word of a search, and the words each of
/// its prefixes begins, as far as the library's term counts know them.
/// A word they do not know is in fewer than `floor` documents.
#[derive(Debug, Clone, Default)]
pub struct TermCounts {
    pub docs: std::collections::HashMap<String, i64>,
    /// Completions of each prefix, commonest first.
    pub completions: std::collections::HashMap<String, Vec<(String, i64)>>,
    pub floor: i64,
}

/// Prefixes need this many letters or digits: shorter ones match most of
/// the vocabulary and say nothing about what is sought.
pub const MIN_PREFIX_CHARS: usize = 3;

/// A word of a phrase costs this many times a word alone: its positions
/// are read and compared in every document holding it (measured on
/// gen_corpus text: a six-word phrase of common words reads its entries
/// at about three times the cost per entry of common words ANDed or ORed).
pub const PHRASE_WEIGHT: i64 = 3;

/// A prefix whose words are in more documents (counted once per word)
/// than this share of the cost limit is searched for as its
/// [`PREFIX_WORDS`] commonest words: FTS5 merges every matching word's
/// list of documents before it finds the first match.
pub const PREFIX_SHARE: i64 = 10;
pub const PREFIX_WORDS: usize = 8;

/// The default of the most index entries (a document holding a word,
/// counted once per word searched) one search may read. Ranking reads each
/// word's whole list to weigh it, so a search's time follows this sum: at
/// the limit, about 150 ms of one core at 1,000,000 articles
/// (docs/BENCHMARKS.md, "Hostile searches").
pub const COST_LIMIT: i64 = 2_000_000;

/// Why a search cannot run, in words a reader understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryProblem {
    /// Nothing to search for, or more text than a search takes.
    Invalid(String),
    /// A shape or words that would cost more than a search may.
    TooBroad(String),
}

impl QueryProblem {
    pub fn message(&self) -> &str {
        match self {
            QueryProblem::Invalid(message) | QueryProblem::TooBroad(message) => message,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Word(String),
    Prefix(String),
    Phrase(String),
    /// A prefix narrowed to these whole words (its text's last word
    /// replaced by each).
    Alternatives(Vec<String>),
    Or,
}

impl SearchQuery {
    /// Supports plain words (all must match), "exact phrases", prefixes
    /// (`ceasefi*`) and OR between terms. Anything else is read as words.
    pub fn parse(input: &str) -> Result<SearchQuery, QueryProblem> {
        let input = input.trim();
        if input.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryProblem::Invalid(format!(
                "Searches are limited to {MAX_QUERY_CHARS} characters."
            )));
        }
        let terms = tidy(lex(input));
        if terms.is_empty() {
            return Err(QueryProblem::Invalid(
                "Type one or more words to search for.".to_owned(),
            ));
        }
        for term in &terms {
            if let Term::Prefix(text) = term
                && last_word(text).chars().count() < MIN_PREFIX_CHARS
            {
                return Err(QueryProblem::TooBroad(format!(
                    "\u{201c}{text}*\u{201d}: a word ending in * needs at least {MIN_PREFIX_CHARS} letters before the *."
                )));
            }
        }
        Ok(SearchQuery::of(terms, Vec::new()))
    }

    fn of(terms: Vec<Term>, narrowed: Vec<Narrowed>) -> SearchQuery {
        let fts = terms
            .iter()
            .map(|term| match term {
                Term::Word(w) => quote(w),
                Term::Phrase(p) => quote(p),
                Term::Prefix(p) => format!("{}*", quote(p)),
                Term::Alternatives(phrases) => {
                    format!(
                        "({})",
                        phrases.iter().map(|p| quote(p)).collect::<Vec<_>>().join(" OR ")
                    )
                }
                Term::Or => "OR".to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        let tsquery = tsquery(&terms);
        let marks = terms
            .iter()
            .flat_map(|term| match term {
                Term::Word(text) | Term::Phrase(text) => tokens(text).map(|(_, w)| (fold(w), false)).collect(),
                Term::Prefix(text) => tokens(text).map(|(_, w)| (fold(w), true)).collect(),
                Term::Alternatives(phrases) => phrases
                    .iter()
                    .flat_map(|p| tokens(p).map(|(_, w)| (fold(w), false)).collect::<Vec<_>>())
                    .collect(),
                Term::Or => Vec::new(),
            })
            .collect();
        SearchQuery {
            fts,
            tsquery,
            marks,
            terms,
            narrowed,
        }
    }

    /// Every whole word searched for, folded as the index folds them.
    pub fn words(&self) -> Vec<String> {
        let mut words: Vec<String> = self
            .terms
            .iter()
            .flat_map(|term| match term {
                Term::Word(text) | Term::Phrase(text) => tokens(text).map(|(_, w)| fold(w)).collect(),
                // The words before a prefix's last one are whole words.
                Term::Prefix(text) => {
                    let all: Vec<String> = tokens(text).map(|(_, w)| fold(w)).collect();
                    all[..all.len().saturating_sub(1)].to_vec()
                }
                Term::Alternatives(_) | Term::Or => Vec::new(),
            })
            .collect();
        words.sort();
        words.dedup();
        words
    }

    /// The prefixes searched for (their last word), folded.
    pub fn prefixes(&self) -> Vec<String> {
        let mut prefixes: Vec<String> = self
            .terms
            .iter()
            .filter_map(|term| match term {
                Term::Prefix(text) => Some(fold(last_word(text))),
                _ => None,
            })
            .collect();
        prefixes.sort();
        prefixes.dedup();
        prefixes
    }

    /// Holds the search to what the index can answer quickly, by what
    /// `counts` say of its words: a prefix that matches too much is
    /// narrowed to its commonest words, and a search that would still read
    /// more than `cost_limit` entries of the index is refused, saying so.
    pub fn limit(self, counts: &TermCounts, cost_limit: i64) -> Result<SearchQuery, QueryProblem> {
        let docs = |word: &str| counts.docs.get(word).copied().unwrap_or(counts.floor);
        let mut cost: i64 = 0;
        for term in &self.terms {
            let words: Vec<String> = match term {
                Term::Word(text) | Term::Phrase(text) | Term::Prefix(text) => {
                    tokens(text).map(|(_, w)| fold(w)).collect()
                }
                Term::Alternatives(_) | Term::Or => continue,
            };
            // A prefix's last word is costed below, with its completions.
            let whole = match term {
                Term::Prefix(_) => &words[..words.len().saturating_sub(1)],
                _ => &words[..],
            };
            let weight = if words.len() > 1 { PHRASE_WEIGHT } else { 1 };
            cost += whole.iter().map(|w| docs(w) * weight).sum::<i64>();
        }
        let mut narrowed = Vec::new();
        let mut terms = Vec::with_capacity(self.terms.len());
        for term in self.terms {
            let Term::Prefix(text) = &term else {
                terms.push(term);
                continue;
            };
            let prefix = fold(last_word(text));
            let completions = counts.completions.get(&prefix).map(Vec::as_slice).unwrap_or_default();
            // Words too rare to be counted add at most the floor each; a
            // prefix with few counted words has few rare ones too.
            let all: i64 = completions.iter().map(|(_, n)| n).sum::<i64>() + counts.floor;
            if all <= cost_limit / PREFIX_SHARE {
                cost += all;
                terms.push(term);
                continue;
            }
            let commonest = &completions[..completions.len().min(PREFIX_WORDS)];
            cost += commonest.iter().map(|(_, n)| n).sum::<i64>();
            // The words before the prefix stay: "e-mai*" narrows to "e-mail".
            let lead = &text[..tokens(text).last().map_or(0, |(at, _)| at)];
            terms.push(Term::Alternatives(
                commonest.iter().map(|(word, _)| format!("{lead}{word}")).collect(),
            ));
            narrowed.push(Narrowed {
                prefix: format!("{}*", text),
                words: commonest.iter().map(|(word, _)| word.clone()).collect(),
            });
        }
        if cost > cost_limit {
            return Err(QueryProblem::TooBroad(format!(
                "This search is too broad to answer quickly: its words are so common that it would read about \
                 {} entries of the index, and a search may read {}. Leave out the commonest words \
                 (or an OR), or search for a rarer word.",
                thousands(cost),
                thousands(cost_limit)
            )));
        }
        Ok(SearchQuery::of(terms, narrowed))
    }

    /// About [`SNIPPET_WORDS`] words of `text` around its first match, the
    /// matched words between [`MATCH_START`] and [`MATCH_END`], with "…"
    /// where text was cut. Text without a match (the hit was in the title,
    /// say) gives its opening words.
    pub fn snippet(&self, text: &str) -> String {
        let words: Vec<(usize, &str)> = tokens(text).collect();
        let matches = |word: &str| {
            let word = fold(word);
            self.marks.iter().any(|(mark, prefix)| {
                if *prefix {
                    word.starts_with(mark.as_str())
                } else {
                    word == *mark
                }
            })
        };
        let first = words.iter().position(|(_, w)| matches(w)).unwrap_or(0);
        let start = first.saturating_sub(SNIPPET_WORDS / 4);
        let end = (start + SNIPPET_WORDS).min(words.len());
        let mut out = String::new();
        if start > 0 {
            out.push('…');
        }
        let Some(&(mut copied, _)) = words.get(start) else {
            return out;
        };
        for &(at, word) in &words[start..end] {
            out.push_str(&text[copied..at]);
            if matches(word) {
                out.extend([MATCH_START]);
                out.push_str(word);
                out.extend([MATCH_END]);
            } else {
                out.push_str(word);
            }
            copied = at + word.len();
        }
        if end < words.len() {
            out.push('…');
        } else {
            // The text's own ending: its last full stop, say.
            out.push_str(text[copied..].trim_end());
        }
        out
    }
}

/// Words in a snippet: FTS5's default of about a line and a half.
pub const SNIPPET_WORDS: usize = 24;
/// Marks around matched words in snippets: private-use characters that
/// cannot occur in stored text, swapped for `<mark>` after escaping.
pub const MATCH_START: char = '\u{E000}';
pub const MATCH_END: char = '\u{E001}';

/// The words of `text` with their byte offsets, split as the index's
/// tokenizer (unicode61) splits them: runs of letters and digits.
fn tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(move |w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
}

/// A word as the index compares it: lower case, diacritics removed.
fn fold(word: &str) -> String {
    deunicode::deunicode(word).to_lowercase()
}

/// The last word of a term's text, as the index splits it: the part a
/// `*` makes a prefix.
fn last_word(text: &str) -> &str {
    tokens(text).last().map_or("", |(_, w)| w)
}

/// 20000 as "20,000".
pub fn thousands(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The terms as a tsquery. Each term is split into words as the index
/// splits text (so "e-mail" is the phrase `'e' <-> 'mail'`, as in FTS5);
/// terms are joined by `&`, or `|` where OR stood, and `&` binds tighter
/// than `|` as FTS5's AND binds tighter than OR.
fn tsquery(terms: &[Term]) -> String {
    let phrase = |text: &str, prefix: bool| {
        let words: Vec<String> = tokens(text)
            .map(|(_, w)| format!("'{}'", w.replace('\'', "''")))
            .collect();
        let mut out = words.join(" <-> ");
        if prefix {
            out.push_str(":*");
        }
        format!("({out})")
    };
    let mut out = String::new();
    let mut or = false;
    for term in terms {
        let next = match term {
            Term::Or => {
                or = true;
                continue;
            }
            Term::Word(text) | Term::Phrase(text) => phrase(text, false),
            Term::Prefix(text) => phrase(text, true),
            Term::Alternatives(phrases) => {
                format!(
                    "({})",
                    phrases.iter().map(|p| phrase(p, false)).collect::<Vec<_>>().join(" | ")
                )
            }
        };
        if !out.is_empty() {
            out.push_str(if or { " | " } else { " & " });
        }
        or = false;
        out.push_str(&next);
    }
    out
}

/// Splits input into terms. A quote opens a phrase only if it is closed
/// later; an unbalanced quote is ignored.
fn lex(input: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    let mut rest = input;
    while let Some(start) = rest.find('"') {
        let (before, after) = rest.split_at(start);
        let after = &after[1..];
        let Some(end) = after.find('"') else {
            break;
        };
        words(before, &mut terms);
        let phrase = after[..end].split_whitespace().collect::<Vec<_>>().join(" ");
        if has_word(&phrase) {
            terms.push(Term::Phrase(phrase));
        }
        rest = &after[end + 1..];
    }
    words(&rest.replace('"', " "), &mut terms);
    terms
}

fn words(text: &str, terms: &mut Vec<Term>) {
    for raw in text.split_whitespace() {
        if raw == "OR" {
            terms.push(Term::Or);
            continue;
        }
        if raw == "AND" {
            continue; // every term must match anyway
        }
        let prefix = raw.ends_with('*');
        let word = raw.trim_end_matches('*');
        if !has_word(word) {
            continue;
        }
        terms.push(if prefix {
            Term::Prefix(word.to_owned())
        } else {
            Term::Word(word.to_owned())
        });
    }
}

fn has_word(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric)
}

/// Drops an OR that does not stand between two terms, and caps the count.
fn tidy(terms: Vec<Term>) -> Vec<Term> {
    let mut out: Vec<Term> = Vec::with_capacity(terms.len());
    for term in terms {
        if term == Term::Or && matches!(out.last(), None | Some(Term::Or)) {
            continue;
        }
        if out.iter().filter(|t| **t != Term::Or).count() >= MAX_TERMS {
            break;
        }
        out.push(term);
    }
    while out.last() == Some(&Term::Or) {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fts(input: &str) -> String {
        SearchQuery::parse(input)
            .map(|q| q.fts)
            .unwrap_or_else(|e| format!("ERR {}", e.message()))
    }

    #[test]
    fn words_phrases_prefixes_and_or() {
        assert_eq!(fts("ferry timetable"), r#""ferry" "timetable""#);
        assert_eq!(fts(r#""single ferry" coast"#), r#""single ferry" "coast""#);
        assert_eq!(fts("ceasefi*"), r#""ceasefi"*"#);
        assert_eq!(fts("boxing OR football"), r#""boxing" OR "football""#);
    }

    #[test]
    fn snippets_mark_words_phrases_and_prefixes_around_the_first_match() {
        let text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen \
                    sixteen seventeen eighteen nineteen twenty Qarabağ ceasefires agreed twenty-four twenty-five \
                    twenty-six twenty-seven twenty-eight twenty-nine thirty thirty-one thirty-two";
        let marked = |q: &str| {
            SearchQuery::parse(q)
                .unwrap()
                .snippet(text)
                .replace(MATCH_START, "[")
                .replace(MATCH_END, "]")
        };
        let s = marked("qarabag ceasefi*");
        assert!(s.starts_with("…fifteen sixteen"), "{s}");
        assert!(s.contains("[Qarabağ] [ceasefires] agreed"), "{s}");
        assert!(s.ends_with('…'), "{s}");
        assert!(marked(r#""three four""#).contains("[three] [four] five"));
        assert_eq!(
            SearchQuery::parse("ferry").unwrap().snippet("The ferry sailed."),
            "The \u{E000}ferry\u{E001} sailed."
        );
        let none = marked("absent");
        assert!(none.starts_with("one two") && !none.contains('['), "{none}");
        assert_eq!(SearchQuery::parse("x").unwrap().snippet(""), "");
    }

    fn ts(input: &str) -> String {
        SearchQuery::parse(input)
            .map(|q| q.tsquery)
            .unwrap_or_else(|e| format!("ERR {}", e.message()))
    }

    #[test]
    fn tsqueries_say_what_the_fts5_queries_say() {
        assert_eq!(ts("ferry timetable"), "('ferry') & ('timetable')");
        assert_eq!(ts(r#""single ferry" coast"#), "('single' <-> 'ferry') & ('coast')");
        assert_eq!(ts("ceasefi*"), "('ceasefi':*)");
        assert_eq!(ts("boxing OR football derby"), "('boxing') | ('football') & ('derby')");
        assert_eq!(ts("e-mail"), "('e' <-> 'mail')");
        assert_eq!(ts("it's O'Neill's"), "('it' <-> 's') & ('O' <-> 'Neill' <-> 's')");
        assert_eq!(ts(r#"a\b 'x' ! & | :* <->"#), "('a' <-> 'b') & ('x')");
    }

    fn counts(words: &[(&str, i64)], floor: i64) -> TermCounts {
        let docs: std::collections::HashMap<String, i64> = words.iter().map(|(w, n)| ((*w).to_owned(), *n)).collect();
        let mut completions = std::collections::HashMap::new();
        for prefix in ["str", "bar"] {
            let mut found: Vec<(String, i64)> = docs
                .iter()
                .filter(|(w, _)| w.starts_with(prefix))
                .map(|(w, n)| (w.clone(), *n))
                .collect();
            found.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            completions.insert(prefix.to_owned(), found);
        }
        TermCounts {
            docs,
            completions,
            floor,
        }
    }

    #[test]
    fn short_prefixes_are_refused() {
        assert_eq!(
            fts("st*"),
            "ERR \u{201c}st*\u{201d}: a word ending in * needs at least 3 letters before the *."
        );
        assert_eq!(
            fts("e-m*"),
            "ERR \u{201c}e-m*\u{201d}: a word ending in * needs at least 3 letters before the *."
        );
        assert_eq!(fts("e-mai*"), r#""e-mai"*"#);
        assert_eq!(
            fts("ça*"),
            "ERR \u{201c}ça*\u{201d}: a word ending in * needs at least 3 letters before the *."
        );
        assert_eq!(fts("çaq*"), r#""çaq"*"#);
    }

    #[test]
    fn a_prefix_of_too_many_words_is_narrowed_to_its_commonest() {
        let mut words: Vec<(String, i64)> = (0..20).map(|i| (format!("str{i:02}"), 30_000 + i)).collect();
        words.push(("bark".to_owned(), 40));
        let listed: Vec<(&str, i64)> = words.iter().map(|(w, n)| (w.as_str(), *n)).collect();
        let counts = counts(&listed, 8);
        let query = SearchQuery::parse("Str* bar*")
            .unwrap()
            .limit(&counts, COST_LIMIT)
            .unwrap();
        // The eight commonest, commonest first; the rare prefix as it was.
        assert_eq!(
            query.fts,
            r#"("str19" OR "str18" OR "str17" OR "str16" OR "str15" OR "str14" OR "str13" OR "str12") "bar"*"#
        );
        assert!(
            query.tsquery.starts_with("(('str19') | ('str18') |"),
            "{}",
            query.tsquery
        );
        assert_eq!(query.narrowed.len(), 1);
        assert_eq!(query.narrowed[0].prefix, "Str*");
        assert_eq!(query.narrowed[0].words[0], "str19");
        let marked = query
            .snippet("The str19 and str01 went")
            .replace(MATCH_START, "[")
            .replace(MATCH_END, "]");
        assert_eq!(marked, "The [str19] and str01 went");
    }

    #[test]
    fn a_search_too_costly_for_its_words_is_refused_naming_the_limit() {
        let common: Vec<(String, i64)> = (0..20).map(|i| (format!("common{i}"), 900_000)).collect();
        let listed: Vec<(&str, i64)> = common.iter().map(|(w, n)| (w.as_str(), *n)).collect();
        let counts = counts(&listed, 50);
        let ored = (0..20).map(|i| format!("common{i}")).collect::<Vec<_>>().join(" OR ");
        let problem = SearchQuery::parse(&ored)
            .unwrap()
            .limit(&counts, COST_LIMIT)
            .unwrap_err();
        assert!(matches!(problem, QueryProblem::TooBroad(_)));
        assert!(problem.message().contains("2,000,000"), "{}", problem.message());
        assert!(problem.message().contains("14,400,000"), "{}", problem.message());
        // Two common words and a rare one pass; unknown words count as rare.
        assert!(
            SearchQuery::parse("common1 common2 zebra")
                .unwrap()
                .limit(&counts, COST_LIMIT)
                .is_ok()
        );
        let phrase = SearchQuery::parse("\"common1 common2 common3 common4\"").unwrap();
        assert!(phrase.limit(&counts, COST_LIMIT).is_err());
        // A phrase's words weigh three times: 2 × 900,000 alone passes,
        // as a phrase (5,400,000) it does not.
        assert!(
            SearchQuery::parse("common1 common2")
                .unwrap()
                .limit(&counts, COST_LIMIT)
                .is_ok()
        );
        let two = SearchQuery::parse("\"common1 common2\"")
            .unwrap()
            .limit(&counts, COST_LIMIT);
        assert!(two.unwrap_err().message().contains("5,400,000"));
        // Without counts (never counted, or PostgreSQL) nothing is refused.
        assert!(
            SearchQuery::parse(&ored)
                .unwrap()
                .limit(&TermCounts::default(), COST_LIMIT)
                .is_ok()
        );
    }

    #[test]
    fn fts_syntax_is_defused() {
        assert_eq!(fts(r#""unbalanced quote"#), r#""unbalanced" "quote""#);
        assert_eq!(fts("AND("), r#""AND(""#);
        assert_eq!(fts("*"), "ERR Type one or more words to search for.");
        assert_eq!(fts("NEAR/3 a"), r#""NEAR/3" "a""#);
        assert_eq!(fts("OR"), "ERR Type one or more words to search for.");
        assert_eq!(fts("a OR OR b OR"), r#""a" OR "b""#);
        assert_eq!(fts("title:secret"), r#""title:secret""#);
        assert_eq!(fts(r#"say "he said ""hi"""#), r#""say" "he said" "hi""#);
        assert_eq!(fts("   "), "ERR Type one or more words to search for.");
        assert!(fts(&"x".repeat(501)).starts_with("ERR"));
    }
}
