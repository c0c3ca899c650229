//! The strict parser never panics, and what it accepts re-encodes to a fixed point:
//! parse(canonical(v)) == v and canonical is idempotent. A parsed value read as a trust
//! statement never panics either, and what is read writes back to the same statement.
#![no_main]
use libfuzzer_sys::fuzz_target;
use signet_proto::json;
use signet_proto::statements::TrustStatement;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = json::parse(data) {
        let canonical = value.canonical();
        assert!(canonical.is_ascii());
        let again = json::parse(canonical.as_bytes()).expect("canonical output parses");
        assert_eq!(again.canonical(), canonical);
        let _ = value.pretty();
        if let Ok(statement) = TrustStatement::read(&value) {
            assert_eq!(TrustStatement::read(&statement.to_data()), Ok(statement));
        }
    }
});
