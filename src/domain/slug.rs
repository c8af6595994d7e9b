//! URL slugs from display text in any script.

/// Longest slug kept, in bytes: long enough to stay readable, short
/// enough for a tidy URL.
const MAX_SLUG_LEN: usize = 80;

/// Turns display text into an ASCII slug: transliterated (so Armenian,
/// Azerbaijani or Cyrillic names stay readable), lower-case, words joined
/// by single hyphens. Returns an empty string when nothing is left (text
/// made only of symbols); callers choose their own fallback.
pub fn slugify(text: &str) -> String {
    // Emoji and other symbols beside words are decoration: "⚽ Football" is
    // "football". Only text made of symbols alone is spelled out
    // ("🏐" gives "volleyball").
    let words: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c.is_whitespace() || c.is_ascii_punctuation() {
                c
            } else {
                ' '
            }
        })
        .collect();
    let slug = ascii_slug(&words);
    if slug.is_empty() { ascii_slug(text) } else { slug }
}

/// Letters deunicode spells in a way the languages' own romanisations do
/// not: Azerbaijani schwa, and the Armenian digraph "ու" (u) and ligature "և".
fn romanise(text: &str) -> String {
    text.replace("ու", "u")
        .replace("Ու", "U")
        .replace("ՈՒ", "U")
        .replace('և', "ev")
        .replace('ə', "e")
        .replace('Ə', "E")
}

fn ascii_slug(text: &str) -> String {
    let ascii = deunicode::deunicode_with_tofu(&romanise(text), " ");
    let mut slug = String::with_capacity(ascii.len());
    let mut pending_hyphen = false;
    for ch in ascii.chars() {
        if ch == '\'' || ch == '`' {
            // "don't" is "dont", and Armenian aspirates (թ is t`) stay one word.
            continue;
        } else if ch.is_ascii_alphanumeric() {
            if pending_hyphen && !slug.is_empty() {
                slug.push('-');
            }
            pending_hyphen = false;
            slug.push(ch.to_ascii_lowercase());
        } else {
            pending_hyphen = true;
        }
    }
    truncate_at_hyphen(slug, MAX_SLUG_LEN)
}

/// A slug that is never empty: text with nothing to transliterate (a
/// section named with emoji alone, say) gets `fallback` and a short digest
/// of the text, so two such names still get distinct, stable slugs.
pub fn slugify_or(text: &str, fallback: &str) -> String {
    let slug = slugify(text);
    if !slug.is_empty() {
        return slug;
    }
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    format!("{fallback}-{}", hex::encode(&digest[..4]))
}

fn truncate_at_hyphen(mut slug: String, max: usize) -> String {
    if slug.len() <= max {
        return slug;
    }
    slug.truncate(max);
    if let Some(cut) = slug.rfind('-') {
        slug.truncate(cut);
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::{slugify, slugify_or};

    #[test]
    fn joins_words_with_hyphens() {
        assert_eq!(slugify("Volleyball and Handball"), "volleyball-and-handball");
        assert_eq!(slugify("  Rugby -- Sevens!! "), "rugby-sevens");
    }

    #[test]
    fn transliterates_other_scripts() {
        assert_eq!(slugify("Qarabağ Futbol Klubu"), "qarabag-futbol-klubu");
        assert_eq!(slugify("Şəki və Gəncə"), "seki-ve-gence");
        assert_eq!(slugify("Հայաստան"), "hayastan");
        assert_eq!(slugify("Հայաստանի ընտրությունները"), "hayastani-entrutyunnere");
        assert_eq!(slugify("İdman xəbərləri"), "idman-xeberleri");
    }

    #[test]
    fn emoji_beside_words_are_dropped_and_alone_are_spelled_out() {
        assert_eq!(slugify("⚽ Football 🎉"), "football");
        assert_eq!(slugify("🏐"), "volleyball");
    }

    #[test]
    fn symbols_only_give_an_empty_slug() {
        assert_eq!(slugify("!!! ???"), "");
    }

    #[test]
    fn fallback_is_stable_and_distinct() {
        assert_eq!(slugify_or("Boxing", "section"), "boxing");
        let a = slugify_or("!!!", "section");
        assert!(a.starts_with("section-") && a.len() == "section-".len() + 8, "{a}");
        assert_eq!(a, slugify_or("!!!", "section"));
        assert_ne!(a, slugify_or("???", "section"));
    }

    #[test]
    fn long_text_is_cut_at_a_word_boundary() {
        let slug = slugify(&"word ".repeat(40));
        assert!(slug.len() <= 80, "{slug}");
        assert!(!slug.ends_with('-'));
        assert!(slug.ends_with("word"));
    }
}
