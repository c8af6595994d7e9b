//! Near-duplicate text: MinHash signatures over word shingles, with LSH
//! bands so that a copy's candidates come from an index lookup.
//!
//! Republished wire copy keeps most of its three-word sequences whatever
//! was edited: dropped or reordered paragraphs, an added line of
//! boilerplate, a few words swapped. The share of shingles two texts have
//! in common (their Jaccard similarity) is estimated by the share of equal
//! minimum hashes; texts that agree on all rows of any band are candidates.
//!
//! The hashes are written out here rather than taken from std: they are
//! stored, so they must not change with the compiler.

/// Minimum hashes per signature.
pub const HASHES: usize = 64;
/// LSH bands of [`ROWS`] hashes each: a pair of Jaccard similarity 0.5 is
/// a candidate with probability 1-(1-0.5^4)^16 = 0.64, 0.6 with 0.89, 0.7
/// with 0.99, 0.3 with 0.12.
pub const BANDS: usize = 16;
const ROWS: usize = HASHES / BANDS;

/// Words per shingle.
const SHINGLE_WORDS: usize = 3;

/// Texts with fewer shingles than this get no fingerprint: a headline or a
/// one-line summary says too little to call another text a copy of it.
pub const MIN_SHINGLES: usize = 20;

/// Estimated Jaccard similarity at or above which a text is a copy.
pub const COPY_SIMILARITY: f64 = 0.5;

/// Facts (numbers and names) a text keeps for comparison.
const MAX_FACTS: usize = 48;

/// The share of the fewer facts two copies must have in common: a copy
/// keeps the original's names and figures, while a templated report of
/// another event (results, quakes, markets) changes them.
const SHARED_FACTS: f64 = 0.6;

/// A text's MinHash signature and how many distinct shingles it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub shingles: usize,
    pub signature: [u32; HASHES],
    /// Hashes of its numbers and capitalised words, sorted.
    pub facts: Vec<u32>,
}

impl Fingerprint {
    /// The fingerprint of a plain text, or None when it is too short.
    pub fn of(text: &str) -> Option<Fingerprint> {
        let words: Vec<u64> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(word_hash)
            .collect();
        let mut shingles: Vec<u64> = words
            .windows(SHINGLE_WORDS)
            .map(|w| mix(w[0].rotate_left(0) ^ w[1].rotate_left(21) ^ w[2].rotate_left(42)))
            .collect();
        shingles.sort_unstable();
        shingles.dedup();
        if shingles.len() < MIN_SHINGLES {
            return None;
        }
        let mut signature = [u32::MAX; HASHES];
        for &shingle in &shingles {
            for (i, slot) in signature.iter_mut().enumerate() {
                let h = (mix(shingle ^ SEEDS[i]) >> 32) as u32;
                if h < *slot {
                    *slot = h;
                }
            }
        }
        let mut facts: Vec<u32> = facts_of(text).map(|w| (mix(word_hash(w)) >> 32) as u32).collect();
        facts.sort_unstable();
        facts.dedup();
        facts.truncate(MAX_FACTS);
        Some(Fingerprint {
            shingles: shingles.len(),
            signature,
            facts,
        })
    }

    /// The band keys under which this text is indexed.
    pub fn bands(&self) -> [i64; BANDS] {
        let mut keys = [0i64; BANDS];
        for (band, key) in keys.iter_mut().enumerate() {
            let mut h = (band as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            for &value in &self.signature[band * ROWS..(band + 1) * ROWS] {
                h = mix(h ^ u64::from(value));
            }
            *key = h as i64;
        }
        keys
    }

    /// The estimated Jaccard similarity of two texts.
    pub fn similarity(&self, other: &Fingerprint) -> f64 {
        let equal = self
            .signature
            .iter()
            .zip(&other.signature)
            .filter(|(a, b)| a == b)
            .count();
        equal as f64 / HASHES as f64
    }

    /// Whether `other` is a near-duplicate of this text: most shingles in
    /// common, and most of the fewer facts.
    pub fn is_copy(&self, other: &Fingerprint) -> bool {
        self.similarity(other) >= COPY_SIMILARITY && self.facts_agree(other)
    }

    fn facts_agree(&self, other: &Fingerprint) -> bool {
        let fewer = self.facts.len().min(other.facts.len());
        if fewer == 0 {
            return true;
        }
        let shared = self
            .facts
            .iter()
            .filter(|f| other.facts.binary_search(f).is_ok())
            .count();
        shared as f64 >= (SHARED_FACTS * fewer as f64).ceil()
    }

    /// The signature and facts as stored: little-endian u32s, the
    /// signature's [`HASHES`] first.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.signature
            .iter()
            .chain(&self.facts)
            .flat_map(|v| v.to_le_bytes())
            .collect()
    }

    /// A stored signature; None if it is not one.
    pub fn from_bytes(shingles: i64, bytes: &[u8]) -> Option<Fingerprint> {
        if bytes.len() < HASHES * 4 || !bytes.len().is_multiple_of(4) {
            return None;
        }
        let values: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let mut signature = [0u32; HASHES];
        signature.copy_from_slice(&values[..HASHES]);
        Some(Fingerprint {
            shingles: usize::try_from(shingles).ok()?,
            signature,
            facts: values[HASHES..].to_vec(),
        })
    }
}

/// A text's numbers and names: words with a digit, and capitalised words
/// that do not open a sentence.
fn facts_of(text: &str) -> impl Iterator<Item = &str> {
    text.split(['.', '!', '?', '\n'])
        .flat_map(|sentence| {
            sentence
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .enumerate()
        })
        .filter(|(n, w)| {
            w.chars().any(|c| c.is_ascii_digit()) || (*n > 0 && w.chars().next().is_some_and(char::is_uppercase))
        })
        .map(|(_, w)| w)
}

/// FNV-1a of a word, case-folded.
fn word_hash(word: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in word.chars().flat_map(char::to_lowercase) {
        let mut buf = [0u8; 4];
        for &b in c.encode_utf8(&mut buf).as_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// SplitMix64's finaliser: every input bit moves every output bit.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One seed per hash function, fixed.
const SEEDS: [u64; HASHES] = {
    let mut seeds = [0u64; HASHES];
    let mut i = 0;
    while i < HASHES {
        seeds[i] = mix(0x5EED_0000 + i as u64);
        i += 1;
    }
    seeds
};

#[cfg(test)]
mod tests {
    use super::*;

    const WIRE: &str = "The port authority said on Tuesday that the northern harbour would stay closed \
        for at least a week after a storm damaged two cranes and a breakwater. Ships bound for the \
        harbour are being sent to the southern terminal, where officials expect delays of up to two \
        days. A spokeswoman said engineers were inspecting the breakwater and that repairs to the \
        cranes could take longer than the week first announced. Fishing boats may use the inner \
        basin from Thursday, she added, once divers have checked the channel for debris.";

    #[test]
    fn an_edited_copy_is_a_copy_and_another_text_is_not() {
        let original = Fingerprint::of(WIRE).unwrap();
        let edited = WIRE
            .replace("on Tuesday", "late on Tuesday")
            .replace("A spokeswoman said", "Speaking to reporters, a spokeswoman said")
            + " Copyright 2026 Example Wire. All rights reserved.";
        let copy = Fingerprint::of(&edited).unwrap();
        assert!(original.is_copy(&copy), "similarity {}", original.similarity(&copy));
        let other = Fingerprint::of(
            "The city council voted on Tuesday to extend the tram line to the airport, a project \
             that has been debated for a decade. The extension will cost more than the budget set \
             aside last year, and work is due to begin in the spring once contracts are signed with \
             the builders chosen in an open tender that closed last month.",
        )
        .unwrap();
        assert!(!original.is_copy(&other), "similarity {}", original.similarity(&other));
    }

    #[test]
    fn reordered_paragraphs_keep_most_shingles() {
        let (first, second) = WIRE.split_at(WIRE.find("A spokeswoman").unwrap());
        let reordered = format!("{second} {first}");
        let a = Fingerprint::of(WIRE).unwrap();
        let b = Fingerprint::of(&reordered).unwrap();
        assert!(a.similarity(&b) > 0.8, "similarity {}", a.similarity(&b));
        assert!(a.bands().iter().any(|band| b.bands().contains(band)));
    }

    #[test]
    fn a_templated_report_of_another_event_is_no_copy() {
        let other_day = WIRE
            .replace("Tuesday", "Friday")
            .replace("a week", "ten days")
            .replace("two cranes", "three cranes")
            .replace("up to two days", "up to four days")
            .replace("Thursday", "Monday")
            .replace("140", "95")
            .replace("four thousand", "900");
        let a = Fingerprint::of(WIRE).unwrap();
        let b = Fingerprint::of(&other_day).unwrap();
        assert!(
            a.similarity(&b) >= COPY_SIMILARITY,
            "the shingles alone would merge them"
        );
        assert!(!a.is_copy(&b), "{:?} {:?}", a.facts, b.facts);
    }

    #[test]
    fn a_short_text_has_no_fingerprint_and_a_stored_one_reads_back() {
        assert_eq!(Fingerprint::of("Harbour closed after storm"), None);
        let print = Fingerprint::of(WIRE).unwrap();
        assert_eq!(
            Fingerprint::from_bytes(print.shingles as i64, &print.to_bytes()),
            Some(print)
        );
        assert_eq!(Fingerprint::from_bytes(3, b"short"), None);
    }
}
