//! Remotes: their persisted records, and the rules that decide whether a fetched copy is
//! accepted (docs/DESIGN.md, "Remotes and sync"). The rules are pure; `fetch` does the HTTP and
//! `daemon` the bookkeeping.

use sequoia_openpgp::Cert;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use signet_proto::formats::{self, Fingerprint, RepoContents, Signed};

use crate::cert;
use crate::check::{self, CheckReport};
use crate::index::Checked;
use crate::index::Source;
use crate::keyring::Keyring;
use crate::signature;
use crate::verified::Verified;

mod cache;
mod parted;
mod rotation;

pub use cache::{CacheOfCopy, CheckedCache, KeysSeen, sha256_hex};
pub use parted::{PartStore, PartsOutcome};

/// What Signet remembers about a remote between fetches and restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteRecord {
    pub name: String,
    /// The base URL, ending in `/`.
    pub url: String,
    pub added: String,
    /// The owner's fingerprint, pinned by the first accepted fetch.
    #[serde(default)]
    pub pinned: Option<Fingerprint>,
    /// Serial of the accepted copy.
    #[serde(default)]
    pub serial: Option<u64>,
    /// When the owner signed the accepted copy (seconds since the Unix epoch).
    #[serde(default)]
    pub signed_at: Option<u64>,
    /// sha256 of the accepted copy's canonical `data`, to tell equivocation from a re-serve.
    #[serde(default)]
    pub data_sha256: Option<String>,
    /// sha256 of the accepted `key.asc`: a new one (a revocation, a new subkey) means the
    /// attestations are checked again even when `repo.json` is the same.
    #[serde(default)]
    pub key_sha256: Option<String>,
    #[serde(default)]
    pub repo_validators: Validators,
    #[serde(default)]
    pub key_validators: Validators,
    #[serde(default)]
    pub last_success: Option<String>,
    #[serde(default)]
    pub last_attempt: Option<String>,
    #[serde(default)]
    pub last_error: Option<String>,
    /// Failures in a row, for backoff.
    #[serde(default)]
    pub failures: u32,
    /// Followed because a key in your web of trust is published here: pinned from the start
    /// to the fingerprint the trust statement names, added and removed as the web changes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub discovered: bool,
    /// Keys whose words in the held copy could not be checked for want of a certificate. The
    /// index reads and checks the copy again once it holds one of them (the daemon judges
    /// the same by its checked cache's `KeysSeen`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub pending_keys: std::collections::BTreeSet<Fingerprint>,
}

impl RemoteRecord {
    /// A remote just added: nothing fetched, nothing pinned.
    pub fn new(name: String, url: String, added: String) -> Self {
        RemoteRecord {
            name,
            url,
            added,
            pinned: None,
            serial: None,
            signed_at: None,
            data_sha256: None,
            key_sha256: None,
            repo_validators: Validators::default(),
            key_validators: Validators::default(),
            last_success: None,
            last_attempt: None,
            last_error: None,
            failures: 0,
            discovered: false,
            pending_keys: Default::default(),
        }
    }
}

/// HTTP cache validators of the accepted copy of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// Checks a remote name: it becomes a directory name and appears in `remote:NAME`.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a remote name: use up to 64 letters, digits, '.', '_' or '-', not starting with '.' or '-'"
        ))
    }
}

/// Checks and normalises a remote URL: http or https, naming a directory (ends in `/`).
pub fn check_url(url: &str) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "{url:?}: only http and https remotes are supported"
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "{url:?}: a remote URL names a directory; remove the query or fragment"
        ));
    }
    let mut url = parsed.to_string();
    if !url.ends_with('/') {
        url.push('/');
    }
    Ok(url)
}

/// A fetched copy that passed every rule.
pub struct Accepted {
    pub cert: Cert,
    /// The owner's retired keys published beside it, merged with what was known of them.
    pub retired: Vec<Cert>,
    pub serial: u64,
    /// When the owner signed this copy.
    pub signed_at: u64,
    pub data_sha256: String,
    /// The checked attestations; `None` when the copy is the one already held, whose
    /// attestations were checked then (no signature work is redone).
    pub entries: Option<Checked>,
    pub report: CheckReport,
    /// The key was seen for the first time (it is now pinned).
    pub newly_pinned: bool,
    /// The remote was pinned to this key, which both it and the new key said it succeeds (a
    /// key rotation): the new key is pinned now.
    pub rotated_from: Option<Fingerprint>,
    /// What the check depended on in the keyring (for the checked cache).
    pub keys_seen: KeysSeen,
    /// A repository in parts (docs/FORMATS.md, "Parts"), checked part by part: what each
    /// part found, the caches to keep beside them (the whole copy has none of its own then),
    /// and the parts skipped as held — whose words `entries` and `report` leave out.
    pub parts: Option<PartsOutcome>,
    /// A copy in the seed format checked with a memo (`accept`'s `before`): its genuine
    /// envelopes, for the next copy's check, and how many of them the memo had (not verified
    /// again).
    pub verified: Option<(Verified, usize)>,
}

/// Why a fetched copy was refused. The last good copy stays in use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    #[error("key.asc is not an OpenPGP certificate: {0}")]
    BadKey(String),
    #[error(
        "key.asc now holds key {found}, but this remote is pinned to {pinned}, and {why}; if \
         its owner really changed keys, confirm the new fingerprint with them, then `sig trust \
         add {found}` and remove the remote and add it again"
    )]
    KeyChanged {
        pinned: Fingerprint,
        found: Fingerprint,
        /// Why no key rotation signed by the pinned key vouches for the new one.
        why: String,
    },
    #[error("repo.json is not a valid repository: {0}")]
    BadRepo(String),
    #[error("the repository's part {0}")]
    BadPart(String),
    #[error("repo.json is signed by {found}, not by the remote's key {expected}")]
    WrongSigner {
        expected: Fingerprint,
        found: Fingerprint,
    },
    #[error("repo.json's signature does not verify: {0}")]
    BadSignature(String),
    #[error("rollback: serial {offered} is lower than serial {held} already accepted")]
    Rollback { offered: u64, held: u64 },
    #[error("equivocation: serial {serial} was accepted before with different contents")]
    Equivocation { serial: u64 },
    #[error(
        "rollback: this copy (without a serial) was signed at {offered}, before the copy already \
         accepted ({held}; seconds since 1970)"
    )]
    OlderCopy { offered: u64, held: u64 },
}

/// Applies the rules to a fetched `key.asc` and `repo.json`, reading the parts it names (in
/// the large-publisher layout) from `parts`.
/// A repository in parts is checked part by part, each part's check taken from `parts`'s
/// cache while it holds: an update costs the parts that changed. A copy in the seed format
/// that replaces one whose genuine envelopes are `before` verifies only the envelopes whose
/// bytes are new, and hands back its own (`Accepted::verified`).
pub fn accept(
    record: &RemoteRecord,
    key_bytes: &[u8],
    repo_bytes: &[u8],
    keyring: &Keyring,
    parts: &mut dyn PartStore,
    before: Option<&Verified>,
) -> Result<Accepted, Refusal> {
    accept_signed(
        record,
        key_bytes,
        parse_repo(repo_bytes)?,
        keyring,
        parts,
        before,
    )
}

/// A fetched `repo.json` parsed, or the refusal [`accept`] gives for one that is not.
pub fn parse_repo(repo_bytes: &[u8]) -> Result<Signed, Refusal> {
    formats::parse_signed_repo(repo_bytes).map_err(|e| Refusal::BadRepo(e.to_string()))
}

/// [`accept`] on a `repo.json` the caller parsed, and may have let go of the bytes of.
pub fn accept_signed(
    record: &RemoteRecord,
    key_bytes: &[u8],
    signed: Signed,
    keyring: &Keyring,
    parts: &mut dyn PartStore,
    before: Option<&Verified>,
) -> Result<Accepted, Refusal> {
    // The contents are dropped here: a daemon holding a large remote needs them no longer.
    judge(record, key_bytes, signed, keyring, parts, false, before).map(|(accepted, _)| accepted)
}

/// The parts a `repo.json` names that are worth fetching: none unless its signature and its
/// serial would let it be taken — a rolled-back or forged top document costs no downloads.
/// Empty for the seed format.
pub fn parts_to_fetch(
    record: &RemoteRecord,
    key_bytes: &[u8],
    signed: &Signed,
    keyring: &Keyring,
) -> Result<Vec<formats::PartRef>, Refusal> {
    let (serial, parts) =
        RepoContents::read_top(&signed.data).map_err(|e| Refusal::BadRepo(e.to_string()))?;
    if parts.is_empty() {
        return Ok(parts);
    }
    let published =
        cert::parse_published(key_bytes).map_err(|e| Refusal::BadKey(format!("{e:#}")))?;
    let found = cert::fingerprint(&published.key);
    let cert = keyring.merged(published.key);
    let rotated = match &record.pinned {
        Some(pinned) if pinned != &found => Some(pinned.clone()),
        _ => None,
    };
    check_signer(&signed.key, &found, rotated.as_ref())?;
    let (signed_at, data_sha256) = check_repo_signature(signed, &cert, &found)?;
    if record.data_sha256.as_deref() != Some(data_sha256.as_str()) {
        check_order(record, serial, &data_sha256, signed_at)?;
    }
    Ok(parts)
}

/// [`accept`] on a `repo.json` already parsed (a crawler reads it once for the keys it
/// names), handing back the contents read, when this is a new copy, with the verdict.
pub fn accept_parsed(
    record: &RemoteRecord,
    key_bytes: &[u8],
    signed: Signed,
    keyring: &Keyring,
    parts: &mut dyn PartStore,
) -> Result<(Accepted, Option<RepoContents>), Refusal> {
    judge(record, key_bytes, signed, keyring, parts, true, None)
}

/// The rules, in order: the key, the signer, the signature, a rotation's two halves, the
/// order of copies, then every attestation. `whole`: the contents are read whole and handed
/// back; otherwise a repository in parts is checked part by part.
fn judge(
    record: &RemoteRecord,
    key_bytes: &[u8],
    signed: Signed,
    keyring: &Keyring,
    parts: &mut dyn PartStore,
    whole: bool,
    before: Option<&Verified>,
) -> Result<(Accepted, Option<RepoContents>), Refusal> {
    let published =
        cert::parse_published(key_bytes).map_err(|e| Refusal::BadKey(format!("{e:#}")))?;
    let found = cert::fingerprint(&published.key);
    // What is known of each key with this copy merged in: a copy that lacks a revocation (an
    // older key.asc, re-served or mirrored) takes nothing away. Secret parts a careless owner
    // published are stripped. The owner's retired keys come with it, so that their words and
    // revocations are known to a follower who never saw them.
    let cert = keyring.merged(published.key);
    let offered: Vec<Cert> = published
        .retired
        .into_iter()
        .map(|c| keyring.merged(c))
        .collect();
    let source = Source::Remote(record.name.clone());
    let offering = with_keys(keyring, offered.iter().chain([&cert]), &source);
    let rotated = match &record.pinned {
        Some(pinned) if pinned != &found => Some(pinned.clone()),
        _ => None,
    };
    check_signer(&signed.key, &found, rotated.as_ref())?;
    let (signed_at, data_sha256) = check_repo_signature(&signed, &cert, &found)?;
    let (mut contents, mut skipped) =
        RepoContents::read(signed.data).map_err(|e| Refusal::BadRepo(e.to_string()))?;
    let bad_part = |e: crate::parts::PartError| Refusal::BadPart(e.to_string());
    let by_part = std::mem::take(&mut contents.parts);
    let statements = if whole || by_part.is_empty() {
        contents.parts = by_part.clone();
        crate::parts::expand(&mut contents, &mut skipped, parts).map_err(bad_part)?;
        None
    } else {
        // Only the bins of the statements a rotation is judged by.
        let keys: Vec<&Fingerprint> = std::iter::once(&found).chain(rotated.as_ref()).collect();
        Some(
            parted::with_statement_bins(
                contents.clone(),
                &by_part,
                &keys,
                &found,
                &offering,
                parts,
            )
            .map_err(bad_part)?,
        )
    };
    let statements = statements.as_ref().unwrap_or(&contents);
    if let Some(pinned) = &rotated {
        rotation::check(statements, pinned, &found, &offering).map_err(|why| {
            Refusal::KeyChanged {
                pinned: pinned.clone(),
                found: found.clone(),
                why,
            }
        })?;
    }
    // Of the retired keys offered, those already known (a revocation of one is learnt) and
    // those this repository proves its key succeeded are kept; fresh keys offered at every
    // fetch would otherwise be learnt for ever (what is known of keys only grows).
    let owners = rotation::owners(statements, &found, &offering);
    let retired: Vec<Cert> = offered
        .into_iter()
        .filter(|c| {
            let fpr = cert::fingerprint(c);
            keyring.get(&fpr).is_some() || owners.contains(&fpr)
        })
        .collect();
    let keyring = with_keys(keyring, retired.iter().chain([&cert]), &source);
    let same_copy = record.serial == Some(contents.serial)
        && record.data_sha256.as_deref() == Some(data_sha256.as_str())
        && record.key_sha256.as_deref() == Some(sha256_hex(key_bytes).as_str())
        && record.pinned.as_ref() == Some(&found);
    if same_copy {
        return Ok((
            Accepted {
                cert,
                retired,
                serial: contents.serial,
                signed_at,
                data_sha256,
                entries: None,
                report: CheckReport::default(),
                newly_pinned: false,
                rotated_from: None,
                keys_seen: KeysSeen::default(),
                parts: None,
                verified: None,
            },
            None,
        ));
    }
    check_order(record, contents.serial, &data_sha256, signed_at)?;
    // Attestations are checked against every known key, the remote's own included. A remote
    // the web found contributes its owner's words only.
    let held = if record.discovered {
        check::Held::ByOwner(owners)
    } else {
        check::Held::All
    };
    let (mut entries, mut report, mut verified) = match before {
        Some(before) => {
            let (entries, report, verified, reused) =
                check::check_all_remembering(&contents, &skipped, &keyring, &source, &held, before);
            (entries, report, Some((verified, reused)))
        }
        None => {
            let (entries, report) = check::check_all(&contents, &skipped, &keyring, &source, &held);
            (entries, report, None)
        }
    };
    let mut outcome = None;
    if !whole && !by_part.is_empty() {
        // Parts keep their checks beside them; the memo is the seed format's.
        verified = None;
        let owners = match &held {
            check::Held::ByOwner(owners) => Some(owners),
            check::Held::All => None,
        };
        // A rotation changes whose words a discovered remote holds: every part is read then.
        let may_skip = owners.is_none() || rotated.is_none();
        let checked = parted::check_parts(&by_part, parts, &keyring, &source, owners, may_skip)
            .map_err(bad_part)?;
        entries.files.append(checked.checked.files);
        entries.vouches.extend(checked.checked.vouches);
        report.absorb(checked.report);
        outcome = Some(checked.outcome);
    }
    let keys_seen = KeysSeen::of(&keyring, &report);
    let serial = contents.serial;
    Ok((
        Accepted {
            cert,
            retired,
            serial,
            signed_at,
            data_sha256,
            entries: Some(entries),
            report,
            newly_pinned: record.pinned.is_none(),
            rotated_from: rotated,
            keys_seen,
            parts: outcome,
            verified,
        },
        Some(contents),
    ))
}

/// `keyring` with `certs` merged in, as served by `source`.
fn with_keys<'a>(
    keyring: &Keyring,
    certs: impl Iterator<Item = &'a Cert>,
    source: &Source,
) -> Keyring {
    let mut keyring = keyring.clone();
    for cert in certs {
        keyring.insert(cert.clone(), source.clone());
    }
    keyring
}

/// Whether `repo.json`, signed by `signer`, may be the copy of a remote whose `key.asc` holds
/// `found` (and that was pinned to `rotated_from`, when that is another key).
fn check_signer(
    signer: &Fingerprint,
    found: &Fingerprint,
    rotated_from: Option<&Fingerprint>,
) -> Result<(), Refusal> {
    match rotated_from {
        // A key.asc swapped under a repository still signed by another key.
        Some(pinned) if signer != found => Err(Refusal::KeyChanged {
            pinned: pinned.clone(),
            found: found.clone(),
            why: format!("repo.json is signed by {signer}, not by the new key"),
        }),
        _ if signer != found => Err(Refusal::WrongSigner {
            expected: found.clone(),
            found: signer.clone(),
        }),
        _ => Ok(()),
    }
}

/// Checks `repo.json`'s signature by `found`; when it was signed, and the digest of its
/// canonical `data`. The canonical bytes of a large repository are hashed as they are
/// produced, for the signature and for the digest that tells equivocation from a re-serve:
/// never held whole. A copy signed by a key revoked since is still taken, so that its
/// attestations are shown as revoked rather than kept counting from the last copy before the
/// revocation.
fn check_repo_signature(
    signed: &formats::Signed,
    cert: &Cert,
    found: &Fingerprint,
) -> Result<(u64, String), Refusal> {
    let bad_signature = |e: signature::SignatureError| Refusal::BadSignature(e.to_string());
    let sig = signature::decode(&signed.sig).map_err(bad_signature)?;
    let mut data_digest = Sha256::new();
    let signed_at = signature::check_streamed(&sig, cert, found, |emit| {
        signed.data.canonical_pieces(&mut |piece| {
            data_digest.update(piece.as_bytes());
            emit(piece.as_bytes());
        })
    })
    .map_err(bad_signature)?
    .signed_at;
    Ok((signed_at, formats::hex_lower(&data_digest.finalize())))
}

/// Whether a copy (its serial, the digest of its data, when it was signed) may follow the copy
/// the record holds: never an older serial, never other contents under the same serial.
fn check_order(
    record: &RemoteRecord,
    serial: u64,
    data_sha256: &str,
    signed_at: u64,
) -> Result<(), Refusal> {
    let Some(held) = record.serial else {
        return Ok(()); // the first copy
    };
    if serial < held {
        return Err(Refusal::Rollback {
            offered: serial,
            held,
        });
    }
    if serial > held || record.data_sha256.as_deref() == Some(data_sha256) {
        return Ok(());
    }
    // The reference implementation writes no serial (read as 0): its copies are ordered by
    // when the repository was signed, so its genuine updates are taken.
    match record.signed_at {
        Some(held_at) if held == 0 && signed_at > held_at => Ok(()),
        Some(held_at) if held == 0 && signed_at < held_at => Err(Refusal::OlderCopy {
            offered: signed_at,
            held: held_at,
        }),
        // Accepted before signature times were recorded: this copy sets the mark.
        None if held == 0 => Ok(()),
        _ => Err(Refusal::Equivocation { serial: held }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_urls() {
        for good in ["world", "a.b_c-d", "X1"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".hidden", "-x", "a/b", "a b", "..", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            check_url("http://world.com/signet").unwrap(),
            "http://world.com/signet/"
        );
        assert_eq!(check_url("https://w.org/").unwrap(), "https://w.org/");
        assert!(check_url("ftp://w.org/").is_err());
        assert!(check_url("file:///etc/").is_err());
        assert!(check_url("http://w.org/?x=1").is_err());
        assert!(check_url("not a url").is_err());
    }
}
