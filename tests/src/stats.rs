//! Timing helpers shared by the benchmarks.

use std::time::{Duration, Instant};

pub fn median(xs: &[Duration]) -> Duration {
    quantile(xs, 0.5)
}

/// The `q` quantile (nearest rank below).
pub fn quantile(xs: &[Duration], q: f64) -> Duration {
    let mut xs = xs.to_vec();
    xs.sort();
    xs[((xs.len() - 1) as f64 * q) as usize]
}

/// How long `f` took, and what it returned.
pub fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t = Instant::now();
    let out = f();
    (t.elapsed(), out)
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}
