//! How the index holds its words: compactly, because at a million attestations they are most
//! of the daemon's memory. A `sha256:` id is held as its 32 bytes, not its 71 characters; a
//! word's key, signing key and source are numbers into tables (a million words by one key
//! share one fingerprint); a word is 48 bytes beside its comment, and the ids' table maps into
//! a dense list (`IndexMap`), so its hash table costs 8 bytes a slot and the list's spare
//! capacity is never touched. Words are made whole again ([`Entry`]) only when asked for.

use std::collections::HashMap;
use std::hash::{Hash, RandomState};

use indexmap::IndexMap;
use signet_proto::formats::{About, ContentId, Fingerprint};
use smallvec::SmallVec;

use super::{Entry, Source};

/// Every word held, by id. Ids are chosen by whoever signs, so the tables hash with a random
/// key (`RandomState`), never with a fixed function someone could aim collisions at.
#[derive(Debug)]
pub(super) struct Words {
    sha256: IndexMap<[u8; 32], Said, RandomState>,
    /// Ids of other algorithms (`sha512:` of npm's tarballs, trees): few, held as they are.
    other: HashMap<ContentId, Said>,
    keys: Table<Fingerprint>,
    sources: Table<Source>,
    count: usize,
}

/// The words about one id: most ids have one.
type Said = SmallVec<[Word; 1]>;

/// One word, as held: an [`Entry`] with its key, signing key and source numbered.
#[derive(Debug, Clone)]
struct Word {
    signed_at: u64,
    comment: Box<str>,
    /// `None` for a word that names no package and no criteria, the common case.
    about: Option<Box<About>>,
    key: u32,
    signer: u32,
    source: u32,
    ok: bool,
    reviewed: bool,
}

/// The number of [`Source::Own`], numbered first.
const OWN: u32 = 0;

impl Word {
    /// [`Entry::newer_than`], over numbers.
    fn newer_than(&self, other: &Word) -> bool {
        let rank = |w: &Word| (w.signed_at, w.source == OWN, !w.ok);
        rank(self) > rank(other)
    }
}

/// Values numbered as they come in. Numbers are never reused and the table only grows: it
/// holds keys (each word's key is in the keyring, which bounds them) and sources (the remotes
/// named since the start).
#[derive(Debug)]
struct Table<T> {
    all: Vec<T>,
    numbers: HashMap<T, u32>,
}

impl<T: Clone + Eq + Hash> Table<T> {
    fn new() -> Self {
        Table {
            all: Vec::new(),
            numbers: HashMap::new(),
        }
    }

    fn number(&mut self, value: &T) -> u32 {
        if let Some(n) = self.numbers.get(value) {
            return *n;
        }
        let n = u32::try_from(self.all.len()).expect("fewer than 2^32 distinct values");
        self.all.push(value.clone());
        self.numbers.insert(value.clone(), n);
        n
    }

    fn find(&self, value: &T) -> Option<u32> {
        self.numbers.get(value).copied()
    }

    fn get(&self, n: u32) -> &T {
        &self.all[n as usize]
    }
}

/// A `sha256:` id's 32 bytes, `None` for other ids.
fn sha256_of(id: &ContentId) -> Option<[u8; 32]> {
    let hex = id.as_str().strip_prefix("sha256:")?.as_bytes();
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

impl Default for Words {
    fn default() -> Self {
        let mut sources = Table::new();
        assert_eq!(sources.number(&Source::Own), OWN);
        Words {
            sha256: IndexMap::default(),
            other: HashMap::new(),
            keys: Table::new(),
            sources,
            count: 0,
        }
    }
}

impl Words {
    /// Every word about `id`, made whole.
    pub(super) fn get(&self, id: &ContentId) -> Vec<Entry> {
        self.said(id)
            .map(|said| said.iter().map(|w| self.entry(w)).collect())
            .unwrap_or_default()
    }

    /// How many words are held.
    pub(super) fn len(&self) -> usize {
        self.count
    }

    /// How many ids have words.
    pub(super) fn ids(&self) -> usize {
        self.sha256.len() + self.other.len()
    }

    /// Adds a word; of several by one signing key about one id from one source, keeps the
    /// newest.
    pub(super) fn insert_newest(&mut self, id: ContentId, entry: Entry) {
        let word = self.word(entry);
        let said = self.said_mut(id);
        match said
            .iter_mut()
            .find(|w| (w.source, w.key, w.signer) == (word.source, word.key, word.signer))
        {
            Some(held) => {
                if word.newer_than(held) {
                    *held = word;
                }
            }
            None => {
                said.push(word);
                self.count += 1;
            }
        }
    }

    /// Sets what `entry.key` says about `id` from `entry.source`, replacing its earlier word
    /// (whichever key signed it).
    pub(super) fn upsert(&mut self, id: ContentId, entry: Entry) {
        let word = self.word(entry);
        let said = self.said_mut(id);
        let before = said.len();
        said.retain(|w| !(w.source == word.source && w.key == word.key));
        let removed = before - said.len();
        said.push(word);
        self.count = self.count + 1 - removed;
    }

    /// Drops `source`'s words about `id`; how many went.
    pub(super) fn drop_words(&mut self, id: &ContentId, source: &Source) -> usize {
        let Some(n) = self.sources.find(source) else {
            return 0;
        };
        let removed = match sha256_of(id) {
            Some(bytes) => Self::drop_from(&mut self.sha256, &bytes, n),
            None => Self::drop_from_other(&mut self.other, id, n),
        };
        self.count -= removed;
        removed
    }

    fn drop_from(map: &mut IndexMap<[u8; 32], Said, RandomState>, id: &[u8; 32], n: u32) -> usize {
        let Some(said) = map.get_mut(id) else {
            return 0;
        };
        let before = said.len();
        said.retain(|w| w.source != n);
        let removed = before - said.len();
        if said.is_empty() {
            map.swap_remove(id);
        }
        removed
    }

    fn drop_from_other(map: &mut HashMap<ContentId, Said>, id: &ContentId, n: u32) -> usize {
        let Some(said) = map.get_mut(id) else {
            return 0;
        };
        let before = said.len();
        said.retain(|w| w.source != n);
        let removed = before - said.len();
        if said.is_empty() {
            map.remove(id);
        }
        removed
    }

    /// Drops every word `source` said; how many went.
    pub(super) fn remove_source(&mut self, source: &Source) -> usize {
        let Some(n) = self.sources.find(source) else {
            return 0;
        };
        let mut removed = 0;
        let mut keep = |said: &mut Said| {
            let before = said.len();
            said.retain(|w| w.source != n);
            removed += before - said.len();
            !said.is_empty()
        };
        self.sha256.retain(|_, said| keep(said));
        self.other.retain(|_, said| keep(said));
        self.count -= removed;
        removed
    }

    fn said(&self, id: &ContentId) -> Option<&Said> {
        match sha256_of(id) {
            Some(bytes) => self.sha256.get(&bytes),
            None => self.other.get(id),
        }
    }

    fn said_mut(&mut self, id: ContentId) -> &mut Said {
        match sha256_of(&id) {
            Some(bytes) => self.sha256.entry(bytes).or_default(),
            None => self.other.entry(id).or_default(),
        }
    }

    fn word(&mut self, entry: Entry) -> Word {
        let Entry {
            key,
            signer,
            signed_at,
            ok,
            reviewed,
            comment,
            about,
            source,
        } = entry;
        Word {
            signed_at,
            comment: comment.into_boxed_str(),
            about: (about != About::default()).then(|| Box::new(about)),
            key: self.keys.number(&key),
            signer: self.keys.number(&signer),
            source: self.sources.number(&source),
            ok,
            reviewed,
        }
    }

    fn entry(&self, w: &Word) -> Entry {
        Entry {
            key: self.keys.get(w.key).clone(),
            signer: self.keys.get(w.signer).clone(),
            signed_at: w.signed_at,
            ok: w.ok,
            reviewed: w.reviewed,
            comment: w.comment.to_string(),
            about: w.about.as_deref().cloned().unwrap_or_default(),
            source: self.sources.get(w.source).clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The held form is as small as its comment says: a word in 48 bytes, most ids' words
    /// inline beside them.
    #[test]
    fn a_word_is_held_in_48_bytes() {
        assert_eq!(std::mem::size_of::<Word>(), 48);
        assert_eq!(std::mem::size_of::<Said>(), 56);
    }

    /// A `sha256:` id is held by its bytes and made whole again the same; any other id is held
    /// as it is.
    #[test]
    fn ids_of_every_algorithm_are_held_and_given_back() {
        let sha256 = ContentId::sha256(&[0xab; 32]);
        assert_eq!(sha256_of(&sha256), Some([0xab; 32]));
        let sha512 = ContentId::sha512(&[7; 64]);
        assert_eq!(sha256_of(&sha512), None);
        let mut words = Words::default();
        let key = Fingerprint::parse(&"A".repeat(40)).unwrap();
        let entry = |comment: &str, about: About| Entry {
            key: key.clone(),
            signer: key.clone(),
            signed_at: 3,
            ok: true,
            reviewed: true,
            comment: comment.into(),
            about,
            source: Source::Remote("r".into()),
        };
        let about = About::new(
            Some("npm/left-pad@1.3.0".into()),
            vec!["safe-to-run".into()],
        )
        .unwrap();
        words.insert_newest(sha256.clone(), entry("read it", About::default()));
        words.insert_newest(sha512.clone(), entry("", about.clone()));
        assert_eq!(words.get(&sha256), vec![entry("read it", About::default())]);
        assert_eq!(words.get(&sha512), vec![entry("", about)]);
        assert_eq!((words.ids(), words.len()), (2, 2));
        assert_eq!(words.drop_words(&sha512, &Source::Remote("r".into())), 1);
        assert_eq!(
            words.drop_words(&sha256, &Source::Remote("other".into())),
            0
        );
        assert_eq!((words.ids(), words.len()), (1, 1));
    }
}
