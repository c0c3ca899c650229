//! `trust.*`: your word about keys, and how each key stands in the web of trust it roots
//! (docs/FORMATS.md, "Trust statements").

use serde::{Deserialize, Serialize};

use crate::formats::Fingerprint;
use crate::statements::Trust;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustParams {
    /// A fingerprint or an unambiguous suffix of one (`B32780D9`, `0xB32780D9`).
    pub key: String,
    /// Why, for the record (`trust.add` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `trust.add` only: how much; `medium` when absent, `distrust` for `sig distrust`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Trust>,
    /// `trust.add` only: where the key's repository is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `trust.add` only: publish a trust statement too (absent: the `trust.publish` setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<bool>,
    /// The terminal a GnuPG passphrase prompt may use, when publishing signs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustEntry {
    pub fingerprint: Fingerprint,
    pub user_id: String,
    /// RFC 3339 time it was trusted (or distrusted).
    pub added: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How much its word is worth to you; `distrust` for `sig distrust`. Entries written before
    /// levels existed read as `medium`, which counts under the default `verify.min_level`.
    #[serde(default = "medium")]
    pub level: Trust,
    /// Where its repository is published, followed as a discovered remote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Also said in a signed trust statement in your repository, for others to follow.
    #[serde(default)]
    pub published: bool,
}

fn medium() -> Trust {
    Trust::Medium
}

/// `status`'s account of trust.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrustSummary {
    /// Entries of your trust list also published as signed statements in your repository.
    pub published: usize,
    /// Entries kept local.
    pub local: usize,
    /// Keys whose word counts toward verdicts (your own included).
    pub counted: usize,
    /// The `trust.publish` setting: whether `trust.add` publishes when not told.
    pub publish: bool,
    /// Keys the web of trust has numbered for its computation: those the statements held name,
    /// yours, and some slack (the numbering is compacted as statements go).
    #[serde(default)]
    pub keys_numbered: usize,
}

/// How a key stands in your web of trust (`trust.why`, `trust.list` with `all`, and beside
/// each attestation `verify` shows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyStanding {
    pub fingerprint: Fingerprint,
    pub user_id: String,
    /// `ultimate` for your own keys; else the best level of its paths. Absent: not trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<EffectiveLevel>,
    /// Its word counts toward verdicts: its level is at least `verify.min_level`.
    pub counts: bool,
    /// The path that gives it its level, from the key you trust directly, each key with the
    /// level said of it on the way: you → Alice (high) → Bob (medium).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<PathStep>,
    /// Why its word does not count, when it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why_not: Option<WhyNot>,
    /// The distrusts of it by keys in your web, whether or not they cut anything, strongest
    /// first (at most 16): always shown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub distrusted_by: Vec<DistrustSeen>,
    /// Distrusts of it not listed: beyond those 16, or by keys outside your web (whose
    /// distrust weighs nothing).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub other_distrusts: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A key's effective trust level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EffectiveLevel {
    None,
    Low,
    Medium,
    High,
    /// Your own keys.
    Ultimate,
}

/// One hop of a trust path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathStep {
    pub fingerprint: Fingerprint,
    pub user_id: String,
    /// The level said of this key by the one before it (or by you); for a successor, the
    /// level it takes over.
    pub level: Trust,
    /// The key before it is its predecessor: a key rotation both keys signed, so it stands
    /// where its predecessor stood.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub successor: bool,
}

/// Why a key's word does not count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum WhyNot {
    /// No key you trust vouches for it.
    NoPath,
    /// Keys you trust vouch for it, but further than `trust.max_depth` hops.
    TooDeep { depth: u8, max_depth: u8 },
    /// Trusted, but below `verify.min_level`.
    BelowMinLevel { min_level: Trust },
    /// You distrust it yourself.
    DistrustedByYou,
    /// Every path to it is no stronger than the trust of a key that distrusts it.
    Distrusted {
        by: Fingerprint,
        by_user_id: String,
        /// The distruster's own level: paths no stronger than this were cut.
        at: Trust,
    },
    /// Its certificate is revoked.
    Revoked,
    /// The project's policy (`signet.toml`) does not name it.
    NotInPolicy,
}

/// A distrust of a key, by a key in your web.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistrustSeen {
    pub by: Fingerprint,
    pub by_user_id: String,
    /// The distruster's own effective level: only distrusts by keys in your web are listed.
    pub at: EffectiveLevel,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustWhyParams {
    /// A fingerprint or an unambiguous suffix of one.
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrustListParams {
    /// Every key the web knows of, with its standing, besides your own trust list.
    #[serde(default)]
    pub all: bool,
    /// With `all`: where in the web's list this page starts (`next` of the page before).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: usize,
    /// With `all`: at most this many keys of the web in one answer (default and most:
    /// [`TrustListParams::PAGE`]), so that a web of a million keys is answered page by page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl TrustListParams {
    /// Keys of the web in one answer, at most.
    pub const PAGE: usize = 1_000;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustChange {
    pub entry: TrustEntry,
    /// False when the key was already trusted (`add`); `remove` of an untrusted key is an error.
    pub changed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustListResult {
    pub trusted: Vec<TrustEntry>,
    /// With `all`: the keys the web knows of (your own, those trusted statements name, those
    /// whose attestations were fetched), strongest first — counting, then by level, then
    /// nearest, then by fingerprint — this page of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub web: Vec<KeyStanding>,
    /// With `all`: how many keys the web knows of, over all pages.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub web_total: usize,
    /// With `all`: the `offset` of the next page, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<usize>,
}
