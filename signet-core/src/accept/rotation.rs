//! Following a key rotation (docs/FORMATS.md, "Key rotation"): a remote pinned to an old key
//! takes a new one only when its repository carries both halves of the transition — the old
//! key naming the new one its successor, and the new key naming the old one its predecessor —
//! each genuinely signed and neither void by a revocation. A thief holding only a stolen key
//! cannot make the second half; once the owner revokes the stolen key as compromised, the
//! first half is void too. Anything less leaves the remote pinned where it was.

use std::collections::BTreeSet;

use signet_proto::formats::{Fingerprint, RepoContents};
use signet_proto::statements::{Succession, TrustStatement};

use crate::check::{self, Word};
use crate::index::Source;
use crate::keyring::Keyring;

/// The repository's owners: its key, and every key this repository proves it succeeded (both
/// halves of the transition, as [`check`] asks), back through a chain of rotations.
pub fn owners(
    contents: &RepoContents,
    key: &Fingerprint,
    keyring: &Keyring,
) -> BTreeSet<Fingerprint> {
    let mut owners = BTreeSet::from([key.clone()]);
    let mut newest = vec![key.clone()];
    while let Some(new) = newest.pop() {
        // Who says `new` is its successor: statements about `new`, by other keys.
        let claimed: Vec<Fingerprint> = contents
            .attestations
            .get(&TrustStatement::id_of(&new))
            .into_iter()
            .flatten()
            .map(|signed| signed.key.clone())
            .filter(|old| !owners.contains(old))
            .collect();
        for old in claimed {
            if !owners.contains(&old) && check(contents, &old, &new, keyring).is_ok() {
                owners.insert(old.clone());
                newest.push(old);
            }
        }
    }
    owners
}

/// Whether `contents` carries a transition from `old` to `new`; if not, why not (in words that
/// follow "this remote is pinned to OLD, and").
pub fn check(
    contents: &RepoContents,
    old: &Fingerprint,
    new: &Fingerprint,
    keyring: &Keyring,
) -> Result<(), String> {
    said(contents, keyring, old, new, Succession::Successor)
        .map_err(|why| format!("{why} (the pinned key's half of a key rotation)"))?;
    said(contents, keyring, new, old, Succession::Predecessor)
        .map_err(|why| format!("{why} (the new key's half of a key rotation)"))
}

/// Whether `by` said, in a genuine and unvoided statement filed under `about`, that it is
/// `about`'s `succession` (checked as any statement is, by `check::check_one`).
fn said(
    contents: &RepoContents,
    keyring: &Keyring,
    by: &Fingerprint,
    about: &Fingerprint,
    succession: Succession,
) -> Result<(), String> {
    let filed_under = TrustStatement::id_of(about);
    let mut found = Err(format!(
        "no statement by {by} names {about} its {}",
        succession.as_str()
    ));
    let by_key = contents
        .attestations
        .get(&filed_under)
        .into_iter()
        .flatten()
        .filter(|signed| &signed.key == by);
    for signed in by_key {
        let vouch = match check::check_one(&filed_under, signed, keyring, &Source::Own) {
            Ok(Word::Key(vouch)) if vouch.succession == Some(succession) => vouch,
            Ok(_) => continue,
            Err((_, why)) => {
                found = Err(format!("the statement by {by} cannot count: {why}"));
                continue;
            }
        };
        if !keyring.voids(by, &vouch.signer, vouch.signed_at) {
            return Ok(());
        }
        let how = keyring
            .revocation(by, &vouch.signer)
            .map_or("revoked", |r| r.reason.as_str());
        found = Err(format!(
            "the statement by {by} naming {about} its {} is void: that key is {how}",
            succession.as_str()
        ));
    }
    found
}
