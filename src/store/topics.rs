//! What a rendered page was made from, so that a new article makes stale
//! only the pages that show it, not every page of the site.
//!
//! A page records the [`Topic`]s it read (an article, a section's listing,
//! the newest stories across sections, …) with their versions at the time,
//! before reading them: a [`Stamp`]. A new article touches its topics; a
//! page is current while none of its topics was touched since its stamp.
//!
//! Versions live in a fixed table of counters indexed by the topic's hash,
//! so the table never grows and a lookup takes no lock. Two topics that
//! share a counter only make each other's pages stale more often than
//! needed, never less.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters in the table: 128 KiB. A page depends on a few topics and a
/// new article touches half a dozen, so a needless refresh from a shared
/// counter happens about once in a thousand articles per page.
const SLOTS: usize = 1 << 14;

/// A thing pages show, which an article's arrival can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic<'a> {
    /// One article: its own page.
    Article(i64),
    /// A section's listing, by slug.
    Section(&'a str),
    /// An author's listing, by slug.
    Author(&'a str),
    /// A tag's listing, by slug.
    Tag(&'a str),
    /// The newest stories across sections: the front page, the article
    /// pages' sidebars, the site's feeds and sitemaps, search.
    Newest,
    /// A block of [`IDS_PER_BLOCK`] article ids, by number (see
    /// [`Topic::of_id`]): the sitemap files that list them, so a new
    /// article makes stale only the file its id falls in.
    Ids(i64),
}

/// Article ids per [`Topic::Ids`] block.
pub const IDS_PER_BLOCK: i64 = 1_000;

impl Topic<'_> {
    /// The block of ids `id` falls in: ids 1 to 1,000 are block 0, as a
    /// sitemap file of a multiple of 1,000 ids starts at one block's start.
    pub fn of_id(id: i64) -> Topic<'static> {
        Topic::Ids((id - 1).max(0) / IDS_PER_BLOCK)
    }

    /// The blocks of ids from `first` to `last`.
    pub fn ids_from(first: i64, last: i64) -> impl Iterator<Item = Topic<'static>> {
        let block = |id: i64| (id - 1).max(0) / IDS_PER_BLOCK;
        (block(first)..=block(last)).map(Topic::Ids)
    }
}

/// The versions of the topics a page was made from, taken before reading them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stamp(Vec<(u32, u64)>);

pub struct Topics {
    versions: Box<[AtomicU64]>,
}

impl Default for Topics {
    fn default() -> Self {
        Topics {
            versions: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Topics {
    /// The current versions of `topics`. Taken before the data is read: a
    /// write that lands after it is then always seen as newer than the page.
    pub fn stamp(&self, topics: &[Topic]) -> Stamp {
        Stamp(
            topics
                .iter()
                .map(|topic| {
                    let slot = slot(topic);
                    (slot as u32, self.versions[slot].load(Ordering::Acquire))
                })
                .collect(),
        )
    }

    /// Whether none of the stamped topics was touched since.
    pub fn unchanged(&self, stamp: &Stamp) -> bool {
        stamp
            .0
            .iter()
            .all(|&(slot, version)| self.versions[slot as usize].load(Ordering::Acquire) == version)
    }

    /// Makes every page made from any of these counters stale (see
    /// [`slots`]). Called after the commit that changed them.
    pub fn touch(&self, slots: &[u32]) {
        for &slot in slots {
            if let Some(version) = self.versions.get(slot as usize) {
                version.fetch_add(1, Ordering::Release);
            }
        }
    }
}

/// The counters `topics` live in. Other instances are told these numbers
/// (`postgres::peers`), so every version of Gazette must place a topic in
/// the same counter: FNV-1a of a fixed encoding, never Rust's hasher,
/// whose algorithm may change between releases. A change to this function
/// or to [`SLOTS`] must change how peers are told.
pub fn slots<'a>(topics: impl IntoIterator<Item = Topic<'a>>) -> Vec<u32> {
    let mut slots: Vec<u32> = topics.into_iter().map(|topic| slot(&topic) as u32).collect();
    slots.sort_unstable();
    slots.dedup();
    slots
}

fn slot(topic: &Topic) -> usize {
    let id;
    let (kind, bytes): (u8, &[u8]) = match topic {
        Topic::Article(n) => {
            id = n.to_le_bytes();
            (1, &id)
        }
        Topic::Section(slug) => (2, slug.as_bytes()),
        Topic::Author(slug) => (3, slug.as_bytes()),
        Topic::Tag(slug) => (4, slug.as_bytes()),
        Topic::Newest => (5, &[]),
        Topic::Ids(n) => {
            id = n.to_le_bytes();
            (6, &id)
        }
    };
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in std::iter::once(&kind).chain(bytes) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    ((hash ^ (hash >> 32)) as usize) & (SLOTS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_touch_makes_stale_only_what_was_made_from_it() {
        let topics = Topics::default();
        let football = topics.stamp(&[Topic::Section("football"), Topic::Newest]);
        let article = topics.stamp(&[Topic::Article(7)]);
        let boxing = topics.stamp(&[Topic::Section("boxing")]);
        topics.touch(&slots([Topic::Section("football"), Topic::Article(8)]));
        assert!(!topics.unchanged(&football));
        assert!(topics.unchanged(&article), "another article's page is still current");
        assert!(topics.unchanged(&boxing), "another section's page is still current");
        topics.touch(&slots([Topic::Newest]));
        assert!(!topics.unchanged(&football));
        assert!(topics.unchanged(&Stamp::default()), "a page made from nothing stays");
        let fresh = topics.stamp(&[Topic::Section("football"), Topic::Newest]);
        assert!(topics.unchanged(&fresh));
    }

    #[test]
    fn a_topic_lands_in_the_same_counter_in_every_release() {
        // Peers of different releases tell each other these numbers.
        assert_eq!(slots([Topic::Newest]), slots([Topic::Newest]));
        assert_eq!(slot(&Topic::Section("football")), 10_092);
        assert_eq!(slot(&Topic::Article(1)), 3_624);
    }

    #[test]
    fn a_block_of_ids_starts_where_a_sitemap_file_does() {
        assert_eq!(Topic::of_id(1), Topic::Ids(0));
        assert_eq!(Topic::of_id(1000), Topic::Ids(0));
        assert_eq!(Topic::of_id(1001), Topic::Ids(1));
        let blocks: Vec<_> = Topic::ids_from(10_001, 20_000).collect();
        assert_eq!(blocks.first(), Some(&Topic::Ids(10)));
        assert_eq!(blocks.last(), Some(&Topic::Ids(19)));
        assert_eq!(blocks.len(), 10);
    }

    #[test]
    fn kinds_do_not_share_a_name() {
        assert_ne!(slot(&Topic::Section("world")), slot(&Topic::Tag("world")));
        assert_ne!(slot(&Topic::Author("ada-quill")), slot(&Topic::Tag("ada-quill")));
    }
}
