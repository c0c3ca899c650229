//! signet-index: Signet's public index. It crawls repositories (submitted, named by trust
//! statements in crawled repositories), checks every signature with `signet-core`'s rules as
//! the daemon does, keeps what checked out in SQLite or PostgreSQL, and answers "who, anywhere,
//! vouched for this content id?" — with the signed attestations and certificates, so that a
//! client checks every answer itself. `docs/INDEX.md` is the API.
pub mod api;
pub mod crawl;
pub mod store;
