//! The shared data formats of `docs/FORMATS.md`: content ids, fingerprints, signed envelopes,
//! attestations and repositories. Pure values; signatures are checked by the daemon.

use std::collections::BTreeMap;
use std::fmt;

use crate::json::{self, Map, Value};

mod parts;
use parts::read_parts;
pub use parts::{PARTS_DIR, PartRef, parse_part, part_value};

/// Format version written in `repo.json`.
pub const REPO_FORMAT_VERSION: &str = "0.0.1";

/// A file's name in Signet: `algorithm:lowercase-hex-digest`.
///
/// `sha256:` is what Signet computes for a file; `sha512:` is npm's (a package-lock.json's
/// `integrity`), attested and verified by id. Ids with other algorithms are kept as they are
/// and never matched against a file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a content id: {why} (expected sha256: and 64 lowercase hex digits, or \
     sha512: and 128)"
)]
pub struct ContentIdError {
    pub input: String,
    pub why: &'static str,
}

impl ContentId {
    pub fn parse(input: &str) -> Result<Self, ContentIdError> {
        let fail = |why| ContentIdError {
            input: input.chars().take(100).collect(),
            why,
        };
        let (algo, digest) = input.split_once(':').ok_or_else(|| fail("no ':'"))?;
        if algo.is_empty()
            || !algo
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(fail("the algorithm must be lowercase letters and digits"));
        }
        if digest.is_empty()
            || !digest
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(fail("the digest must be lowercase hex"));
        }
        if algo == "sha256" && digest.len() != 64 {
            return Err(fail("a sha256 digest has 64 hex digits"));
        }
        if algo == "sha512" && digest.len() != 128 {
            return Err(fail("a sha512 digest has 128 hex digits"));
        }
        if algo == TREE_ALGORITHM && digest.len() != 64 {
            return Err(fail("a treesha256 digest has 64 hex digits"));
        }
        Ok(ContentId(input.to_owned()))
    }

    /// The id of a sha256 digest.
    pub fn sha256(digest: &[u8; 32]) -> Self {
        ContentId(format!("sha256:{}", hex_lower(digest)))
    }

    /// The id of a whole tree: the sha256 of its summary (see [`tree_summary_line`]).
    pub fn tree_sha256(digest: &[u8; 32]) -> Self {
        ContentId(format!("{TREE_ALGORITHM}:{}", hex_lower(digest)))
    }

    /// Whether this names a whole tree rather than one file's bytes.
    pub fn is_tree(&self) -> bool {
        self.0.starts_with(TREE_ALGORITHM)
            && self.0.as_bytes().get(TREE_ALGORITHM.len()) == Some(&b':')
    }

    /// The id of a sha512 digest (npm's `integrity` names a package's tarball by it).
    pub fn sha512(digest: &[u8; 64]) -> Self {
        ContentId(format!("sha512:{}", hex_lower(digest)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for ContentId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for ContentId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ContentId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The algorithm of a tree's id (docs/FORMATS.md, "Trees"): Go's dirhash `Hash1` (go.sum's
/// `h1:`) in hex.
pub const TREE_ALGORITHM: &str = "treesha256";

/// One line of a tree's summary, for the file at `name` (relative, `/`-separated) whose id is
/// `file` (a `sha256:`): `HEX  NAME\n`, as `sha256sum` prints it and Go's dirhash writes it.
/// The tree's id is the sha256 of its lines in byte order of the names.
pub fn tree_summary_line(file: &ContentId, name: &str) -> String {
    let hex = file
        .as_str()
        .strip_prefix("sha256:")
        .unwrap_or(file.as_str());
    format!("{hex}  {name}\n")
}

pub fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// An OpenPGP certificate's primary-key fingerprint: 40 (v4) or 64 (v6) uppercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a full fingerprint (40 or 64 uppercase hex digits)")]
pub struct FingerprintError(pub String);

impl Fingerprint {
    /// Parses a fingerprint exactly as the formats write it.
    pub fn parse(input: &str) -> Result<Self, FingerprintError> {
        let hex = input
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F'));
        if hex && (input.len() == 40 || input.len() == 64) {
            Ok(Fingerprint(input.to_owned()))
        } else {
            Err(FingerprintError(input.chars().take(100).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last 8 hex digits, as people write key ids (`B32780D9`).
    pub fn short(&self) -> &str {
        &self.0[self.0.len() - 8..]
    }
}

impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Fingerprint::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key as a person typed it: a fingerprint or a suffix of one, any case, `0x` and spaces
/// allowed. Matches fingerprints by suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyQuery(String);

/// Why text is not a key id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a key id: give the key's fingerprint, or its last 16 or more hex digits (`0x` \
     and spaces allowed; 8 are enough to name a key Signet knows, except to trust it)"
)]
pub struct KeyQueryError(pub String);

impl KeyQuery {
    /// Hex digits a key must be named by before your trust goes to it: 16, a 64-bit key id.
    /// Eight (a 32-bit id) can be matched by a key made for the purpose in seconds.
    pub const TRUST_DIGITS: usize = 16;

    /// Whether the query names a key by enough digits to trust it ([`Self::TRUST_DIGITS`]).
    pub fn long_enough_to_trust(&self) -> bool {
        self.0.len() >= Self::TRUST_DIGITS
    }

    pub fn parse(input: &str) -> Result<Self, KeyQueryError> {
        let trimmed = input.trim();
        let trimmed = trimmed
            .strip_prefix("0x")
            .or_else(|| trimmed.strip_prefix("0X"))
            .unwrap_or(trimmed);
        let hex: String = trimmed
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if hex.len() >= 8 && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(KeyQuery(hex))
        } else {
            Err(KeyQueryError(input.chars().take(100).collect()))
        }
    }

    pub fn matches(&self, fpr: &Fingerprint) -> bool {
        fpr.as_str().ends_with(&self.0)
    }

    /// The query as a full fingerprint, when it is one.
    pub fn as_fingerprint(&self) -> Option<Fingerprint> {
        Fingerprint::parse(&self.0).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a document does not have the shape the formats require.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    #[error("not valid JSON: {0}")]
    Json(#[from] json::ParseError),
    #[error("`{field}` is missing")]
    Missing { field: &'static str },
    #[error("`{field}` must be {expected}, found {found}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
        found: &'static str,
    },
    #[error("`key`: {0}")]
    Key(#[from] FingerprintError),
    #[error(transparent)]
    Id(#[from] ContentIdError),
    #[error("`serial` must be a non-negative integer below 2^64")]
    Serial,
    #[error("`parts`: {0}")]
    Parts(String),
}

fn field<'a>(map: &'a Map, name: &'static str) -> Result<&'a Value, FormatError> {
    map.get(name).ok_or(FormatError::Missing { field: name })
}

fn str_field<'a>(map: &'a Map, name: &'static str) -> Result<&'a str, FormatError> {
    let v = field(map, name)?;
    v.as_str().ok_or(FormatError::WrongType {
        field: name,
        expected: "a string",
        found: v.kind(),
    })
}

fn object_of(value: Value, name: &'static str) -> Result<Map, FormatError> {
    match value {
        Value::Object(m) => Ok(m),
        other => Err(FormatError::WrongType {
            field: name,
            expected: "an object",
            found: other.kind(),
        }),
    }
}

/// A signed JSON object `{data, key, sig}`: the form of both attestations and repositories.
/// The signature has not been checked by virtue of holding one of these.
#[derive(Debug, Clone, PartialEq)]
pub struct Signed {
    pub data: Value,
    pub key: Fingerprint,
    /// Base64 of a detached OpenPGP signature over `data.canonical()`, as found.
    pub sig: String,
}

impl Signed {
    pub fn from_value(value: Value) -> Result<Self, FormatError> {
        let mut map = object_of(value, "the envelope")?;
        let key = Fingerprint::parse(str_field(&map, "key")?)?;
        let sig = str_field(&map, "sig")?.to_owned();
        let data = map
            .remove("data")
            .ok_or(FormatError::Missing { field: "data" })?;
        Ok(Signed { data, key, sig })
    }

    /// The same envelope with `data` kept as canonical text.
    pub fn compact(self) -> Self {
        match self.data {
            Value::Canonical(_) => self,
            tree => Signed {
                data: Value::Canonical(tree.canonical().into_boxed_str()),
                ..self
            },
        }
    }

    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("data".into(), self.data.clone());
        map.insert("key".into(), self.key.as_str().into());
        map.insert("sig".into(), self.sig.as_str().into());
        Value::Object(map)
    }

    /// The bytes the signature is over.
    pub fn signed_bytes(&self) -> String {
        self.data.canonical()
    }

    /// `data` as a tree, parsing it if it is kept compact.
    pub fn data_tree(&self) -> Result<std::borrow::Cow<'_, Value>, FormatError> {
        match &self.data {
            Value::Canonical(text) => Ok(std::borrow::Cow::Owned(json::parse(text.as_bytes())?)),
            tree => Ok(std::borrow::Cow::Borrowed(tree)),
        }
    }
}

/// What an attestation says, read from its `data`. Unknown fields stay in the `Signed` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub id: ContentId,
    /// The verdict: a JSON boolean, never inferred from anything else (`"ok": 1` or a missing
    /// `ok` makes the attestation malformed, not "not ok").
    pub ok: bool,
    /// `None` when the attestation does not say.
    pub reviewed: Option<bool>,
    pub comment: Option<String>,
    pub about: About,
}

/// What a word is about beyond its bytes (docs/FORMATS.md, "Subject and criteria"): the
/// package it names and the review criteria it meets. Both optional, both signed; the
/// reference implementation keeps them as the unknown fields they are to it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct About {
    /// A purl-like package name: `crates.io/serde@1.0.200`, `npm/is-number@7.0.0`.
    pub subject: Option<String>,
    /// The criteria the review meets: `safe-to-run`, `safe-to-deploy` (cargo-vet's), or a
    /// team's own names.
    pub criteria: Vec<String>,
}

/// Why a subject or a criterion cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AboutError(String);

impl About {
    pub const MAX_SUBJECT: usize = 200;
    pub const MAX_CRITERIA: usize = 16;

    /// Checks a subject and criteria before they are signed: a subject is printable text
    /// without spaces (`ecosystem/name@version`), a criterion lowercase letters, digits and
    /// `-`; repeated criteria are kept once.
    pub fn new(subject: Option<String>, criteria: Vec<String>) -> Result<About, AboutError> {
        if let Some(s) = &subject
            && (s.is_empty()
                || s.len() > Self::MAX_SUBJECT
                || s.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(AboutError(format!(
                "{:?} is not a subject: up to {} characters without spaces, such as \
                 crates.io/serde@1.0.200",
                crate::text::shown(&s.chars().take(100).collect::<String>()),
                Self::MAX_SUBJECT
            )));
        }
        let mut kept: Vec<String> = Vec::new();
        for c in criteria {
            let fits = !c.is_empty()
                && c.len() <= 64
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !fits {
                return Err(AboutError(format!(
                    "{:?} is not a criterion: lowercase letters, digits and '-', such as \
                     safe-to-deploy",
                    crate::text::shown(&c.chars().take(100).collect::<String>())
                )));
            }
            if !kept.contains(&c) {
                kept.push(c);
            }
        }
        if kept.len() > Self::MAX_CRITERIA {
            return Err(AboutError(format!(
                "{} criteria: at most {} in one word",
                kept.len(),
                Self::MAX_CRITERIA
            )));
        }
        Ok(About {
            subject,
            criteria: kept,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.subject.is_none() && self.criteria.is_empty()
    }

    /// Whether the word meets `wanted`: every criterion named, where `safe-to-deploy` meets
    /// `safe-to-run` as well (cargo-vet's implication).
    pub fn meets(&self, wanted: &[String]) -> bool {
        wanted.iter().all(|w| {
            self.criteria.contains(w)
                || (w == "safe-to-run" && self.criteria.iter().any(|c| c == "safe-to-deploy"))
        })
    }
}

/// Largest `data` of one attestation, in canonical bytes. The reference writes four short
/// fields; a comment is a sentence or a paragraph. Anything larger is refused as malformed, so
/// that one attestation cannot be made to cost megabytes in every answer that shows it.
pub const MAX_ATTESTATION_DATA: usize = 16 * 1024;

impl Statement {
    /// Reads the statement of an attestation's `data`.
    pub fn read(data: &Value) -> Result<Self, FormatError> {
        let map = data.as_object().ok_or(FormatError::WrongType {
            field: "data",
            expected: "an object",
            found: data.kind(),
        })?;
        let id = ContentId::parse(str_field(map, "id")?)?;
        let optional =
            |name: &'static str, expected: &'static str, fits: fn(&Value) -> bool| match map
                .get(name)
            {
                Some(v) if !fits(v) => Err(FormatError::WrongType {
                    field: name,
                    expected,
                    found: v.kind(),
                }),
                v => Ok(v),
            };
        let ok = optional("ok", "a boolean", |v| v.as_bool().is_some())?
            .and_then(Value::as_bool)
            .ok_or(FormatError::Missing { field: "ok" })?;
        let reviewed =
            optional("reviewed", "a boolean", |v| v.as_bool().is_some())?.and_then(Value::as_bool);
        let comment = optional("comment", "a string", |v| v.as_str().is_some())?
            .and_then(Value::as_str)
            .map(str::to_owned);
        let subject = optional("subject", "a string", |v| v.as_str().is_some())?
            .and_then(Value::as_str)
            .map(str::to_owned);
        let texts = |v: &Value| matches!(v, Value::Array(items) if items.iter().all(|i| i.as_str().is_some()));
        let criteria = match optional("criteria", "a list of strings", texts)? {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        Ok(Statement {
            id,
            ok,
            reviewed,
            comment,
            about: About { subject, criteria },
        })
    }

    /// The `data` that `sig attest` writes: these four fields, `comment` only when not empty.
    pub fn to_data(id: &ContentId, ok: bool, reviewed: bool, comment: &str) -> Value {
        Self::to_data_about(id, ok, reviewed, comment, &About::default())
    }

    /// The `data` of a word with a subject or criteria: the four fields and those given.
    pub fn to_data_about(
        id: &ContentId,
        ok: bool,
        reviewed: bool,
        comment: &str,
        about: &About,
    ) -> Value {
        let mut map = Map::new();
        // An empty comment is left out, as the reference leaves it out.
        if !comment.is_empty() {
            map.insert("comment".into(), comment.into());
        }
        if !about.criteria.is_empty() {
            let list = about.criteria.iter().map(|c| c.as_str().into()).collect();
            map.insert("criteria".into(), Value::Array(list));
        }
        map.insert("id".into(), id.as_str().into());
        map.insert("ok".into(), ok.into());
        map.insert("reviewed".into(), reviewed.into());
        if let Some(subject) = &about.subject {
            map.insert("subject".into(), subject.as_str().into());
        }
        Value::Object(map)
    }
}

/// The contents of a repository: the `data` of `repo.json`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RepoContents {
    /// Attestations filed under each content id, in file order.
    pub attestations: BTreeMap<String, Vec<Signed>>,
    pub serial: u64,
    /// RFC 3339 UTC time of the last write, when the writer recorded it.
    pub updated: Option<String>,
    /// The large-publisher layout (docs/FORMATS.md, "Parts"): the part files holding the
    /// attestations beside `attestations`, each named by its digest. Empty in the seed format,
    /// and once a reader has put the parts' attestations into `attestations`.
    pub parts: Vec<PartRef>,
    /// Fields Signet does not know, kept so that a re-signed repository still carries them.
    pub extra: Map,
}

/// Reads a map of attestation lists by the id they are filed under (`repo.json`'s
/// `attestations`, or a part's). Malformed entries go to `skipped`.
pub fn read_attestations(
    listed: Value,
    skipped: &mut Vec<Skipped>,
) -> Result<BTreeMap<String, Vec<Signed>>, FormatError> {
    let mut attestations = BTreeMap::new();
    for (filed_under, list) in object_of(listed, "attestations")? {
        let Value::Array(items) = list else {
            skipped.push(Skipped {
                filed_under,
                why: format!("expected a list of attestations, found {}", list.kind()),
            });
            continue;
        };
        let mut kept = Vec::with_capacity(items.len());
        for item in items {
            // Kept compact (see `parse_signed_repo`): the envelope is parsed here, one at a
            // time, and its `data` kept as canonical text until it is read.
            let item = match item {
                Value::Canonical(text) => match json::parse(text.as_bytes()) {
                    Ok(tree) => tree,
                    Err(e) => {
                        skipped.push(Skipped {
                            filed_under: filed_under.clone(),
                            why: e.to_string(),
                        });
                        continue;
                    }
                },
                tree => tree,
            };
            match Signed::from_value(item).map(Signed::compact) {
                Ok(signed) => kept.push(signed),
                Err(e) => skipped.push(Skipped {
                    filed_under: filed_under.clone(),
                    why: e.to_string(),
                }),
            }
        }
        attestations.insert(filed_under, kept);
    }
    Ok(attestations)
}

/// Ways a repository's attestations can be malformed without the repository being so.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub filed_under: String,
    pub why: String,
}

impl RepoContents {
    /// Reads a repository's `data`. Malformed attestations are returned in `Skipped`, not
    /// fatal: one bad entry must not hide a whole repository.
    pub fn read(data: Value) -> Result<(Self, Vec<Skipped>), FormatError> {
        let mut map = object_of(data, "data")?;
        let serial = match map.remove("serial") {
            None => 0,
            Some(Value::Int(i)) => i.as_u64().ok_or(FormatError::Serial)?,
            Some(_) => return Err(FormatError::Serial),
        };
        let updated = match map.remove("updated") {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                return Err(FormatError::WrongType {
                    field: "updated",
                    expected: "a string",
                    found: other.kind(),
                });
            }
        };
        let listed = map.remove("attestations").ok_or(FormatError::Missing {
            field: "attestations",
        })?;
        let parts = match map.remove("parts") {
            Some(value) => read_parts(value)?,
            None => Vec::new(),
        };
        let mut skipped = Vec::new();
        let attestations = read_attestations(listed, &mut skipped)?;
        // `version` is kept among the extras and rewritten on each write.
        map.remove("version");
        Ok((
            RepoContents {
                attestations,
                serial,
                updated,
                parts,
                extra: map,
            },
            skipped,
        ))
    }

    /// The `data` to sign for this repository.
    pub fn to_data(&self) -> Value {
        let mut map = self.extra.clone();
        let attestations: Map = self
            .attestations
            .iter()
            .map(|(id, list)| {
                (
                    id.clone(),
                    Value::Array(list.iter().map(Signed::to_value).collect()),
                )
            })
            .collect();
        map.insert("attestations".into(), Value::Object(attestations));
        if !self.parts.is_empty() {
            let parts = self.parts.iter().map(PartRef::to_value).collect();
            map.insert("parts".into(), Value::Array(parts));
        }
        map.insert("serial".into(), self.serial.into());
        if let Some(updated) = &self.updated {
            map.insert("updated".into(), updated.as_str().into());
        }
        map.insert("version".into(), REPO_FORMAT_VERSION.into());
        Value::Object(map)
    }

    /// The serial and the parts of a repository's `data`, read without its attestations (a
    /// follower decides from them what to fetch).
    pub fn read_top(data: &Value) -> Result<(u64, Vec<PartRef>), FormatError> {
        let map = data.as_object().ok_or(FormatError::WrongType {
            field: "data",
            expected: "an object",
            found: data.kind(),
        })?;
        let serial = match map.get("serial") {
            None => 0,
            Some(Value::Int(i)) => i.as_u64().ok_or(FormatError::Serial)?,
            Some(_) => return Err(FormatError::Serial),
        };
        let parts = match map.get("parts") {
            Some(value) => read_parts(value.clone())?,
            None => Vec::new(),
        };
        Ok((serial, parts))
    }

    pub fn count(&self) -> usize {
        self.attestations.values().map(Vec::len).sum()
    }
}

/// Whether a `repo.json` certainly names no parts (docs/FORMATS.md, "Parts"): a quick look at
/// the keys of its `data` that builds nothing of the rest, so that a large repository in the
/// seed format is not parsed whole just to learn it has no parts to download. `false` when it
/// names parts or when the look cannot tell (text that is not JSON, duplicate keys, nesting
/// too deep): the full parse then decides.
pub fn names_no_parts(bytes: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Envelope {
        data: Top,
    }
    #[derive(serde::Deserialize)]
    struct Top {
        /// Whether `parts` is there at all, whatever its value (`null` included).
        #[serde(default, deserialize_with = "present")]
        parts: bool,
    }
    fn present<'de, D: serde::Deserializer<'de>>(value: D) -> Result<bool, D::Error> {
        serde::Deserialize::deserialize(value).map(|_: serde::de::IgnoredAny| true)
    }
    matches!(
        serde_json::from_slice::<Envelope>(bytes),
        Ok(Envelope {
            data: Top { parts: false }
        })
    )
}

/// Parses the text of a signed document (`repo.json`, or an attestation).
pub fn parse_signed(bytes: &[u8]) -> Result<Signed, FormatError> {
    Signed::from_value(json::parse(bytes)?)
}

/// Parses `repo.json`, keeping each attestation as its canonical text rather than a tree, so
/// that a repository costs about its size in memory however it is made up.
pub fn parse_signed_repo(bytes: &[u8]) -> Result<Signed, FormatError> {
    // Levels: the envelope, `data`, `attestations`, one id's list, one attestation.
    Signed::from_value(json::parse_compact(bytes, 5)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_look_tells_a_whole_repository_from_one_in_parts() {
        let whole = br#"{"data": {"attestations": {"sha256:00": [{"data": {"parts": 1}}]}, "serial": 2}, "key": "k", "sig": "s"}"#;
        assert!(
            names_no_parts(whole),
            "a word's own fields are not the top's"
        );
        for unsure in [
            &br#"{"data": {"parts": [], "serial": 2}, "key": "k", "sig": "s"}"#[..],
            br#"{"data": {"p\u0061rts": [{"sha256": "00"}]}, "key": "k", "sig": "s"}"#,
            br#"{"data": {"parts": null}, "key": "k", "sig": "s"}"#,
            br#"{"data": {"parts": null, "parts": [1]}}"#,
            br#"{"data": [1, 2]}"#,
            br#"{"dat"#,
            b"not json",
        ] {
            assert!(
                !names_no_parts(unsure),
                "{} taken for the seed format",
                String::from_utf8_lossy(unsure)
            );
        }
    }

    #[test]
    fn content_ids() {
        let id = ContentId::sha256(&[0xab; 32]);
        assert_eq!(id.as_str(), format!("sha256:{}", "ab".repeat(32)));
        assert_eq!(ContentId::parse(id.as_str()).unwrap(), id);
        let npm = ContentId::sha512(&[0xcd; 64]);
        assert_eq!(ContentId::parse(npm.as_str()).unwrap(), npm);
        assert!(
            ContentId::parse("sha384:00ff").is_ok(),
            "other algorithms are kept"
        );
        for bad in [
            "",
            "sha256",
            "sha256:ABCD",
            "sha256:abc",
            "SHA256:00",
            ":00",
            "sha256:",
            "sha512:00ff",
        ] {
            assert!(ContentId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn key_queries_match_by_suffix() {
        let fpr = Fingerprint::parse("DFDD705124843F878C6183EBD8C1B99DB32780D9").unwrap();
        assert_eq!(fpr.short(), "B32780D9");
        for q in [
            "B32780D9",
            "0xb32780d9",
            "D8C1 B99D B327 80D9",
            "DFDD705124843F878C6183EBD8C1B99DB32780D9",
        ] {
            assert!(KeyQuery::parse(q).unwrap().matches(&fpr), "{q}");
        }
        assert!(!KeyQuery::parse("B32780D8").unwrap().matches(&fpr));
        assert!(KeyQuery::parse("B327").is_err(), "too short to name a key");
        assert!(KeyQuery::parse("xyz12345").is_err());
        assert!(Fingerprint::parse("dfdd705124843f878c6183ebd8c1b99db32780d9").is_err());
    }

    /// The compact parse keeps attestations as text: the same canonical bytes, the same
    /// contents once read, every strictness rule inside them.
    #[test]
    fn a_compact_repository_reads_as_the_full_one() {
        let text = r#"{"data": {"attestations": {"sha256:00": [{"data": {"id": "sha256:00", "ok": true, "x": [1.5, {"b": "\u00e9", "a": null}]}, "key": "DFDD705124843F878C6183EBD8C1B99DB32780D9", "sig": "AA=="}, {"bad": 1}]}, "serial": 3, "version": "0.0.1"}, "key": "DFDD705124843F878C6183EBD8C1B99DB32780D9", "sig": "x"}"#;
        let full = parse_signed(text.as_bytes()).unwrap();
        let compact = parse_signed_repo(text.as_bytes()).unwrap();
        assert_eq!(full.signed_bytes(), compact.signed_bytes());
        let (a, skipped_a) = RepoContents::read(full.data).unwrap();
        let (b, skipped_b) = RepoContents::read(compact.data).unwrap();
        assert_eq!((a.count(), skipped_a.len()), (b.count(), skipped_b.len()));
        assert_eq!(a.to_data().canonical(), b.to_data().canonical());
        let att = &b.attestations["sha256:00"][0];
        assert!(matches!(att.data, Value::Canonical(_)));
        let data = att.data_tree().unwrap();
        assert_eq!(data.as_object().unwrap()["ok"], Value::Bool(true));
        let dup = r#"{"data": {"attestations": {"sha256:00": [{"data": {"id": "sha256:00", "id": "sha256:01"}, "key": "K", "sig": "x"}]}}, "key": "K", "sig": "x"}"#;
        assert!(
            parse_signed_repo(dup.as_bytes()).is_err(),
            "duplicate keys inside are refused"
        );
    }

    #[test]
    fn repository_round_trips_and_keeps_unknown_fields() {
        let text = r#"{"data": {"attestations": {"sha256:00": [{"data": {"id": "sha256:00", "x": [1.5]}, "key": "DFDD705124843F878C6183EBD8C1B99DB32780D9", "sig": "AA=="}, {"bad": 1}]}, "version": "0.0.1", "future": {"a": 1}}, "key": "DFDD705124843F878C6183EBD8C1B99DB32780D9", "sig": "x"}"#;
        let signed = parse_signed(text.as_bytes()).unwrap();
        let original = signed.data.canonical();
        let (contents, skipped) = RepoContents::read(signed.data).unwrap();
        assert_eq!(contents.serial, 0, "no serial reads as 0");
        assert_eq!(skipped.len(), 1);
        assert_eq!(contents.count(), 1);
        assert!(contents.extra.contains_key("future"));
        let mut again = contents.to_data();
        again.as_object().unwrap();
        if let Value::Object(m) = &mut again {
            m.remove("serial");
        }
        // Apart from the dropped bad entry and the added serial, the data is what was read.
        assert!(original.contains(r#""future": {"a": 1}"#));
        assert!(again.canonical().contains(r#""future": {"a": 1}"#));
        assert!(again.canonical().contains(r#""x": [1.5]"#));
    }
}
