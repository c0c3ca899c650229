//! Pure rules: no tokio, no file system. The index and the verdict, the keyring and its merge
//! rules, checking a repository's attestations, a remote copy's acceptance, the trust list.
pub mod accept;
pub mod check;
pub mod index;
pub mod keyring;
pub mod trust;
pub mod vouch;
pub mod web;
