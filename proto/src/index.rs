//! The public index's HTTP API (`docs/INDEX.md`): what `signet-index` answers and what a
//! client reads. Every attestation travels as it was signed (`data`, `key`, `sig` verbatim)
//! with the certificates to check it, so a client believes nothing the index says about it:
//! it checks every signature itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Most ids asked in one `POST /v1/ids`.
pub const MAX_IDS_PER_REQUEST: usize = 1000;
/// Most attestations answered for one id (then `more`, and `after` to page on).
pub const MAX_PER_ID: usize = 200;
/// Most entries of a page of repositories or of a key's attestations.
pub const MAX_PAGE: usize = 500;

/// `POST /v1/repositories`: a repository to crawl, by its base URL (where `repo.json` and
/// `key.asc` are).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    pub url: String,
}

/// The answer to a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    /// The URL as the index keeps it (normalised: ending in `/`).
    pub url: String,
    /// False when the index knew it already.
    pub new: bool,
}

/// One attestation as the index holds it: the signed envelope, where it was found and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Found {
    /// The envelope as published: `{"data": …, "key": …, "sig": …}`, as text (read with the
    /// formats' strict parser, never re-encoded on the way).
    pub attestation: Box<serde_json::value::RawValue>,
    /// The repository it was found in.
    pub repository: String,
    /// When the index first saw it (seconds since the Unix epoch).
    pub seen: u64,
}

/// Every attestation about one content id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdAnswer {
    pub id: String,
    pub attestations: Vec<Found>,
    /// More than [`MAX_PER_ID`] are held: ask again with `after` set to the last key shown.
    #[serde(default)]
    pub more: bool,
}

/// `GET /v1/ids/ID` and `POST /v1/ids`: the answers, and the certificate of every key that
/// signed one of them, armored, as the index keeps it (merged from every copy it saw: it
/// only grows, revocations included).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lookup {
    pub results: Vec<IdAnswer>,
    pub certificates: BTreeMap<String, String>,
}

/// `POST /v1/ids`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdsQuery {
    pub ids: Vec<String>,
}

/// `GET /v1/keys/FPR`: a key's certificate and its attestations, a page at a time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyAnswer {
    pub fingerprint: String,
    pub certificate: Option<String>,
    pub attestations: Vec<Found>,
    /// The content id to ask `after` for the next page, if there is one.
    #[serde(default)]
    pub next: Option<String>,
}

/// One repository the index crawls, as `GET /v1/repositories` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    pub url: String,
    /// How it came in: `submitted`, `discovered` (a trust statement named it) or `peer`.
    pub source: String,
    /// The key it is pinned to, once a copy was accepted.
    pub key: Option<String>,
    pub serial: Option<u64>,
    pub attestations: u64,
    pub last_success: Option<String>,
    pub last_error: Option<String>,
    /// Why the index stopped crawling it (it turned hostile: rollback, equivocation, another
    /// key), if it did.
    pub dropped: Option<String>,
}

/// A page of repositories, in URL order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repositories {
    pub repositories: Vec<Repository>,
    /// The URL to ask `after` for the next page, if there is one.
    pub next: Option<String>,
}

/// `GET /v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub ok: bool,
    pub engine: String,
    pub repositories: u64,
    pub attestations: u64,
    pub keys: u64,
}
