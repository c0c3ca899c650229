//! Paths on the wire. JSON strings are Unicode, Unix paths are bytes: a path that is valid
//! UTF-8 travels as a plain string (what every client expects), any other as
//! `{"base64": "…"}` holding its exact bytes, so no file is unreachable through the protocol.
//!
//! Use with `#[serde(with = "crate::wire_path")]` on a `PathBuf`, or
//! `#[serde(with = "crate::wire_path::option")]` on an `Option<PathBuf>`; a path a client
//! gives, which must be absolute, is an [`AbsPath`].

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Wire {
    Text(String),
    Bytes { base64: String },
}

pub fn serialize<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    match path.to_str() {
        Some(text) => s.serialize_str(text),
        None => Wire::Bytes {
            base64: STANDARD.encode(path.as_os_str().as_bytes()),
        }
        .serialize(s),
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    match Wire::deserialize(d)? {
        Wire::Text(text) => Ok(PathBuf::from(text)),
        Wire::Bytes { base64 } => STANDARD
            .decode(base64.as_bytes())
            .map(|bytes| PathBuf::from(OsString::from_vec(bytes)))
            .map_err(|e| serde::de::Error::custom(format!("path bytes are not base64: {e}"))),
    }
}

/// An absolute path from a client. Checked when it is read: the daemon never resolves a
/// client's relative path against its own working directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AbsPath(PathBuf);

/// A path that was not absolute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: paths must be absolute", .0.display())]
pub struct NotAbsolute(pub PathBuf);

impl AbsPath {
    pub fn new(path: impl Into<PathBuf>) -> Result<Self, NotAbsolute> {
        let path = path.into();
        if path.is_absolute() {
            Ok(AbsPath(path))
        } else {
            Err(NotAbsolute(path))
        }
    }

    pub fn as_path(&self) -> &Path {
        &self.0
    }

    pub fn into_path_buf(self) -> PathBuf {
        self.0
    }
}

impl std::ops::Deref for AbsPath {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for AbsPath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl From<AbsPath> for PathBuf {
    fn from(path: AbsPath) -> PathBuf {
        path.0
    }
}

impl Serialize for AbsPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for AbsPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        AbsPath::new(deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(path: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
        match path {
            Some(path) => super::serialize(path, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super")] PathBuf);
        Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        #[serde(with = "crate::wire_path")]
        path: PathBuf,
        #[serde(default, with = "crate::wire_path::option")]
        maybe: Option<PathBuf>,
    }

    #[test]
    fn utf8_paths_are_strings_and_others_keep_their_bytes() {
        let plain = Holder {
            path: "/tmp/ünïcode".into(),
            maybe: None,
        };
        let json = serde_json::to_string(&plain).unwrap();
        assert_eq!(json, r#"{"path":"/tmp/ünïcode","maybe":null}"#);
        assert_eq!(serde_json::from_str::<Holder>(&json).unwrap(), plain);

        let raw = PathBuf::from(OsString::from_vec(b"/tmp/bad\xff\xfe".to_vec()));
        let odd = Holder {
            path: raw.clone(),
            maybe: Some(raw),
        };
        let json = serde_json::to_string(&odd).unwrap();
        assert_eq!(
            json,
            r#"{"path":{"base64":"L3RtcC9iYWT//g=="},"maybe":{"base64":"L3RtcC9iYWT//g=="}}"#
        );
        assert_eq!(serde_json::from_str::<Holder>(&json).unwrap(), odd);
        assert_eq!(
            serde_json::from_str::<Holder>(r#"{"path":"/x"}"#).unwrap(),
            Holder {
                path: "/x".into(),
                maybe: None
            }
        );
        assert!(serde_json::from_str::<Holder>(r#"{"path":{"base64":"!!"}}"#).is_err());
    }
}
