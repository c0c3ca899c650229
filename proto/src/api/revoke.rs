//! `key.revoke`: the owner's word that their key must no longer be relied on, and how a
//! revocation shows beside the words it touches.

use serde::{Deserialize, Serialize};

use super::KeyInfo;

/// Why a key was revoked, as OpenPGP's reason codes say it; what that means for its words.
///
/// OpenPGP (RFC 9580, 5.2.3.31) calls `compromised` and an unspecified or unknown reason
/// *hard*: every signature the key ever made is in doubt, since a thief can date a signature
/// as they like. `superseded` and `retired` are *soft*: signatures made before the revocation
/// stay good, those made from its time on do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RevocationReason {
    Compromised,
    Superseded,
    Retired,
    /// No reason given, or one OpenPGP does not define: hard, failing closed.
    #[default]
    Unspecified,
}

impl RevocationReason {
    /// Every word the key made is void, whenever it was dated.
    pub fn is_hard(self) -> bool {
        matches!(
            self,
            RevocationReason::Compromised | RevocationReason::Unspecified
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Compromised => "compromised",
            RevocationReason::Superseded => "superseded",
            RevocationReason::Retired => "retired",
            RevocationReason::Unspecified => "unspecified",
        }
    }
}

/// A key's (or signing subkey's) revocation, as Signet judges by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub reason: RevocationReason,
    /// When it was made (RFC 3339): with a soft reason, words signed from then on are void.
    pub at: String,
    /// The owner's own words about it, as the revocation carries them.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
}

/// `key.revoke`: revoke the home's own key and publish the revocation in `key.asc`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RevokeParams {
    /// Absent: `compromised` for a key Signet holds. A key in GnuPG is revoked by GnuPG, and
    /// its revocation's own reason is published (this must then be absent or the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RevocationReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevokeResult {
    pub key: KeyInfo,
    pub revocation: Revocation,
    /// The key was revoked before this call (the revocation is published again).
    #[serde(default)]
    pub already: bool,
}
