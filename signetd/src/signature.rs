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
    /// A genuine signature by a key that has since been revoked: it does not count.
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
    // A certificate revoked now invalidates every signature it made; the signature is still
    // checked first, so that "revoked" is only ever said of a genuine signature.
    let mut revoked = matches!(
        cert.revocation_status(policy, None),
        RevocationStatus::Revoked(_)
    );
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
        if let RevocationStatus::Revoked(_) = ka.valid_cert().revocation_status() {
            revoked = true;
        }
        let refusal = if let Err(e) = ka.valid_cert().alive() {
            Some(format!("certificate not alive when it signed: {e}"))
        } else if let Err(e) = ka.alive() {
            Some(format!("signing key not alive when it signed: {e}"))
        } else if let RevocationStatus::Revoked(_) = ka.revocation_status() {
            Some("the signing subkey is revoked".to_owned())
        } else if !ka.for_signing() {
            Some("the key is not for signing".to_owned())
        } else if let Err(e) = sig.signature_alive(SystemTime::now(), CLOCK_SKEW) {
            Some(format!("signature not alive: {e}"))
        } else {
            match sig.verify_message(ka.key(), message) {
                Ok(()) => match policy.signature(sig, Default::default()) {
                    Ok(()) if revoked => return Err(SignatureError::Revoked(key.clone())),
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
    use crate::keys;

    /// An attestation signed by `cert`'s signing subkey, dated `at`, whatever the key's state.
    fn signed_at(cert: &Cert, at: SystemTime) -> Signed {
        let data = Statement::to_data(&ContentId::sha256(&[9; 32]), true, true, "dated");
        let mut signer = cert
            .keys()
            .subkeys()
            .secret()
            .next()
            .unwrap()
            .key()
            .clone()
            .into_keypair()
            .unwrap();
        let sig = SignatureBuilder::new(SignatureType::Binary)
            .set_signature_creation_time(at)
            .unwrap()
            .sign_message(&mut signer, data.canonical().as_bytes())
            .unwrap();
        Signed {
            data,
            key: keys::fingerprint(cert),
            sig: base64::engine::general_purpose::STANDARD
                .encode(Packet::from(sig).to_vec().unwrap()),
        }
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
    fn a_revoked_key_invalidates_its_genuine_signatures_only() {
        let (cert, _) = CertBuilder::new()
            .set_cipher_suite(CipherSuite::Cv25519)
            .add_userid("Revoked <r@example.org>")
            .add_signing_subkey()
            .set_creation_time(SystemTime::now() - Duration::from_secs(3600))
            .generate()
            .unwrap();
        let before = signed_at(&cert, SystemTime::now() - Duration::from_secs(600));
        check(&before, &cert).unwrap();
        let mut primary = cert
            .primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .unwrap()
            .into_keypair()
            .unwrap();
        let revocation = CertRevocationBuilder::new()
            .set_reason_for_revocation(ReasonForRevocation::KeySuperseded, b"new key")
            .unwrap()
            .build(&mut primary, &cert, None)
            .unwrap();
        let revoked = cert.clone().insert_packets(revocation).unwrap().0;
        assert_eq!(
            check(&before, &revoked),
            Err(SignatureError::Revoked(keys::fingerprint(&cert)))
        );
        // A forgery is not "revoked": it is bad.
        let mut forged = before.clone();
        forged.data = Statement::to_data(&ContentId::sha256(&[9; 32]), false, true, "dated");
        assert!(matches!(
            check(&forged, &revoked),
            Err(SignatureError::Bad(_))
        ));
    }
}
