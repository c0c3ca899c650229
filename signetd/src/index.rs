//! The in-memory index: every attestation whose signature checked out, by content id, from
//! every source. Pure: filled from already-checked attestations, queried by id.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use signet_proto::api::Verdict;
use signet_proto::formats::{ContentId, Fingerprint};

/// Where an attestation came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Own,
    Remote(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Own => f.write_str("own"),
            Source::Remote(name) => write!(f, "remote:{name}"),
        }
    }
}

/// One checked attestation, as the index keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: Fingerprint,
    pub ok: bool,
    pub reviewed: bool,
    pub comment: String,
    pub source: Source,
    /// Made by a key since revoked: shown, never counted.
    pub revoked: bool,
}

#[derive(Debug, Default)]
pub struct Index {
    by_id: HashMap<ContentId, Vec<Arc<Entry>>>,
    entries: usize,
}

impl Index {
    pub fn get(&self, id: &ContentId) -> &[Arc<Entry>] {
        self.by_id.get(id).map(Vec::as_slice).unwrap_or_default()
    }

    /// Replaces everything `source` said with `entries`.
    pub fn replace_source(&mut self, source: &Source, entries: Vec<(ContentId, Entry)>) {
        self.remove_source(source);
        for (id, entry) in entries {
            debug_assert_eq!(&entry.source, source);
            self.by_id.entry(id).or_default().push(Arc::new(entry));
            self.entries += 1;
        }
    }

    pub fn remove_source(&mut self, source: &Source) {
        let mut removed = 0;
        self.by_id.retain(|_, list| {
            let before = list.len();
            list.retain(|e| &e.source != source);
            removed += before - list.len();
            !list.is_empty()
        });
        self.entries -= removed;
    }

    /// Sets what `entry.key` says about `id` from `entry.source`, replacing its earlier word.
    pub fn upsert(&mut self, id: ContentId, entry: Entry) {
        let list = self.by_id.entry(id).or_default();
        let before = list.len();
        list.retain(|e| !(e.source == entry.source && e.key == entry.key));
        self.entries -= before - list.len();
        list.push(Arc::new(entry));
        self.entries += 1;
    }

    pub fn ids(&self) -> usize {
        self.by_id.len()
    }

    pub fn entries(&self) -> usize {
        self.entries
    }
}

/// The verdict over the checked attestations of one file (DESIGN.md, "Verify verdict"): any
/// trusted key saying not ok makes it `NotOk`; else `threshold` distinct trusted keys saying ok
/// make it `Ok`; else `Unverified`. Untrusted keys never count.
pub fn judge(
    entries: &[Arc<Entry>],
    trusted: impl Fn(&Fingerprint) -> bool,
    threshold: usize,
) -> Verdict {
    let mut vouching: Vec<&Fingerprint> = Vec::new();
    for e in entries.iter().filter(|e| !e.revoked && trusted(&e.key)) {
        if !e.ok {
            return Verdict::NotOk;
        }
        if !vouching.contains(&&e.key) {
            vouching.push(&e.key);
        }
    }
    if vouching.len() >= threshold.max(1) {
        Verdict::Ok
    } else {
        Verdict::Unverified
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fpr(c: char) -> Fingerprint {
        Fingerprint::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn entry(key: char, ok: bool, source: Source) -> Arc<Entry> {
        Arc::new(Entry {
            key: fpr(key),
            ok,
            reviewed: true,
            comment: String::new(),
            source,
            revoked: false,
        })
    }

    #[test]
    fn verdict_rules() {
        let trusted = |f: &Fingerprint| f == &fpr('A') || f == &fpr('B');
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
                judge(&entries, trusted, *threshold),
                *want,
                "{said:?} at {threshold}"
            );
        }
    }

    #[test]
    fn sources_replace_and_leave_cleanly() {
        let id = ContentId::sha256(&[1; 32]);
        let mut index = Index::default();
        let remote = Source::Remote("r".into());
        index.replace_source(
            &Source::Own,
            vec![(id.clone(), (*entry('A', true, Source::Own)).clone())],
        );
        index.replace_source(
            &remote,
            vec![(id.clone(), (*entry('B', true, remote.clone())).clone())],
        );
        assert_eq!(index.get(&id).len(), 2);
        index.upsert(id.clone(), (*entry('A', false, Source::Own)).clone());
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
