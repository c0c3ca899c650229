//! Fetching from servers that may be hostile, as both the daemon and the public index do:
//! - `http`: one GET with a connect deadline, a deadline for the answer to begin and one for
//!   the whole, a body capped while it streams, conditional on the validators of the copy held
//!   (a `Last-Modified` too close to the answer's `Date` is no validator), each refusal named;
//! - `parts`: the parts of a repository in the large-publisher layout, each checked by digest;
//! - `address`: the client for URLs others named (trust statements, submissions): public
//!   addresses only, names judged once resolved, every redirect checked, never credentials.
pub mod address;
pub mod http;
pub mod parts;
