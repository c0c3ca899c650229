//! The certificates Signet knows: the user's own and each remote owner's. Known is not trusted.

use std::collections::BTreeMap;

use sequoia_openpgp::Cert;
use signet_proto::api::KeyInfo;
use signet_proto::formats::{Fingerprint, KeyQuery};

use crate::index::Source;
use crate::keys;

#[derive(Debug, Clone)]
pub struct KnownCert {
    pub cert: Cert,
    pub info: KeyInfo,
    pub source: Source,
}

#[derive(Debug, Default, Clone)]
pub struct Keyring {
    certs: BTreeMap<Fingerprint, KnownCert>,
}

impl Keyring {
    /// Adds or updates a certificate. The user's own key is never displaced by a remote's copy.
    pub fn insert(&mut self, cert: Cert, source: Source) {
        let info = keys::key_info(&cert);
        if let Some(existing) = self.certs.get(&info.fingerprint)
            && existing.source == Source::Own
            && source != Source::Own
        {
            return;
        }
        self.certs
            .insert(info.fingerprint.clone(), KnownCert { cert, info, source });
    }

    pub fn remove_source(&mut self, source: &Source) {
        self.certs.retain(|_, c| &c.source != source);
    }

    pub fn get(&self, fpr: &Fingerprint) -> Option<&KnownCert> {
        self.certs.get(fpr)
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

    /// A digest of which certificates are known: a check of attestations done with one keyring
    /// holds for another with the same digest.
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

    pub fn user_id(&self, fpr: &Fingerprint) -> String {
        self.get(fpr)
            .map(|c| c.info.user_id.clone())
            .unwrap_or_default()
    }
}
