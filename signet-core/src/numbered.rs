//! Values numbered as they come in, so that what is held or computed over them names each by
//! a `u32` rather than a copy: the keys the web of trust is computed over (`web::Keys`), the
//! keys and sources of the words the index holds (`index/words.rs`). Numbers are never reused
//! and a table only grows; whoever holds one bounds what it numbers.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};

#[derive(Clone)]
pub struct Numbered<T, S = RandomState> {
    all: Vec<T>,
    numbers: HashMap<T, u32, S>,
}

/// The values in the order of their numbers (the map beside them says the same).
impl<T: std::fmt::Debug, S> std::fmt::Debug for Numbered<T, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.all).finish()
    }
}

impl<T, S: Default> Default for Numbered<T, S> {
    fn default() -> Self {
        Numbered {
            all: Vec::new(),
            numbers: HashMap::default(),
        }
    }
}

impl<T: Clone + Eq + Hash, S: BuildHasher> Numbered<T, S> {
    /// The number of `value`, given it now if it has none.
    pub fn number(&mut self, value: &T) -> u32 {
        if let Some(&n) = self.numbers.get(value) {
            return n;
        }
        let n = u32::try_from(self.all.len()).expect("fewer than 2^32 distinct values");
        self.all.push(value.clone());
        self.numbers.insert(value.clone(), n);
        n
    }

    /// The number of `value`, if it has one.
    pub fn find(&self, value: &T) -> Option<u32> {
        self.numbers.get(value).copied()
    }

    /// The value numbered `n`.
    pub fn get(&self, n: u32) -> &T {
        &self.all[n as usize]
    }

    /// Every value, in the order of their numbers.
    pub fn all(&self) -> &[T] {
        &self.all
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }
}
