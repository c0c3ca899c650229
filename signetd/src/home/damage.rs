//! Files under the home that could not be read as they must be. Signet keeps answering
//! without them, reports them in `sig status`, and never writes over them until repaired.

use std::fmt;
use std::path::PathBuf;

/// A file under the home that could not be read: what Signet keeps answering without.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub file: PathBuf,
    pub why: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is damaged: {}. Signet answers from what it could read and will not write this \
             file until you repair it or move it aside",
            self.file.display(),
            self.why
        )
    }
}

impl std::error::Error for Damage {}

/// A file loaded from the home, or what was wrong with it.
#[derive(Debug, Clone)]
pub enum Loaded<T> {
    Ready(T),
    Damaged(Damage),
}

impl<T> Loaded<T> {
    /// The file's contents, or its damage: the operations that need it refuse until it is
    /// repaired.
    pub fn ready(&self) -> Result<&T, Damage> {
        match self {
            Loaded::Ready(t) => Ok(t),
            Loaded::Damaged(d) => Err(d.clone()),
        }
    }
    pub fn ready_opt(&self) -> Option<&T> {
        match self {
            Loaded::Ready(t) => Some(t),
            Loaded::Damaged(_) => None,
        }
    }
    pub fn damage(&self) -> Option<&Damage> {
        match self {
            Loaded::Ready(_) => None,
            Loaded::Damaged(d) => Some(d),
        }
    }
}
