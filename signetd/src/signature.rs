//! Checking a signed document's signature against the certificate its `key` names.
//!
//! The rules are FORMATS.md's: a detached signature of type binary (0x00), base64 of binary or
//! of ASCII armor, made by the certificate named in `key` (any of its valid signing keys),
//! under StandardPolicy, by a key alive and not revoked when it signed. A certificate that is
//! revoked now invalidates all its signatures: its owner has said it must not be relied on.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use sequoia_openpgp as openpgp;

use openpgp::cert::amalgamation::ValidAmalgamation as _;
use openpgp::cert::amalgamation::ValidateAmalgamation as _;
use openpgp::packet::Signature;
use openpgp::parse::Parse;
use openpgp::policy::{Policy, StandardPolicy};
use openpgp::types::{RevocationStatus, SignatureType};
use openpgp::{Cert, Packet, PacketPile};
use signet_proto::formats::{Fingerprint, Signed};

/// Largest `sig` field accepted: a signature is a few hundred bytes; an RSA-16384 one armored
/// is under 5 KiB.
pub const MAX_SIG_LEN: usize = 16 * 1024;

/// Clock skew tolerated for signatures dated in the future.
const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

pub static POLICY: StandardPolicy<'static> = StandardPolicy::new();

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
    #[error("key {0} is revoked")]
    Revoked(Fingerprint),
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

/// Checks that `signed.sig` is a valid signature by `cert` over the canonical bytes of
/// `signed.data`, and that `cert` is the certificate `signed.key` names.
pub fn check(signed: &Signed, cert: &Cert) -> Result<(), SignatureError> {
    if cert.fingerprint().to_hex() != signed.key.as_str() {
        return Err(SignatureError::WrongCertificate(signed.key.clone()));
    }
    check_bytes(
        &decode(&signed.sig)?,
        signed.signed_bytes().as_bytes(),
        cert,
        &signed.key,
    )
}

/// Checks a decoded signature over `message` against `cert`, whose fingerprint is `key`.
pub fn check_bytes(
    sig: &Signature,
    message: &[u8],
    cert: &Cert,
    key: &Fingerprint,
) -> Result<(), SignatureError> {
    let policy: &dyn Policy = &POLICY;
    if let RevocationStatus::Revoked(_) = cert.revocation_status(policy, None) {
        return Err(SignatureError::Revoked(key.clone()));
    }
    let signed_at = sig
        .signature_creation_time()
        .ok_or(SignatureError::NoCreationTime)?;
    let mut last_error = SignatureError::NotByKey(key.clone());
    for ka in cert.keys().key_handles(sig.get_issuers()) {
        let ka = match ka.with_policy(policy, signed_at) {
            Ok(ka) => ka,
            Err(e) => {
                last_error = SignatureError::Bad(format!("key not valid when it signed: {e}"));
                continue;
            }
        };
        let refusal = if let Err(e) = ka.valid_cert().alive() {
            Some(format!("certificate not alive when it signed: {e}"))
        } else if let Err(e) = ka.alive() {
            Some(format!("signing key not alive when it signed: {e}"))
        } else if let RevocationStatus::Revoked(_) = ka.valid_cert().revocation_status() {
            return Err(SignatureError::Revoked(key.clone()));
        } else if let RevocationStatus::Revoked(_) = ka.revocation_status() {
            Some("the signing subkey is revoked".to_owned())
        } else if !ka.for_signing() {
            Some("the key is not for signing".to_owned())
        } else if let Err(e) = sig.signature_alive(SystemTime::now(), CLOCK_SKEW) {
            Some(format!("signature not alive: {e}"))
        } else {
            match sig.verify_message(ka.key(), message) {
                Ok(()) => match policy.signature(sig, Default::default()) {
                    Ok(()) => return Ok(()),
                    Err(e) => Some(format!("refused by policy: {e}")),
                },
                Err(e) => Some(e.to_string()),
            }
        };
        if let Some(why) = refusal {
            last_error = SignatureError::Bad(why);
        }
    }
    Err(last_error)
}
