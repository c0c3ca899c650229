//! The certificates Signet knows, keyed by fingerprint. Known is not trusted.
//!
//! What Signet knows about a certificate only grows: every copy it sees (the user's own key,
//! each remote's `key.asc`, the copy remembered under `certs/`) is merged into the one it holds
//! (`Cert::merge_public`), so a revocation, a subkey revocation or an expiry change learnt from
//! any source stays, and an older copy served later — by the same remote or a mirror — can
//! take nothing away. The merged copy is remembered under `certs/FINGERPRINT.asc` across
//! restarts and remote removals.
//!
//! Each copy is trimmed to what a verdict needs before it is kept, so that a padded
//! certificate costs no more than a plain one: the primary key with its own signatures, at most
//! [`MAX_USER_IDS`] user ids bound by a valid self-signature, at most [`MAX_SUBKEYS`] subkeys
//! (the newest), at most [`MAX_SIGS`] self-signatures and revocations each. Third-party
//! certifications, user attributes (photos) and unknown packets are dropped.

use std::collections::{BTreeMap, BTreeSet};

use sequoia_openpgp::{Cert, Packet};
use signet_proto::api::KeyInfo;
use signet_proto::formats::{Fingerprint, KeyQuery};

use crate::cert;
use crate::index::Source;
use crate::signature::{POLICY, Revocations, Revoked};

/// User ids kept per certificate: the primary one first.
pub const MAX_USER_IDS: usize = 16;
/// Subkeys kept per certificate: the newest.
pub const MAX_SUBKEYS: usize = 16;
/// Self-signatures, and revocations, kept per component: the newest.
pub const MAX_SIGS: usize = 16;

#[derive(Debug, Clone)]
pub struct KnownCert {
    /// Every copy seen, merged and trimmed.
    pub cert: Cert,
    pub info: KeyInfo,
    /// Who has served it: the home itself (`Own`, current or retired key) and remotes.
    pub sources: BTreeSet<Source>,
    pub revocations: Revocations,
}

impl KnownCert {
    fn new(cert: Cert) -> Self {
        KnownCert {
            info: cert::key_info(&cert),
            revocations: Revocations::of(&cert),
            cert,
            sources: BTreeSet::new(),
        }
    }

    /// One of the home's own keys, current or retired.
    pub fn is_own(&self) -> bool {
        self.sources.contains(&Source::Own)
    }
}

#[derive(Debug, Default, Clone)]
pub struct Keyring {
    certs: BTreeMap<Fingerprint, KnownCert>,
    /// Moves whenever what is known of a key changes (not when only who served it does).
    generation: u64,
}

impl Keyring {
    /// What Signet would know of `cert`'s key after seeing this copy too: the copy held merged
    /// with it, trimmed. Pure: the keyring is unchanged.
    pub fn merged(&self, cert: Cert) -> Cert {
        let fpr = cert::fingerprint(&cert);
        match self.certs.get(&fpr) {
            Some(held) => merge(held.cert.clone(), cert),
            None => trim(cert),
        }
    }

    /// Merges a copy of a certificate in, served by `source`. Returns the merged certificate
    /// when what is known of the key changed (so that it is remembered on disk), else `None`.
    pub fn insert(&mut self, cert: Cert, source: Source) -> Option<Cert> {
        let fpr = cert::fingerprint(&cert);
        let changed = self.learn(cert);
        if let Some(known) = self.certs.get_mut(&fpr) {
            known.sources.insert(source);
        }
        changed
    }

    /// Merges a copy of a certificate in without naming who served it (a copy remembered
    /// under `certs/`). Returns the merged certificate when what is known changed.
    pub fn learn(&mut self, cert: Cert) -> Option<Cert> {
        let merged = self.merged(cert);
        let fpr = cert::fingerprint(&merged);
        if self.certs.get(&fpr).is_some_and(|held| held.cert == merged) {
            return None;
        }
        let sources = self
            .certs
            .remove(&fpr)
            .map(|held| held.sources)
            .unwrap_or_default();
        let mut known = KnownCert::new(merged.clone());
        known.sources = sources;
        self.certs.insert(fpr, known);
        self.generation += 1;
        Some(merged)
    }

    /// Forgets that `source` served any certificate. The certificates stay: what was learnt
    /// from them (a revocation above all) is not unlearnt when a remote goes.
    pub fn remove_source(&mut self, source: &Source) {
        for known in self.certs.values_mut() {
            known.sources.remove(source);
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn get(&self, fpr: &Fingerprint) -> Option<&KnownCert> {
        self.certs.get(fpr)
    }

    /// Whether a signature `signer` made for `key` at `signed_at` is void: the certificate, or
    /// that subkey, is revoked in what is known of it now, hard or since before `signed_at`.
    pub fn voids(&self, key: &Fingerprint, signer: &Fingerprint, signed_at: u64) -> bool {
        self.certs
            .get(key)
            .is_some_and(|c| c.revocations.voids(signer, signed_at))
    }

    /// What is known now of every revoked certificate or subkey: what [`Self::voids`] reads,
    /// kept apart to be read after the state's lock is released (see [`Revoked::voids`]).
    pub fn revocations(&self) -> KnownRevocations {
        KnownRevocations(
            self.certs
                .iter()
                .filter(|(_, c)| c.revocations.cert.is_some() || !c.revocations.subkeys.is_empty())
                .map(|(fpr, c)| (fpr.clone(), c.revocations.clone()))
                .collect(),
        )
    }

    /// The revocation of `key` (or of its subkey `signer`) that touches `signer`'s words.
    pub fn revocation(&self, key: &Fingerprint, signer: &Fingerprint) -> Option<&Revoked> {
        self.certs.get(key)?.revocations.of_signer(signer)
    }

    /// Known certificates whose fingerprint ends with the query.
    pub fn find(&self, query: &KeyQuery) -> Vec<&KnownCert> {
        self.certs
            .values()
            .filter(|c| query.matches(&c.info.fingerprint))
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &KnownCert> {
        self.certs.values()
    }

    /// A digest of what is known: a check of attestations done with one keyring holds for
    /// another with the same digest.
    pub fn digest(&self) -> String {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        for (fpr, known) in &self.certs {
            h.update(fpr.as_str());
            h.update(
                sequoia_openpgp::serialize::MarshalInto::to_vec(&known.cert).unwrap_or_default(),
            );
        }
        signet_proto::formats::hex_lower(&h.finalize())
    }

    /// A digest of what is known of one key (`None`: nothing): a check that could not count a
    /// word of this key holds while this is unchanged.
    pub fn cert_digest(&self, fpr: &Fingerprint) -> Option<String> {
        use sha2::Digest as _;
        let known = self.certs.get(fpr)?;
        let bytes =
            sequoia_openpgp::serialize::MarshalInto::to_vec(&known.cert).unwrap_or_default();
        Some(signet_proto::formats::hex_lower(&sha2::Sha256::digest(
            bytes,
        )))
    }

    /// Whether `key`'s certificate holds `signer` (its primary key or a subkey): what a
    /// signature checked against it needs to stay checked. Certificates only grow, so this
    /// stays true once it is.
    pub fn signs_with(&self, key: &Fingerprint, signer: &Fingerprint) -> bool {
        self.certs.get(key).is_some_and(|known| {
            known
                .cert
                .keys()
                .any(|k| &cert::to_fingerprint(&k.key().fingerprint()) == signer)
        })
    }

    /// The key's user id, as bound by a valid self-signature; "" when it has none or is unknown.
    pub fn user_id(&self, fpr: &Fingerprint) -> String {
        self.get(fpr)
            .map(|c| c.info.user_id.clone())
            .unwrap_or_default()
    }
}

/// Two copies of one certificate as one, trimmed. Same fingerprint, so merging cannot fail;
/// what is held is kept if it somehow does.
pub fn merge(held: Cert, copy: Cert) -> Cert {
    match held.clone().merge_public(copy) {
        Ok(merged) => trim(merged),
        Err(e) => {
            tracing::warn!(key = %held.fingerprint(), "could not merge a copy of the certificate: {e}");
            held
        }
    }
}

/// The parts of a certificate a verdict needs, bounded (see the module's documentation).
pub fn trim(cert: Cert) -> Cert {
    let cert = cert.strip_secret_key_material();
    // Each user id is looked at once (its own binding signature): validating the certificate
    // as a whole per user id costs the square of their number, which padding makes large.
    let mut bound: Vec<(bool, sequoia_openpgp::packet::UserID)> = cert
        .userids()
        .filter_map(|ua| {
            let binding = ua.binding_signature(&POLICY, None).ok()?;
            Some((binding.primary_userid() == Some(true), ua.userid().clone()))
        })
        .collect();
    // The primary user id first, so that it is never the one dropped.
    bound.sort_by_key(|(primary, _)| !primary);
    bound.truncate(MAX_USER_IDS);
    let bound: Vec<_> = bound.into_iter().map(|(_, uid)| uid).collect();
    let newest = |sigs: &mut dyn Iterator<Item = &sequoia_openpgp::packet::Signature>| {
        let mut sigs: Vec<_> = sigs.cloned().collect();
        sigs.sort_by_key(|s| std::cmp::Reverse(s.signature_creation_time()));
        sigs.truncate(MAX_SIGS);
        sigs.into_iter().map(Packet::from)
    };
    let primary = cert.primary_key();
    let mut packets: Vec<Packet> = vec![Packet::from(primary.key().clone())];
    packets.extend(newest(&mut primary.self_signatures()));
    packets.extend(newest(&mut primary.self_revocations()));
    for ua in cert.userids().filter(|ua| bound.contains(ua.userid())) {
        packets.push(Packet::from(ua.userid().clone()));
        packets.extend(newest(&mut ua.self_signatures()));
        packets.extend(newest(&mut ua.self_revocations()));
    }
    let mut subkeys: Vec<_> = cert
        .keys()
        .subkeys()
        .filter(|ka| ka.self_signatures().next().is_some())
        .collect();
    subkeys.sort_by_key(|ka| std::cmp::Reverse(ka.key().creation_time()));
    for ka in subkeys.into_iter().take(MAX_SUBKEYS) {
        packets.push(Packet::from(ka.key().clone()));
        packets.extend(newest(&mut ka.self_signatures()));
        packets.extend(newest(&mut ka.self_revocations()));
    }
    Cert::from_packets(packets.into_iter()).unwrap_or_else(|e| {
        tracing::warn!(key = %cert.fingerprint(), "could not trim the certificate: {e}");
        cert
    })
}

/// The revocations of a [`Keyring`] as they stood: see [`Keyring::revocations`].
#[derive(Debug, Clone, Default)]
pub struct KnownRevocations(BTreeMap<Fingerprint, Revocations>);

impl KnownRevocations {
    /// As [`Keyring::voids`].
    pub fn voids(&self, key: &Fingerprint, signer: &Fingerprint, signed_at: u64) -> bool {
        self.0.get(key).is_some_and(|r| r.voids(signer, signed_at))
    }
}
