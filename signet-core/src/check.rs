//! Repositories: checking the attestations a repository carries, and the user's own
//! repository on disk (`repo/repo.json`).

use signet_proto::formats::{self, ContentId, RepoContents, Signed, Skipped, Statement};
use signet_proto::statements::TrustStatement;

use crate::index::Checked;
use crate::index::{Entry, Source};
use crate::keyring::Keyring;
use crate::signature::{self, Arithmetic};
use crate::verified::{EnvelopeDigest, Remembering, Usable, Verified};
use crate::vouch::Vouch;

/// Largest own `repo.json` read.
pub const MAX_OWN_REPO_LEN: u64 = 1 << 30;

/// What checking a repository's attestations found besides the good ones.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckReport {
    /// Keys named by attestations that did not enter — no certificate here, a signature that
    /// does not verify, or not held (`Held::ByOwner`) — at most [`CheckReport::PENDING_KEYS`]:
    /// learning more of one of them may change what the copy contributes, so a checked copy
    /// is kept only while what is known of them is unchanged (`accept::KeysSeen`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub pending_keys: std::collections::BTreeSet<signet_proto::formats::Fingerprint>,
    /// More keys than that were pending.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending_overflow: bool,
    pub valid: usize,
    /// Malformed entries (not `{data, key, sig}`, or `data` without a content id).
    pub malformed: usize,
    /// Filed under an id other than their own `data.id`: ignored.
    pub misfiled: usize,
    /// Signed by a key Signet has no certificate for: cannot be checked.
    pub unknown_key: usize,
    pub bad_signature: usize,
    /// Signed by keys other than the repository's owner, in a repository followed only
    /// because the web of trust named its owner: not held (`Held::ByOwner`).
    #[serde(default)]
    pub not_held: usize,
    /// A few of the problems, for logs and `sig remote list`.
    pub examples: Vec<String>,
    /// Per content id, attestations that could not count: by a key with no certificate here,
    /// or with a signature that does not verify — the reference's `unknown` and `invalid`,
    /// shown by `sig verify`. At most [`CheckReport::UNCHECKED_IDS`] ids per repository, so
    /// that a repository of junk costs a bounded map, not one entry per attestation.
    #[serde(default)]
    pub unchecked: std::collections::BTreeMap<String, Unchecked>,
}

/// Attestations about one id that could not be checked (`unknown`) or did not verify
/// (`invalid`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unchecked {
    pub unknown: u32,
    pub invalid: u32,
}

impl CheckReport {
    const EXAMPLES: usize = 5;
    pub const UNCHECKED_IDS: usize = 10_000;
    /// Pending keys remembered one by one; past this, any change to the keyring counts.
    pub const PENDING_KEYS: usize = 1024;

    fn pending(&mut self, key: &signet_proto::formats::Fingerprint) {
        if self.pending_keys.len() < Self::PENDING_KEYS {
            self.pending_keys.insert(key.clone());
        } else if !self.pending_keys.contains(key) {
            self.pending_overflow = true;
        }
    }

    fn count_unchecked(&mut self, id: &str, problem: Problem) {
        if self.unchecked.len() >= Self::UNCHECKED_IDS && !self.unchecked.contains_key(id) {
            return;
        }
        let counts = self.unchecked.entry(id.to_owned()).or_default();
        match problem {
            Problem::UnknownKey => counts.unknown = counts.unknown.saturating_add(1),
            Problem::BadSignature => counts.invalid = counts.invalid.saturating_add(1),
            Problem::Malformed | Problem::Misfiled => {}
        }
    }

    fn note(&mut self, what: String) {
        if self.examples.len() < Self::EXAMPLES {
            self.examples.push(what);
        }
    }

    /// Adds what checking another part of the same repository found (docs/FORMATS.md,
    /// "Parts"), within the same bounds as one check.
    pub fn absorb(&mut self, other: CheckReport) {
        for key in &other.pending_keys {
            self.pending(key);
        }
        self.pending_overflow |= other.pending_overflow;
        self.valid += other.valid;
        self.malformed += other.malformed;
        self.misfiled += other.misfiled;
        self.unknown_key += other.unknown_key;
        self.bad_signature += other.bad_signature;
        self.not_held += other.not_held;
        for example in other.examples {
            self.note(example);
        }
        for (id, counts) in other.unchecked {
            if self.unchecked.len() < Self::UNCHECKED_IDS || self.unchecked.contains_key(&id) {
                let held = self.unchecked.entry(id).or_default();
                held.unknown = held.unknown.saturating_add(counts.unknown);
                held.invalid = held.invalid.saturating_add(counts.invalid);
            }
        }
    }

    pub fn rejected(&self) -> usize {
        self.malformed + self.misfiled + self.unknown_key + self.bad_signature
    }
}

/// One attestation that passed the checks: about a file, or about a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    File(ContentId, Entry),
    Key(Vouch),
}

/// What a checked attestation says, before its signature is checked.
enum Said {
    File(Statement),
    Key(TrustStatement),
}

impl Said {
    fn read(att: &Signed) -> Result<Said, String> {
        let data = att.data_tree().map_err(|e| e.to_string())?;
        let names_key = data
            .as_object()
            .and_then(|d| d.get("id"))
            .and_then(|id| id.as_str())
            .is_some_and(TrustStatement::is_key_id);
        if names_key {
            TrustStatement::read(&data)
                .map(Said::Key)
                .map_err(|e| e.to_string())
        } else {
            Statement::read(&data)
                .map(Said::File)
                .map_err(|e| e.to_string())
        }
    }

    fn id(&self) -> String {
        match self {
            Said::File(s) => s.id.to_string(),
            Said::Key(s) => TrustStatement::id_of(&s.key),
        }
    }
}

/// Checks one attestation as filed under `filed_under`.
pub fn check_one(
    filed_under: &str,
    att: &Signed,
    keyring: &Keyring,
    source: &Source,
) -> Result<Word, (Problem, String)> {
    match check_word(filed_under, att, keyring, source, Arithmetic::Now, None)? {
        (word, None, _) => Ok(word),
        (_, Some(_), _) => unreachable!("nothing is deferred unless asked"),
    }
}

/// A word that passed everything but, perhaps, an Ed25519 equation left to the caller, and
/// its envelope's digest when a memo is in use.
type Checking = (
    Word,
    Option<signature::Ed25519Check>,
    Option<EnvelopeDigest>,
);

/// [`check_one`], leaving an Ed25519 signature's arithmetic to the caller when it
/// [`Arithmetic::MayDefer`]: the word counts only if the check returned with it holds. With
/// a `memo`, an envelope whose exact bytes were found genuine before is not verified again,
/// and each envelope's digest comes back to be remembered.
fn check_word(
    filed_under: &str,
    att: &Signed,
    keyring: &Keyring,
    source: &Source,
    arithmetic: Arithmetic,
    memo: Option<&Usable<'_>>,
) -> Result<Checking, (Problem, String)> {
    let said = Said::read(att).map_err(|e| (Problem::Malformed, e))?;
    let id = said.id();
    if id != filed_under {
        return Err((
            Problem::Misfiled,
            format!("attestation for {id} filed under {filed_under}"),
        ));
    }
    let data = att.signed_bytes();
    if data.len() > formats::MAX_ATTESTATION_DATA {
        return Err((
            Problem::Malformed,
            format!(
                "attestation for {id} by {} is {} bytes, over the {} bytes an attestation may hold",
                att.key,
                data.len(),
                formats::MAX_ATTESTATION_DATA
            ),
        ));
    }
    let known = keyring.get(&att.key).ok_or_else(|| {
        (
            Problem::UnknownKey,
            format!("no certificate for key {}", att.key),
        )
    })?;
    let digest = memo.map(|_| EnvelopeDigest::of(att, &data));
    let remembered = memo.zip(digest.as_ref()).and_then(|(memo, d)| memo.get(d));
    let verdict = match remembered {
        Some(genuine) => signature::Verdict::Genuine(genuine),
        None => signature::decode(&att.sig)
            .and_then(|sig| {
                signature::judge_bytes(&sig, data.as_bytes(), &known.cert, &att.key, arithmetic)
            })
            .map_err(|e| {
                (
                    Problem::BadSignature,
                    format!("{filed_under} by {}: {e}", att.key),
                )
            })?,
    };
    let (genuine, arithmetic) = match verdict {
        signature::Verdict::Genuine(genuine) => (genuine, None),
        signature::Verdict::Ed25519(genuine, check) => (genuine, Some(check)),
    };
    let word = match said {
        Said::File(statement) => Word::File(
            statement.id,
            Entry {
                key: att.key.clone(),
                signer: genuine.signer,
                signed_at: genuine.signed_at,
                ok: statement.ok,
                reviewed: statement.reviewed == Some(true),
                comment: statement.comment.unwrap_or_default(),
                about: statement.about,
                source: source.clone(),
            },
        ),
        Said::Key(statement) => Word::Key(Vouch::checked(
            statement,
            att.key.clone(),
            genuine,
            source.clone(),
        )),
    };
    Ok((word, arithmetic, digest))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Malformed,
    Misfiled,
    UnknownKey,
    BadSignature,
}

/// Whose words a repository's check keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// Every key's: the own repository, and remotes you added yourself (a mirror you chose).
    All,
    /// Only these keys' (the owner's, and the keys it succeeded): a repository followed
    /// because the web named its owner. Anyone in the web could otherwise point the daemon at
    /// any number of "mirrors" each replaying the same million attestations; the owner's word
    /// is what it was followed for. The others are counted, never checked or kept.
    ByOwner(std::collections::BTreeSet<signet_proto::formats::Fingerprint>),
}

impl Held {
    fn holds(&self, key: &signet_proto::formats::Fingerprint) -> bool {
        match self {
            Held::All => true,
            Held::ByOwner(owners) => owners.contains(key),
        }
    }
}

/// Checks every attestation of a repository whose words are `held`; only those that pass
/// enter the index.
pub fn check_all(
    contents: &RepoContents,
    skipped: &[Skipped],
    keyring: &Keyring,
    source: &Source,
    held: &Held,
) -> (Checked, CheckReport) {
    let (checked, report, _) = check_with(contents, skipped, keyring, source, held, None);
    (checked, report)
}

/// [`check_all`] of a copy that replaces one checked `before` (the seed format's update):
/// the envelopes whose exact bytes were found genuine then are not verified again. Returns,
/// besides, what to remember of this copy for the next, and how many verdicts were reused.
pub fn check_all_remembering(
    contents: &RepoContents,
    skipped: &[Skipped],
    keyring: &Keyring,
    source: &Source,
    held: &Held,
    before: &Verified,
) -> (Checked, CheckReport, Verified, usize) {
    let memo = before.against(keyring);
    let (checked, report, verified) =
        check_with(contents, skipped, keyring, source, held, Some(&memo));
    (checked, report, verified.unwrap_or_default(), memo.reused())
}

fn check_with(
    contents: &RepoContents,
    skipped: &[Skipped],
    keyring: &Keyring,
    source: &Source,
    held: &Held,
    memo: Option<&Usable<'_>>,
) -> (Checked, CheckReport, Option<Verified>) {
    let mut report = CheckReport::default();
    for s in skipped {
        report.malformed += 1;
        report.note(format!("{}: {}", s.filed_under, s.why));
    }
    // Signature checks dominate a large fetch: run them on every core.
    use rayon::prelude::*;
    let all: Vec<(&String, &Signed)> = contents
        .attestations
        .iter()
        .flat_map(|(id, list)| list.iter().map(move |a| (id, a)))
        .filter(|(_, a)| {
            let keep = held.holds(&a.key);
            if !keep {
                report.not_held += 1;
                report.pending(&a.key);
            }
            keep
        })
        .collect();
    // Only what counts is kept: a repository of junk costs a problem count per attestation,
    // not a message each. Entries come out in no particular order (the index does not care).
    // Ed25519 signatures are verified a batch at a time (`signature::ed25519_batch`).
    const BATCH: usize = 64;
    // Each worker keeps what passes as the index holds it (`Checked`'s compact words), merged
    // at the end: a list of whole entries (about 350 bytes a word, against 48) was most of a
    // large update's peak, beside the copy and its parse.
    let found = all
        .par_chunks(BATCH)
        .enumerate()
        .fold(
            || Found::new(memo.is_some()),
            |mut found, (c, chunk)| {
                let mut waiting = Vec::with_capacity(chunk.len());
                for (i, (filed_under, att)) in chunk.iter().enumerate() {
                    let n = (c * BATCH + i) as u32;
                    let checked = check_word(
                        filed_under,
                        att,
                        keyring,
                        source,
                        Arithmetic::MayDefer,
                        memo,
                    );
                    match checked {
                        Ok((word, None, digest)) => found.keep(word, digest),
                        Ok((word, Some(check), digest)) => waiting.push((n, word, check, digest)),
                        Err((problem, _)) => found.failed.push((n, problem)),
                    }
                }
                let checks: Vec<_> = waiting.iter().map(|(_, _, check, _)| check).collect();
                let holds = signature::ed25519_batch(&checks);
                for ((n, word, _, digest), holds) in waiting.into_iter().zip(holds) {
                    if holds {
                        found.keep(word, digest);
                    } else {
                        found.failed.push((n, Problem::BadSignature));
                    }
                }
                found
            },
        )
        .reduce(|| Found::new(memo.is_some()), Found::merge);
    let Found {
        checked,
        remembering,
        failed,
        valid,
    } = found;
    let mut failed: Vec<(u32, Problem)> = failed;
    failed.sort_unstable_by_key(|(n, _)| *n);
    for (n, problem) in &failed {
        match problem {
            Problem::Malformed => report.malformed += 1,
            Problem::Misfiled => report.misfiled += 1,
            Problem::UnknownKey => report.unknown_key += 1,
            Problem::BadSignature => report.bad_signature += 1,
        }
        if matches!(problem, Problem::UnknownKey | Problem::BadSignature) {
            report.count_unchecked(all[*n as usize].0, *problem);
            report.pending(&all[*n as usize].1.key);
        }
        // The first few, in file order, with what was wrong: checked again for the message.
        if report.examples.len() < CheckReport::EXAMPLES {
            let (filed_under, att) = all[*n as usize];
            if let Err((_, why)) = check_one(filed_under, att, keyring, source) {
                report.note(why);
            }
        }
    }
    report.valid = valid;
    (checked, report, remembering.map(Remembering::done))
}

/// What one worker's share of a check let in: the words as the index holds them, what to
/// remember of their envelopes (with a memo), and the attestations that failed, by number.
struct Found {
    checked: Checked,
    remembering: Option<Remembering>,
    failed: Vec<(u32, Problem)>,
    /// Words that passed (the index keeps only the newest of one key about one id).
    valid: usize,
}

impl Found {
    fn new(remembering: bool) -> Self {
        Found {
            checked: Checked::default(),
            remembering: remembering.then(Remembering::default),
            failed: Vec::new(),
            valid: 0,
        }
    }

    fn keep(&mut self, word: Word, digest: Option<EnvelopeDigest>) {
        self.valid += 1;
        if let (Some(remembering), Some(digest)) = (&mut self.remembering, digest) {
            let (key, signer, signed_at) = match &word {
                Word::File(_, e) => (&e.key, &e.signer, e.signed_at),
                Word::Key(v) => (&v.key, &v.signer, v.signed_at),
            };
            remembering.insert(digest, key, signer, signed_at);
        }
        match word {
            Word::File(id, entry) => self.checked.files.push(id, entry),
            Word::Key(vouch) => self.checked.vouches.push(vouch),
        }
    }

    /// `self`'s share, then `other`'s (rayon merges shares in order, so the words are taken
    /// in as one pass in file order would).
    fn merge(mut self, other: Found) -> Found {
        self.checked.files.append(other.checked.files);
        self.checked.vouches.extend(other.checked.vouches);
        if let (Some(mine), Some(theirs)) = (&mut self.remembering, other.remembering) {
            mine.append(theirs);
        }
        self.failed.extend(other.failed);
        self.valid += other.valid;
        self
    }
}
