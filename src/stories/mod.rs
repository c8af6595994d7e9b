//! One story, many sources. Every stored article is placed, in arrival
//! order, in exactly one story (by a background worker, see [`placing`]):
//!
//! - a **near-duplicate** of an earlier article (republished wire copy:
//!   dropped or reordered paragraphs, added boilerplate, a new headline,
//!   a few words swapped; see [`fingerprint`]) is marked a copy of the
//!   first-seen version (`duplicate_of`) and joins its story;
//! - otherwise it joins the recent story its headline and lead fit best,
//!   with real evidence (see [`cluster`]), or starts a story of its own.
//!
//! Nothing already placed moves: readers never see stories reshuffled.
//! Candidates come from indexes (fingerprint bands, a story's terms by
//! time), so the cost of placing an article does not grow with the
//! library.

pub mod cluster;
pub mod fingerprint;
pub mod placing;
pub mod terms;

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::store::{self, Tx};
use cluster::{Centroid, Frequencies, Story};
use fingerprint::Fingerprint;
use terms::Terms;

/// Terms of each article indexed for finding its story: its most telling.
const INDEXED_TERMS: usize = 8;

const DAY: i64 = 86_400;

/// The indexes of terms and fingerprints are kept by week (see
/// [`week`]).
const WEEK: i64 = 7 * DAY;

/// The week a moment falls in: the indexes' first key, so that news,
/// arriving in time order, is written and looked up among the pages of
/// the newest weeks whatever the library's size. A copy is looked for
/// among the articles of its own week and the week before.
pub fn week(at: i64) -> i64 {
    at.div_euclid(WEEK)
}

/// Candidate stories looked at per article, those sharing the most
/// indexed terms first.
const CANDIDATES: usize = 16;

/// What placing an article needs of it, derived before the writer is
/// taken (see [`placing`]).
#[derive(Debug, Clone, Default)]
pub struct Features {
    pub fingerprint: Option<Fingerprint>,
    pub terms: Terms,
    /// Its publication time (unix seconds).
    pub at: i64,
    /// Its source as counted in "N sources", when it names one.
    pub source_key: Option<String>,
}

impl Features {
    /// `text` is the article's plain text; `lead` its summary, if any.
    pub fn new(title: &str, lead: Option<&str>, text: &str, at: i64, source_key: Option<String>) -> Features {
        Features {
            fingerprint: Fingerprint::of(text),
            terms: Terms::of(title, lead.unwrap_or(text)),
            at,
            source_key,
        }
    }
}

/// The text a copy is judged on: all of it. An outlet's own summary over
/// a wire body is a copy, the same body under another summary too. Only
/// the opening [`placing::TEXT_BYTES`] of the HTML is read, as placing
/// reads it.
pub fn whole_text(summary: Option<&str>, body_html: &str) -> String {
    let mut cut = body_html.len().min(placing::TEXT_BYTES as usize);
    while !body_html.is_char_boundary(cut) {
        cut -= 1;
    }
    let opening = &body_html[..cut];
    let body_text = crate::domain::body::plain_text(opening);
    match summary {
        Some(summary) => format!("{summary}\n\n{body_text}"),
        None => body_text,
    }
}

/// An article's text changed after it was placed (the sender updated it,
/// or its full story was fetched over a feed's teaser): its fingerprint
/// follows, so that later copies of the new text are recognised as
/// copies. Its story and `duplicate_of` stay: nothing placed moves. An
/// article not yet placed is left to placing, which reads the new text.
pub async fn reprint(conn: &mut Tx<'_>, article_id: i64, print: Option<&Fingerprint>) -> sqlx::Result<()> {
    let Some(at) = store::stories::placed_at(conn, article_id).await? else {
        return Ok(());
    };
    store::stories::drop_print(conn, article_id).await?;
    let Some(print) = print else {
        return Ok(());
    };
    let decisions = Decisions {
        prints: vec![(article_id, print.shingles, hex::encode(print.to_bytes()))],
        bands: print
            .bands()
            .into_iter()
            .map(|band| (week(at), band, article_id))
            .collect(),
        ..Decisions::default()
    };
    let json = serde_json::to_string(&decisions).map_err(|e| sqlx::Error::Encode(e.into()))?;
    store::stories::save(conn, &json).await
}

/// The source an article counts as: its `source`, else its URL's host.
pub fn source_key(source: Option<&str>, url: Option<&str>) -> Option<String> {
    if let Some(source) = source.map(str::trim).filter(|s| !s.is_empty()) {
        return Some(source.to_lowercase());
    }
    let host = url::Url::parse(url?).ok()?.host_str()?.to_lowercase();
    Some(host.strip_prefix("www.").unwrap_or(&host).to_owned())
}

/// Where an article was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub story_id: i64,
    pub duplicate_of: Option<i64>,
    /// Whether it joined a story that had other articles (which changes
    /// what that story's cards say), rather than starting one.
    pub joined: bool,
}

/// What [`place`] writes, as the store's `save` takes it.
#[derive(Serialize, Default)]
struct Decisions {
    stories: Vec<StoryWrite>,
    members: Vec<MemberWrite>,
    /// (week, term, at, story)
    terms: Vec<(i64, String, i64, i64)>,
    counts: Vec<(String, i64)>,
    prints: Vec<(i64, usize, String)>,
    /// (week, band, article)
    bands: Vec<(i64, i64, i64)>,
    joined: Vec<i64>,
}

#[derive(Serialize)]
struct StoryWrite {
    id: i64,
    lead: i64,
    added: i64,
    first_at: i64,
    last_at: i64,
    centroid: String,
}

#[derive(Serialize)]
struct MemberWrite {
    article_id: i64,
    story_id: i64,
    duplicate_of: Option<i64>,
    source_key: String,
}

/// A stored or just-placed article a new one may be a copy of.
struct Original {
    id: i64,
    story_id: i64,
    print: Fingerprint,
}

/// Places new articles (id and features, in arrival order) in stories,
/// in the open transaction.
pub async fn place(conn: &mut Tx<'_>, new: &[(i64, &Features)]) -> sqlx::Result<Vec<Placement>> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let started = std::time::Instant::now();
    let placements = place_group(conn, new).await?;
    // Per article, one sample per group: what placing costs as the
    // library grows (docs/BENCHMARKS.md, "Stories").
    metrics::histogram!("gazette_story_placement_seconds").record(started.elapsed().as_secs_f64() / new.len() as f64);
    Ok(placements)
}

async fn place_group(conn: &mut Tx<'_>, new: &[(i64, &Features)]) -> sqlx::Result<Vec<Placement>> {
    // Document frequencies of every term the group has.
    let all_terms: Vec<&str> = {
        let set: HashSet<&str> = new
            .iter()
            .flat_map(|(_, f)| f.terms.weights.iter().map(|(t, _)| t.as_str()))
            .collect();
        set.into_iter().collect()
    };
    let mut df = Frequencies::default();
    for (term, count) in store::stories::term_counts(conn, &all_terms).await? {
        if term.is_empty() {
            df.total = count as f64;
        } else {
            df.counts.insert(term, count as f64);
        }
    }

    // Each article's indexed terms, and the stored stories sharing them
    // within its time window.
    let indexed: Vec<Vec<String>> = new.iter().map(|(_, f)| top_terms(&f.terms, &df)).collect();
    // One lookup per term and day: articles of one day share their
    // window (a day and the quiet period either side).
    let day = |at: i64| at.div_euclid(DAY);
    let mut lookups: Vec<(&str, i64)> = indexed
        .iter()
        .zip(new)
        .flat_map(|(terms, (_, f))| terms.iter().map(move |t| (t.as_str(), day(f.at))))
        .collect();
    lookups.sort_unstable();
    lookups.dedup();
    // The window spans two weeks at most: one query for each.
    let queries: Vec<(i64, &str, i64, i64, usize)> = lookups
        .iter()
        .enumerate()
        .flat_map(|(n, &(term, d))| {
            let (from, to) = (d * DAY - cluster::QUIET_SECONDS, (d + 1) * DAY + cluster::QUIET_SECONDS);
            (week(from)..=week(to)).map(move |w| (w, term, from, to, n))
        })
        .collect();
    let queries = serde_json::to_string(&queries).map_err(|e| sqlx::Error::Encode(e.into()))?;
    let mut entries: HashMap<(&str, i64), Vec<(i64, i64)>> = HashMap::new();
    for (n, at, story) in store::stories::term_entries(conn, &queries).await? {
        if let Some(&lookup) = usize::try_from(n).ok().and_then(|n| lookups.get(n)) {
            entries.entry(lookup).or_default().push((at, story));
        }
    }
    // The newest PER_TERM of each, over both weeks.
    for list in entries.values_mut() {
        list.sort_unstable_by(|a, b| b.cmp(a));
        list.truncate(store::stories::PER_TERM as usize);
    }
    let candidates: Vec<Vec<i64>> = indexed
        .iter()
        .zip(new)
        .map(|(terms, (_, f))| {
            let mut shared: HashMap<i64, usize> = HashMap::new();
            for term in terms {
                let mut counted = HashSet::new();
                for &(at, story) in entries.get(&(term.as_str(), day(f.at))).into_iter().flatten() {
                    if (at - f.at).abs() <= cluster::QUIET_SECONDS && counted.insert(story) {
                        *shared.entry(story).or_default() += 1;
                    }
                }
            }
            let mut list: Vec<(i64, usize)> = shared.into_iter().collect();
            list.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
            list.into_iter().take(CANDIDATES).map(|(id, _)| id).collect()
        })
        .collect();

    // Stored texts any of them may copy: of their week or the week before.
    let band_keys: Vec<(i64, i64)> = {
        let set: HashSet<(i64, i64)> = new
            .iter()
            .filter_map(|(_, f)| Some((week(f.at), f.fingerprint.as_ref()?)))
            .flat_map(|(w, p)| p.bands().into_iter().flat_map(move |b| [(w - 1, b), (w, b)]))
            .collect();
        set.into_iter().collect()
    };
    let mut originals: Vec<Original> = Vec::new();
    let mut bands_of: HashMap<i64, Vec<usize>> = HashMap::new();
    for row in store::stories::prints_in_bands(conn, &band_keys).await? {
        let Some(print) = Fingerprint::from_bytes(row.shingles, &row.signature) else {
            continue;
        };
        // A copy's original is the first-seen version, never another copy.
        let id = row.duplicate_of.unwrap_or(row.article_id);
        if row.duplicate_of.is_some() && originals.iter().any(|o| o.id == id) {
            continue;
        }
        for band in print.bands() {
            bands_of.entry(band).or_default().push(originals.len());
        }
        originals.push(Original {
            id,
            story_id: row.story_id,
            print,
        });
    }

    // The stories any of them may join.
    let story_ids: Vec<i64> = {
        let set: HashSet<i64> = candidates
            .iter()
            .flatten()
            .copied()
            .chain(originals.iter().map(|o| o.story_id))
            .collect();
        set.into_iter().collect()
    };
    let mut stories: HashMap<i64, Story> = HashMap::new();
    for row in store::stories::stories_by_id(conn, &story_ids).await? {
        stories.insert(
            row.id,
            Story {
                id: row.id,
                first_at: row.first_at,
                last_at: row.last_at,
                centroid: serde_json::from_str(&row.centroid).unwrap_or_default(),
            },
        );
    }

    // Each article in turn; those placed before it in the group are
    // candidates too (an in-memory index of their terms).
    let mut next_id = store::stories::next_id(conn).await?;
    let mut decisions = Decisions::default();
    let mut touched: HashMap<i64, (i64, i64)> = HashMap::new(); // story -> (lead, added)
    let mut group_terms: HashMap<String, Vec<(i64, i64)>> = HashMap::new(); // term -> (at, story)
    let mut placements = Vec::with_capacity(new.len());
    for (n, (article_id, features)) in new.iter().enumerate() {
        let copy_of = features.fingerprint.as_ref().and_then(|print| {
            let mut seen = HashSet::new();
            print
                .bands()
                .iter()
                .filter_map(|band| bands_of.get(band))
                .flatten()
                .filter(|&&i| seen.insert(i))
                .map(|&i| &originals[i])
                .filter(|o| print.is_copy(&o.print) && stories.contains_key(&o.story_id))
                .max_by(|a, b| {
                    print
                        .similarity(&a.print)
                        .total_cmp(&print.similarity(&b.print))
                        .then(b.id.cmp(&a.id))
                })
                .map(|o| (o.id, o.story_id))
        });
        let story_id = match copy_of {
            Some((_, story)) => Some(story),
            None => {
                let mut ids: Vec<i64> = candidates[n].clone();
                let mut seen: HashSet<i64> = ids.iter().copied().collect();
                for term in &indexed[n] {
                    // The newest of the group's entries, as the store's
                    // lookup takes the newest of its own.
                    let entries = group_terms.get(term).into_iter().flat_map(|e| e.iter().rev());
                    for &(at, story) in entries.take(store::stories::PER_TERM as usize) {
                        if (at - features.at).abs() <= cluster::QUIET_SECONDS && seen.insert(story) {
                            ids.push(story);
                        }
                    }
                }
                cluster::best(
                    &features.terms,
                    features.at,
                    ids.iter().filter_map(|id| stories.get(id)),
                    &df,
                )
            }
        };
        let (story_id, joined) = match story_id {
            Some(id) => (id, true),
            None => {
                let id = next_id;
                next_id += 1;
                stories.insert(
                    id,
                    Story {
                        id,
                        first_at: features.at,
                        last_at: features.at,
                        centroid: Centroid::default(),
                    },
                );
                (id, false)
            }
        };
        if let Some(story) = stories.get_mut(&story_id) {
            // A copy says nothing its original did not: counted again, its
            // words would outweigh every other version's.
            match copy_of {
                Some(_) => story.touch(features.at),
                None => story.absorb(&features.terms, features.at),
            }
        }
        let entry = touched.entry(story_id).or_insert((*article_id, 0));
        entry.1 += 1;
        if joined {
            decisions.joined.push(*article_id);
        }
        df.add(&features.terms);
        for term in &indexed[n] {
            group_terms
                .entry(term.clone())
                .or_default()
                .push((features.at, story_id));
            decisions
                .terms
                .push((week(features.at), term.clone(), features.at, story_id));
        }
        let duplicate_of = copy_of.map(|(original, _)| original);
        if let Some(print) = &features.fingerprint {
            // A copy is indexed too, as a way to its original (stored
            // copies point there): a third version may resemble it more.
            let original = duplicate_of.unwrap_or(*article_id);
            for band in print.bands() {
                bands_of.entry(band).or_default().push(originals.len());
                decisions.bands.push((week(features.at), band, *article_id));
            }
            originals.push(Original {
                id: original,
                story_id,
                print: print.clone(),
            });
            decisions
                .prints
                .push((*article_id, print.shingles, hex::encode(print.to_bytes())));
        }
        decisions.members.push(MemberWrite {
            article_id: *article_id,
            story_id,
            duplicate_of,
            source_key: features.source_key.clone().unwrap_or_else(|| format!("#{article_id}")),
        });
        placements.push(Placement {
            story_id,
            duplicate_of,
            joined,
        });
    }

    let mut counts: HashMap<&str, i64> = HashMap::new();
    for (_, features) in new {
        for (term, _) in &features.terms.weights {
            *counts.entry(term).or_default() += 1;
        }
    }
    decisions.counts = counts.into_iter().map(|(t, n)| (t.to_owned(), n)).collect();
    decisions.counts.push((String::new(), new.len() as i64));
    for (id, (lead, added)) in touched {
        let Some(story) = stories.get(&id) else { continue };
        decisions.stories.push(StoryWrite {
            id,
            lead,
            added,
            first_at: story.first_at,
            last_at: story.last_at,
            centroid: serde_json::to_string(&story.centroid).map_err(|e| sqlx::Error::Encode(e.into()))?,
        });
    }
    let json = serde_json::to_string(&decisions).map_err(|e| sqlx::Error::Encode(e.into()))?;
    store::stories::save(conn, &json).await?;
    Ok(placements)
}

/// An article's most telling terms: the highest weight by rarity.
fn top_terms(terms: &Terms, df: &Frequencies) -> Vec<String> {
    let mut scored: Vec<(&String, f64)> = terms
        .weights
        .iter()
        .map(|(t, w)| (t, f64::from(*w) * df.idf(t)))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    scored.into_iter().take(INDEXED_TERMS).map(|(t, _)| t.clone()).collect()
}
