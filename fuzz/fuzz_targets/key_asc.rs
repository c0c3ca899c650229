//! Reading a remote's `key.asc` and pinning it never panics: random bytes are refused, and a
//! certificate that parses is pinned to the fingerprint it has.
#![no_main]
use libfuzzer_sys::fuzz_target;
use signetd::core::accept::{self, RemoteRecord};
use signetd::core::keyring::Keyring;

fuzz_target!(|data: &[u8]| {
    let record: RemoteRecord = serde_json::from_value(serde_json::json!({
        "name": "fuzz", "url": "http://127.0.0.1/", "added": "2026-01-01T00:00:00Z",
        "pinned": "0123456789ABCDEF0123456789ABCDEF01234567"
    }))
    .unwrap();
    if let Ok(cert) = signetd::keys::parse_cert(data) {
        let _ = signetd::keys::user_id(&cert);
        let _ = signetd::keys::armored_public(&cert);
    }
    // Pinned to a key nobody has: whatever the bytes, the copy is refused.
    assert!(
        accept::accept(
            &record,
            data,
            b"{}",
            &Keyring::default(),
            &mut signetd::core::parts::NoParts,
            None
        )
        .is_err()
    );
});
