//! signetd: everything in Signet with state or secrets.
//!
//! The modules by concern (ARCHITECTURE.md has the map and the rules between them):
//! `serve` (the socket), `state` (the daemon's state and its one owner), `core` (the rules: the `signet-core` crate),
//! `keys`, `remotes`, `watch`, `publish`, `home` (the files under `SIGNET_HOME`).
pub mod clock;
pub mod config;
pub mod daemon;
/// The rules, from `signet-core` (shared with the public index).
pub use signet_core as core;
pub mod errors;
pub mod hash;
pub mod home;
pub mod keys;
pub mod lookup;
pub mod memory;
pub mod publish;
pub mod remotes;
pub mod run;
pub mod serve;
pub mod state;
pub mod subscribers;
pub mod watch;
