//! The rows a batch of events touches, held in memory while the batch is folded.
//!
//! Projecting one statement per event caps a rebuild at a few thousand events a second. Instead a
//! batch loads the existing rows its events update (one query), folds every event into this
//! overlay in plain Rust, and writes the net result back (a few set-based statements). The fold is
//! pure, so the same code serves live projection, rebuilds, and point-in-time reconstruction.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use uuid::Uuid;

/// Known rows of one table, keyed by primary key. `None` means "known not to exist" (deleted in
/// this batch, or looked up and absent). A key that is not present at all is unknown; the folds
/// treat unknown and absent alike, which is what an `UPDATE ... WHERE id = $1` does too.
#[derive(Debug, Clone)]
pub struct Overlay<K, R> {
    rows: HashMap<K, Option<R>>,
    dirty: HashSet<K>,
    /// Keys whose row the table held before the batch: they are updated, the others inserted.
    existing: HashSet<K>,
    /// Channels whose rows were all removed (a deleted channel takes its rows with it).
    purged: Vec<Uuid>,
    /// Users whose personal data was erased from every row that holds it.
    erased: Vec<Uuid>,
}

impl<K, R> Default for Overlay<K, R> {
    fn default() -> Self {
        Self {
            rows: HashMap::new(),
            dirty: HashSet::new(),
            existing: HashSet::new(),
            purged: Vec::new(),
            erased: Vec::new(),
        }
    }
}

impl<K: Eq + Hash + Clone, R> Overlay<K, R> {
    /// Records what the table held before the batch (`None`: no such row).
    pub fn preload(&mut self, key: K, row: Option<R>) {
        if !self.rows.contains_key(&key) {
            if row.is_some() {
                self.existing.insert(key.clone());
            }
            self.rows.insert(key, row);
        }
    }

    pub fn knows(&self, key: &K) -> bool {
        self.rows.contains_key(key)
    }

    pub fn get(&self, key: &K) -> Option<&R> {
        self.rows.get(key).and_then(Option::as_ref)
    }

    /// The row to modify in place, if it exists.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut R> {
        let row = self.rows.get_mut(key).and_then(Option::as_mut)?;
        self.dirty.insert(key.clone());
        Some(row)
    }

    pub fn put(&mut self, key: K, row: R) {
        self.dirty.insert(key.clone());
        self.rows.insert(key, Some(row));
    }

    pub fn remove(&mut self, key: &K) {
        self.dirty.insert(key.clone());
        self.rows.insert(key.clone(), None);
    }

    /// Removes every row of `channel_id`: those held here at once, those only in the table when
    /// the batch is written.
    pub fn purge_channel(&mut self, channel_id: Uuid, belongs: impl Fn(&K, &R) -> bool) {
        for (key, slot) in &mut self.rows {
            if slot.as_ref().is_some_and(|row| belongs(key, row)) {
                *slot = None;
                self.dirty.insert(key.clone());
            }
        }
        self.purged.push(channel_id);
    }

    /// Erases `user`'s personal data from every row: those held here at once (`scrub` returns
    /// whether it changed the row), those only in the table when the batch is written.
    pub fn erase_user(&mut self, user: Uuid, mut scrub: impl FnMut(&mut R) -> bool) {
        for (key, slot) in &mut self.rows {
            if slot.as_mut().is_some_and(&mut scrub) {
                self.dirty.insert(key.clone());
            }
        }
        self.erased.push(user);
    }

    /// Live rows, in no particular order (for reconstructions that read the overlay directly).
    pub fn rows(&self) -> impl Iterator<Item = (&K, &R)> {
        self.rows.iter().filter_map(|(k, r)| r.as_ref().map(|r| (k, r)))
    }

    /// The net effect of the batch, to be written in this order: purges, deletions, then
    /// inserts and updates.
    pub fn changes(&self) -> Changes<'_, K, R> {
        let mut changes = Changes {
            purged_channels: &self.purged,
            erased_users: &self.erased,
            deleted: Vec::new(),
            inserted: Vec::new(),
            updated: Vec::new(),
        };
        for key in &self.dirty {
            match self.rows.get(key) {
                Some(Some(row)) if self.existing.contains(key) => changes.updated.push(row),
                Some(Some(row)) => changes.inserted.push(row),
                _ => changes.deleted.push(key),
            }
        }
        changes
    }
}

/// What a batch changed in one table.
pub struct Changes<'a, K, R> {
    pub purged_channels: &'a [Uuid],
    /// Users erased by the batch: the table forgets their personal data before the rows are
    /// written.
    pub erased_users: &'a [Uuid],
    pub deleted: Vec<&'a K>,
    /// Rows the table did not hold before the batch (as far as the batch knows: a row it never
    /// loaded is one its events created). Written with a plain INSERT, so a duplicate is an
    /// error, not a silent overwrite.
    pub inserted: Vec<&'a R>,
    /// Rows the table held before the batch, changed by it.
    pub updated: Vec<&'a R>,
}

impl<K, R> Changes<'_, K, R> {
    pub fn is_empty(&self) -> bool {
        self.purged_channels.is_empty()
            && self.erased_users.is_empty()
            && self.deleted.is_empty()
            && self.inserted.is_empty()
            && self.updated.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_effect_of_a_batch() {
        let mut o: Overlay<u32, &str> = Overlay::default();
        o.preload(1, Some("old"));
        o.preload(2, None);
        o.put(3, "new");
        o.put(4, "gone soon");
        o.remove(&4);
        *o.get_mut(&1).unwrap() = "edited";
        assert!(o.get_mut(&2).is_none(), "an absent row cannot be edited");
        let c = o.changes();
        assert_eq!(c.updated, vec![&"edited"]);
        assert_eq!(c.inserted, vec![&"new"]);
        assert_eq!(c.deleted, vec![&4]);
    }

    #[test]
    fn purge_removes_held_rows_and_remembers_the_channel() {
        let ch = Uuid::now_v7();
        let mut o: Overlay<u32, Uuid> = Overlay::default();
        o.put(1, ch);
        o.put(2, Uuid::nil());
        o.purge_channel(ch, |_, row| *row == ch);
        assert!(o.get(&1).is_none());
        assert!(o.get(&2).is_some());
        let c = o.changes();
        assert_eq!(c.purged_channels, &[ch]);
        assert_eq!(c.deleted, vec![&1]);
    }
}
