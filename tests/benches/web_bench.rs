//! The web of trust's computation (`signetd::core::web::compute`) against issue 14's budget:
//! 10,000 keys and 100,000 statements in ≤ 50 ms on this machine. The web is random but the
//! same each run: 20 keys you trust directly, statements between any keys at every level, 2 %
//! of them distrust, 1 % of the keys revoked.
//!
//! Run: `cargo bench -p signet-tests --bench web_bench` (`SIGNET_BENCH_KEYS`,
//! `SIGNET_BENCH_STATEMENTS` to change the size). Figures go to stdout as a Markdown table.

use std::collections::{BTreeMap, HashSet};

use signet_proto::formats::Fingerprint;
use signet_tests::stats::{median, ms, time};
use signetd::core::web::{self, Inputs, Level, Stance, Statement};

/// A small deterministic generator (xorshift): the same web every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn inputs(keys: usize, statements: usize, max_depth: u8) -> Inputs {
    let fpr = |n: usize| Fingerprint::parse(&format!("{n:040X}")).unwrap();
    let mut rng = Rng(0x5EED_CAFE_F00D_BEEF);
    let levels = [Level::None, Level::Low, Level::Medium, Level::High];
    let direct: BTreeMap<Fingerprint, Stance> = (1..=20)
        .map(|n| (fpr(n), Stance::Trust(levels[1 + n % 3])))
        .collect();
    let statements = (0..statements)
        .map(|_| Statement {
            from: fpr(1 + rng.below(keys)),
            about: fpr(1 + rng.below(keys)),
            stance: if rng.below(50) == 0 {
                Stance::Distrust
            } else {
                Stance::Trust(levels[rng.below(4)])
            },
        })
        .collect();
    let revoked: HashSet<Fingerprint> = (0..keys / 100).map(|_| fpr(1 + rng.below(keys))).collect();
    Inputs {
        own: [fpr(0)].into(),
        direct,
        statements,
        revoked,
        max_depth,
    }
}

fn main() {
    let keys = env("SIGNET_BENCH_KEYS", 10_000);
    let statements = env("SIGNET_BENCH_STATEMENTS", 100_000);
    println!("| web of {keys} keys, {statements} statements | median of 21 | reached | budget |");
    println!("|---|---|---|---|");
    for max_depth in [0u8, 2, 4, 8] {
        let i = inputs(keys, statements, max_depth);
        let mut times = Vec::new();
        let mut reached = 0;
        for _ in 0..21 {
            let (took, w) = time(|| web::compute(&i));
            reached = w.reached().count();
            times.push(took);
        }
        println!(
            "| effective trust, max_depth {max_depth} | {} | {reached} keys | 50 ms |",
            ms(median(&times))
        );
    }
}
