//! The time the home's signatures are dated with: keys made, attestations and repositories
//! signed, revocations.
//!
//! Tests need "signed later" without waiting for the clock: with the `test-hooks` feature
//! (which only the test crate enables; release binaries never have it),
//! `SIGNET_TEST_CLOCK_OFFSET_SECS` moves this clock by that many seconds, either way. Checking
//! others' signatures always uses the real time.

use std::time::SystemTime;

/// Now, as the home dates what it signs.
pub fn now() -> SystemTime {
    let now = SystemTime::now();
    #[cfg(feature = "test-hooks")]
    if let Some(offset) = std::env::var("SIGNET_TEST_CLOCK_OFFSET_SECS")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
    {
        let by = std::time::Duration::from_secs(offset.unsigned_abs());
        return if offset < 0 { now - by } else { now + by };
    }
    now
}
