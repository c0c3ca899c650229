//! Checking a signed document's signature against the certificate its `key` names.
//!
//! The rules are FORMATS.md's: a detached signature of type binary (0x00), base64 of binary or
//! of ASCII armor, made by the certificate named in `key` (any of its valid signing keys),
//! under StandardPolicy, by a key alive when it signed. Revocation is judged apart
//! ([`Revocations`]), at each signature's time: a hard revocation (compromised, or no reason)
//! voids every signature of the certificate or subkey, a soft one (superseded, retired) those
//! made from its time on.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use sequoia_openpgp as openpgp;

use openpgp::cert::amalgamation::ValidAmalgamation as _;
use openpgp::cert::amalgamation::ValidateAmalgamation as _;
use openpgp::packet::Signature;
use openpgp::parse::Parse;
use openpgp::policy::Policy;
use openpgp::types::{RevocationStatus, SignatureType};
use openpgp::{Cert, Packet, PacketPile};
use signet_proto::api::RevocationReason;
use signet_proto::formats::{Fingerprint, Signed};

/// Largest `sig` field accepted: a signature is a few hundred bytes; an RSA-16384 one armored
/// is under 5 KiB.
pub const MAX_SIG_LEN: usize = 16 * 1024;

/// Clock skew tolerated for signatures dated in the future.
const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// The policy signatures are judged under (`cert::POLICY`).
pub use crate::cert::POLICY;

/// Why a signature does not count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    #[error("`sig` is longer than {MAX_SIG_LEN} bytes")]
    TooLong,
    #[error("`sig` is not base64: {0}")]
    Base64(String),
    #[error("`sig` is not an OpenPGP signature: {0}")]
    Malformed(String),
    #[error("`sig` must be one detached signature, found {0}")]
    NotDetached(String),
    #[error("the signature is of type {0}, not a binary-document signature")]
    WrongType(String),
    #[error("the signature has no creation time")]
    NoCreationTime,
    #[error("the certificate does not match `key` {0}")]
    WrongCertificate(Fingerprint),
    #[error("no signing key of {0} made this signature")]
    NotByKey(Fingerprint),
    #[error("the signature does not verify: {0}")]
    Bad(String),
}

/// Decodes `sig` into its signature packet, without checking it.
pub fn decode(sig: &str) -> Result<Signature, SignatureError> {
    if sig.len() > MAX_SIG_LEN {
        return Err(SignatureError::TooLong);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sig.trim())
        .map_err(|e| SignatureError::Base64(e.to_string()))?;
    // Armored or binary: sequoia's parser detects armor by itself.
    let pile =
        PacketPile::from_bytes(&bytes).map_err(|e| SignatureError::Malformed(e.to_string()))?;
    let mut packets = pile.into_children();
    match (packets.next(), packets.next()) {
        (Some(Packet::Signature(sig)), None) => {
            if sig.typ() != SignatureType::Binary {
                return Err(SignatureError::WrongType(sig.typ().to_string()));
            }
            Ok(sig)
        }
        (Some(first), None) => Err(SignatureError::NotDetached(format!(
            "a {} packet",
            first.tag()
        ))),
        (None, _) => Err(SignatureError::NotDetached("nothing".into())),
        (Some(_), Some(_)) => Err(SignatureError::NotDetached("several packets".into())),
    }
}

/// Who made a genuine signature, and when: what the index needs to apply revocations and the
/// newest-word rule later, whatever copy of the certificate it is judged with then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Genuine {
    /// The key that made it: the primary key's fingerprint when the primary key signs (GnuPG's
    /// default), else the signing subkey's.
    pub signer: Fingerprint,
    /// The signature's creation time, in seconds since the Unix epoch.
    pub signed_at: u64,
}

/// Checks that `signed.sig` is a valid signature by `cert` over the canonical bytes of
/// `signed.data`, and that `cert` is the certificate `signed.key` names.
///
/// Revocation is not a refusal here: a genuine signature by a key revoked since is `Ok`, and
/// whether it counts is decided from what is known of the certificate when it is judged (see
/// [`Revocations`]), so that a revocation learnt later from any source applies at once.
pub fn check(signed: &Signed, cert: &Cert) -> Result<Genuine, SignatureError> {
    if cert.fingerprint().to_hex() != signed.key.as_str() {
        return Err(SignatureError::WrongCertificate(signed.key.clone()));
    }
    check_streamed(&decode(&signed.sig)?, cert, &signed.key, |emit| {
        signed
            .data
            .canonical_pieces(&mut |piece| emit(piece.as_bytes()))
    })
}

/// Checks a decoded signature over `message` against `cert`, whose fingerprint is `key`: made
/// by one of its keys that was valid, alive and for signing when it signed, under the policy.
pub fn check_bytes(
    sig: &Signature,
    message: &[u8],
    cert: &Cert,
    key: &Fingerprint,
) -> Result<Genuine, SignatureError> {
    check_streamed(sig, cert, key, |emit| emit(message))
}

/// [`check_bytes`] over a message handed over in pieces by `feed` (which is called once): a
/// large message is hashed as it is produced, never held whole.
pub fn check_streamed(
    sig: &Signature,
    cert: &Cert,
    key: &Fingerprint,
    feed: impl FnOnce(&mut dyn FnMut(&[u8])),
) -> Result<Genuine, SignatureError> {
    match judge(sig, cert, key, feed, Arithmetic::Now)? {
        Verdict::Genuine(genuine) => Ok(genuine),
        Verdict::Ed25519(..) => unreachable!("nothing is deferred when asked now"),
    }
}

/// [`check_bytes`], except that with [`Arithmetic::MayDefer`] an Ed25519 signature's
/// arithmetic — most of the cost of a check — is left to [`ed25519_batch`], which does many
/// at once for less.
pub fn judge_bytes(
    sig: &Signature,
    message: &[u8],
    cert: &Cert,
    key: &Fingerprint,
    arithmetic: Arithmetic,
) -> Result<Verdict, SignatureError> {
    judge(sig, cert, key, |emit| emit(message), arithmetic)
}

/// What a check found.
#[derive(Debug)]
pub enum Verdict {
    /// Genuine, every part of it checked.
    Genuine(Genuine),
    /// Genuine if the Ed25519 equation holds: everything else is checked — the certificate,
    /// the key's validity and purpose, the times, the policy, the digest.
    Ed25519(Genuine, Ed25519Check),
}

/// An Ed25519 equation left to check: the public key, the message (OpenPGP's digest of the
/// data and the signature's trailer) and the signature, as sequoia's backend would take them.
#[derive(Debug, Clone)]
pub struct Ed25519Check {
    public: [u8; 32],
    /// The digest, in place (SHA-512's 64 bytes at most): a million checks are a million
    /// allocations fewer, interleaved with the words a check keeps.
    digest: [u8; 64],
    digest_len: u8,
    signature: ed25519_dalek::Signature,
}

impl Ed25519Check {
    /// The equation `sig.verify_digest(key, digest)` would check, if `key` is Ed25519 (as
    /// RFC 9580's Ed25519 or the legacy EdDSA on Ed25519) and the checks sequoia makes before
    /// it pass; else `None`, and the caller verifies at once.
    fn of(
        sig: &Signature,
        key: &openpgp::packet::Key<
            openpgp::packet::key::PublicParts,
            openpgp::packet::key::UnspecifiedRole,
        >,
        digest: &[u8],
    ) -> Option<Ed25519Check> {
        use openpgp::crypto::mpi;
        use openpgp::types::Curve;
        // Version 6 (salted, and only between v6 signatures and keys) and what `verify_digest`
        // refuses before the arithmetic are left to it, to be refused the same way.
        if sig.version() == 6 || key.version() == 6 {
            return None;
        }
        if sig.signature_creation_time()? < key.creation_time() {
            return None;
        }
        let (public, signature): (&[u8], [u8; 64]) = match (key.mpis(), sig.mpis()) {
            (mpi::PublicKey::Ed25519 { a }, mpi::Signature::Ed25519 { s }) => (&a[..], **s),
            (mpi::PublicKey::EdDSA { curve, q }, mpi::Signature::EdDSA { r, s })
                if *curve == Curve::Ed25519 =>
            {
                // The MPI encoding drops leading zero bytes: padded back, as the backend does.
                let mut signature = [0u8; 64];
                signature[..32].copy_from_slice(&r.value_padded(32).ok()?);
                signature[32..].copy_from_slice(&s.value_padded(32).ok()?);
                (q.decode_point(&Curve::Ed25519).ok()?.0, signature)
            }
            _ => return None,
        };
        let mut held = [0u8; 64];
        held.get_mut(..digest.len())?.copy_from_slice(digest);
        Some(Ed25519Check {
            public: public.try_into().ok()?,
            digest: held,
            digest_len: digest.len() as u8,
            signature: ed25519_dalek::Signature::from_bytes(&signature),
        })
    }

    fn digest(&self) -> &[u8] {
        &self.digest[..usize::from(self.digest_len)]
    }

    /// This equation alone, as sequoia's Rust backend checks it.
    fn holds(&self) -> bool {
        ed25519_dalek::VerifyingKey::from_bytes(&self.public).is_ok_and(|key| {
            use ed25519_dalek::Verifier as _;
            key.verify(self.digest(), &self.signature).is_ok()
        })
    }
}

/// Which of `checks` hold. Checked together (ed25519-dalek's batch verification, with
/// coefficients drawn from a hash of every input: about twice as fast as one by one) and,
/// only when the batch fails, one by one to tell which.
///
/// A batch can pass where single checks fail only for a signature made with a key or nonce
/// of small order, which only the key's owner can make: it changes nothing anyone else can
/// claim in that key's name.
pub fn ed25519_batch(checks: &[&Ed25519Check]) -> Vec<bool> {
    let mut keys: Vec<([u8; 32], ed25519_dalek::VerifyingKey)> = Vec::new();
    let mut verifying = Vec::with_capacity(checks.len());
    for check in checks {
        // A repository's words are mostly by one key: each key's point decompressed once.
        let known = keys.iter().find(|(bytes, _)| *bytes == check.public);
        let key = match known {
            Some((_, key)) => *key,
            None => match ed25519_dalek::VerifyingKey::from_bytes(&check.public) {
                Ok(key) => {
                    keys.push((check.public, key));
                    key
                }
                Err(_) => return checks.iter().map(|c| c.holds()).collect(),
            },
        };
        verifying.push(key);
    }
    let messages: Vec<&[u8]> = checks.iter().map(|c| c.digest()).collect();
    let signatures: Vec<ed25519_dalek::Signature> = checks.iter().map(|c| c.signature).collect();
    if ed25519_dalek::verify_batch(&messages, &signatures, &verifying).is_ok() {
        vec![true; checks.len()]
    } else {
        checks.iter().map(|c| c.holds()).collect()
    }
}

/// When a signature's arithmetic is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arithmetic {
    /// Before the check returns: its verdict is always [`Verdict::Genuine`].
    Now,
    /// Left to the caller for Ed25519 ([`Verdict::Ed25519`]), done at once for other keys.
    MayDefer,
}

fn judge(
    sig: &Signature,
    cert: &Cert,
    key: &Fingerprint,
    feed: impl FnOnce(&mut dyn FnMut(&[u8])),
    arithmetic: Arithmetic,
) -> Result<Verdict, SignatureError> {
    use openpgp::crypto::hash::Hash as _;
    let bad = |e: anyhow::Error| SignatureError::Bad(e.to_string());
    let mut hash = sig
        .hash_algo()
        .context()
        .map_err(bad)?
        .for_signature(sig.version());
    if let Some(salt) = sig.salt() {
        hash.update(salt);
    }
    feed(&mut |bytes| hash.update(bytes));
    sig.hash(&mut hash).map_err(bad)?;
    let digest = hash.into_digest().map_err(bad)?;
    let policy: &dyn Policy = &POLICY;
    let signed_at = sig
        .signature_creation_time()
        .ok_or(SignatureError::NoCreationTime)?;
    // Deferred only when one key could have made it: with several, the first that verifies
    // is the signer, which needs the arithmetic in turn.
    let defer = arithmetic == Arithmetic::MayDefer
        && cert.keys().key_handles(sig.get_issuers()).take(2).count() == 1;
    let mut last_error = SignatureError::NotByKey(key.clone());
    for ka in cert.keys().key_handles(sig.get_issuers()) {
        let ka = match ka.with_policy(policy, signed_at) {
            Ok(ka) => ka,
            Err(e) => {
                last_error = SignatureError::Bad(format!("key not valid when it signed: {e}"));
                continue;
            }
        };
        let genuine = || Genuine {
            signer: crate::cert::to_fingerprint(&ka.key().fingerprint()),
            signed_at: unix_secs(signed_at),
        };
        let refusal = if let Err(e) = ka.valid_cert().alive() {
            format!("certificate not alive when it signed: {e}")
        } else if let Err(e) = ka.alive() {
            format!("signing key not alive when it signed: {e}")
        } else if !ka.for_signing() {
            "the key is not for signing".to_owned()
        } else if let Err(e) = sig.signature_alive(SystemTime::now(), CLOCK_SKEW) {
            format!("signature not alive: {e}")
        } else if let Err(e) = policy.signature(sig, Default::default()) {
            format!("refused by policy: {e}")
        } else {
            let public = ka.key().parts_as_public().role_as_unspecified();
            if let Some(check) = defer
                .then(|| Ed25519Check::of(sig, public, &digest))
                .flatten()
            {
                return Ok(Verdict::Ed25519(genuine(), check));
            }
            match sig.verify_digest(ka.key(), &digest) {
                Ok(()) => return Ok(Verdict::Genuine(genuine())),
                Err(e) => e.to_string(),
            }
        };
        last_error = SignatureError::Bad(refusal);
    }
    Err(last_error)
}

pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// One revocation of a certificate or subkey, as Signet judges by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    pub reason: RevocationReason,
    /// When the revocation was made (seconds since the Unix epoch).
    pub at: u64,
    /// The owner's words in it (escaped before they are shown).
    pub comment: String,
}

impl Revoked {
    /// Whether a signature made at `signed_at` is void: always for a hard revocation; for a
    /// soft one, when made after it. A word of the same second (OpenPGP's resolution) stands:
    /// a soft revocation claims no theft, and an owner who attests and then retires the key at
    /// once keeps that last word.
    pub fn voids(&self, signed_at: u64) -> bool {
        self.reason.is_hard() || signed_at > self.at
    }

    /// The stronger of two revocations of one key: a hard one over a soft one, else the
    /// earlier, which voids more.
    fn stronger(self, other: Revoked) -> Revoked {
        if other.rank() < self.rank() {
            other
        } else {
            self
        }
    }

    /// Lower is stronger: hard before soft, then earlier.
    fn rank(&self) -> (bool, u64) {
        (!self.reason.is_hard(), self.at)
    }

    /// As the protocol shows it.
    pub fn view(&self) -> signet_proto::api::Revocation {
        signet_proto::api::Revocation {
            reason: self.reason,
            at: humantime::format_rfc3339_seconds(
                SystemTime::UNIX_EPOCH + Duration::from_secs(self.at),
            )
            .to_string(),
            comment: self.comment.clone(),
        }
    }

    fn of(sig: &Signature) -> Revoked {
        use openpgp::types::ReasonForRevocation as R;
        let (reason, comment) = match sig.reason_for_revocation() {
            Some((code, text)) => {
                let reason = match code {
                    R::KeyCompromised => RevocationReason::Compromised,
                    R::KeySuperseded => RevocationReason::Superseded,
                    R::KeyRetired => RevocationReason::Retired,
                    // Unspecified, UIDRetired (meaningless for a key) and unknown codes: hard,
                    // as OpenPGP says.
                    _ => RevocationReason::Unspecified,
                };
                let comment: String = String::from_utf8_lossy(text).chars().take(1024).collect();
                (reason, comment)
            }
            None => (RevocationReason::Unspecified, String::new()),
        };
        Revoked {
            reason,
            at: sig.signature_creation_time().map_or(0, unix_secs),
            comment,
        }
    }

    /// The strongest of a component's valid revocations, if it has any.
    fn strongest(status: RevocationStatus) -> Option<Revoked> {
        match status {
            RevocationStatus::Revoked(sigs) => {
                sigs.into_iter().map(Revoked::of).reduce(Revoked::stronger)
            }
            _ => None,
        }
    }
}

/// What a certificate says is revoked: the whole certificate, or some of its subkeys, and how
/// (hard or soft, and since when). Computed once per copy of the certificate Signet holds, and
/// consulted for every attestation with the time it was signed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revocations {
    pub cert: Option<Revoked>,
    pub subkeys: std::collections::BTreeMap<Fingerprint, Revoked>,
}

impl Revocations {
    pub fn of(cert: &Cert) -> Self {
        let policy: &dyn Policy = &POLICY;
        // Asked now: every revocation made so far; a soft one's own time then decides which
        // signatures it voids (`Revoked::voids`).
        Revocations {
            cert: Revoked::strongest(cert.revocation_status(policy, None)),
            subkeys: cert
                .keys()
                .subkeys()
                .filter_map(|ka| {
                    let revoked = Revoked::strongest(ka.revocation_status(policy, None))?;
                    Some((
                        crate::cert::to_fingerprint(&ka.key().fingerprint()),
                        revoked,
                    ))
                })
                .collect(),
        }
    }

    /// The revocation that touches signatures by `signer` (the primary key or a subkey): the
    /// certificate's, or that subkey's, the stronger of the two.
    pub fn of_signer(&self, signer: &Fingerprint) -> Option<&Revoked> {
        [self.cert.as_ref(), self.subkeys.get(signer)]
            .into_iter()
            .flatten()
            .min_by_key(|r| r.rank())
    }

    /// Whether a signature made by `signer` at `signed_at` is void.
    pub fn voids(&self, signer: &Fingerprint, signed_at: u64) -> bool {
        [self.cert.as_ref(), self.subkeys.get(signer)]
            .into_iter()
            .flatten()
            .any(|r| r.voids(signed_at))
    }

    /// The certificate as a whole is revoked hard: nothing it ever said counts, and it vouches
    /// for no one.
    pub fn hard(&self) -> bool {
        self.cert.as_ref().is_some_and(|r| r.reason.is_hard())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use base64::Engine as _;
    use openpgp::cert::{CertBuilder, CertRevocationBuilder, CipherSuite};
    use openpgp::packet::signature::SignatureBuilder;
    use openpgp::serialize::MarshalInto as _;
    use openpgp::types::ReasonForRevocation;
    use signet_proto::formats::{ContentId, Statement};

    use super::*;
    use crate::cert;

    /// An attestation signed by `cert`'s signing subkey, dated `at`, whatever the key's state.
    fn signed_at(cert: &Cert, at: SystemTime) -> Signed {
        let subkey = cert.keys().subkeys().secret().next().unwrap().key().clone();
        signed_by(cert, subkey.role_into_unspecified(), at)
    }

    /// An attestation signed by one of `cert`'s keys, dated `at`.
    fn signed_by(
        cert: &Cert,
        key: openpgp::packet::Key<
            openpgp::packet::key::SecretParts,
            openpgp::packet::key::UnspecifiedRole,
        >,
        at: SystemTime,
    ) -> Signed {
        let data = Statement::to_data(&ContentId::sha256(&[9; 32]), true, true, "dated");
        let mut signer = key.into_keypair().unwrap();
        let sig = SignatureBuilder::new(SignatureType::Binary)
            .set_signature_creation_time(at)
            .unwrap()
            .sign_message(&mut signer, data.canonical().as_bytes())
            .unwrap();
        Signed {
            data,
            key: cert::fingerprint(cert),
            sig: base64::engine::general_purpose::STANDARD
                .encode(Packet::from(sig).to_vec().unwrap()),
        }
    }

    fn primary_signer(cert: &Cert) -> openpgp::crypto::KeyPair {
        cert.primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .unwrap()
            .into_keypair()
            .unwrap()
    }

    fn revoke_cert(cert: &Cert) -> Cert {
        revoke_cert_for(cert, ReasonForRevocation::KeyCompromised, SystemTime::now())
    }

    fn revoke_cert_for(cert: &Cert, reason: ReasonForRevocation, at: SystemTime) -> Cert {
        let revocation = CertRevocationBuilder::new()
            .set_reason_for_revocation(reason, b"why")
            .unwrap()
            .set_signature_creation_time(at)
            .unwrap()
            .build(&mut primary_signer(cert), cert, None)
            .unwrap();
        cert.clone().insert_packets(revocation).unwrap().0
    }

    fn secs_ago(secs: u64) -> SystemTime {
        SystemTime::now() - Duration::from_secs(secs)
    }

    /// A certificate of `suite` with a signing subkey, made an hour ago.
    fn hour_old(suite: CipherSuite, userid: &str) -> Cert {
        CertBuilder::new()
            .set_cipher_suite(suite)
            .add_userid(userid)
            .add_signing_subkey()
            .set_creation_time(secs_ago(3600))
            .generate()
            .unwrap()
            .0
    }

    /// Ed25519 words are checked a batch at a time; a bad one in a batch is found and only it
    /// fails, as checking each alone says.
    #[test]
    fn a_batch_of_ed25519_checks_says_what_checking_each_alone_says() {
        let cert = hour_old(CipherSuite::Cv25519, "Batch <b@example.org>");
        let subkey = cert.keys().subkeys().secret().next().unwrap().key().clone();
        let mut signer = subkey.role_into_unspecified().into_keypair().unwrap();
        let mut words: Vec<(Signature, Vec<u8>)> = (0..70u8)
            .map(|n| {
                let data = Statement::to_data(&ContentId::sha256(&[n; 32]), true, true, "batch");
                let message = data.canonical().into_bytes();
                let sig = SignatureBuilder::new(SignatureType::Binary)
                    .set_signature_creation_time(secs_ago(60))
                    .unwrap()
                    .sign_message(&mut signer, &message)
                    .unwrap();
                (sig, message)
            })
            .collect();
        // Word 5 says something else than what was signed; word 40's signature was made over
        // word 41's message.
        words[5].1 = b"{\"comment\":\"not what was signed\"}".to_vec();
        words[40].0 = words[41].0.clone();
        let key = cert::fingerprint(&cert);
        let mut checks = Vec::new();
        for (sig, message) in &words {
            match judge_bytes(sig, message, &cert, &key, Arithmetic::MayDefer).unwrap() {
                Verdict::Ed25519(genuine, check) => {
                    assert_eq!(
                        genuine.signer,
                        cert::to_fingerprint(&signer.public().fingerprint())
                    );
                    checks.push(check);
                }
                Verdict::Genuine(_) => panic!("an Ed25519 signature is left to the batch"),
            }
        }
        let alone: Vec<bool> = words
            .iter()
            .map(|(sig, message)| check_bytes(sig, message, &cert, &key).is_ok())
            .collect();
        let expected: Vec<bool> = (0..70).map(|n| n != 5 && n != 40).collect();
        assert_eq!(alone, expected);
        assert_eq!(ed25519_batch(&checks.iter().collect::<Vec<_>>()), expected);
        // Without the bad ones the batch passes whole; empty, it is empty.
        let good: Vec<&Ed25519Check> = checks
            .iter()
            .enumerate()
            .filter(|(n, _)| expected[*n])
            .map(|(_, c)| c)
            .collect();
        assert!(ed25519_batch(&good).iter().all(|&holds| holds));
        assert!(ed25519_batch(&[]).is_empty());
        // And they pass as a batch, not one by one after a failed batch.
        let keys: Vec<_> = good
            .iter()
            .map(|c| ed25519_dalek::VerifyingKey::from_bytes(&c.public).unwrap())
            .collect();
        let messages: Vec<&[u8]> = good.iter().map(|c| c.digest()).collect();
        let signatures: Vec<_> = good.iter().map(|c| c.signature).collect();
        ed25519_dalek::verify_batch(&messages, &signatures, &keys).expect("one batch");
    }

    /// Keys of other kinds are checked at once, as before.
    #[test]
    fn other_keys_are_checked_at_once() {
        let cert = hour_old(CipherSuite::P256, "Nist <n@example.org>");
        let signed = signed_at(&cert, secs_ago(60));
        let sig = decode(&signed.sig).unwrap();
        let message = signed.data.canonical();
        let verdict = judge_bytes(
            &sig,
            message.as_bytes(),
            &cert,
            &signed.key,
            Arithmetic::MayDefer,
        );
        assert!(matches!(verdict, Ok(Verdict::Genuine(_))), "{verdict:?}");
        let forged = judge_bytes(&sig, b"{}", &cert, &signed.key, Arithmetic::MayDefer);
        assert!(matches!(forged, Err(SignatureError::Bad(_))), "{forged:?}");
    }

    /// OpenPGP's two kinds: a hard revocation (compromised, or no reason) voids every word the
    /// key made, whenever dated; a soft one (superseded, retired) those from its time on.
    #[test]
    fn hard_revocations_void_every_word_soft_ones_only_later_words() {
        let cert = hour_old(CipherSuite::Cv25519, "Rotating <r@example.org>");
        let early = check(&signed_at(&cert, secs_ago(600)), &cert).unwrap();
        let late = check(&signed_at(&cert, secs_ago(60)), &cert).unwrap();
        let at = secs_ago(300);
        for (reason, hard) in [
            (ReasonForRevocation::KeyCompromised, true),
            (ReasonForRevocation::Unspecified, true),
            (ReasonForRevocation::Private(101), true),
            (ReasonForRevocation::KeySuperseded, false),
            (ReasonForRevocation::KeyRetired, false),
        ] {
            let revocations = Revocations::of(&revoke_cert_for(&cert, reason, at));
            assert_eq!(revocations.hard(), hard, "{reason:?}");
            assert_eq!(
                revocations.voids(&early.signer, early.signed_at),
                hard,
                "{reason:?}: a word made before the revocation"
            );
            assert!(
                revocations.voids(&late.signer, late.signed_at),
                "{reason:?}: a word made after it"
            );
            let shown = revocations.of_signer(&early.signer).unwrap();
            assert_eq!(shown.at, unix_secs(at));
            assert_eq!(shown.comment, "why");
        }
        // Soft, then hard: the hard one wins, whatever the order.
        let both = revoke_cert_for(
            &revoke_cert_for(&cert, ReasonForRevocation::KeyRetired, at),
            ReasonForRevocation::KeyCompromised,
            secs_ago(100),
        );
        let revocations = Revocations::of(&both);
        assert!(revocations.hard());
        assert!(revocations.voids(&early.signer, early.signed_at));
        assert_eq!(
            revocations.of_signer(&early.signer).unwrap().reason,
            RevocationReason::Compromised
        );
    }

    #[test]
    fn expiry_counts_from_when_the_signature_was_made() {
        let created = SystemTime::now() - Duration::from_secs(3600);
        let (cert, _) = CertBuilder::new()
            .set_cipher_suite(CipherSuite::Cv25519)
            .add_userid("Expired <e@example.org>")
            .add_signing_subkey()
            .set_creation_time(created)
            .set_validity_period(Duration::from_secs(1800))
            .generate()
            .unwrap();
        // Made while the key was alive: still valid after it expired.
        check(&signed_at(&cert, created + Duration::from_secs(60)), &cert).unwrap();
        // Made after it expired: does not count.
        let late = check(
            &signed_at(&cert, SystemTime::now() - Duration::from_secs(60)),
            &cert,
        );
        assert!(
            matches!(late, Err(SignatureError::Bad(ref why)) if why.contains("not alive")),
            "{late:?}"
        );
    }

    #[test]
    fn a_revoked_key_voids_its_genuine_signatures_only() {
        let cert = hour_old(CipherSuite::Cv25519, "Revoked <r@example.org>");
        let before = signed_at(&cert, SystemTime::now() - Duration::from_secs(600));
        let genuine = check(&before, &cert).unwrap();
        assert_ne!(genuine.signer, cert::fingerprint(&cert), "a subkey signed");
        assert!(!Revocations::of(&cert).voids(&genuine.signer, genuine.signed_at));
        let revoked = revoke_cert(&cert);
        // Still genuine, and void.
        assert_eq!(check(&before, &revoked), Ok(genuine.clone()));
        assert!(Revocations::of(&revoked).voids(&genuine.signer, genuine.signed_at));
        // A forgery is not "revoked": it is bad.
        let mut forged = before.clone();
        forged.data = Statement::to_data(&ContentId::sha256(&[9; 32]), false, true, "dated");
        assert!(matches!(
            check(&forged, &revoked),
            Err(SignatureError::Bad(_))
        ));
    }

    /// GnuPG's default key: one primary key that certifies and signs (`[SC]`).
    #[test]
    fn a_revoked_signing_primary_key_voids_rather_than_breaks_its_signatures() {
        let (cert, _) = CertBuilder::new()
            .set_cipher_suite(CipherSuite::Cv25519)
            .add_userid("Primary <p@example.org>")
            .set_primary_key_flags(
                openpgp::types::KeyFlags::empty()
                    .set_certification()
                    .set_signing(),
            )
            .set_creation_time(SystemTime::now() - Duration::from_secs(3600))
            .generate()
            .unwrap();
        let primary = cert
            .primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .unwrap()
            .role_into_unspecified();
        let signed = signed_by(&cert, primary, SystemTime::now() - Duration::from_secs(600));
        let genuine = check(&signed, &cert).unwrap();
        assert_eq!(genuine.signer, cert::fingerprint(&cert));
        let revoked = revoke_cert(&cert);
        assert_eq!(check(&signed, &revoked), Ok(genuine.clone()));
        assert!(Revocations::of(&revoked).voids(&genuine.signer, genuine.signed_at));
    }

    #[test]
    fn a_revoked_subkey_voids_only_what_it_signed() {
        let (cert, _) = CertBuilder::new()
            .set_cipher_suite(CipherSuite::Cv25519)
            .add_userid("Two <two@example.org>")
            .add_signing_subkey()
            .add_signing_subkey()
            .set_creation_time(SystemTime::now() - Duration::from_secs(3600))
            .generate()
            .unwrap();
        let at = SystemTime::now() - Duration::from_secs(600);
        let subkeys: Vec<_> = cert
            .keys()
            .subkeys()
            .secret()
            .map(|k| k.key().clone())
            .collect();
        let first = check(
            &signed_by(&cert, subkeys[0].clone().role_into_unspecified(), at),
            &cert,
        )
        .unwrap();
        let second = check(
            &signed_by(&cert, subkeys[1].clone().role_into_unspecified(), at),
            &cert,
        )
        .unwrap();
        let revocation = openpgp::cert::SubkeyRevocationBuilder::new()
            .set_reason_for_revocation(ReasonForRevocation::KeyCompromised, b"stolen")
            .unwrap()
            .build(
                &mut primary_signer(&cert),
                &cert,
                subkeys[0].parts_as_public(),
                None,
            )
            .unwrap();
        let revoked = cert.clone().insert_packets(revocation).unwrap().0;
        let revocations = Revocations::of(&revoked);
        assert!(revocations.cert.is_none());
        assert!(revocations.voids(&first.signer, first.signed_at));
        assert!(!revocations.voids(&second.signer, second.signed_at));
    }
}
