//! A public index's answer, checked as if the index were lying: it is a cache and a
//! directory, never a source of truth. Every attestation must be about the id asked, and its
//! signature must check against a certificate whose fingerprint is the key it names; what the
//! index says of keys is merged into what is known already, so a revocation known here stays
//! whatever the index serves. Each departure is named, and what departs is dropped.

use std::collections::BTreeMap;

use sequoia_openpgp::Cert;
use signet_proto::formats::{ContentId, Fingerprint, Signed};
use signet_proto::index::Lookup;

use crate::cert;
use crate::check::{self, Word};
use crate::index::{Entry, Source};
use crate::keyring::Keyring;
use crate::signature::Revocations;

/// What an answer holds once checked.
#[derive(Debug, Default)]
pub struct CheckedAnswer {
    /// The attestations about the id asked whose signatures check, each from
    /// `Source::Found(repository)`.
    pub entries: Vec<Entry>,
    /// The certificates it served that are what they claim to be, to merge into the keyring.
    pub certificates: Vec<Cert>,
    /// Each way the answer departs from the truth (or from what is known here).
    pub problems: Vec<String>,
    /// Attestations served.
    pub served: usize,
}

/// Checks `answer`, the index's reply about `id`, against `keyring` (what is known here).
pub fn check_answer(id: &ContentId, answer: &Lookup, keyring: &Keyring) -> CheckedAnswer {
    let many = check_answers(std::slice::from_ref(id), answer, keyring);
    CheckedAnswer {
        entries: many.entries.into_iter().map(|(_, e)| e).collect(),
        certificates: many.certificates,
        problems: many.problems,
        served: many.served,
    }
}

/// What an answer about several ids holds once checked: each entry with the id it is about.
#[derive(Debug, Default)]
pub struct CheckedAnswers {
    pub entries: Vec<(ContentId, Entry)>,
    pub certificates: Vec<Cert>,
    pub problems: Vec<String>,
    pub served: usize,
}

impl CheckedAnswers {
    /// Adds another answer's (the next batch of ids from the same index).
    pub fn extend(&mut self, other: CheckedAnswers) {
        self.entries.extend(other.entries);
        self.certificates.extend(other.certificates);
        self.problems.extend(other.problems);
        self.served += other.served;
    }
}

/// Checks `answer`, the index's reply about the ids `asked` (`POST /v1/ids`): the certificates
/// once, and every result against the id it names, which must be one asked.
pub fn check_answers(asked: &[ContentId], answer: &Lookup, keyring: &Keyring) -> CheckedAnswers {
    let mut checked = CheckedAnswers::default();
    let mut keys = keyring.clone();
    for (named, armored) in &answer.certificates {
        match certificate(named, armored, keyring) {
            Ok(cert) => {
                keys.learn(cert.clone());
                checked.certificates.push(cert);
            }
            Err(problem) => checked.problems.push(problem),
        }
    }
    for result in &answer.results {
        let Some(id) = asked.iter().find(|a| a.as_str() == result.id) else {
            let asked_about = match asked {
                [one] => one.to_string(),
                _ => "other ids".to_owned(),
            };
            checked.problems.push(format!(
                "it answered about {} when asked about {asked_about}",
                shown(&result.id)
            ));
            continue;
        };
        for found in &result.attestations {
            checked.served += 1;
            let word = signet_proto::json::parse(found.attestation.get().as_bytes())
                .map_err(|e| e.to_string())
                .and_then(|value| Signed::from_value(value).map_err(|e| e.to_string()))
                .and_then(|signed| {
                    let source = Source::Found(found.repository.clone());
                    check::check_one(id.as_str(), &signed, &keys, &source).map_err(|(_, why)| why)
                });
            match word {
                Ok(Word::File(about, entry)) if &about == id => {
                    checked.entries.push((id.clone(), entry))
                }
                Ok(_) => checked.problems.push(format!(
                    "it served a word about another id as one about {id}"
                )),
                Err(why) => checked.problems.push(format!(
                    "an attestation it served from {} does not check: {why}",
                    shown(&found.repository)
                )),
            }
        }
    }
    checked
}

/// A served certificate, if it is the key it is filed under. One that lacks a revocation
/// known here is reported (the merge keeps the revocation all the same).
fn certificate(named: &str, armored: &str, keyring: &Keyring) -> Result<Cert, String> {
    let cert = cert::parse_cert(armored.as_bytes()).map_err(|e| {
        format!(
            "the certificate it served as {} is not one: {e:#}",
            shown(named)
        )
    })?;
    let fingerprint = cert::fingerprint(&cert);
    if fingerprint.as_str() != named {
        return Err(format!(
            "the certificate it served as {} is another key's ({fingerprint})",
            shown(named)
        ));
    }
    if let Some(known) = keyring.get(&fingerprint) {
        let served = Revocations::of(&cert);
        let withheld = (known.revocations.cert.is_some() && served.cert.is_none())
            || known
                .revocations
                .subkeys
                .keys()
                .any(|k| !served.subkeys.contains_key(k));
        if withheld {
            // Reported, and the certificate still merged in: it can add, never take away.
            return Err(format!(
                "its copy of {fingerprint} lacks a revocation known here: withheld (the \
                 revocation stands)"
            ));
        }
    }
    Ok(cert)
}

/// Text from the index, cut short and safe to put in a message.
fn shown(text: &str) -> String {
    let cut: String = text.chars().take(120).collect();
    format!("{cut:?}")
}

/// The entries of several checked answers, each signed word once (several indexes, or one
/// index finding it in several repositories, serve the same word).
pub fn merged(answers: &[CheckedAnswer]) -> Vec<Entry> {
    let mut seen: BTreeMap<(Fingerprint, u64, String), Entry> = BTreeMap::new();
    for entry in answers.iter().flat_map(|a| &a.entries) {
        let Source::Found(repository) = &entry.source else {
            continue;
        };
        seen.entry((entry.key.clone(), entry.signed_at, repository.clone()))
            .or_insert_with(|| entry.clone());
    }
    seen.into_values().collect()
}
