//! Params that are one of several shapes, as types that cannot hold a wrong one. Each keeps
//! the JSON the protocol has always had (flat optional fields): serde reads the wire form and
//! converts it, refusing a message that names none or two of the shapes.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::formats::ContentId;
use crate::wire_path::AbsPath;

/// What to verify or attest: a file by absolute path, a content id, or a whole directory as
/// one tree (its `treesha256:` id, docs/FORMATS.md).
/// On the wire: `{"path": "/abs/file"}`, `{"id": "sha256:…"}` or `{"tree": "/abs/dir"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TargetWire", into = "TargetWire")]
pub enum Target {
    Path(AbsPath),
    Id(ContentId),
    Tree(AbsPath),
}

#[derive(Serialize, Deserialize)]
struct TargetWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<AbsPath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tree: Option<AbsPath>,
}

impl TryFrom<TargetWire> for Target {
    type Error = String;
    fn try_from(wire: TargetWire) -> Result<Self, String> {
        match (wire.path, wire.id, wire.tree) {
            (Some(path), None, None) => Ok(Target::Path(path)),
            (None, Some(id), None) => ContentId::parse(&id)
                .map(Target::Id)
                .map_err(|e| format!("`id`: {e}")),
            (None, None, Some(tree)) => Ok(Target::Tree(tree)),
            _ => Err("give exactly one of `path`, `id` and `tree`".to_owned()),
        }
    }
}

impl From<Target> for TargetWire {
    fn from(target: Target) -> Self {
        match target {
            Target::Path(path) => TargetWire {
                path: Some(path),
                id: None,
                tree: None,
            },
            Target::Id(id) => TargetWire {
                path: None,
                id: Some(id.to_string()),
                tree: None,
            },
            Target::Tree(tree) => TargetWire {
                path: None,
                id: None,
                tree: Some(tree),
            },
        }
    }
}

impl Target {
    /// The file, when the target is one.
    pub fn path(&self) -> Option<&AbsPath> {
        match self {
            Target::Path(path) => Some(path),
            Target::Id(_) | Target::Tree(_) => None,
        }
    }
}

/// One item of a list whose items are answered one by one (`verify.many`): an item that does
/// not read as a `T` is kept, with why, to be answered with its own error rather than failing
/// the whole request. Written back as it was read.
#[derive(Debug, Clone, PartialEq)]
pub enum Lenient<T> {
    Valid(T),
    Invalid { raw: serde_json::Value, why: String },
}

impl<T: Serialize> Serialize for Lenient<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Lenient::Valid(t) => t.serialize(s),
            Lenient::Invalid { raw, .. } => raw.serialize(s),
        }
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = serde_json::Value::deserialize(d)?;
        Ok(match T::deserialize(&raw) {
            Ok(t) => Lenient::Valid(t),
            Err(e) => Lenient::Invalid {
                raw,
                why: e.to_string(),
            },
        })
    }
}

impl<T> From<T> for Lenient<T> {
    fn from(t: T) -> Self {
        Lenient::Valid(t)
    }
}

/// `setup`: make or choose the user's key, and what goes with the choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SetupWire", into = "SetupWire")]
pub struct SetupParams {
    pub key: KeyChoice,
    /// The user's terminal, for gpg's pinentry.
    pub tty: Option<String>,
    /// Replace an existing key (the repository is re-signed, never lost).
    pub force: bool,
}

/// Which key a home signs with. On the wire exactly one of `generate`, `gpg_key` (with an
/// optional `gnupghome`) and `import`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChoice {
    /// Generate a new Ed25519 key with this user id (`Name <mail>`, one line).
    Generate { user_id: String },
    /// Use this key from the user's GnuPG keyring (8 or 16 hex digits, or a fingerprint);
    /// signing then goes through gpg and the secret never leaves GnuPG. `gnupghome` is the
    /// client's `GNUPGHOME`, default gpg's own.
    Gpg {
        key: String,
        gnupghome: Option<PathBuf>,
    },
    /// Import this exported secret key file into the embedded keystore.
    Import { file: AbsPath },
}

#[derive(Serialize, Deserialize)]
struct SetupWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    generate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gpg_key: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::wire_path::option"
    )]
    gnupghome: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    import: Option<AbsPath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tty: Option<String>,
    #[serde(default)]
    force: bool,
}

impl TryFrom<SetupWire> for SetupParams {
    type Error = String;
    fn try_from(w: SetupWire) -> Result<Self, String> {
        let key = match (w.generate, w.gpg_key, w.import) {
            (Some(user_id), None, None) => {
                let user_id = user_id.trim().to_owned();
                if user_id.is_empty() || user_id.contains(['\n', '\r']) {
                    return Err(
                        "give a user id on one line, like \"Your Name <you@example.org>\"".into(),
                    );
                }
                KeyChoice::Generate { user_id }
            }
            (None, Some(key), None) => KeyChoice::Gpg {
                key,
                gnupghome: w.gnupghome,
            },
            (None, None, Some(file)) => KeyChoice::Import { file },
            _ => return Err("give exactly one of `generate`, `gpg_key` and `import`".into()),
        };
        Ok(SetupParams {
            key,
            tty: w.tty,
            force: w.force,
        })
    }
}

impl From<SetupParams> for SetupWire {
    fn from(p: SetupParams) -> Self {
        let mut w = SetupWire {
            generate: None,
            gpg_key: None,
            gnupghome: None,
            import: None,
            tty: p.tty,
            force: p.force,
        };
        match p.key {
            KeyChoice::Generate { user_id } => w.generate = Some(user_id),
            KeyChoice::Gpg { key, gnupghome } => {
                w.gpg_key = Some(key);
                w.gnupghome = gnupghome;
            }
            KeyChoice::Import { file } => w.import = Some(file),
        }
        w
    }
}

/// Where an attestation (or a certificate) was read: the own repository, a remote's copy, or
/// a repository a public index found it in (`sig lookup`). On the wire `"own"`,
/// `"remote:NAME"` or `"found:URL"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Source {
    Own,
    Remote(String),
    /// Served by a public index, which found it in the repository at this URL; its signature
    /// was checked here.
    Found(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Own => f.write_str("own"),
            Source::Remote(name) => write!(f, "remote:{name}"),
            Source::Found(url) => write!(f, "found:{url}"),
        }
    }
}

impl FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(url) = s.strip_prefix("found:").filter(|u| !u.is_empty()) {
            return Ok(Source::Found(url.to_owned()));
        }
        match s.strip_prefix("remote:") {
            _ if s == "own" => Ok(Source::Own),
            Some(name) if !name.is_empty() => Ok(Source::Remote(name.to_owned())),
            _ => Err(format!(
                "{s:?} is not a source: `own`, `remote:NAME` or `found:URL`"
            )),
        }
    }
}

impl TryFrom<String> for Source {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Source> for String {
    fn from(source: Source) -> String {
        source.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets_keep_their_wire_form_and_refuse_wrong_shapes() {
        let id = format!("sha256:{}", "a".repeat(64));
        for wire in [json!({"path": "/a/b"}), json!({"id": id})] {
            let t: Target = serde_json::from_value(wire.clone()).unwrap();
            assert_eq!(serde_json::to_value(&t).unwrap(), wire);
        }
        for (wrong, says) in [
            (json!({}), "exactly one"),
            (json!({"path": "/a", "id": id}), "exactly one"),
            (json!({"path": "a/b"}), "must be absolute"),
            (json!({"id": "not an id"}), "`id`"),
            (json!({"id": null}), "exactly one"),
        ] {
            let e = serde_json::from_value::<Target>(wrong)
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn one_malformed_target_among_many_is_kept_with_why() {
        let wire = json!({"targets": [{"path": "/a"}, {"path": "rel"}, {"id": null}]});
        let p: crate::api::VerifyManyParams = serde_json::from_value(wire.clone()).unwrap();
        assert!(matches!(p.targets[0], Lenient::Valid(Target::Path(_))));
        assert!(matches!(&p.targets[1], Lenient::Invalid { why, .. } if why.contains("absolute")));
        assert!(matches!(&p.targets[2], Lenient::Invalid { why, .. } if why.contains("exactly")));
        assert_eq!(serde_json::to_value(&p).unwrap(), wire);
    }

    #[test]
    fn setup_params_keep_their_wire_form_and_refuse_wrong_shapes() {
        for wire in [
            json!({"generate": "A <a@example.org>", "force": false}),
            json!({"gpg_key": "ABCD1234", "gnupghome": "/g", "tty": "/dev/pts/1", "force": true}),
            json!({"import": "/k.asc", "force": false}),
        ] {
            let p: SetupParams = serde_json::from_value(wire.clone()).unwrap();
            assert_eq!(serde_json::to_value(&p).unwrap(), wire);
        }
        for (wrong, says) in [
            (json!({}), "exactly one"),
            (json!({"generate": "A", "import": "/k"}), "exactly one"),
            (json!({"import": "k.asc"}), "must be absolute"),
            (json!({"generate": "A\nB"}), "one line"),
        ] {
            let e = serde_json::from_value::<SetupParams>(wrong)
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn sources_read_and_write_as_strings() {
        for (text, source) in [
            ("own", Source::Own),
            ("remote:alice", Source::Remote("alice".into())),
        ] {
            assert_eq!(text.parse::<Source>().unwrap(), source);
            assert_eq!(source.to_string(), text);
        }
        assert!("remote:".parse::<Source>().is_err());
        assert!("elsewhere".parse::<Source>().is_err());
    }
}
