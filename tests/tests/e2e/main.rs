//! Every end-to-end test, as one binary (as ripgrep does): one link of sequoia and the harness
//! instead of one per file. Each module is one area; `cargo test --test e2e AREA::` runs one.

mod bad_input;
mod bulk_attest;
mod cli;
mod daemon_lifecycle;
mod deps;
mod gpg_interop;
mod gpg_keys;
mod gpg_lifecycle;
mod gpg_repository;
mod hardening;
mod index;
mod index_doc;
mod index_network;
mod key_revocation;
mod key_rotation;
mod local_integrity;
mod lsp;
mod manual;
mod newcomer;
mod packages;
mod policy;
mod protocol;
mod protocol_doc;
mod reference;
mod remote_integrity;
mod remote_words;
mod remotes;
mod settings;
mod systemd;
mod tree_integrity;
mod walkthrough;
mod watch;
mod web_attacks;
mod web_discovery;
mod web_of_trust;
