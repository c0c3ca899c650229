//! Repositories made in-process with sequoia, for tests that need control no honest `sig`
//! gives: signatures dated when the test says, attestations of any shape, padded or tampered
//! certificates, other keys' attestations replayed under an attacker's repository.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use sequoia_openpgp as openpgp;

use openpgp::cert::{CertBuilder, CipherSuite};
use openpgp::packet::signature::SignatureBuilder;
use openpgp::serialize::SerializeInto as _;
use openpgp::types::SignatureType;
use openpgp::{Cert, Packet};

/// A key whose owner the test plays: it signs whatever the test asks, dated as asked.
pub struct Forge {
    pub cert: Cert,
}

impl Forge {
    /// A new Ed25519 key (certification primary, signing subkey), created 30 days ago so that
    /// signatures can be back-dated.
    pub fn new(user_id: &str) -> Self {
        let (cert, _) = CertBuilder::new()
            .set_cipher_suite(CipherSuite::Cv25519)
            .add_userid(user_id)
            .add_signing_subkey()
            .set_creation_time(SystemTime::now() - Duration::from_secs(30 * 86_400))
            .generate()
            .unwrap();
        Forge { cert }
    }

    /// A key with no user id at all (a direct-key signature binds it), as sequoia can make.
    pub fn without_user_id() -> Self {
        let (cert, _) = CertBuilder::new()
            .set_cipher_suite(CipherSuite::Cv25519)
            .add_signing_subkey()
            .set_creation_time(SystemTime::now() - Duration::from_secs(3600))
            .generate()
            .unwrap();
        Forge { cert }
    }

    fn primary_signer(&self) -> openpgp::crypto::KeyPair {
        self.cert
            .primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .unwrap()
            .into_keypair()
            .unwrap()
    }

    /// Adds `count` user ids (`b0`, `b1`, …), each bound by a valid self-signature: a padded
    /// certificate, as a hostile owner can publish.
    pub fn pad_with_user_ids(&mut self, count: usize) {
        let mut primary = self.primary_signer();
        let mut packets = Vec::with_capacity(2 * count);
        for n in 0..count {
            let uid = openpgp::packet::UserID::from(format!("b{n}"));
            let sig = uid
                .bind(
                    &mut primary,
                    &self.cert,
                    SignatureBuilder::new(SignatureType::PositiveCertification),
                )
                .unwrap();
            packets.push(Packet::from(uid));
            packets.push(sig.into());
        }
        self.cert = self.cert.clone().insert_packets(packets).unwrap().0;
    }

    /// The certificate with a revocation of the whole key added.
    pub fn revoked(&self) -> Cert {
        let revocation = openpgp::cert::CertRevocationBuilder::new()
            .set_reason_for_revocation(
                openpgp::types::ReasonForRevocation::KeyCompromised,
                b"stolen",
            )
            .unwrap()
            .build(&mut self.primary_signer(), &self.cert, None)
            .unwrap();
        self.cert.clone().insert_packets(revocation).unwrap().0
    }

    /// The certificate with a revocation of its signing subkey alone added.
    pub fn subkey_revoked(&self) -> Cert {
        let subkey = self.cert.keys().subkeys().next().unwrap().key().clone();
        let revocation = openpgp::cert::SubkeyRevocationBuilder::new()
            .set_reason_for_revocation(
                openpgp::types::ReasonForRevocation::KeyCompromised,
                b"stolen laptop",
            )
            .unwrap()
            .build(&mut self.primary_signer(), &self.cert, &subkey, None)
            .unwrap();
        self.cert.clone().insert_packets(revocation).unwrap().0
    }

    pub fn fingerprint(&self) -> String {
        self.cert.fingerprint().to_hex()
    }

    /// `key.asc`: the public certificate, armored.
    pub fn key_asc(&self) -> Vec<u8> {
        armored(&self.cert)
    }

    /// Base64 of a detached signature by the signing subkey over `bytes`, dated `at`.
    pub fn sign(&self, bytes: &[u8], at: SystemTime) -> String {
        let mut signer = self
            .cert
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
            .sign_message(&mut signer, bytes)
            .unwrap();
        base64::engine::general_purpose::STANDARD.encode(Packet::from(sig).to_vec().unwrap())
    }

    /// `{data, key, sig}` over the canonical bytes of `data` (a JSON text, kept as text so that
    /// any value can be signed), dated `at`.
    pub fn signed_text(&self, data: &str, at: SystemTime) -> String {
        let canonical = signet_proto::json::parse(data.as_bytes())
            .expect("forged data is JSON")
            .canonical();
        format!(
            r#"{{"data": {data}, "key": "{}", "sig": "{}"}}"#,
            self.fingerprint(),
            self.sign(canonical.as_bytes(), at)
        )
    }

    /// An attestation as `sig attest` writes it, dated `at`.
    pub fn attestation(&self, id: &str, ok: bool, comment: &str, at: SystemTime) -> String {
        let data = serde_json::json!({"comment": comment, "id": id, "ok": ok, "reviewed": true});
        self.signed_text(&data.to_string(), at)
    }

    /// `repo.json` holding these attestations (JSON texts, each filed under its own `data.id`).
    pub fn repo(&self, serial: u64, attestations: &[String]) -> Vec<u8> {
        self.repo_at(serial, attestations, SystemTime::now())
    }

    /// [`Forge::repo`], signed at `at`.
    pub fn repo_at(&self, serial: u64, attestations: &[String], at: SystemTime) -> Vec<u8> {
        let mut by_id: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for att in attestations {
            // Signet's own parser: serde_json refuses what hostile tests put in attestations.
            let id = signet_proto::json::parse(att.as_bytes())
                .ok()
                .and_then(|v| {
                    let data = v.as_object()?.get("data")?.as_object()?.clone();
                    data.get("id")?.as_str().map(str::to_owned)
                })
                .expect("an attestation with data.id");
            by_id.entry(id).or_default().push(att.clone());
        }
        let listed: Vec<String> = by_id
            .iter()
            .map(|(id, list)| format!("\"{id}\": [{}]", list.join(", ")))
            .collect();
        let data = format!(
            r#"{{"attestations": {{{}}}, "serial": {serial}, "updated": "2026-01-01T00:00:00Z", "version": "0.0.1"}}"#,
            listed.join(", ")
        );
        let mut bytes = self.signed_text(&data, at).into_bytes();
        bytes.push(b'\n');
        bytes
    }
}

/// A certificate as `key.asc` holds it: public, armored.
pub fn armored(cert: &Cert) -> Vec<u8> {
    cert.clone()
        .strip_secret_key_material()
        .armored()
        .to_vec()
        .unwrap()
}

/// Seconds ago, as a time to date signatures with.
pub fn ago(secs: u64) -> SystemTime {
    SystemTime::now() - Duration::from_secs(secs)
}
