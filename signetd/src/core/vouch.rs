//! Trust statements as the daemon keeps them (docs/FORMATS.md, "Trust statements"): each
//! checked `openpgp:` attestation is a [`Vouch`], kept per source beside the attestations about
//! files, and the web of trust reads each key's newest word about each other key.

use std::collections::HashMap;

use signet_proto::formats::{ContentId, Fingerprint};
use signet_proto::statements::Trust;

use crate::core::index::{Entry, Source};
use crate::core::web;

/// One checked trust statement: `key` says how much `about`'s word is worth.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Vouch {
    pub key: Fingerprint,
    /// The key that made the signature: a revocation of it voids the statement.
    pub signer: Fingerprint,
    pub signed_at: u64,
    pub about: Fingerprint,
    pub trust: Trust,
    /// Where `about`'s repository is published, as `key` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default)]
    pub comment: String,
    #[serde(skip, default = "own_source")]
    pub source: Source,
}

fn own_source() -> Source {
    Source::Own
}

impl Vouch {
    /// Whether `self` is a newer word than `other` by the same key about the same key: signed
    /// later; within the same second the own repository's copy, then the weaker word (failing
    /// closed, as for files).
    pub fn newer_than(&self, other: &Vouch) -> bool {
        let rank = |v: &Vouch| (v.signed_at, v.source == Source::Own, weakness(v.trust));
        rank(self) > rank(other)
    }
}

/// Orders trust words from strongest to weakest, for ties.
fn weakness(trust: Trust) -> u8 {
    match trust {
        Trust::High => 0,
        Trust::Medium => 1,
        Trust::Low => 2,
        Trust::None => 3,
        Trust::Distrust => 4,
    }
}

/// What a repository's checks let in: attestations about files and statements about keys.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Checked {
    pub files: Vec<(ContentId, Entry)>,
    pub vouches: Vec<Vouch>,
}

impl From<Vec<(ContentId, Entry)>> for Checked {
    fn from(files: Vec<(ContentId, Entry)>) -> Self {
        Checked {
            files,
            vouches: Vec::new(),
        }
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

/// Each key's newest word about each other key, over every source, leaving out what a
/// revocation voids (`voided`): the statements the web reads, with the vouch behind each.
pub fn newest<'a>(
    vouches: impl IntoIterator<Item = &'a Vouch>,
    voided: impl Fn(&Vouch) -> bool,
) -> HashMap<(&'a Fingerprint, &'a Fingerprint), &'a Vouch> {
    let mut newest: HashMap<(&Fingerprint, &Fingerprint), &Vouch> = HashMap::new();
    for v in vouches {
        if voided(v) {
            continue;
        }
        newest
            .entry((&v.key, &v.about))
            .and_modify(|held| {
                if v.newer_than(held) {
                    *held = v;
                }
            })
            .or_insert(v);
    }
    newest
}

/// The web's statements from the newest vouches.
pub fn statements<'a>(newest: impl IntoIterator<Item = &'a &'a Vouch>) -> Vec<web::Statement> {
    newest
        .into_iter()
        .map(|v| web::Statement {
            from: v.key.clone(),
            about: v.about.clone(),
            stance: v.trust.into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fpr(c: char) -> Fingerprint {
        Fingerprint::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn vouch(key: char, about: char, trust: Trust, at: u64, source: Source) -> Vouch {
        Vouch {
            key: fpr(key),
            signer: fpr(key),
            signed_at: at,
            about: fpr(about),
            trust,
            url: None,
            comment: String::new(),
            source,
        }
    }

    #[test]
    fn the_newest_unvoided_word_per_pair_is_the_one_read() {
        let remote = Source::Remote("r".into());
        let all = [
            vouch('A', 'B', Trust::High, 10, remote.clone()),
            vouch('A', 'B', Trust::Distrust, 20, remote.clone()),
            vouch('A', 'C', Trust::Low, 10, remote.clone()),
            // The same second from two sources: the own copy, then the weaker word.
            vouch('D', 'C', Trust::High, 5, remote.clone()),
            vouch('D', 'C', Trust::Medium, 5, remote.clone()),
            vouch('R', 'C', Trust::High, 5, remote.clone()),
        ];
        let newest = newest(&all, |v| v.key == fpr('R'));
        assert_eq!(newest.len(), 3);
        assert_eq!(newest[&(&fpr('A'), &fpr('B'))].trust, Trust::Distrust);
        assert_eq!(newest[&(&fpr('A'), &fpr('C'))].trust, Trust::Low);
        assert_eq!(newest[&(&fpr('D'), &fpr('C'))].trust, Trust::Medium);
        assert_eq!(statements(newest.values()).len(), 3);
    }
}
