//! Lists read from the database that many pages show and only a write
//! changes (the navigation's sections, the article sidebar's newest
//! stories): kept in memory until the next change, so an uncached page does
//! not read them again.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use super::Db;

/// What a kept value is good for: the database's change count and the
/// minute (the minute covers writes by another process, such as
/// `gazette import`, which this one is not told of).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version(u64, i64);

impl Version {
    pub fn now(db: &Db) -> Self {
        Version(db.generation(), super::current_minute())
    }

    /// The version of the site's rules.
    pub fn of_rules(db: &Db) -> Self {
        Version(db.rules_generation(), super::current_minute())
    }
}

/// Values by key, each good for the version it was read at. Entries of an
/// older version are dropped when a newer one is kept, so the map holds at
/// most one version's keys.
pub struct Memo<K, V>(Mutex<HashMap<K, (Version, V)>>);

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo(Mutex::new(HashMap::new()))
    }
}

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    pub fn get(&self, key: &K, version: Version) -> Option<V> {
        let entries = self.0.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| *at == version)
            .map(|(_, value)| value.clone())
    }

    pub fn put(&self, key: K, version: Version, value: V) {
        let mut entries = self.0.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, (at, _)| *at == version);
        entries.insert(key, (version, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_good_for_its_version_only() {
        let memo: Memo<i64, &str> = Memo::default();
        let (v1, v2) = (Version(1, 100), Version(2, 100));
        memo.put(7, v1, "seven");
        memo.put(8, v1, "eight");
        assert_eq!(memo.get(&7, v1), Some("seven"));
        assert_eq!(memo.get(&7, v2), None);
        assert_eq!(memo.get(&7, Version(1, 101)), None, "the minute turned");
        memo.put(7, v2, "seven again");
        assert_eq!(memo.get(&7, v2), Some("seven again"));
        assert_eq!(memo.get(&8, v1), None, "older versions are dropped");
        assert_eq!(memo.0.lock().unwrap().len(), 1);
    }
}
