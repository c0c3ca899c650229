//! signetd: everything in Signet with state or secrets.
pub mod keys;
pub mod signature;
