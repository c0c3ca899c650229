//! signetd: everything in Signet with state or secrets.
pub mod keys;
pub mod signature;
pub mod hash;
pub mod store;
pub mod config;
pub mod index;
pub mod keyring;
pub mod repo;
pub mod trust;
pub mod daemon;
pub mod handlers;
pub mod lock;
pub mod server;
pub mod run;
