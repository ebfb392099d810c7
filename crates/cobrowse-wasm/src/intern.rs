//! String interning of tag and attribute names: the first use since the last snapshot sends
//! [`Name::New`] and takes the next index; later uses send [`Name::Ref`]. Also the small fast
//! hasher the crate's maps use (ids and names are not attacker-chosen hash keys of note, and
//! SipHash costs both time and wasm bytes).

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
