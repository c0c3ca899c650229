//! `trust.json`: the fingerprints whose word counts, with when and why.

use serde::{Deserialize, Serialize};
use signet_proto::api::TrustEntry;
use signet_proto::formats::Fingerprint;

pub const TRUST_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustFile {
    pub version: u32,
    pub trusted: Vec<TrustEntry>,
}

impl Default for TrustFile {
    fn default() -> Self {
        TrustFile {
            version: TRUST_FORMAT_VERSION,
            trusted: Vec::new(),
        }
    }
}

impl TrustFile {
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let file: TrustFile = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if file.version != TRUST_FORMAT_VERSION {
            return Err(format!(
                "version {} is not one this signetd reads ({TRUST_FORMAT_VERSION})",
                file.version
            ));
        }
        Ok(file)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("trust entries serialize");
        bytes.push(b'\n');
        bytes
    }

    pub fn contains(&self, fpr: &Fingerprint) -> bool {
        self.trusted.iter().any(|e| &e.fingerprint == fpr)
    }
}
