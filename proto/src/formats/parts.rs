//! The large-publisher layout's shapes (docs/FORMATS.md, "Parts"): the parts a `repo.json`
//! names, and a part file's contents. Their digests and bins are checked by `signet-core`.

use std::collections::BTreeMap;

use super::{FormatError, Signed, Skipped, object_of, read_attestations};
use crate::json::{self, Map, Value};

/// One part of a repository in the large-publisher layout, as the signed `repo.json` names
/// it: the attestations whose id falls in `bin`, in the file `parts/SHA256.json`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PartRef {
    /// The first hex digits of the sha256 of each id the part files (1 to
    /// [`PartRef::MAX_BIN_DIGITS`], the same number in every part of a repository).
    pub bin: String,
    /// The sha256 of the part file's bytes, in lowercase hex: its name and its integrity.
    pub sha256: String,
    /// The attestations it holds.
    pub count: u64,
}

impl PartRef {
    pub const MAX_BIN_DIGITS: usize = 4;

    /// Whether `s` is a part's name: a sha256 in 64 lowercase hex digits.
    pub fn is_digest(s: &str) -> bool {
        s.len() == 64 && lowercase_hex(s)
    }

    /// Where the part is published, relative to the repository's URL.
    pub fn path(&self) -> String {
        format!("{PARTS_DIR}/{}.json", self.sha256)
    }

    fn read(value: &Value) -> Result<Self, String> {
        if let Value::Canonical(text) = value {
            let tree = json::parse(text.as_bytes()).map_err(|e| e.to_string())?;
            return Self::read(&tree);
        }
        let map = value
            .as_object()
            .ok_or_else(|| format!("a part is an object, found {}", value.kind()))?;
        let text = |name: &str| {
            map.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("a part's `{name}` must be a string"))
        };
        let bin = text("bin")?;
        if bin.is_empty() || bin.len() > Self::MAX_BIN_DIGITS || !lowercase_hex(bin) {
            return Err(format!(
                "{:?} is not a bin: 1 to {} lowercase hex digits",
                crate::text::shown(&bin.chars().take(20).collect::<String>()),
                Self::MAX_BIN_DIGITS
            ));
        }
        let sha256 = text("sha256")?;
        if !Self::is_digest(sha256) {
            return Err(format!(
                "bin {bin}: `sha256` must be 64 lowercase hex digits"
            ));
        }
        let count = match map.get("count") {
            Some(Value::Int(i)) => i.as_u64(),
            _ => None,
        }
        .ok_or_else(|| format!("bin {bin}: `count` must be a non-negative integer"))?;
        Ok(PartRef {
            bin: bin.to_owned(),
            sha256: sha256.to_owned(),
            count,
        })
    }

    /// As its canonical text: a million-attestation top document lists 4,096 parts, and as
    /// maps of three fields they were most of an attest's time to build, write and drop. Its
    /// strings are hex digits, which need no escaping.
    pub(super) fn to_value(&self) -> Value {
        debug_assert!(lowercase_hex(&self.bin) && Self::is_digest(&self.sha256));
        Value::Canonical(
            format!(
                r#"{{"bin": "{}", "count": {}, "sha256": "{}"}}"#,
                self.bin, self.count, self.sha256
            )
            .into_boxed_str(),
        )
    }
}

fn lowercase_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The directory of part files beside `repo.json`.
pub const PARTS_DIR: &str = "parts";

/// Reads the `parts` of a repository's data: bins of one length, each once, in order.
pub(super) fn read_parts(value: Value) -> Result<Vec<PartRef>, FormatError> {
    let bad = |why: String| FormatError::Parts(why);
    let Value::Array(items) = value else {
        return Err(bad(format!(
            "`parts` must be a list, found {}",
            value.kind()
        )));
    };
    let max_parts = 1usize << (4 * PartRef::MAX_BIN_DIGITS);
    if items.len() > max_parts {
        return Err(bad(format!("{} parts: at most {max_parts}", items.len())));
    }
    let parts = items
        .iter()
        .map(PartRef::read)
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    for pair in parts.windows(2) {
        if pair[0].bin.len() != pair[1].bin.len() || pair[0].bin >= pair[1].bin {
            return Err(bad(format!(
                "bins {} and {} are not of one length in increasing order",
                pair[0].bin, pair[1].bin
            )));
        }
    }
    Ok(parts)
}

/// The attestations of one part as a value: `{"attestations": …, "bin": …}`, whose canonical
/// bytes are the part file.
pub fn part_value<'a>(
    bin: &str,
    lists: impl Iterator<Item = (&'a String, &'a Vec<Signed>)>,
) -> Value {
    let attestations: Map = lists
        .map(|(id, list)| {
            (
                id.clone(),
                Value::Array(list.iter().map(Signed::to_value).collect()),
            )
        })
        .collect();
    let mut map = Map::new();
    map.insert("attestations".into(), Value::Object(attestations));
    map.insert("bin".into(), bin.into());
    Value::Object(map)
}

/// Parses a part file: its attestations (malformed ones in `skipped`) and the bin it says it
/// is. Whether it is the part a `repo.json` names, by digest and bin, is the reader's check.
pub fn parse_part(
    bytes: &[u8],
    skipped: &mut Vec<Skipped>,
) -> Result<(String, BTreeMap<String, Vec<Signed>>), FormatError> {
    // Levels: the part, `attestations`, one id's list, one attestation.
    let mut map = object_of(json::parse_compact(bytes, 4)?, "a part")?;
    let bin = match map.remove("bin") {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(FormatError::WrongType {
                field: "bin",
                expected: "a string",
                found: other.kind(),
            });
        }
        None => return Err(FormatError::Missing { field: "bin" }),
    };
    let listed = map.remove("attestations").ok_or(FormatError::Missing {
        field: "attestations",
    })?;
    Ok((bin, read_attestations(listed, skipped)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A part's compact form writes the bytes its tree would, and reads back as it was.
    #[test]
    fn a_part_reference_is_written_as_its_tree_would_be() {
        let part = PartRef {
            bin: "0af".into(),
            sha256: "5e".repeat(32),
            count: 1_234,
        };
        let mut tree = Map::new();
        tree.insert("bin".into(), "0af".into());
        tree.insert("count".into(), 1_234u64.into());
        tree.insert("sha256".into(), "5e".repeat(32).into());
        assert_eq!(part.to_value().canonical(), Value::Object(tree).canonical());
        assert_eq!(PartRef::read(&part.to_value()), Ok(part));
    }
}
