//! Signet's rules, as pure code: no tokio, no file system, no processes. What the daemon
//! (`signetd`) and the public index (`signet-index`) must decide alike lives here:
//! - `cert`: certificates in the formats' notation, `key.asc` parsed and armored;
//! - `signature`: checking a signed word, and what a key's revocations void (hard or soft);
//! - `keyring`: what is known of each key (merged, trimmed; it only grows);
//! - `check`: a repository's attestations checked against the keyring;
//! - `parts`: the large-publisher layout (a repository split into bins, each checked by digest);
//! - `accept`: whether a fetched copy is taken (pin, signer, rollback, equivocation, rotation);
//! - `index`: content id → attestations, their standings and the verdict's tally;
//! - `vouch` and `web`: trust statements and the web of trust computed from them;
//! - `numbered`: values numbered as they come in (the web's keys, the index's keys and sources);
//! - `found`: a public index's answer, checked as if the index were lying;
//! - `trust`: the trust list's format.
pub mod accept;
pub mod cert;
pub mod check;
pub mod found;
pub mod index;
pub mod keyring;
pub mod numbered;
pub mod parts;
pub mod signature;
pub mod trust;
pub mod verified;
pub mod vouch;
pub mod web;
