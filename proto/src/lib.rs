//! Signet's shared vocabulary: the data formats (`docs/FORMATS.md`), canonical JSON, content
//! ids, and the daemon protocol. No I/O, no crypto, no async: both binaries and any other
//! client can depend on it.
#![forbid(unsafe_code)]

pub mod api;
pub mod formats;
pub mod index;
pub mod json;
pub mod paths;
pub mod rpc;
pub mod statements;
pub mod text;
pub mod wire_path;

/// The protocol major version. Bumped only for changes older peers cannot ignore.
pub const PROTOCOL_VERSION: u32 = 1;

/// This release of Signet.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
