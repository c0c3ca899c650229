//! `sig deps` on large lockfiles, warm daemon (issue 26: ≤ 50 ms for 1,000 dependencies):
//! a generated Cargo.lock, package-lock.json and requirements.txt (two files a package) of
//! `SIGNET_BENCH_DEPS` dependencies each (default 1,000), a tenth of them vouched for by the
//! home's own key, and the lockfile read and judged alone (the pure parse) for each.
//!
//! Run: `cargo build --release --bins && cargo bench -p signet-tests --bench deps_bench`.
//! Figures go to stdout as a Markdown table (median and p90 of 30 runs).

use std::time::Duration;

use base64::Engine as _;
use signet_tests::Home;
use signet_tests::stats::{median, ms, quantile, time};

const RUNS: usize = 30;

/// A small deterministic generator (xorshift): the same lockfiles every run.
struct Rng(u64);

impl Rng {
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for b in &mut out {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
        out
    }
}

fn hex(bytes: &[u8]) -> String {
    signet_proto::formats::hex_lower(bytes)
}

/// The three lockfiles of `n` packages, and the ids of every tenth package (to attest).
fn generate(n: usize) -> (String, String, String, Vec<String>) {
    let mut rng = Rng(0x5EED_DEB5);
    let mut cargo = String::from("version = 4\n\n");
    let mut npm = serde_json::Map::new();
    npm.insert(
        "".into(),
        serde_json::json!({"name": "demo", "version": "1.0.0"}),
    );
    let mut pip = String::new();
    let mut vouched = Vec::new();
    for i in 0..n {
        let crate_sum = rng.bytes::<32>();
        cargo.push_str(&format!(
            "[[package]]\nname = \"crate{i}\"\nversion = \"1.0.{i}\"\nsource = \
             \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{}\"\n\n",
            hex(&crate_sum)
        ));
        let tarball = rng.bytes::<64>();
        let sri = base64::engine::general_purpose::STANDARD.encode(tarball);
        npm.insert(
            format!("node_modules/pkg{i}"),
            serde_json::json!({"version": format!("1.0.{i}"), "integrity": format!("sha512-{sri}")}),
        );
        let (wheel, sdist) = (rng.bytes::<32>(), rng.bytes::<32>());
        pip.push_str(&format!(
            "pkg{i}==1.0.{i} \\\n    --hash=sha256:{} \\\n    --hash=sha256:{}\n",
            hex(&wheel),
            hex(&sdist)
        ));
        if i % 10 == 0 {
            vouched.push(format!("sha256:{}", hex(&crate_sum)));
            vouched.push(format!("sha512:{}", hex(&tarball)));
            vouched.push(format!("sha256:{}", hex(&wheel)));
        }
    }
    let npm = serde_json::json!({"name": "demo", "lockfileVersion": 3, "packages": npm});
    (cargo, npm.to_string(), pip, vouched)
}

fn main() {
    let n: usize = std::env::var("SIGNET_BENCH_DEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let (cargo, npm, pip, vouched) = generate(n);
    let project = tempfile::tempdir().unwrap();
    let files = [
        ("Cargo.lock", cargo),
        ("package-lock.json", npm),
        ("requirements.txt", pip),
    ];
    for (name, text) in &files {
        std::fs::write(project.path().join(name), text).unwrap();
    }
    let home = Home::new();
    home.setup("Bench <bench@example.org>");
    let mut attest = vec!["attest", "--ok", "--reviewed"];
    for id in &vouched {
        attest.extend(["--id", id.as_str()]);
    }
    home.sig(&attest).expect(0);

    println!("| lockfile ({n} dependencies) | parse alone | `sig deps`, median | p90 |");
    println!("|---|---|---|---|");
    for (name, text) in &files {
        let path = project.path().join(name);
        let kind = signet_client::lockfile::Kind::of(&path).unwrap();
        let parse: Vec<Duration> = (0..RUNS)
            .map(|_| time(|| kind.read(text).unwrap()).0)
            .collect();
        let path = path.to_str().unwrap();
        // Warm: the daemon started, the lockfile in the page cache.
        home.sig(&["deps", path]).expect(1);
        let runs: Vec<Duration> = (0..RUNS)
            .map(|_| time(|| home.sig(&["deps", path]).expect(1)).0)
            .collect();
        println!(
            "| {name} | {} | {} | {} |",
            ms(median(&parse)),
            ms(median(&runs)),
            ms(quantile(&runs, 0.9))
        );
    }
}
