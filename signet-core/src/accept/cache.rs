//! What checking a remote's copy found, kept beside it so that a restart (or an update of a
//! repository in parts, one part at a time) does no signature work again: valid while the
//! bytes are the ones it was computed from and the keyring still supports it.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use signet_proto::formats::{self, About, ContentId, Fingerprint};

use super::RemoteRecord;
use crate::check::CheckReport;
use crate::index::Checked;
use crate::index::{Entry, Files, Source};
use crate::keyring::Keyring;
use crate::vouch::Vouch;

/// What a check of a copy depended on in the keyring, besides the copy's bytes: what was known
/// of each key whose words could not enter (`CheckReport::pending_keys`) — learning more of
/// one may let its words in — or, past [`CheckReport::PENDING_KEYS`] of them, the whole
/// keyring. The words that did enter stay checked while their certificates hold the keys that
/// signed them (`Keyring::signs_with`): certificates only grow, and revocation is judged at
/// each query. So a new key, remote or revocation elsewhere leaves a cache valid.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeysSeen {
    /// `(key, digest of what was known of it)`; `None`: nothing was.
    pub pending: Vec<(Fingerprint, Option<String>)>,
    /// The whole keyring's digest, when too many keys were pending to list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whole: Option<String>,
}

impl KeysSeen {
    pub fn of(keyring: &Keyring, report: &CheckReport) -> Self {
        if report.pending_overflow {
            return KeysSeen {
                pending: Vec::new(),
                whole: Some(keyring.digest()),
            };
        }
        KeysSeen {
            pending: report
                .pending_keys
                .iter()
                .map(|k| (k.clone(), keyring.cert_digest(k)))
                .collect(),
            whole: None,
        }
    }

    /// Whether `keyring` knows of the pending keys exactly what was known.
    pub fn unchanged_in(&self, keyring: &Keyring) -> bool {
        match &self.whole {
            Some(digest) => &keyring.digest() == digest,
            None => self
                .pending
                .iter()
                .all(|(key, digest)| &keyring.cert_digest(key) == digest),
        }
    }
}

/// What checking a stored copy found, kept beside it so that a restart does no signature work:
/// valid while the copy's bytes are the ones it was computed from and the keyring still
/// supports it ([`KeysSeen`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckedCache {
    /// [`CheckedCache::FORMAT`]: a cache of another format is computed again (format 1, before
    /// trust statements, counted them as malformed; format 2 kept no rotation or withdrawal).
    #[serde(default)]
    pub format: u32,
    pub repo_sha256: String,
    pub key_sha256: String,
    pub keys_seen: KeysSeen,
    /// Checked as a discovered remote's copy: its owner's words only (`check::Held`).
    #[serde(default)]
    pub discovered: bool,
    pub report: CheckReport,
    /// `(id, key, signer, signed_at, ok, reviewed, comment, subject, criteria)` of every
    /// attestation with a genuine signature. Revocation is not kept here: it is judged from the keyring at each query.
    pub entries: Vec<CachedEntry>,
    /// The trust statements with a genuine signature.
    #[serde(default)]
    pub vouches: Vec<Vouch>,
    /// For one part of a discovered remote's repository (docs/FORMATS.md, "Parts"): the owners
    /// whose words it held, which a rotation elsewhere in the repository may change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<Fingerprint>,
}

type CachedEntry = (
    String,
    Fingerprint,
    Fingerprint,
    u64,
    bool,
    bool,
    String,
    Option<String>,
    Vec<String>,
);

pub fn sha256_hex(bytes: &[u8]) -> String {
    formats::hex_lower(&Sha256::digest(bytes))
}

/// One checked word as a cache keeps it.
fn cached((id, e): (ContentId, Entry)) -> CachedEntry {
    (
        id.to_string(),
        e.key,
        e.signer,
        e.signed_at,
        e.ok,
        e.reviewed,
        e.comment,
        e.about.subject,
        e.about.criteria,
    )
}

/// The [`CheckedCache`] of a whole copy as it is written: each word is serialized as it is
/// read from the checked words, so that storing a copy of 300,000 words holds neither the
/// cache's entries (about 120 MB) nor its text (about 100 MB) beside them. Its bytes are those
/// of the [`CheckedCache`] [`CheckedCache::new`] makes of the same arguments, and read back
/// as one.
#[derive(Serialize)]
pub struct CacheOfCopy<'a> {
    format: u32,
    repo_sha256: String,
    key_sha256: String,
    keys_seen: &'a KeysSeen,
    discovered: bool,
    report: &'a CheckReport,
    entries: WordsAsCached<'a>,
    vouches: &'a [Vouch],
}

impl<'a> CacheOfCopy<'a> {
    pub fn new(
        key_bytes: &[u8],
        repo_bytes: &[u8],
        keys_seen: &'a KeysSeen,
        discovered: bool,
        checked: &'a Checked,
        report: &'a CheckReport,
    ) -> Self {
        CacheOfCopy {
            format: CheckedCache::FORMAT,
            repo_sha256: sha256_hex(repo_bytes),
            key_sha256: sha256_hex(key_bytes),
            keys_seen,
            discovered,
            report,
            entries: WordsAsCached(&checked.files),
            vouches: &checked.vouches,
        }
    }
}

struct WordsAsCached<'a>(&'a Files);

impl Serialize for WordsAsCached<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(cached))
    }
}

impl CheckedCache {
    /// Format 3 was valid only under the very keyring it was checked with: any key learnt
    /// anywhere threw every cache away. Format 4 kept no subject or criteria.
    pub const FORMAT: u32 = 5;

    pub fn new(
        key_bytes: &[u8],
        repo_bytes: &[u8],
        keys_seen: KeysSeen,
        discovered: bool,
        checked: &Checked,
        report: &CheckReport,
    ) -> Self {
        CheckedCache {
            format: Self::FORMAT,
            repo_sha256: sha256_hex(repo_bytes),
            key_sha256: sha256_hex(key_bytes),
            keys_seen,
            discovered,
            report: report.clone(),
            vouches: checked.vouches.clone(),
            owners: Vec::new(),
            entries: checked.files.iter().map(cached).collect(),
        }
    }

    /// The entries, if this cache was computed from exactly the bytes of these digests
    /// ([`sha256_hex`] of `key.asc` and `repo.json`), for a remote followed the same way
    /// (`discovered`), and `keyring` still supports it ([`KeysSeen`]).
    pub fn entries_for(
        self,
        key_sha256: &str,
        repo_sha256: &str,
        keyring: &Keyring,
        record: &RemoteRecord,
    ) -> Option<(Checked, CheckReport)> {
        if self.format != Self::FORMAT
            || self.discovered != record.discovered
            || self.key_sha256 != key_sha256
            || self.repo_sha256 != repo_sha256
        {
            return None;
        }
        self.restore(keyring, &Source::Remote(record.name.clone()))
    }

    /// What checking one part of a repository in parts found (docs/FORMATS.md, "Parts"):
    /// `part_sha256` names its bytes, `owners` the keys whose words it held when the remote is
    /// a discovered one (`check::Held::ByOwner`), none otherwise.
    pub fn of_part(
        part_sha256: &str,
        keys_seen: KeysSeen,
        owners: Option<&std::collections::BTreeSet<Fingerprint>>,
        checked: &Checked,
        report: &CheckReport,
    ) -> Self {
        let mut cache = CheckedCache::new(b"", b"", keys_seen, owners.is_some(), checked, report);
        cache.repo_sha256 = part_sha256.to_owned();
        cache.key_sha256 = String::new();
        cache.owners = owners
            .map(|o| o.iter().cloned().collect())
            .unwrap_or_default();
        cache
    }

    /// The entries of a part's cache, if it was computed for the part `part_sha256`, held the
    /// same way (`owners`), and `keyring` still supports it.
    pub fn part_entries(
        self,
        part_sha256: &str,
        owners: Option<&std::collections::BTreeSet<Fingerprint>>,
        keyring: &Keyring,
        source: &Source,
    ) -> Option<(Checked, CheckReport)> {
        let held_same = match owners {
            None => !self.discovered,
            Some(owners) => self.discovered && self.owners.iter().eq(owners.iter()),
        };
        if self.format != Self::FORMAT || self.repo_sha256 != part_sha256 || !held_same {
            return None;
        }
        self.restore(keyring, source)
    }

    /// The checked words, from `source`, while `keyring` still supports them ([`KeysSeen`]).
    fn restore(self, keyring: &Keyring, source: &Source) -> Option<(Checked, CheckReport)> {
        if !self.keys_seen.unchanged_in(keyring) {
            return None;
        }
        // Every word that entered still rests on a key its certificate holds: one check per
        // distinct (key, signing key), not per word.
        let signers: std::collections::BTreeSet<(&Fingerprint, &Fingerprint)> = self
            .entries
            .iter()
            .map(|(_, key, signer, ..)| (key, signer))
            .chain(self.vouches.iter().map(|v| (&v.key, &v.signer)))
            .collect();
        if !signers
            .iter()
            .all(|(key, signer)| keyring.signs_with(key, signer))
        {
            return None;
        }
        let mut entries = Files::default();
        for (id, key, signer, signed_at, ok, reviewed, comment, subject, criteria) in self.entries {
            let id = ContentId::parse(&id).ok()?;
            entries.push(
                id,
                Entry {
                    key,
                    signer,
                    signed_at,
                    ok,
                    reviewed,
                    comment,
                    about: About { subject, criteria },
                    source: source.clone(),
                },
            );
        }
        let mut vouches = self.vouches;
        for v in &mut vouches {
            v.source = source.clone();
        }
        Some((
            Checked {
                files: entries,
                vouches,
            },
            self.report,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A whole copy's cache written as it is read from the checked words is the cache, byte
    /// for byte, and reads back as one.
    #[test]
    fn a_copys_cache_written_from_its_words_is_the_cache() {
        let fpr = |c: char| Fingerprint::parse(&c.to_string().repeat(40)).unwrap();
        let source = Source::Remote("alice".into());
        let word = |key: char, at: u64, comment: &str, about: About| Entry {
            key: fpr(key),
            signer: fpr(key),
            signed_at: at,
            ok: at.is_multiple_of(2),
            reviewed: true,
            comment: comment.into(),
            about,
            source: source.clone(),
        };
        let checked = Checked::from(vec![
            (
                ContentId::sha256(&[1; 32]),
                word('A', 10, "fine \"quoted\"\n", About::default()),
            ),
            (
                ContentId::sha256(&[2; 32]),
                word(
                    'B',
                    11,
                    "",
                    About {
                        subject: Some("pkg:cargo/serde@1.0.0".into()),
                        criteria: vec!["safe-to-deploy".into()],
                    },
                ),
            ),
        ]);
        let keys_seen = KeysSeen {
            pending: vec![(fpr('C'), None)],
            whole: None,
        };
        let report = CheckReport::default();
        let owned = CheckedCache::new(b"key", b"repo", keys_seen.clone(), true, &checked, &report);
        let streamed = CacheOfCopy::new(b"key", b"repo", &keys_seen, true, &checked, &report);
        let bytes = serde_json::to_vec(&streamed).unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            String::from_utf8(serde_json::to_vec(&owned).unwrap()).unwrap()
        );
        assert_eq!(
            serde_json::from_slice::<CheckedCache>(&bytes).unwrap(),
            owned
        );
        assert_eq!(owned.entries.len(), 2);
    }
}
