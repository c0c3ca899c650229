//! The in-memory index: every attestation whose signature checked out, by content id, from
//! every source. Pure: filled from already-checked attestations, queried by id.

use std::collections::HashMap;
use std::sync::Arc;

use signet_proto::api::Verdict;
use signet_proto::formats::{About, ContentId, Fingerprint};

use crate::vouch::{Held, Statements, Vouch};
use crate::web::{Keys, Level};

mod words;
use words::Words;

/// Where an attestation came from (the wire's type: views carry it as it is).
pub use signet_proto::api::Source;

/// One checked attestation, as the index keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: Fingerprint,
    /// The key that made the signature (the primary key or a subkey): a revocation of the
    /// certificate or of this subkey, learnt at any time, voids it.
    pub signer: Fingerprint,
    /// When it was signed (seconds since the Unix epoch): a key's newest word replaces its
    /// older ones, wherever each copy came from.
    pub signed_at: u64,
    pub ok: bool,
    pub reviewed: bool,
    pub comment: String,
    /// The package it names and the criteria it meets, when it says.
    pub about: About,
    pub source: Source,
}

impl Entry {
    /// Whether `self` is a newer word than `other` by the same key: signed later; within the
    /// same second (OpenPGP's resolution), the own repository's copy, which `attest` keeps
    /// newest, then "not ok", failing closed.
    pub fn newer_than(&self, other: &Entry) -> bool {
        let rank = |e: &Entry| (e.signed_at, e.source == Source::Own, !e.ok);
        rank(self) > rank(other)
    }
}

/// How one attestation stands among the others about the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Its key's newest unrevoked word: the one that counts, if the key is trusted.
    Current,
    /// Its key said something newer since (in any repository): shown, never counted.
    Superseded,
    /// Its certificate or signing subkey is revoked: shown, never counted, and it supersedes
    /// nothing, so a thief's word made with a stolen and since revoked key hides no older one.
    Revoked,
    /// `reviewed` is not true: shown, never counted, and it supersedes nothing — as in the
    /// reference implementation, only reviewed words take part.
    Unreviewed,
}

/// The standing of each of `entries` (in order): per key, only its newest unrevoked, reviewed
/// word is current. `voided` says whether an entry's signature is void by revocation.
pub fn standings(entries: &[Entry], voided: impl Fn(&Entry) -> bool) -> Vec<Standing> {
    let mut newest: HashMap<&Fingerprint, usize> = HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        if voided(e) {
            out.push(Standing::Revoked);
            continue;
        }
        if !e.reviewed {
            out.push(Standing::Unreviewed);
            continue;
        }
        out.push(Standing::Superseded);
        let best = newest.entry(&e.key).or_insert(i);
        if e.newer_than(&entries[*best]) {
            *best = i;
        }
    }
    for i in newest.into_values() {
        out[i] = Standing::Current;
    }
    out
}

/// What a repository's checks let in: attestations about files and statements about keys.
#[derive(Debug, Default, Clone)]
pub struct Checked {
    pub files: Files,
    pub vouches: Vec<Vouch>,
}

impl From<Vec<(ContentId, Entry)>> for Checked {
    fn from(files: Vec<(ContentId, Entry)>) -> Self {
        Checked {
            files: files.into_iter().collect(),
            vouches: Vec::new(),
        }
    }
}

/// Checked words about files, held as the index holds them from the moment each is checked:
/// a million words in transit between a check and the index cost what the index costs, not
/// their text. Of several words by one signing key about one id, only the newest is kept.
#[derive(Debug, Default, Clone)]
pub struct Files(Words);

impl Files {
    pub fn push(&mut self, id: ContentId, entry: Entry) {
        self.0.insert_newest(id, entry);
    }

    /// Adds the words checked apart in `other`.
    pub fn append(&mut self, other: Files) {
        self.0.absorb(other.0);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every word, made whole, with its id.
    pub fn iter(&self) -> impl Iterator<Item = (ContentId, Entry)> + '_ {
        self.0.iter()
    }
}

impl FromIterator<(ContentId, Entry)> for Files {
    fn from_iter<I: IntoIterator<Item = (ContentId, Entry)>>(words: I) -> Self {
        let mut files = Files::default();
        for (id, entry) in words {
            files.push(id, entry);
        }
        files
    }
}

impl Checked {
    pub fn len(&self) -> usize {
        self.files.len() + self.vouches.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Default)]
pub struct Index {
    /// The words about files, by id, held compactly (`words.rs`).
    words: Words,
    /// Trust statements, by source, their keys numbered as they come in: read whole by the web,
    /// from a [`Statements`] snapshot that shares each source's list until it is written.
    vouches: HashMap<Source, Arc<Vec<Held>>>,
    /// The numbers of every key a statement held has named: they only grow. Shared with the
    /// web computed from them, and copied on write when a new key comes in meanwhile.
    keys: Arc<Keys>,
    /// Moves on every change, so that a reader can tell whether verdicts may have changed.
    generation: u64,
    /// Moves on every change to the trust statements: the web is computed again.
    vouch_generation: u64,
}

impl Index {
    /// Every word held about `id`, from every source.
    pub fn get(&self, id: &ContentId) -> Vec<Entry> {
        self.words.get(id)
    }

    /// Room for the words of `incoming`, each to be taken in next by [`Index::replace_source`]
    /// (a start, every remote's copy at once).
    pub fn reserve_for<'a>(&mut self, incoming: impl IntoIterator<Item = &'a Checked>) {
        self.words.reserve(incoming.into_iter().map(|c| &c.files.0));
    }

    /// Replaces everything `source` said with `entries`. Of several words by the same signing
    /// key about the same id, only the newest is kept: older ones could never count, and a
    /// repository padded with them costs no memory.
    pub fn replace_source(&mut self, source: &Source, checked: Checked) {
        self.remove_source(source);
        self.generation += 1;
        let Checked {
            files: entries,
            vouches,
        } = checked;
        if !vouches.is_empty() {
            debug_assert!(vouches.iter().all(|v| &v.source == source));
            let held = vouches.into_iter().map(|v| self.hold(v)).collect();
            self.vouches.insert(source.clone(), Arc::new(held));
            self.vouch_generation += 1;
        }
        self.compact_keys();
        self.words.absorb(entries.0);
    }

    /// Replaces part of what `source` said: its words about the `dropped` ids and its
    /// statements `(key, about)` in `dropped_vouches` go, `checked` comes in. For a repository
    /// in parts, whose update changes a few bins (each id is in one): costs what changed.
    pub fn update_source(
        &mut self,
        source: &Source,
        dropped: &[ContentId],
        dropped_vouches: &[(Fingerprint, Fingerprint)],
        checked: Checked,
    ) {
        for id in dropped {
            self.words.drop_words(id, source);
        }
        self.generation += 1;
        let Checked {
            files: entries,
            vouches,
        } = checked;
        if !dropped_vouches.is_empty() || !vouches.is_empty() {
            let mut list: Vec<Held> = self
                .vouches
                .get(source)
                .map(|l| (**l).clone())
                .unwrap_or_default();
            list.retain(|h| {
                !dropped_vouches
                    .iter()
                    .any(|(key, about)| &h.vouch.key == key && &h.vouch.about == about)
            });
            list.extend(vouches.into_iter().map(|v| self.hold(v)));
            if list.is_empty() {
                self.vouches.remove(source);
            } else {
                self.vouches.insert(source.clone(), Arc::new(list));
            }
            self.vouch_generation += 1;
            self.compact_keys();
        }
        self.words.absorb(entries.0);
    }

    pub fn remove_source(&mut self, source: &Source) {
        if self.words.remove_source(source) > 0 {
            self.generation += 1;
        }
        if self.vouches.remove(source).is_some() {
            self.generation += 1;
            self.vouch_generation += 1;
        }
    }

    /// Sets what `vouch.key` says about `vouch.about` from `vouch.source`, replacing its
    /// earlier word.
    pub fn upsert_vouch(&mut self, vouch: Vouch) {
        let held = self.hold(vouch);
        let list = Arc::make_mut(self.vouches.entry(held.vouch.source.clone()).or_default());
        list.retain(|h| !(h.from == held.from && h.about == held.about));
        list.push(held);
        self.generation += 1;
        self.vouch_generation += 1;
    }

    fn hold(&mut self, vouch: Vouch) -> Held {
        let keys = Arc::make_mut(&mut self.keys);
        Held {
            from: keys.id(&vouch.key),
            about: keys.id(&vouch.about),
            vouch,
        }
    }

    /// Numbers the keys again from the statements held now, once most numbered keys are named
    /// by none: numbers only grow as statements come in, and a remote naming fresh keys at
    /// every fetch would otherwise grow the daemon for ever. Keys numbered for your own word
    /// (your keys, your trust list) are numbered again at the next computation of the web.
    fn compact_keys(&mut self) {
        let named = 2 * self.vouches.values().map(|l| l.len()).sum::<usize>();
        if self.keys.len() <= 2 * named + Self::KEYS_SLACK {
            return;
        }
        let mut keys = Keys::default();
        for held in self.vouches.values_mut().flat_map(Arc::make_mut) {
            held.from = keys.id(&held.vouch.key);
            held.about = keys.id(&held.vouch.about);
        }
        self.keys = Arc::new(keys);
        self.vouch_generation += 1;
    }

    /// Keys numbered beyond those statements name before [`Self::compact_keys`] runs: your own
    /// word's keys, and room for the numbering to be reused.
    const KEYS_SLACK: usize = 4096;

    /// Every trust statement held, from every source, with its keys' numbers.
    pub fn held_vouches(&self) -> impl Iterator<Item = &Held> {
        self.vouches.values().flat_map(|l| l.iter())
    }

    /// The trust statements held now and their keys' numbers, to compute the web from after
    /// the state's lock is released: it shares what it holds (one pointer per source), and a
    /// later change copies only the list it writes.
    pub fn statements(&self) -> Statements {
        Statements::new(self.keys.clone(), self.vouches.values().cloned().collect())
    }

    /// Every trust statement held, from every source.
    pub fn vouches(&self) -> impl Iterator<Item = &Vouch> {
        self.held_vouches().map(|h| &h.vouch)
    }

    /// The numbers the statements' keys have.
    pub fn keys(&self) -> &Arc<Keys> {
        &self.keys
    }

    /// To number keys that no statement names (your own, those you trust directly).
    pub fn keys_mut(&mut self) -> &mut Keys {
        Arc::make_mut(&mut self.keys)
    }

    pub fn vouch_generation(&self) -> u64 {
        self.vouch_generation
    }

    /// Sets what `entry.key` says about `id` from `entry.source`, replacing its earlier word.
    pub fn upsert(&mut self, id: ContentId, entry: Entry) {
        self.words.upsert(id, entry);
        self.generation += 1;
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn ids(&self) -> usize {
        self.words.ids()
    }

    pub fn entries(&self) -> usize {
        self.words.len()
    }
}

/// How many trusted words a verdict needs, as the reference's policy `{"ok": 1, "not-ok": 0}`,
/// and whose words are trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// At least this many trusted reviewers must say ok (`verify.threshold`, at least 1).
    pub threshold: usize,
    /// More than this many trusted reviewers saying not ok make it NOT ok (`verify.max_not_ok`).
    pub max_not_ok: usize,
    /// The least effective trust level whose word counts (`verify.min_level`).
    pub min_level: Level,
    /// Reviewers trusted only through the same key you trust directly count once
    /// (`verify.independent`).
    pub independent: bool,
}

/// Who a current word counts for: `who` is the person (the user's current and retired keys are
/// one), `group` what makes reviewers independent (the person, or with `verify.independent`
/// the key you trust directly that their trust comes through).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewer {
    pub who: Fingerprint,
    pub group: Fingerprint,
}

/// The verdict over the checked attestations of one file (docs/FORMATS.md, "Verdict"): of
/// each key's current word (see [`standings`]), more than `max_not_ok` trusted reviewers saying
/// not ok make it `NotOk`; else `threshold` trusted reviewers saying ok make it `Ok`; else
/// `Unverified`. Untrusted keys, revoked, superseded and unreviewed words never count.
pub fn judge(
    entries: &[Entry],
    standings: &[Standing],
    reviewer: impl Fn(&Fingerprint) -> Option<Reviewer>,
    policy: Policy,
    criteria: &[String],
) -> Verdict {
    tally(entries, standings, reviewer, criteria).verdict(policy)
}

/// Trusted reviewers' current words about one id: how many say ok, how many not ok.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub ok: usize,
    pub not_ok: usize,
}

impl Tally {
    pub fn verdict(self, policy: Policy) -> Verdict {
        if self.not_ok > policy.max_not_ok {
            Verdict::NotOk
        } else if self.ok >= policy.threshold.max(1) {
            Verdict::Ok
        } else {
            Verdict::Unverified
        }
    }
}

/// Counts one current word per reviewer (a person with several keys is one reviewer, whose
/// newest word counts), then one per group: reviewers of one group saying ok count once, and
/// saying not ok once. An ok counts only when it meets the `criteria` wanted
/// (`verify.criteria`); a not ok always counts, whatever it was reviewed for.
pub fn tally(
    entries: &[Entry],
    standings: &[Standing],
    reviewer: impl Fn(&Fingerprint) -> Option<Reviewer>,
    criteria: &[String],
) -> Tally {
    let mut words: HashMap<Fingerprint, (&Entry, Fingerprint)> = HashMap::new();
    let current = entries
        .iter()
        .zip(standings)
        .filter(|(_, s)| **s == Standing::Current)
        .filter_map(|(e, _)| reviewer(&e.key).map(|r| (r, e)));
    for (r, e) in current {
        let word = words.entry(r.who).or_insert((e, r.group));
        if e.newer_than(word.0) {
            word.0 = e;
        }
    }
    let groups = |ok: bool| {
        words
            .values()
            .filter(|(e, _)| e.ok == ok && (!ok || e.about.meets(criteria)))
            .map(|(_, group)| group)
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    Tally {
        ok: groups(true),
        not_ok: groups(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fpr(c: char) -> Fingerprint {
        Fingerprint::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn said(key: char, ok: bool, at: u64, source: Source) -> Entry {
        Entry {
            key: fpr(key),
            signer: fpr(key),
            signed_at: at,
            ok,
            reviewed: true,
            comment: String::new(),
            about: About::default(),
            source,
        }
    }

    fn entry(key: char, ok: bool, source: Source) -> Entry {
        said(key, ok, 1, source)
    }

    /// An update of part of a source drops its words about the ids dropped, keeps the rest and
    /// another source's words about the same ids, and counts what it holds.
    #[test]
    fn a_source_is_updated_in_part() {
        let remote = Source::Remote("big".into());
        let other = Source::Remote("other".into());
        let id = |n: u8| ContentId::sha256(&[n; 32]);
        let mut index = Index::default();
        index.replace_source(
            &remote,
            Checked::from(vec![
                (id(1), said('A', true, 1, remote.clone())),
                (id(2), said('A', true, 1, remote.clone())),
            ]),
        );
        index.replace_source(
            &other,
            Checked::from(vec![(id(1), said('B', true, 1, other.clone()))]),
        );
        index.update_source(
            &remote,
            &[id(1)],
            &[],
            Checked::from(vec![(id(3), said('A', false, 2, remote.clone()))]),
        );
        assert_eq!(index.get(&id(1)).len(), 1, "the other source's word stays");
        assert_eq!(index.get(&id(1))[0].source, other);
        assert_eq!(
            index.get(&id(2)).len(),
            1,
            "a word in a bin not dropped stays"
        );
        assert!(!index.get(&id(3))[0].ok);
        assert_eq!(index.entries(), 3);
    }

    fn verdict(entries: &[Entry], voided: impl Fn(&Entry) -> bool, threshold: usize) -> Verdict {
        let trusted = |f: &Fingerprint| f == &fpr('A') || f == &fpr('B');
        let policy = Policy {
            threshold,
            max_not_ok: 0,
            min_level: Level::Medium,
            independent: false,
        };
        let reviewer = |k: &Fingerprint| Reviewer {
            who: k.clone(),
            group: k.clone(),
        };
        judge(
            entries,
            &standings(entries, voided),
            |k| trusted(k).then(|| reviewer(k)),
            policy,
            &[],
        )
    }

    #[test]
    fn an_ok_counts_only_for_the_criteria_wanted_and_a_not_ok_always() {
        let reviewer = |k: &Fingerprint| {
            Some(Reviewer {
                who: k.clone(),
                group: k.clone(),
            })
        };
        let with = |key: char, ok: bool, criteria: &[&str]| {
            let mut e = said(key, ok, 1, Source::Own);
            e.about.criteria = criteria.iter().map(|c| c.to_string()).collect();
            e
        };
        let wanted = ["safe-to-run".to_owned()];
        for (entries, ok, not_ok) in [
            (vec![with('A', true, &[])], 0, 0),
            (vec![with('A', true, &["safe-to-run"])], 1, 0),
            // cargo-vet's implication: deploying is running.
            (vec![with('A', true, &["safe-to-deploy"])], 1, 0),
            (vec![with('A', true, &["my-teams-own"])], 0, 0),
            (vec![with('A', false, &[])], 0, 1),
        ] {
            let t = tally(&entries, &standings(&entries, |_| false), reviewer, &wanted);
            assert_eq!((t.ok, t.not_ok), (ok, not_ok), "{:?}", entries[0].about);
        }
    }

    #[test]
    fn reviewers_of_one_group_count_once_each_way() {
        let own = || Source::Own;
        // B and C are reached through A; D on its own.
        let group = |k: &Fingerprint| {
            let g = if *k == fpr('D') { 'D' } else { 'A' };
            Some(Reviewer {
                who: k.clone(),
                group: fpr(g),
            })
        };
        let count = |said: &[(char, bool)]| {
            let entries: Vec<_> = said.iter().map(|(k, ok)| entry(*k, *ok, own())).collect();
            let t = tally(&entries, &standings(&entries, |_| false), group, &[]);
            (t.ok, t.not_ok)
        };
        assert_eq!(count(&[('B', true), ('C', true)]), (1, 0));
        assert_eq!(count(&[('B', true), ('C', true), ('D', true)]), (2, 0));
        assert_eq!(count(&[('B', true), ('C', false)]), (1, 1));
    }

    #[test]
    fn verdict_rules() {
        let own = || Source::Own;
        /// Who said what (key, ok), the threshold, and the verdict expected.
        type Case = (&'static [(char, bool)], usize, Verdict);
        let cases: &[Case] = &[
            (&[], 1, Verdict::Unverified),
            (&[('A', true)], 1, Verdict::Ok),
            (&[('C', true)], 1, Verdict::Unverified),
            (&[('C', false)], 1, Verdict::Unverified),
            (&[('A', true), ('B', false)], 1, Verdict::NotOk),
            (&[('A', true)], 2, Verdict::Unverified),
            (&[('A', true), ('A', true)], 2, Verdict::Unverified),
            (&[('A', true), ('B', true)], 2, Verdict::Ok),
            (&[('A', true), ('B', true), ('C', false)], 2, Verdict::Ok),
        ];
        for (said, threshold, want) in cases {
            let entries: Vec<_> = said.iter().map(|(k, ok)| entry(*k, *ok, own())).collect();
            assert_eq!(
                verdict(&entries, |_| false, *threshold),
                *want,
                "{said:?} at {threshold}"
            );
        }
    }

    /// A remote naming fresh keys at every fetch: the numbering follows what is held, not
    /// everything ever seen.
    #[test]
    fn the_key_numbering_is_compacted_as_statements_go() {
        let mut index = Index::default();
        let source = Source::Remote("churn".into());
        let fpr = |n: u32| Fingerprint::parse(&format!("{n:040X}")).unwrap();
        for round in 0..16u32 {
            let vouches = (0..2_000u32)
                .map(|n| Vouch {
                    key: fpr(1),
                    signer: fpr(1),
                    signed_at: 1,
                    about: fpr(10 + round * 2_000 + n),
                    trust: signet_proto::statements::Trust::Low,
                    url: None,
                    comment: String::new(),
                    succession: None,
                    withdrawn: false,
                    source: source.clone(),
                })
                .collect();
            let checked = Checked {
                files: Files::default(),
                vouches,
            };
            index.replace_source(&source, checked);
        }
        assert!(
            index.keys().len() <= 2 * 2 * 2_000 + Index::KEYS_SLACK,
            "{} keys numbered for 2,001 named",
            index.keys().len()
        );
        // The numbers held still name the right keys.
        for held in index.held_vouches() {
            assert_eq!(index.keys().fingerprint(held.about), &held.vouch.about);
            assert_eq!(index.keys().fingerprint(held.from), &held.vouch.key);
        }
    }

    #[test]
    fn only_a_keys_newest_unrevoked_word_counts() {
        let mirror = || Source::Remote("mirror".into());
        // A said "not ok", then "ok"; a mirror replays the old word: the newer one counts,
        // whichever source carries which.
        let replayed = [
            said('A', true, 20, Source::Own),
            said('A', false, 10, mirror()),
        ];
        assert_eq!(verdict(&replayed, |_| false, 1), Verdict::Ok);
        assert_eq!(
            standings(&replayed, |_| false),
            [Standing::Current, Standing::Superseded]
        );
        let reversed = [replayed[1].clone(), replayed[0].clone()];
        assert_eq!(verdict(&reversed, |_| false, 1), Verdict::Ok);
        // And the other way round: "ok" then "not ok".
        let retracted = [
            said('A', true, 10, mirror()),
            said('A', false, 20, Source::Remote("r".into())),
        ];
        assert_eq!(verdict(&retracted, |_| false, 1), Verdict::NotOk);
        // Within one second the own copy wins, then "not ok".
        let tie = [
            said('A', false, 10, mirror()),
            said('A', true, 10, Source::Own),
        ];
        assert_eq!(verdict(&tie, |_| false, 1), Verdict::Ok);
        let tie = [
            said('A', true, 10, mirror()),
            said('A', false, 10, Source::Remote("r".into())),
        ];
        assert_eq!(verdict(&tie, |_| false, 1), Verdict::NotOk);
        // A revoked word never counts and hides no older word.
        let stolen = [
            said('A', true, 10, mirror()),
            said('A', false, 20, mirror()),
        ];
        let void_newest = |e: &Entry| e.signed_at == 20;
        assert_eq!(verdict(&stolen, void_newest, 1), Verdict::Ok);
        assert_eq!(
            standings(&stolen, void_newest),
            [Standing::Current, Standing::Revoked]
        );
        assert_eq!(verdict(&stolen, |_| true, 1), Verdict::Unverified);
    }

    #[test]
    fn sources_replace_and_leave_cleanly() {
        let id = ContentId::sha256(&[1; 32]);
        let mut index = Index::default();
        let remote = Source::Remote("r".into());
        index.replace_source(
            &Source::Own,
            vec![(id.clone(), entry('A', true, Source::Own))].into(),
        );
        // A remote repeating one key's words keeps only the newest.
        index.replace_source(
            &remote,
            vec![
                (id.clone(), said('B', true, 5, remote.clone())),
                (id.clone(), said('B', false, 9, remote.clone())),
                (id.clone(), said('B', true, 7, remote.clone())),
            ]
            .into(),
        );
        assert_eq!(index.get(&id).len(), 2);
        assert!(index.get(&id).iter().any(|e| e.signed_at == 9 && !e.ok));
        index.upsert(id.clone(), entry('A', false, Source::Own));
        assert_eq!(
            index.get(&id).len(),
            2,
            "a key's new word replaces its old one"
        );
        assert_eq!(index.entries(), 2);
        index.remove_source(&remote);
        assert_eq!(index.get(&id).len(), 1);
        index.remove_source(&Source::Own);
        assert_eq!((index.ids(), index.entries()), (0, 0));
    }
}
