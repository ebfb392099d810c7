//! String interning of tag and attribute names: the first use since the last snapshot sends
//! [`Name::New`] and takes the next index; later uses send [`Name::Ref`]. Also [`IdSet`], the
//! capture side's set of node ids (no hashing), and the small fast hasher the model's maps use
//! (ids and names are not attacker-chosen hash keys of note, and SipHash costs both time and
//! wasm bytes).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use protocol::Name;

/// FxHash (rustc's hasher): one multiply per word.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(SEED);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;
pub type FxMap<K, V> = HashMap<K, V, FxBuild>;
pub type FxSet<K> = HashSet<K, FxBuild>;

/// A set of node ids (or other small dense numbers): a bitmap indexed by the id, plus the
/// members in insertion order for draining. Capture assigns ids in sequence, so the bitmap
/// stays small (one bit per id ever assigned), and unlike a hash set it hashes nothing and is
/// one instantiation in the customer's package instead of one per element type.
#[derive(Default)]
pub struct IdSet {
    bits: Vec<u32>,
    /// Members in insertion order; may hold removed ids, which [`IdSet::drain`] skips.
    list: Vec<u32>,
    len: usize,
}

impl IdSet {
    fn at(id: u32) -> (usize, u32) {
        ((id >> 5) as usize, 1 << (id & 31))
    }

    /// Adds `id`; false if it was there already.
    pub fn insert(&mut self, id: u32) -> bool {
        let (word, bit) = Self::at(id);
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        if self.bits[word] & bit != 0 {
            return false;
        }
        self.bits[word] |= bit;
        self.list.push(id);
        self.len += 1;
        true
    }

    pub fn contains(&self, id: u32) -> bool {
        let (word, bit) = Self::at(id);
        self.bits.get(word).is_some_and(|w| w & bit != 0)
    }

    pub fn remove(&mut self, id: u32) {
        let (word, bit) = Self::at(id);
        if let Some(w) = self.bits.get_mut(word) {
            if *w & bit != 0 {
                *w &= !bit;
                self.len -= 1;
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The members, in insertion order (one removed and added again may come twice).
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.list.iter().copied().filter(|&id| self.contains(id))
    }

    /// Takes the members out, in insertion order.
    pub fn drain(&mut self) -> Vec<u32> {
        let mut list = core::mem::take(&mut self.list);
        list.retain(|&id| {
            let (word, bit) = Self::at(id);
            match self.bits.get_mut(word) {
                Some(w) if *w & bit != 0 => {
                    *w &= !bit;
                    true
                }
                _ => false,
            }
        });
        self.len = 0;
        list
    }

    pub fn clear(&mut self) {
        self.drain();
    }
}

/// The capture side's name table for the current snapshot epoch: names sorted, each with its
/// index, found by binary search. A page has tens to a few hundred distinct tag and attribute
/// names, so inserting into the sorted list costs little, and the table does not instantiate a
/// hash map over strings (kilobytes of wasm).
#[derive(Default)]
pub struct Interner {
    sorted: Vec<(String, u32)>,
}

impl Interner {
    /// Starts a new table (every snapshot does).
    pub fn reset(&mut self) {
        self.sorted.clear();
    }

    /// The wire form of `name`, registering it on first use.
    pub fn name(&mut self, name: &str) -> Name {
        match self.sorted.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
            Ok(at) => Name::Ref(self.sorted[at].1),
            Err(at) => {
                let index = self.sorted.len() as u32;
                self.sorted.insert(at, (name.to_owned(), index));
                Name::New(name.to_owned())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_set_keeps_insertion_order_once_each_and_forgets_removed_ids() {
        let mut set = IdSet::default();
        assert!(set.is_empty());
        for id in [70, 3, 70, 0, 31, 32, 3] {
            set.insert(id);
        }
        assert!(set.contains(70) && set.contains(0) && !set.contains(4) && !set.contains(9999));
        set.remove(31);
        set.remove(5000);
        assert!(!set.contains(31) && !set.is_empty());
        assert_eq!(set.drain(), vec![70, 3, 0, 32]);
        assert!(set.is_empty() && !set.contains(70));
        set.insert(31);
        assert_eq!(set.drain(), vec![31]);
    }

    #[test]
    fn first_use_is_new_then_refs_count_from_zero_and_reset_starts_over() {
        let mut names = Interner::default();
        assert_eq!(names.name("div"), Name::New("div".into()));
        assert_eq!(names.name("class"), Name::New("class".into()));
        assert_eq!(names.name("div"), Name::Ref(0));
        assert_eq!(names.name("class"), Name::Ref(1));
        names.reset();
        assert_eq!(names.name("class"), Name::New("class".into()));
        assert_eq!(names.name("class"), Name::Ref(0));
    }
}
