//! `sig`, the light Signet client: argument parsing, talking to signetd, printing.
//! No sequoia, no reqwest: it builds and starts fast, and what it does fits in `docs/PROTOCOL.md`.

pub mod cli;
pub mod commands;
pub mod connection;
pub mod gittree;
pub mod lockfile;
pub mod lsp;
pub mod manual;
pub mod package;
pub mod project;
