//! signetd: everything in Signet with state or secrets.
pub mod config;
pub mod daemon;
pub mod handlers;
pub mod hash;
pub mod index;
pub mod keyring;
pub mod keys;
pub mod lock;
pub mod repo;
pub mod run;
pub mod server;
pub mod signature;
pub mod store;
pub mod trust;
