//! Verifying a repository from untrusted bytes never panics, and never accepts one that the
//! owner's key did not sign.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use signetd::core::accept::{self, RemoteRecord};
use signetd::core::keyring::Keyring;

fn owner() -> &'static (Vec<u8>, RemoteRecord) {
    static OWNER: OnceLock<(Vec<u8>, RemoteRecord)> = OnceLock::new();
    OWNER.get_or_init(|| {
        let cert = signetd::keys::generate("Fuzz <fuzz@example.org>").unwrap();
        let record: RemoteRecord = serde_json::from_value(serde_json::json!({
            "name": "fuzz", "url": "http://127.0.0.1/", "added": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        (signetd::keys::armored_public(&cert), record)
    })
}

fuzz_target!(|data: &[u8]| {
    let (key, record) = owner();
    // Random bytes cannot carry a valid signature by a key made for this run.
    // Parts named by such bytes are never fetched here: a repository in parts is refused too.
    // With a memo of verified envelopes, as a daemon checks an update in the seed format.
    let mut no_parts = signetd::core::parts::NoParts;
    let before = signetd::core::verified::Verified::default();
    assert!(
        accept::accept(
            record,
            key,
            data,
            &Keyring::default(),
            &mut no_parts,
            Some(&before)
        )
        .is_err()
    );
});
