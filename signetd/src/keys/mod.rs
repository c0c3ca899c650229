//! Certificates: generating the user's key, reading and writing certificates, signing.

pub mod gpg;
pub mod rekey;

/// Reading and publishing certificates, from `signet-core`.
pub use signet_core::cert::{
    MAX_CERT_LEN, MAX_PUBLISHED_RETIRED, Published, armored_public, armored_published, fingerprint,
    key_info, parse_cert, parse_published, to_fingerprint, user_id,
};
/// Signature checking and revocation, from `signet-core`.
pub use signet_core::signature;

use anyhow::{Context as _, anyhow};
use base64::Engine as _;
use sequoia_openpgp as openpgp;

use openpgp::Cert;
use openpgp::cert::{CertBuilder, CipherSuite};
use openpgp::crypto::KeyPair;
use openpgp::serialize::SerializeInto as _;
use openpgp::types::KeyFlags;
use signet_proto::formats::Signed;
use signet_proto::json::Value;

use signature::POLICY;

/// The certificate with its secret keys, ASCII-armored.
pub fn armored_secret(cert: &Cert) -> Vec<u8> {
    cert.as_tsk()
        .armored()
        .to_vec()
        .expect("serializing to memory cannot fail")
}

/// A new Ed25519 certificate for `user_id`: one primary key that certifies and signs, as GnuPG
/// makes its classic keys. Signatures are then made by the key the attestation's `key` names,
/// which is what the reference implementation checks (gpg's `VALIDSIG` names the signing key).
pub fn generate(user_id: &str) -> anyhow::Result<Cert> {
    let (cert, _revocation) = CertBuilder::new()
        .set_cipher_suite(CipherSuite::Cv25519)
        .set_primary_key_flags(KeyFlags::empty().set_certification().set_signing())
        .add_userid(user_id)
        .set_creation_time(crate::clock::now())
        .generate()
        .context("generating an Ed25519 key")?;
    Ok(cert)
}

/// Something that can sign the user's statements.
pub trait SignWith: Send + Sync {
    /// A detached binary signature over `message`.
    fn sign_detached(&self, message: &[u8]) -> anyhow::Result<Vec<u8>>;
    fn cert(&self) -> &Cert;
    /// The same signer for one request: prompting on this terminal where it needs to (gpg's
    /// pinentry), and giving up after `deadline` (a prompt nobody answers).
    fn for_request(
        &self,
        tty: Option<String>,
        deadline: std::time::Duration,
    ) -> std::sync::Arc<dyn SignWith>;
}

/// A key whose secret Signet holds itself (`keys/secret.asc`).
pub struct EmbeddedKey {
    cert: Cert,
    signing: KeyPair,
}

impl EmbeddedKey {
    pub fn new(cert: Cert) -> anyhow::Result<Self> {
        // The primary key when it may sign (the reference implementation accepts only
        // signatures by the key `key` names); else the newest signing subkey.
        use openpgp::cert::amalgamation::ValidAmalgamation as _;
        use openpgp::cert::amalgamation::key::PrimaryKey as _;
        // A revoked certificate still loads: the state refuses to sign with it (`sig revoke`
        // has been run) and a re-key retires it with its secret. A revoked subkey is never
        // chosen.
        let cert_revoked = signature::Revocations::of(&cert).cert.is_some();
        let usable: Vec<_> = cert
            .keys()
            .with_policy(&POLICY, None)
            .secret()
            .alive()
            .for_signing()
            .filter(|k| {
                (k.primary() && cert_revoked)
                    || !matches!(
                        k.revocation_status(),
                        openpgp::types::RevocationStatus::Revoked(_)
                    )
            })
            .collect();
        let key = usable
            .iter()
            .find(|k| k.primary())
            .or_else(|| usable.iter().max_by_key(|k| k.key().creation_time()))
            .ok_or_else(|| anyhow!("the certificate has no usable secret signing key"))?;
        let signing = key.key().clone().into_keypair().context(
            "the secret signing key is protected by a passphrase: remove it before importing, \
                 or use `sig setup KEYID` to sign through gpg",
        )?;
        Ok(EmbeddedKey { cert, signing })
    }
}

impl SignWith for EmbeddedKey {
    /// A detached v4 signature (SHA-512) assembled from its parts: creation time and issuer
    /// fingerprint hashed, issuer key id unhashed, nothing else. Sequoia's `SignatureBuilder`
    /// adds a random binary `salt@notations.sequoia-pgp.org` notation to every v4 signature,
    /// which gpg prints raw in its status output, where the reference implementation decodes
    /// it as ASCII and fails; a digest over the message and this signature's own trailer,
    /// signed by the key, is the same signature gpg would make.
    fn sign_detached(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        use openpgp::crypto::Signer as _;
        use openpgp::crypto::hash::Hash as _;
        use openpgp::packet::signature::Signature4;
        use openpgp::packet::signature::subpacket::{Subpacket, SubpacketArea, SubpacketValue};
        use openpgp::types::{HashAlgorithm, SignatureType, Timestamp};

        let hash_algo = HashAlgorithm::SHA512;
        let public = self.signing.public();
        let hashed = SubpacketArea::new(vec![
            Subpacket::new(
                SubpacketValue::SignatureCreationTime(Timestamp::try_from(crate::clock::now())?),
                false,
            )?,
            Subpacket::new(
                SubpacketValue::IssuerFingerprint(public.fingerprint()),
                false,
            )?,
        ])?;
        let unhashed = SubpacketArea::new(vec![Subpacket::new(
            SubpacketValue::Issuer(public.keyid()),
            false,
        )?])?;
        let parts = |prefix: [u8; 2], mpis| {
            Signature4::new(
                SignatureType::Binary,
                public.pk_algo(),
                hash_algo,
                hashed.clone(),
                unhashed.clone(),
                prefix,
                mpis,
            )
        };
        let unsigned = parts(
            [0, 0],
            openpgp::crypto::mpi::Signature::Unknown {
                mpis: Box::new([]),
                rest: Box::new([]),
            },
        );
        let mut hash = hash_algo.context()?.for_signature(4);
        hash.update(message);
        unsigned.hash(&mut hash)?;
        let digest = hash.into_digest()?;
        let mpis = self.signing.clone().sign(hash_algo, &digest)?;
        let signature = parts([digest[0], digest[1]], mpis);
        openpgp::Packet::from(openpgp::packet::Signature::from(signature)).to_vec()
    }

    fn cert(&self) -> &Cert {
        &self.cert
    }

    fn for_request(
        &self,
        _tty: Option<String>,
        _deadline: std::time::Duration,
    ) -> std::sync::Arc<dyn SignWith> {
        std::sync::Arc::new(EmbeddedKey {
            cert: self.cert.clone(),
            signing: self.signing.clone(),
        })
    }
}

/// Signs `data` into a `{data, key, sig}` envelope, and checks the result before returning it:
/// a signature that would not verify is never stored.
pub fn sign_value(signer: &dyn SignWith, data: Value) -> anyhow::Result<Signed> {
    Ok(sign_checked(signer, data)?.0)
}

/// [`sign_value`], with who made the signature and when, as the index keeps them.
pub fn sign_checked(
    signer: &dyn SignWith,
    data: Value,
) -> anyhow::Result<(Signed, signature::Genuine)> {
    let bytes = data.canonical();
    let sig = signer.sign_detached(bytes.as_bytes())?;
    // Kept as the canonical text just made: checking the signature and writing the file would
    // otherwise encode the tree twice more (a million-word repository's top is 400 KB).
    drop(data);
    let signed = Signed {
        data: Value::Canonical(bytes.into_boxed_str()),
        key: fingerprint(signer.cert()),
        sig: base64::engine::general_purpose::STANDARD.encode(sig),
    };
    let genuine =
        signature::check(&signed, signer.cert()).context("the new signature does not verify")?;
    Ok((signed, genuine))
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_proto::formats::{ContentId, Statement};

    #[test]
    fn generated_keys_sign_what_verifies_and_nothing_else() {
        let cert = generate("Alice <alice@example.org>").unwrap();
        assert_eq!(user_id(&cert), "Alice <alice@example.org>");
        let key = EmbeddedKey::new(cert.clone()).unwrap();
        let data = Statement::to_data(&ContentId::sha256(&[7; 32]), true, true, "caf\u{e9}");
        let signed = sign_value(&key, data).unwrap();
        assert_eq!(signed.key, fingerprint(&cert));
        signature::check(&signed, &cert).unwrap();

        // Other data under the same signature fails.
        let mut forged = signed.clone();
        forged.data = Statement::to_data(&ContentId::sha256(&[7; 32]), false, true, "caf\u{e9}");
        assert!(matches!(
            signature::check(&forged, &cert),
            Err(signature::SignatureError::Bad(_))
        ));

        // Another key's certificate does not vouch for it, even when `key` names it.
        let other = generate("Mallory <m@example.org>").unwrap();
        let mut claimed = signed.clone();
        claimed.key = fingerprint(&other);
        assert!(signature::check(&claimed, &other).is_err());

        // A genuine signature by Mallory, claiming to be Alice's: the certificate that made it
        // is not the one `key` names, so it is refused.
        let mallory = EmbeddedKey::new(other.clone()).unwrap();
        let mut impostor = sign_value(&mallory, signed.data.clone()).unwrap();
        impostor.key = fingerprint(&cert);
        assert_eq!(
            signature::check(&impostor, &other),
            Err(signature::SignatureError::WrongCertificate(fingerprint(
                &cert
            )))
        );

        // The public certificate round-trips and has no secrets.
        let public = parse_cert(&armored_public(&cert)).unwrap();
        assert!(!public.is_tsk());
        signature::check(&signed, &public).unwrap();
    }
}
