//! Certificates as Signet reads and publishes them: fingerprints and user ids in the formats'
//! notation, `key.asc` (a key, then its owner's retired keys) parsed and armored. Pure: bytes
//! in, bytes out.

use anyhow::{Context as _, anyhow};
use sequoia_openpgp as openpgp;

use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::SerializeInto as _;
use openpgp::{Cert, Fingerprint as PgpFingerprint};
use signet_proto::api::KeyInfo;
use signet_proto::formats::Fingerprint;

/// The policy every certificate and signature is judged under: sequoia's standard one.
pub static POLICY: StandardPolicy<'static> = StandardPolicy::new();

/// Largest certificate file read (`key.asc` from a remote, `keys/secret.asc`).
pub const MAX_CERT_LEN: usize = 1 << 20;

/// The fingerprint of a certificate in the formats' notation.
pub fn fingerprint(cert: &Cert) -> Fingerprint {
    to_fingerprint(&cert.fingerprint())
}

pub fn to_fingerprint(fpr: &PgpFingerprint) -> Fingerprint {
    Fingerprint::parse(&fpr.to_hex()).expect("sequoia prints fingerprints as uppercase hex")
}

/// The certificate's primary user id as text, or "" when none is bound to it by a valid
/// self-signature: anyone can append a user id packet to a copy of a certificate, and such a
/// name is never shown as the key's.
pub fn user_id(cert: &Cert) -> String {
    cert.with_policy(&POLICY, None)
        .ok()
        .and_then(|valid| valid.primary_userid().ok().map(|u| u.userid().clone()))
        .map(|u| String::from_utf8_lossy(u.value()).into_owned())
        .unwrap_or_default()
}

pub fn key_info(cert: &Cert) -> KeyInfo {
    KeyInfo {
        fingerprint: fingerprint(cert),
        user_id: user_id(cert),
    }
}

/// Parses one certificate (public or secret, armored or binary).
pub fn parse_cert(bytes: &[u8]) -> anyhow::Result<Cert> {
    if bytes.len() > MAX_CERT_LEN {
        return Err(anyhow!("certificate larger than {MAX_CERT_LEN} bytes"));
    }
    Cert::from_bytes(bytes).context("not an OpenPGP certificate")
}

/// Retired keys published beside the current one in `key.asc`, at most.
pub const MAX_PUBLISHED_RETIRED: usize = 16;

/// A repository's `key.asc`: its key (the first certificate), then the owner's retired keys,
/// each with what the owner published of it (its revocation, above all), so that a follower
/// who never saw an old key can check the words it signed and learns of its revocation.
pub struct Published {
    pub key: Cert,
    pub retired: Vec<Cert>,
}

/// Reads a `key.asc`: one certificate (as every version of Signet and the reference publish
/// it) or a keyring whose first certificate is the repository's key. Retired keys past
/// [`MAX_PUBLISHED_RETIRED`] are ignored.
pub fn parse_published(bytes: &[u8]) -> anyhow::Result<Published> {
    use openpgp::cert::CertParser;
    if bytes.len() > MAX_CERT_LEN {
        return Err(anyhow!("certificate larger than {MAX_CERT_LEN} bytes"));
    }
    let mut certs = CertParser::from_bytes(bytes).context("not an OpenPGP certificate")?;
    let key = certs
        .next()
        .ok_or_else(|| anyhow!("not an OpenPGP certificate: no key in it"))?
        .context("not an OpenPGP certificate")?;
    let mut retired = Vec::new();
    for cert in certs.take(MAX_PUBLISHED_RETIRED) {
        let cert = cert.context("a retired key in it is not an OpenPGP certificate")?;
        if cert.fingerprint() != key.fingerprint() {
            retired.push(cert);
        }
    }
    Ok(Published { key, retired })
}

/// The `key.asc` to publish: `current`, then the retired keys (newest first, at most
/// [`MAX_PUBLISHED_RETIRED`]), as one armored keyring, as `gpg --armor --export` prints
/// several keys. With no retired key it is exactly [`armored_public`].
pub fn armored_published(current: &Cert, retired: &[Cert]) -> Vec<u8> {
    use openpgp::armor::{Kind, Writer};
    use openpgp::serialize::Serialize as _;
    let by_fingerprint: std::collections::BTreeMap<_, &Cert> = retired
        .iter()
        .filter(|c| c.fingerprint() != current.fingerprint())
        .map(|c| (c.fingerprint(), c))
        .collect();
    if by_fingerprint.is_empty() {
        return armored_public(current);
    }
    let mut retired: Vec<&Cert> = by_fingerprint.into_values().collect();
    retired.sort_by_key(|c| std::cmp::Reverse(c.primary_key().key().creation_time()));
    retired.truncate(MAX_PUBLISHED_RETIRED);
    let mut out = Writer::new(Vec::new(), Kind::PublicKey).expect("armoring to memory");
    for cert in std::iter::once(current).chain(retired) {
        cert.serialize(&mut out)
            .expect("serializing to memory cannot fail");
    }
    out.finalize().expect("armoring to memory cannot fail")
}

/// The public certificate, ASCII-armored as `gpg --armor --export` prints it.
pub fn armored_public(cert: &Cert) -> Vec<u8> {
    cert.armored()
        .to_vec()
        .expect("serializing to memory cannot fail")
}
