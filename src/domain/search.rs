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
}

/// Why a search cannot run, in words a reader understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryProblem(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Word(String),
    Prefix(String),
    Phrase(String),
    Or,
}

impl SearchQuery {
    /// Supports plain words (all must match), "exact phrases", prefixes
    /// (`ceasefi*`) and OR between terms. Anything else is read as words.
    pub fn parse(input: &str) -> Result<SearchQuery, QueryProblem> {
        let input = input.trim();
        if input.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryProblem(format!(
                "Searches are limited to {MAX_QUERY_CHARS} characters."
            )));
        }
        let terms = tidy(lex(input));
        if terms.is_empty() {
            return Err(QueryProblem("Type one or more words to search for.".to_owned()));
        }
        let fts = terms
            .iter()
            .map(|term| match term {
                Term::Word(w) => quote(w),
                Term::Phrase(p) => quote(p),
                Term::Prefix(p) => format!("{}*", quote(p)),
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
                Term::Or => Vec::new(),
            })
            .collect();
        Ok(SearchQuery { fts, tsquery, marks })
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
            .unwrap_or_else(|e| format!("ERR {}", e.0))
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
            .unwrap_or_else(|e| format!("ERR {}", e.0))
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
