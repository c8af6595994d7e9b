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

/// A search ready for FTS5 `MATCH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The FTS5 expression.
    pub fts: String,
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
        Ok(SearchQuery { fts })
    }
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
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
