//! The web of trust's computation, as the daemon runs it when a statement or your trust
//! changes (`signetd::core::vouch::web_of`: each key's newest word, then the web), against
//! issue 14's budget: 10,000 keys and 100,000 statements in ≤ 50 ms on this machine; and the
//! lookup a verify then does per attestation, and how long the state's lock is held to take the
//! inputs of a computation (it runs after the lock is released). The web is random but the
//! same each run: 20 keys you trust directly, statements between any keys at every level, 2 %
//! of them distrust, 1 % of the keys revoked.
//!
//! Run: `cargo bench -p signet-tests --bench web_bench` (`SIGNET_BENCH_KEYS`,
//! `SIGNET_BENCH_STATEMENTS` to change the size). Figures go to stdout as a Markdown table.

use std::collections::{BTreeMap, HashSet};

use signet_proto::formats::Fingerprint;
use signet_proto::statements::Trust;
use signet_tests::stats::{median, ms, time};
use signetd::core::index::Checked;
use signetd::core::index::{Index, Source};
use signetd::core::vouch::{self, Vouch, Yours};
use signetd::core::web::{Level, Stance};

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

/// The generated web, by fingerprint: your key is `fpr(0)`.
struct Generated {
    direct: BTreeMap<Fingerprint, Stance>,
    /// (from, about, stance)
    statements: Vec<(Fingerprint, Fingerprint, Stance)>,
    revoked: HashSet<Fingerprint>,
}

fn fpr(n: usize) -> Fingerprint {
    Fingerprint::parse(&format!("{n:040X}")).unwrap()
}

fn generate(keys: usize, statements: usize) -> Generated {
    let mut rng = Rng(0x5EED_CAFE_F00D_BEEF);
    let levels = [Level::None, Level::Low, Level::Medium, Level::High];
    let direct: BTreeMap<Fingerprint, Stance> = (1..=20)
        .map(|n| (fpr(n), Stance::Trust(levels[1 + n % 3])))
        .collect();
    let statements = (0..statements)
        .map(|_| {
            let from = fpr(1 + rng.below(keys));
            let about = fpr(1 + rng.below(keys));
            let stance = if rng.below(50) == 0 {
                Stance::Distrust
            } else {
                Stance::Trust(levels[rng.below(4)])
            };
            (from, about, stance)
        })
        .collect();
    let revoked: HashSet<Fingerprint> = (0..keys / 100).map(|_| fpr(1 + rng.below(keys))).collect();
    Generated {
        direct,
        statements,
        revoked,
    }
}

/// The same statements as the daemon holds them: checked trust statements from 200 sources
/// (as `trust.max_followed` allows), each with a URL, in an index that numbered their keys as
/// it took them in.
fn held(g: &Generated) -> Index {
    let mut index = Index::default();
    let sources = 200;
    for n in 0..sources {
        let source = Source::Remote(format!("r{n}"));
        let vouches = g
            .statements
            .iter()
            .skip(n)
            .step_by(sources)
            .map(|(from, about, stance)| Vouch {
                key: from.clone(),
                signer: from.clone(),
                signed_at: 1,
                about: about.clone(),
                trust: match stance {
                    Stance::Distrust => Trust::Distrust,
                    Stance::Trust(level) => level.as_trust(),
                },
                // Every statement names where its key publishes, as `sig trust add --url` does.
                url: Some(format!(
                    "https://{}.example.org/signet/",
                    &about.as_str()[32..]
                )),
                comment: String::new(),
                succession: None,
                withdrawn: false,
                source: source.clone(),
            })
            .collect();
        let checked = Checked {
            files: Default::default(),
            vouches,
        };
        index.replace_source(&source, checked);
    }
    index
}

fn main() {
    let keys = env("SIGNET_BENCH_KEYS", 10_000);
    let statements = env("SIGNET_BENCH_STATEMENTS", 100_000);
    println!("| web of {keys} keys, {statements} statements | median of 21 | reached | budget |");
    println!("|---|---|---|---|");
    for max_depth in [2u8, 4, 8] {
        let g = generate(keys, statements);
        let mut index = held(&g);
        let yours = |index: &mut Index| {
            let keys = index.keys_mut();
            Yours {
                own: vec![keys.id(&fpr(0))],
                direct: g.direct.iter().map(|(k, s)| (keys.id(k), *s)).collect(),
                revoked: g.revoked.iter().map(|k| keys.id(k)).collect(),
            }
        };
        let mut times = Vec::new();
        let mut web = None;
        for _ in 0..21 {
            let mine = yours(&mut index);
            let (took, computed) =
                time(|| vouch::web_of(&index.statements(), mine, max_depth, |_| false));
            times.push(took);
            web = Some(computed.web);
        }
        let web = web.unwrap();
        println!(
            "| effective trust as the daemon computes it on a change, max_depth {max_depth} | {} | {} keys | 50 ms |",
            ms(median(&times)),
            web.levels().count()
        );
        if max_depth != 2 {
            continue;
        }
        // What readers wait for now: the daemon holds the state's lock only while it takes the
        // statements (one pointer per source) and your word; the web is computed after.
        let mut times = Vec::new();
        for _ in 0..21 {
            let (took, taken) = time(|| (index.statements(), yours(&mut index)));
            std::hint::black_box(taken);
            times.push(took);
        }
        println!(
            "| the state's lock held to take the web's inputs (the computation runs after it is released) | {} | | |",
            ms(median(&times))
        );
        // What a verify costs on top of the hash lookup: one lookup per attestation.
        let probes: Vec<Fingerprint> = (0..keys).map(fpr).collect();
        let mut times = Vec::new();
        for _ in 0..21 {
            let (took, found) = time(|| {
                probes
                    .iter()
                    .filter(|k| web.level(k).is_some_and(|l| l >= Level::Medium))
                    .count()
            });
            std::hint::black_box(found);
            times.push(took / probes.len() as u32);
        }
        println!(
            "| a verify's trust lookup in the cached web, per attestation | {:.0} ns | | (a hash lookup) |",
            median(&times).as_secs_f64() * 1e9
        );
    }
}
