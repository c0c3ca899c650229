//! Trust statements (docs/FORMATS.md, "Trust statements"): an attestation whose `data.id` names
//! a key (`openpgp:FINGERPRINT`) instead of a file, saying how much that key's word is worth.
//! Signed, filed and fetched like any attestation; the reference implementation never looks
//! them up (it looks attestations up by a file's content id).

use crate::formats::Fingerprint;
use crate::json::{Map, Value};

/// What every key id in a statement's `data.id` begins with.
pub const KEY_ID_PREFIX: &str = "openpgp:";

/// How much a key's word is worth, as a statement says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    High,
    Medium,
    Low,
    /// Known, but its word counts for nothing and it vouches for no one.
    None,
    Distrust,
}

impl Trust {
    pub fn as_str(self) -> &'static str {
        match self {
            Trust::High => "high",
            Trust::Medium => "medium",
            Trust::Low => "low",
            Trust::None => "none",
            Trust::Distrust => "distrust",
        }
    }

    pub fn parse(text: &str) -> Option<Trust> {
        [
            Trust::High,
            Trust::Medium,
            Trust::Low,
            Trust::None,
            Trust::Distrust,
        ]
        .into_iter()
        .find(|t| t.as_str() == text)
    }
}

impl serde::Serialize for Trust {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Trust {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Trust::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{text:?} is not a trust level: high, medium, low, none or distrust"
            ))
        })
    }
}

impl std::fmt::Display for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str()) // widths and alignment apply
    }
}

/// A key rotation, as each of its two keys says it (docs/FORMATS.md, "Key rotation").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Succession {
    /// Said by the old key of the new one: "this is my successor".
    Successor,
    /// Said by the new key of the old one: "this is the key I succeed".
    Predecessor,
}

impl Succession {
    pub fn as_str(self) -> &'static str {
        match self {
            Succession::Successor => "successor",
            Succession::Predecessor => "predecessor",
        }
    }

    pub fn parse(text: &str) -> Option<Succession> {
        [Succession::Successor, Succession::Predecessor]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A trust statement's signed `data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustStatement {
    pub key: Fingerprint,
    pub trust: Trust,
    /// Where that key's repository is published.
    pub url: Option<String>,
    pub comment: String,
    /// Half of a key rotation: the statement's key and `key` are one person's old and new key.
    pub succession: Option<Succession>,
    /// The signer takes back what it said of `key` (written with `trust: none`): no word at
    /// all, but a newer one than the statement it replaces, so that a copy of that statement
    /// replayed from anywhere stays superseded.
    pub withdrawn: bool,
}

/// Why a statement's `data` is not a trust statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a trust statement: {0}")]
pub struct StatementError(String);

impl TrustStatement {
    /// The `data.id` (and the key in `repo.json`'s attestations) of a statement about `key`.
    pub fn id_of(key: &Fingerprint) -> String {
        format!("{KEY_ID_PREFIX}{key}")
    }

    /// Whether an attestation's id names a key rather than a file.
    pub fn is_key_id(id: &str) -> bool {
        id.starts_with(KEY_ID_PREFIX)
    }

    pub fn to_data(&self) -> Value {
        let mut data = Map::new();
        data.insert("comment".into(), Value::String(self.comment.clone()));
        data.insert("id".into(), Value::String(Self::id_of(&self.key)));
        data.insert("trust".into(), Value::String(self.trust.as_str().into()));
        if let Some(url) = &self.url {
            data.insert("url".into(), Value::String(url.clone()));
        }
        if let Some(succession) = self.succession {
            data.insert(
                "succession".into(),
                Value::String(succession.as_str().into()),
            );
        }
        if self.withdrawn {
            data.insert("withdrawn".into(), Value::Bool(true));
        }
        Value::Object(data)
    }

    pub fn read(data: &Value) -> Result<Self, StatementError> {
        let bad = |why: &str| StatementError(why.to_owned());
        let data = data
            .as_object()
            .ok_or_else(|| bad("data is not an object"))?;
        let text = |name: &str| data.get(name).and_then(Value::as_str);
        let id = text("id").ok_or_else(|| bad("no id"))?;
        let key = id
            .strip_prefix(KEY_ID_PREFIX)
            .ok_or_else(|| bad("its id does not name a key"))?;
        let key = Fingerprint::parse(key).map_err(|e| StatementError(e.to_string()))?;
        let trust = text("trust")
            .and_then(Trust::parse)
            .ok_or_else(|| bad("trust is not high, medium, low, none or distrust"))?;
        let url = match data.get("url") {
            None => None,
            Some(url) => Some(
                url.as_str()
                    .ok_or_else(|| bad("url is not text"))?
                    .to_owned(),
            ),
        };
        let comment = match data.get("comment") {
            None => String::new(),
            Some(c) => c
                .as_str()
                .ok_or_else(|| bad("comment is not text"))?
                .to_owned(),
        };
        let succession = match data.get("succession") {
            None => None,
            Some(s) => Some(
                s.as_str()
                    .and_then(Succession::parse)
                    .ok_or_else(|| bad("succession is not successor or predecessor"))?,
            ),
        };
        let withdrawn = match data.get("withdrawn") {
            None => false,
            Some(w) => w
                .as_bool()
                .ok_or_else(|| bad("withdrawn is not true or false"))?,
        };
        Ok(TrustStatement {
            key,
            trust,
            url,
            comment,
            succession,
            withdrawn,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_reads_back_and_its_canonical_bytes_are_the_documented_ones() {
        let key = Fingerprint::parse("AECE071157A01D696952D9CCB498BFBE673FB00D").unwrap();
        let s = TrustStatement {
            key: key.clone(),
            trust: Trust::High,
            url: Some("https://bob.example.org/signet/".into()),
            comment: "met at FOSDEM".into(),
            succession: None,
            withdrawn: false,
        };
        let data = s.to_data();
        assert_eq!(TrustStatement::read(&data), Ok(s.clone()));
        assert_eq!(
            data.canonical(),
            format!(
                "{{\"comment\": \"met at FOSDEM\", \"id\": \"openpgp:{key}\", \"trust\": \
                 \"high\", \"url\": \"https://bob.example.org/signet/\"}}"
            )
        );
        assert!(TrustStatement::is_key_id(&TrustStatement::id_of(&key)));
        let rotation = TrustStatement {
            succession: Some(Succession::Successor),
            url: None,
            comment: String::new(),
            ..s
        };
        let data = rotation.to_data();
        assert_eq!(TrustStatement::read(&data), Ok(rotation));
        assert_eq!(
            data.canonical(),
            format!(
                "{{\"comment\": \"\", \"id\": \"openpgp:{key}\", \"succession\": \"successor\", \
                 \"trust\": \"high\"}}"
            )
        );
    }

    #[test]
    fn what_is_not_a_statement_says_why() {
        let fpr = "AECE071157A01D696952D9CCB498BFBE673FB00D";
        for (data, why) in [
            (
                format!(r#"{{"id": "sha256:{}", "trust": "high"}}"#, "0".repeat(64)),
                "name a key",
            ),
            (
                format!(r#"{{"id": "openpgp:{fpr}", "trust": "total"}}"#),
                "trust is not",
            ),
            (
                format!(r#"{{"id": "openpgp:{fpr}", "trust": "low", "url": 3}}"#),
                "url",
            ),
            (
                r#"{"id": "openpgp:XYZ", "trust": "low"}"#.to_owned(),
                "not a trust",
            ),
            (
                format!(r#"{{"id": "openpgp:{fpr}", "trust": "high", "succession": "heir"}}"#),
                "succession",
            ),
            (
                format!(r#"{{"id": "openpgp:{fpr}", "trust": "none", "withdrawn": 1}}"#),
                "withdrawn",
            ),
        ] {
            let value = crate::json::parse(data.as_bytes()).unwrap();
            let e = TrustStatement::read(&value).unwrap_err().to_string();
            assert!(e.contains(why), "{data}: {e}");
        }
        let distrust = format!(r#"{{"id": "openpgp:{fpr}", "trust": "distrust"}}"#);
        let value = crate::json::parse(distrust.as_bytes()).unwrap();
        assert_eq!(TrustStatement::read(&value).unwrap().trust, Trust::Distrust);
    }
}
