//! The public index at scale, on SQLite and on PostgreSQL, against its floor in the same run.
//!
//! R generated repositories of N attestations each (Ed25519, the seed's format; default
//! 100 × 1,000 = 100,000), served on 127.0.0.1:
//! - the floor: every repository read and each signature verified once with sequoia, on
//!   both cores, no database, no network (`signet_tests::floor`); beside it the crawler's own
//!   check in process (`signet_core::accept`, which verifies Ed25519 a batch at a time);
//! - ingest: a release `signet-index` crawling them all, from the first submission until
//!   its health counts every attestation;
//! - lookup by id over HTTP on loopback (a connection each), p50 and p99 of 2,000;
//! - 1,000 ids in one `POST /v1/ids` (median of 5);
//! - disk per attestation.
//!
//! Run: `cargo build --release --workspace --bins && cargo bench -p signet-tests --bench
//! index_bench` (`SIGNET_INDEX_BENCH_REPOS`, `SIGNET_INDEX_BENCH_PER_REPO` to scale it;
//! `SIGNET_INDEX_BENCH_ENGINES=sqlite` or `=postgresql` for one engine,
//! `SIGNET_INDEX_BENCH_CRAWLERS` for the index's `--crawlers`, 4 by default;
//! `SIGNET_INDEX_BENCH_OWN_CHECK=0` leaves the crawler's own check out;
//! `SIGNET_INDEX_BENCH_FLOOR_SAMPLE=K` times the floor on the first K repositories, scaled;
//! `SIGNET_INDEX_BENCH_AB=PATH,PATH` alternates builds' ingests, `SIGNET_INDEX_BENCH_AB_LOOKUPS=1`
//! with their lookups).
//! Figures go to stdout as a Markdown table.

use std::sync::Arc;
use std::time::{Duration, Instant};

use signet_proto::formats::{ContentId, RepoContents, Statement};
use signet_tests::floor::Checker;
use signet_tests::http::{Serve, TestServer};
use signet_tests::index::{Index, Postgres, request};
use signet_tests::stats::{median, ms, quantile, time};
use signetd::keys::{self, EmbeddedKey};

/// One generated repository: its files (shared with the server, which serves them) and the
/// ids it vouches for.
struct Repo {
    key_asc: Arc<[u8]>,
    repo_json: Arc<[u8]>,
    ids: Vec<String>,
}

fn generate(r: usize, n: usize) -> Repo {
    let cert = keys::generate(&format!("Publisher {r} <p{r}@example.org>")).unwrap();
    let signer = EmbeddedKey::new(cert.clone()).unwrap();
    let mut contents = RepoContents {
        serial: 1,
        updated: Some("2026-12-06T00:00:00Z".into()),
        ..Default::default()
    };
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        use sha2::Digest as _;
        let seed = format!("{r}/{i}");
        let id = ContentId::sha256(&sha2::Sha256::digest(seed.as_bytes()).into());
        let data = Statement::to_data(&id, true, true, &format!("reviewed {seed}"));
        let signed = keys::sign_value(&signer, data).unwrap();
        ids.push(id.to_string());
        contents.attestations.insert(id.to_string(), vec![signed]);
    }
    let repo = keys::sign_value(&signer, contents.to_data()).unwrap();
    Repo {
        key_asc: keys::armored_public(&cert).into(),
        repo_json: signetd::home::own_repo::file_bytes(&repo).into(),
        ids,
    }
}

/// The floor: every repository read and each signature verified once with sequoia, on
/// both cores (`signet_tests::floor`), in a fresh process.
fn floor(repos: &[Repo]) -> Duration {
    signet_tests::floor::time_in_child(Checker::Floor, &files(repos))
}

/// Every repository accepted with the crawler's own rules (`signet_core::accept`: Ed25519
/// checked a batch at a time), in a fresh process: what the index spends on checking.
fn accepted(repos: &[Repo]) -> Duration {
    signet_tests::floor::time_in_child(Checker::Accept, &files(repos))
}

fn files(repos: &[Repo]) -> Vec<(&[u8], &[u8])> {
    repos
        .iter()
        .map(|r| (&r.key_asc[..], &r.repo_json[..]))
        .collect()
}

fn health(index: &Index) -> serde_json::Value {
    index.get("v1/health").1
}

/// Crawls every repository from the first submission until all are held; the time.
fn ingest(index: &Index, server: &TestServer, repos: &[Repo]) -> Duration {
    let total: usize = repos.iter().map(|r| r.ids.len()).sum();
    let started = Instant::now();
    for r in 0..repos.len() {
        let (status, _) = index.submit(&format!("{}r{r}/", server.url()));
        assert_eq!(status, 202);
    }
    loop {
        if health(index)["attestations"] == total {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(3600),
            "ingest did not finish: {}",
            index.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn lookups(index: &Index, repos: &[Repo]) -> (Duration, Duration, Duration) {
    let ids: Vec<&String> = repos.iter().flat_map(|r| &r.ids).collect();
    // A fixed stride through all ids: every repository is asked about.
    let step = (ids.len() / 2000).max(1);
    let mut singles = Vec::new();
    for id in ids.iter().step_by(step).take(2000) {
        let (t, (status, answer)) = time(|| index.get(&format!("v1/ids/{id}")));
        assert_eq!(status, 200);
        assert_eq!(
            answer["results"][0]["attestations"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        singles.push(t);
    }
    let batch: Vec<&String> = ids
        .iter()
        .step_by((ids.len() / 1000).max(1))
        .take(1000)
        .copied()
        .collect();
    let body = serde_json::json!({ "ids": batch });
    let batches: Vec<Duration> = (0..5)
        .map(|_| {
            let (t, (status, _)) = time(|| request(&index.url, "POST", "v1/ids", Some(&body)));
            assert_eq!(status, 200);
            t
        })
        .collect();
    (median(&singles), quantile(&singles, 0.99), median(&batches))
}

/// A figure for the table, told at once too: a long run stopped early keeps what it measured.
fn row(rows: &mut Vec<[String; 3]>, what: String, figure: String, against: String) {
    eprintln!("{what}: {figure} ({against})");
    rows.push([what, figure, against]);
}

fn engine(
    rows: &mut Vec<[String; 3]>,
    name: &str,
    index: &Index,
    server: &TestServer,
    repos: &[Repo],
    floor: Duration,
    disk: impl Fn() -> u64,
) {
    let total: usize = repos.iter().map(|r| r.ids.len()).sum();
    let took = ingest(index, server, repos);
    if std::env::var_os("SIGNET_INDEX_BENCH_LOG").is_some() {
        // Where each crawl's time went, from the index's own log.
        for line in index.log().lines().filter(|l| l.contains("crawled")) {
            eprintln!("{name}: {line}");
        }
    }
    row(
        rows,
        format!(
            "{name}: ingest {total} attestations from {} repositories",
            repos.len()
        ),
        ms(took),
        format!(
            "{:.0}% of the floor's rate (goal ≥ 80%); {:.0} attestations/s",
            floor.as_secs_f64() / took.as_secs_f64() * 100.0,
            total as f64 / took.as_secs_f64()
        ),
    );
    let (p50, p99, batch) = lookups(index, repos);
    if std::env::var_os("SIGNET_INDEX_BENCH_LOG").is_some() {
        // Where the requests of many ids spent their time.
        for line in index.log().lines().map(plain) {
            if line.contains("looked up ids=1000") {
                eprintln!("{name}: {line}");
            }
        }
    }
    row(
        rows,
        format!("{name}: lookup by id over HTTP, p50"),
        ms(p50),
        "goal ≤ 2 ms".into(),
    );
    row(
        rows,
        format!("{name}: lookup by id over HTTP, p99"),
        ms(p99),
        "goal ≤ 10 ms".into(),
    );
    row(
        rows,
        format!("{name}: 1,000 ids in one request (median of 5)"),
        ms(batch),
        "goal ≤ 50 ms".into(),
    );
    let bytes = disk();
    row(
        rows,
        format!("{name}: disk"),
        format!("{:.1} MB", bytes as f64 / 1e6),
        format!("{:.0} bytes per attestation", bytes as f64 / total as f64),
    );
}

/// A line of the index's log without its colours.
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // An escape runs to its final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                dir_bytes(&e.path())
            } else {
                meta.len()
            }
        })
        .sum()
}

fn main() {
    signet_tests::floor::run_if_child();
    let var = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (r, n) = (
        var("SIGNET_INDEX_BENCH_REPOS", 100),
        var("SIGNET_INDEX_BENCH_PER_REPO", 1000),
    );
    let mut rows = Vec::new();
    let (made, repos) = time(|| signet_tests::on_every_core(0..r, |i| generate(i, n)));
    row(
        &mut rows,
        format!("generate {r} × {n} (bench setup)"),
        ms(made),
        String::new(),
    );
    let server = TestServer::start();
    for (i, repo) in repos.iter().enumerate() {
        server.route(
            &format!("r{i}/key.asc"),
            Serve::shared(repo.key_asc.clone()),
        );
        server.route(
            &format!("r{i}/repo.json"),
            Serve::shared(repo.repo_json.clone()),
        );
    }
    // The floor's rate does not depend on how many: `SIGNET_INDEX_BENCH_FLOOR_SAMPLE=K` times
    // the first K repositories and scales the time to all of them (a long run's ten minutes).
    let sample = var("SIGNET_INDEX_BENCH_FLOOR_SAMPLE", r).clamp(1, r);
    let floor = floor(&repos[..sample]).mul_f64(r as f64 / sample as f64);
    row(
        &mut rows,
        format!(
            "floor: parse and verify {} signatures one by one with sequoia, both cores{}",
            r * n,
            if sample < r {
                format!(" (timed on the first {}, scaled)", sample * n)
            } else {
                String::new()
            }
        ),
        ms(floor),
        format!("{:.0} attestations/s", (r * n) as f64 / floor.as_secs_f64()),
    );
    // Context, not a goal: `SIGNET_INDEX_BENCH_OWN_CHECK=0` leaves it out of a long run.
    if var("SIGNET_INDEX_BENCH_OWN_CHECK", 1) != 0 {
        let checking = accepted(&repos);
        row(
            &mut rows,
            "the crawler's own check in process (`accept`, Ed25519 in batches), both cores".into(),
            ms(checking),
            format!(
                "{:.2}× the floor's time; {:.0} attestations/s",
                checking.as_secs_f64() / floor.as_secs_f64(),
                (r * n) as f64 / checking.as_secs_f64()
            ),
        );
    }
    let crawlers = var("SIGNET_INDEX_BENCH_CRAWLERS", 4).to_string();
    let flags = [
        "--interval",
        "3600",
        "--crawlers",
        &crawlers,
        "--submissions-per-minute",
        "1000000",
    ];

    // Both engines unless `SIGNET_INDEX_BENCH_ENGINES` names some (`sqlite`, `postgresql`), in its order.
    let engines =
        std::env::var("SIGNET_INDEX_BENCH_ENGINES").unwrap_or_else(|_| "sqlite,postgresql".into());
    let runs = |name: &str| engines.split(',').any(|e| e.trim() == name);

    if let Ok(builds) = std::env::var("SIGNET_INDEX_BENCH_AB") {
        a_b(&mut rows, &builds, &flags, &server, &repos, floor, &runs);
        print(&rows);
        return;
    }

    // In the order `SIGNET_INDEX_BENCH_ENGINES` names them.
    for name in engines.split(',').map(str::trim) {
        match name {
            "sqlite" => {
                let dir = tempfile::tempdir().unwrap();
                let db = dir.path().join("index.db");
                let sqlite = Index::start(&format!("sqlite:{}", db.display()), &flags);
                engine(&mut rows, "SQLite", &sqlite, &server, &repos, floor, || {
                    let size = |name: &str| {
                        std::fs::metadata(dir.path().join(name)).map_or(0, |m| m.len())
                    };
                    eprintln!(
                        "SQLite: index.db {} B, its log (index.db-wal) {} B",
                        size("index.db"),
                        size("index.db-wal")
                    );
                    dir_bytes(dir.path())
                });
            }
            "postgresql" => {
                let Some(postgres) = Postgres::start("index_bench") else {
                    continue;
                };
                let url = postgres.database("bench");
                let index = Index::start(&url, &flags);
                let port = postgres.port.to_string();
                engine(
                    &mut rows,
                    "PostgreSQL",
                    &index,
                    &server,
                    &repos,
                    floor,
                    || {
                        let out = std::process::Command::new("psql")
                            .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-tAc"])
                            .arg("SELECT pg_database_size('bench')")
                            .output()
                            .unwrap();
                        String::from_utf8_lossy(&out.stdout)
                            .trim()
                            .parse()
                            .unwrap_or(0)
                    },
                );
            }
            other => panic!("SIGNET_INDEX_BENCH_ENGINES: {other:?} is not sqlite or postgresql"),
        }
    }

    print(&rows);
}

fn print(rows: &[[String; 3]]) {
    println!("| case | figure | against |\n|---|---|---|");
    for [what, figure, against] in rows {
        println!("| {what} | {figure} | {against} |");
    }
}

/// `SIGNET_INDEX_BENCH_AB=PATH,PATH`: the ingest of each build of `signet-index` in turn, on a
/// new database each time, `SIGNET_INDEX_BENCH_ROUNDS` (2) rounds, with the index's own CPU
/// time: on a machine whose speed moves between runs minutes apart, builds compared in one run,
/// alternated, on the same repositories.
fn a_b(
    rows: &mut Vec<[String; 3]>,
    builds: &str,
    flags: &[&str],
    server: &TestServer,
    repos: &[Repo],
    floor: Duration,
    runs: &dyn Fn(&str) -> bool,
) {
    let rounds: usize = std::env::var("SIGNET_INDEX_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    // `SIGNET_INDEX_BENCH_AB_LOOKUPS=1`: each build's lookups too, after its ingest.
    let lookups_too = std::env::var("SIGNET_INDEX_BENCH_AB_LOOKUPS").is_ok_and(|v| v == "1");
    let postgres = runs("postgresql")
        .then(|| Postgres::start("index_bench_ab"))
        .flatten();
    let mut databases = 0;
    for round in 1..=rounds {
        for build in builds.split(',') {
            let exe = std::path::Path::new(build);
            let mut ingest_with = |engine: &str, db: &str| {
                let flags: Vec<&str> = std::iter::once("--allow-private")
                    .chain(flags.iter().copied())
                    .collect();
                let index = Index::start_binary(exe, db, &flags);
                let took = ingest(&index, server, repos);
                row(
                    rows,
                    format!("round {round}, {engine}: {build}"),
                    ms(took),
                    format!(
                        "{:.0}% of the floor's rate; the index's CPU {:.1} s",
                        floor.as_secs_f64() / took.as_secs_f64() * 100.0,
                        index.cpu().as_secs_f64()
                    ),
                );
                if lookups_too {
                    let (p50, p99, batch) = lookups(&index, repos);
                    row(
                        rows,
                        format!("round {round}, {engine}: {build}: lookups"),
                        format!("p50 {}, p99 {}", ms(p50), ms(p99)),
                        format!("1,000 ids in one request (median of 5) {}", ms(batch)),
                    );
                }
            };
            if runs("sqlite") {
                let dir = tempfile::tempdir().unwrap();
                ingest_with(
                    "SQLite",
                    &format!("sqlite:{}", dir.path().join("index.db").display()),
                );
            }
            if let Some(postgres) = &postgres {
                databases += 1;
                ingest_with("PostgreSQL", &postgres.database(&format!("ab{databases}")));
            }
        }
    }
}
