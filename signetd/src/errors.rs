//! How the daemon's operations fail. Each operation has its own error enum (`AttestError`,
//! `TrustError`, `WatchError`…, beside the operation), each variant says what happened, and
//! [`Failure`] gives it a stable protocol code and, where there is one, a hint: what to do
//! about it. They become JSON-RPC errors in one place, `serve::dispatch`, and nowhere else.
//!
//! The pieces several operations share are here: a file under the home that cannot be used
//! ([`Unavailable`]), a write that did not reach the disk ([`NotSaved`]), a file that could not
//! be hashed ([`FileError`]), blocking work that died ([`TaskFailed`]).

use signet_proto::rpc::{ErrorCode, RpcError};

use crate::hash::HashError;
use crate::home::damage::Damage;

/// An operation's error as the protocol carries it.
pub trait Failure: std::error::Error {
    /// The stable code clients match on.
    fn code(&self) -> ErrorCode;

    /// What the user can do about it, when there is something.
    fn hint(&self) -> Option<String> {
        None
    }

    /// What a client may use beyond the message (the candidates of an ambiguous key).
    fn data(&self) -> Option<serde_json::Value> {
        None
    }

    /// The JSON-RPC error: what happened, then the hint.
    fn to_rpc(&self) -> RpcError {
        let message = match self.hint() {
            Some(hint) => format!("{self}; {hint}"),
            None => self.to_string(),
        };
        let error = RpcError::new(self.code(), message);
        match self.data() {
            Some(data) => error.with_data(data),
            None => error,
        }
    }
}

/// What the home lacks for an operation that needs its key or one of its files.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unavailable {
    #[error("{0}")]
    Damaged(Damage),
    #[error("this home has no key yet")]
    NotSetUp,
    #[error(
        "your key {fingerprint} was revoked ({}, {}): it signs nothing more",
        .revocation.reason.as_str(),
        .revocation.at
    )]
    Revoked {
        fingerprint: signet_proto::formats::Fingerprint,
        revocation: signet_proto::api::Revocation,
    },
}

impl Failure for Unavailable {
    fn code(&self) -> ErrorCode {
        match self {
            Unavailable::Damaged(_) => ErrorCode::Damaged,
            Unavailable::NotSetUp => ErrorCode::NotSetUp,
            Unavailable::Revoked { .. } => ErrorCode::Revoked,
        }
    }
    fn hint(&self) -> Option<String> {
        match self {
            // The damage says itself what to do: repair the file or move it aside.
            Unavailable::Damaged(_) => None,
            Unavailable::NotSetUp => {
                Some("run `sig setup --generate \"Your Name <you@example.org>\"`".into())
            }
            Unavailable::Revoked { .. } => Some(
                "set up a new key: `sig setup --force --generate \"Your Name <you@example.org>\"` \
                 (or `sig setup --force KEYID` for a GnuPG key)"
                    .into(),
            ),
        }
    }
}

impl From<Damage> for Unavailable {
    fn from(damage: Damage) -> Self {
        Unavailable::Damaged(damage)
    }
}

/// A write under the home that failed: nothing changed, and `unchanged` says what stays.
#[derive(Debug, Clone, thiserror::Error)]
#[error("could not save {what}: {why}")]
pub struct NotSaved {
    pub what: String,
    pub why: String,
    pub unchanged: &'static str,
}

impl NotSaved {
    pub fn new(what: impl Into<String>, why: anyhow::Error, unchanged: &'static str) -> Self {
        NotSaved {
            what: what.into(),
            why: format!("{why:#}"),
            unchanged,
        }
    }
}

impl Failure for NotSaved {
    fn code(&self) -> ErrorCode {
        ErrorCode::Storage
    }
    fn hint(&self) -> Option<String> {
        Some(self.unchanged.to_owned())
    }
}

/// A file that could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct FileError(#[from] pub HashError);

impl Failure for FileError {
    fn code(&self) -> ErrorCode {
        match self.0 {
            HashError::Changed { .. } => ErrorCode::FileChanged,
            _ => ErrorCode::File,
        }
    }
}

/// Blocking work (files, hashing, gpg) that died before it answered: a bug, never input.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what} failed: {why}")]
pub struct TaskFailed {
    pub what: String,
    pub why: String,
}

impl Failure for TaskFailed {
    fn code(&self) -> ErrorCode {
        ErrorCode::Internal
    }
}

/// Runs blocking work (files, hashing, gpg) off the async threads.
pub async fn blocking<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, TaskFailed> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| TaskFailed {
            what: what.to_owned(),
            why: e.to_string(),
        })
}
