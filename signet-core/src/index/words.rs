//! How the index holds its words: compactly, because at a million attestations they are most
//! of the daemon's memory. A `sha256:` id is held as its 32 bytes, not its 71 characters; a
//! word's key, signing key and source are numbers into tables (a million words by one key
//! share one fingerprint); a word is 48 bytes, its comment in one buffer of every comment, and
//! the ids' table maps into a dense list (`IndexMap`), so its hash table costs 8 bytes a slot
//! and the list's spare capacity is never touched. Nothing held is a small allocation of its
//! own (but a package's name and criteria, rare): a million small allocations that outlive
//! the larger transient ones of a fetch among them would pin the pages they share. Words are
//! made whole again ([`Entry`]) only when asked for.

use std::collections::HashMap;
use std::hash::RandomState;

use indexmap::IndexMap;
use signet_proto::formats::{About, ContentId, Fingerprint};
use smallvec::SmallVec;

use super::{Entry, Source};
use crate::numbered::Numbered;

/// Every word held, by id. Ids are chosen by whoever signs, so the tables hash with a random
/// key (`RandomState`), never with a fixed function someone could aim collisions at.
#[derive(Debug, Clone)]
pub(super) struct Words {
    sha256: IndexMap<[u8; 32], Said, RandomState>,
    /// Ids of other algorithms (`sha512:` of npm's tarballs, trees): few, held as they are.
    other: HashMap<ContentId, Said>,
    /// The keys words name: each word's key is in the keyring, which bounds them.
    keys: Numbered<Fingerprint>,
    /// The sources words came from: the remotes named since the start.
    sources: Numbered<Source>,
    texts: Texts,
    count: usize,
}

/// The words about one id: most ids have one.
type Said = SmallVec<[Word; 1]>;

/// One word, as held: an [`Entry`] with its key, signing key and source numbered.
#[derive(Debug, Clone)]
struct Word {
    signed_at: u64,
    comment: Text,
    /// `None` for a word that names no package and no criteria, the common case.
    about: Option<Box<About>>,
    key: u32,
    signer: u32,
    source: u32,
    ok: bool,
    reviewed: bool,
}

/// Where a word's comment is in [`Texts`].
#[derive(Debug, Clone, Copy)]
struct Text {
    at: u64,
    len: u64,
}

/// Every held word's comment, one after the other. A comment dropped leaves its bytes behind
/// until they are half the buffer; then the buffer is made again from the words held.
#[derive(Debug, Default, Clone)]
struct Texts {
    bytes: Vec<u8>,
    dropped: usize,
}

impl Texts {
    fn add(&mut self, comment: &str) -> Text {
        let text = Text {
            at: self.bytes.len() as u64,
            len: comment.len() as u64,
        };
        self.bytes.extend_from_slice(comment.as_bytes());
        text
    }

    fn get(&self, text: Text) -> &str {
        let at = text.at as usize;
        std::str::from_utf8(&self.bytes[at..at + text.len as usize]).expect("held as a whole str")
    }

    fn drop(&mut self, text: Text) {
        self.dropped += text.len as usize;
    }

    /// Whether enough is dropped that the buffer should be made again.
    fn wasteful(&self) -> bool {
        self.dropped > 1 << 20 && self.dropped > self.bytes.len() / 2
    }
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

/// Drops the words of `said` that `gone` picks, their comments from `texts`; how many went.
fn drop_where(said: &mut Said, texts: &mut Texts, gone: impl Fn(&Word) -> bool) -> usize {
    let before = said.len();
    said.retain(|w| {
        if gone(w) {
            texts.drop(w.comment);
            return false;
        }
        true
    });
    before - said.len()
}

/// Adds `word` to `said`, of several by one signing key from one source keeping the newest
/// (the other's comment dropped from `texts`); whether `said` holds one more word.
fn keep_newest(said: &mut Said, texts: &mut Texts, word: Word) -> bool {
    let same = |w: &&mut Word| (w.source, w.key, w.signer) == (word.source, word.key, word.signer);
    match said.iter_mut().find(same) {
        Some(held) => {
            let gone = if word.newer_than(held) {
                std::mem::replace(held, word).comment
            } else {
                word.comment
            };
            texts.drop(gone);
            false
        }
        None => {
            said.push(word);
            true
        }
    }
}

/// Where an id's words are held.
#[derive(Debug)]
enum Slot {
    Sha256([u8; 32]),
    Other(ContentId),
}

impl Slot {
    fn of(id: ContentId) -> Slot {
        match sha256_of(&id) {
            Some(bytes) => Slot::Sha256(bytes),
            None => Slot::Other(id),
        }
    }
}

/// A `sha256:` id's 32 bytes, `None` for other ids. Every verdict starts here (a tree of
/// 20,000 files, 20,000 times), so the digits are read from a table, not matched.
fn sha256_of(id: &ContentId) -> Option<[u8; 32]> {
    let hex = id.as_str().strip_prefix("sha256:")?.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    let mut bad = 0;
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let (high, low) = (NIBBLE[pair[0] as usize], NIBBLE[pair[1] as usize]);
        bad |= high | low;
        *byte = high << 4 | low;
    }
    // A digit that is not lowercase hex has the high bit set.
    (bad & 0x80 == 0).then_some(out)
}

/// Each byte's value as a lowercase hex digit; `0xff` for a byte that is not one.
static NIBBLE: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut digit = 0;
    while digit < 16 {
        table[b"0123456789abcdef"[digit] as usize] = digit as u8;
        digit += 1;
    }
    table
};

impl Default for Words {
    fn default() -> Self {
        let mut sources = Numbered::default();
        assert_eq!(sources.number(&Source::Own), OWN);
        Words {
            sha256: IndexMap::default(),
            other: HashMap::new(),
            keys: Numbered::default(),
            sources,
            texts: Texts::default(),
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
        self.insert_word(Slot::of(id), word);
    }

    /// Adds `other`'s words (checked apart, held the same way), as [`Self::insert_newest`]
    /// adds each: their numbers made this table's, their comments copied into its buffer —
    /// nothing made whole on the way. Into an empty table, `other` is taken as it is.
    pub(super) fn absorb(&mut self, other: Words) {
        // Taken whole unless room was made for more ([`Words::reserve`]).
        if self.count == 0 && self.sha256.capacity() <= other.sha256.capacity() {
            *self = other;
            return;
        }
        let keys: Vec<u32> = (other.keys.all().iter())
            .map(|k| self.keys.number(k))
            .collect();
        let sources: Vec<u32> = (other.sources.all().iter())
            .map(|s| self.sources.number(s))
            .collect();
        let Words {
            sha256,
            other: others,
            texts,
            ..
        } = other;
        let slots = (sha256
            .into_iter()
            .map(|(bytes, said)| (Slot::Sha256(bytes), said)))
        .chain(others.into_iter().map(|(id, said)| (Slot::Other(id), said)));
        for (slot, said) in slots {
            let (held, into) = self.said_mut(slot);
            let mut added = 0;
            for w in said {
                let word = Word {
                    key: keys[w.key as usize],
                    signer: keys[w.signer as usize],
                    source: sources[w.source as usize],
                    comment: into.add(texts.get(w.comment)),
                    ..w
                };
                added += usize::from(keep_newest(held, into, word));
            }
            self.count += added;
        }
        self.tidy();
    }

    /// Room for the ids and comments of `incoming`, to be absorbed next: a start absorbing ten
    /// copies of 100,000 grew the table and the comments' buffer a copy at a time, each growth
    /// a copy of all before into fresh pages (half of the daemon's time in taking them in).
    pub(super) fn reserve<'a>(&mut self, incoming: impl IntoIterator<Item = &'a Words>) {
        let (mut ids, mut bytes) = (0, 0);
        for words in incoming {
            ids += words.sha256.len();
            bytes += words.texts.bytes.len() - words.texts.dropped;
        }
        self.sha256.reserve(ids);
        self.texts.bytes.reserve(bytes);
    }

    /// Every word held, made whole, with its id.
    pub(super) fn iter(&self) -> impl Iterator<Item = (ContentId, Entry)> + '_ {
        let sha256 = (self.sha256.iter()).map(|(bytes, said)| (ContentId::sha256(bytes), said));
        let other = (self.other.iter()).map(|(id, said)| (id.clone(), said));
        sha256
            .chain(other)
            .flat_map(move |(id, said)| said.iter().map(move |w| (id.clone(), self.entry(w))))
    }

    fn insert_word(&mut self, slot: Slot, word: Word) {
        let (said, texts) = self.said_mut(slot);
        if keep_newest(said, texts, word) {
            self.count += 1;
        }
        self.tidy();
    }

    /// Sets what `entry.key` says about `id` from `entry.source`, replacing its earlier word
    /// (whichever key signed it).
    pub(super) fn upsert(&mut self, id: ContentId, entry: Entry) {
        let word = self.word(entry);
        let (said, texts) = self.said_mut(Slot::of(id));
        let removed = drop_where(said, texts, |w| {
            w.source == word.source && w.key == word.key
        });
        said.push(word);
        self.count = self.count + 1 - removed;
        self.tidy();
    }

    /// Drops `source`'s words about `id`; how many went.
    pub(super) fn drop_words(&mut self, id: &ContentId, source: &Source) -> usize {
        let Some(n) = self.sources.find(source) else {
            return 0;
        };
        let texts = &mut self.texts;
        let removed = match sha256_of(id) {
            Some(bytes) => {
                let Some(said) = self.sha256.get_mut(&bytes) else {
                    return 0;
                };
                let removed = drop_where(said, texts, |w| w.source == n);
                if said.is_empty() {
                    self.sha256.swap_remove(&bytes);
                }
                removed
            }
            None => {
                let Some(said) = self.other.get_mut(id) else {
                    return 0;
                };
                let removed = drop_where(said, texts, |w| w.source == n);
                if said.is_empty() {
                    self.other.remove(id);
                }
                removed
            }
        };
        self.count -= removed;
        self.tidy();
        removed
    }

    /// Drops every word `source` said; how many went.
    pub(super) fn remove_source(&mut self, source: &Source) -> usize {
        let Some(n) = self.sources.find(source) else {
            return 0;
        };
        let (mut removed, texts) = (0, &mut self.texts);
        let mut keep = |said: &mut Said| {
            removed += drop_where(said, texts, |w| w.source == n);
            !said.is_empty()
        };
        self.sha256.retain(|_, said| keep(said));
        self.other.retain(|_, said| keep(said));
        self.count -= removed;
        self.tidy();
        removed
    }

    /// Makes the comments' buffer again once most of it is dropped comments.
    fn tidy(&mut self) {
        if !self.texts.wasteful() {
            return;
        }
        let old = std::mem::take(&mut self.texts);
        let all = self.sha256.values_mut().chain(self.other.values_mut());
        for word in all.flat_map(|said| said.iter_mut()) {
            word.comment = self.texts.add(old.get(word.comment));
        }
    }

    /// Checks what the buffer of comments holds against the words (tests).
    #[cfg(test)]
    fn buffered(&self) -> (usize, usize) {
        (self.texts.bytes.len(), self.texts.dropped)
    }

    fn said(&self, id: &ContentId) -> Option<&Said> {
        match sha256_of(id) {
            Some(bytes) => self.sha256.get(&bytes),
            None => self.other.get(id),
        }
    }

    /// The words about `id`, made if none, and the comments' buffer beside them.
    fn said_mut(&mut self, slot: Slot) -> (&mut Said, &mut Texts) {
        let said = match slot {
            Slot::Sha256(bytes) => self.sha256.entry(bytes).or_default(),
            Slot::Other(id) => self.other.entry(id).or_default(),
        };
        (said, &mut self.texts)
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
            comment: self.texts.add(&comment),
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
            comment: self.texts.get(w.comment).to_owned(),
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

    /// Comments dropped with their words are reclaimed once they are half the buffer, and
    /// every comment held reads the same after.
    #[test]
    fn dropped_comments_are_reclaimed_and_the_rest_kept() {
        let key = Fingerprint::parse(&"B".repeat(40)).unwrap();
        let word = |n: u32, source: &Source| Entry {
            key: key.clone(),
            signer: key.clone(),
            signed_at: 1,
            ok: true,
            reviewed: true,
            comment: format!("{n:04}").repeat(250), // 1,000 bytes
            about: About::default(),
            source: source.clone(),
        };
        let (stays, goes) = (
            Source::Remote("stays".into()),
            Source::Remote("goes".into()),
        );
        let id = |n: u32| ContentId::sha256(&sha2::Sha256::digest(n.to_le_bytes()).into());
        use sha2::Digest as _;
        let mut words = Words::default();
        for n in 0..3_000 {
            words.insert_newest(id(n), word(n, if n % 3 == 0 { &stays } else { &goes }));
        }
        assert_eq!(words.buffered(), (3_000_000, 0));
        assert_eq!(words.remove_source(&goes), 2_000);
        assert_eq!(
            words.buffered(),
            (1_000_000, 0),
            "made again from the 1,000 kept"
        );
        for n in (0..3_000).step_by(3) {
            assert_eq!(words.get(&id(n)), vec![word(n, &stays)]);
        }
        // A few dropped stay in the buffer until they are worth reclaiming.
        assert_eq!(words.drop_words(&id(0), &stays), 1);
        assert_eq!(words.buffered(), (1_000_000, 1_000));
        assert_eq!(words.get(&id(3)), vec![word(3, &stays)]);
    }

    /// Room made for several sources' words before they are absorbed: the first is taken in
    /// word by word instead of by replacing what is held, and every word of each is held.
    #[test]
    fn absorbing_into_room_made_keeps_every_word() {
        use sha2::Digest as _;
        let key = Fingerprint::parse(&"C".repeat(40)).unwrap();
        let id = |n: u32| ContentId::sha256(&sha2::Sha256::digest(n.to_le_bytes()).into());
        let word = |n: u32, source: &Source| Entry {
            key: key.clone(),
            signer: key.clone(),
            signed_at: 1,
            ok: n.is_multiple_of(2),
            reviewed: true,
            comment: format!("word {n}"),
            about: About::default(),
            source: source.clone(),
        };
        let sources: Vec<Source> = (0..3).map(|s| Source::Remote(format!("r{s}"))).collect();
        let copies: Vec<Words> = (0..3u32)
            .map(|s| {
                let mut copy = Words::default();
                for n in s * 100..s * 100 + 150 {
                    copy.insert_newest(id(n), word(n, &sources[s as usize]));
                }
                copy
            })
            .collect();
        let mut words = Words::default();
        words.reserve(&copies);
        assert!(words.sha256.capacity() >= 450);
        for copy in copies {
            words.absorb(copy);
            assert!(words.sha256.capacity() >= 450, "the room made is kept");
        }
        assert_eq!((words.ids(), words.len()), (350, 450));
        assert_eq!(words.get(&id(0)), vec![word(0, &sources[0])]);
        assert_eq!(
            words.get(&id(120)),
            vec![word(120, &sources[0]), word(120, &sources[1])]
        );
        assert_eq!(words.get(&id(349)), vec![word(349, &sources[2])]);
    }

    /// A `sha256:` id is held by its bytes and made whole again the same; any other id is held
    /// as it is.
    #[test]
    fn ids_of_every_algorithm_are_held_and_given_back() {
        let sha256 = ContentId::sha256(&[0xab; 32]);
        assert_eq!(sha256_of(&sha256), Some([0xab; 32]));
        for byte in 0..=255u8 {
            let digest = std::array::from_fn(|n| byte.wrapping_add(n as u8));
            assert_eq!(sha256_of(&ContentId::sha256(&digest)), Some(digest));
        }
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
