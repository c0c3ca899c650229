//! The strict parser never panics, and what it accepts re-encodes to a fixed point:
//! parse(canonical(v)) == v and canonical is idempotent.
#![no_main]
use libfuzzer_sys::fuzz_target;
use signet_proto::json;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = json::parse(data) {
        let canonical = value.canonical();
        assert!(canonical.is_ascii());
        let again = json::parse(canonical.as_bytes()).expect("canonical output parses");
        assert_eq!(again.canonical(), canonical);
        let _ = value.pretty();
    }
});
