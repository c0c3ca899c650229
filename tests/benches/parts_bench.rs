//! The large-publisher layout (docs/FORMATS.md, "Parts") at scale, against the seed format in
//! the same run: a repository of N attestations (default 1,000,000, one Ed25519 key) written in
//! parts and served on 127.0.0.1; a follower's first fetch, then one new attestation — the
//! bytes the follower downloads and the CPU its daemon spends on it — and a restart to the
//! first verify answer. The same update of a seed-format repository of `SIGNET_PARTS_BENCH_SEED`
//! (default 100,000) attestations is the peer: the whole file again. Then the publisher's side:
//! one `sig attest` into an own repository of N attestations (in parts past
//! `publish.parts_above`), median of 9. Beside each first fetch, the floor for the same
//! repository in the same run (`signet_tests::floor`: parsed, each signature verified once with
//! sequoia, both cores, a fresh process).
//!
//! Then issue 24's first rows: a follower of ten seed-format remotes of `SIGNET_PARTS_BENCH_SEED`
//! attestations each (`SIGNET_PARTS_BENCH_REMOTES`), fetched at once, against the floor for all
//! of them; and its restart after an 11th remote's key was learnt.
//!
//! Run: `cargo bench -p signet-tests --bench parts_bench` (`SIGNET_PARTS_BENCH_N` to change N;
//! `SIGNET_PARTS_BENCH_CASES=` a comma-separated choice of `many`, `follow`, `own`).
//! Figures go to stdout as a Markdown table.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use signet_core::parts;
use signet_proto::formats::{ContentId, RepoContents, Signed, Statement};
use signet_tests::Home;
use signet_tests::floor::Checker;
use signet_tests::http::TestServer;
use signet_tests::stats::ms;
use signetd::keys::{self, EmbeddedKey};

fn env_n(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `n` attestations signed by `signer`, on both cores.
fn words(signer: &EmbeddedKey, from: usize, n: usize) -> Vec<(String, Signed)> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = n.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (from..from + n)
            .collect::<Vec<_>>()
            .chunks(chunk)
            .map(|range| {
                let range = range.to_vec();
                scope.spawn(move || {
                    range
                        .into_iter()
                        .map(|i| {
                            use sha2::Digest as _;
                            let id =
                                ContentId::sha256(&sha2::Sha256::digest(i.to_le_bytes()).into());
                            let data = Statement::to_data(
                                &id,
                                i % 10 != 0,
                                true,
                                &format!("reviewed file number {i} carefully"),
                            );
                            let signed = keys::sign_value(signer, data).unwrap().compact();
                            (id.to_string(), signed)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// A repository of `n` attestations by `signer` (the files numbered from `from`), at `serial`.
fn repository(signer: &EmbeddedKey, from: usize, n: usize, serial: u64) -> RepoContents {
    let mut contents = RepoContents {
        serial,
        updated: Some("2026-12-06T00:00:00Z".into()),
        ..Default::default()
    };
    for (id, word) in words(signer, from, n) {
        contents.attestations.insert(id, vec![word]);
    }
    contents
}

/// Writes `contents` to `dir` in parts (or whole, `in_parts` false), signed by `signer`.
fn publish(dir: &Path, signer: &EmbeddedKey, contents: &RepoContents, in_parts: bool) {
    let data = if in_parts {
        let split = parts::split(contents, parts::digits_for(contents.count()));
        let part_dir = dir.join("parts");
        std::fs::create_dir_all(&part_dir).unwrap();
        for file in &split.files {
            let path = part_dir.join(format!("{}.json", file.part.sha256));
            if !path.exists() {
                std::fs::write(path, &file.bytes).unwrap();
            }
        }
        split.top
    } else {
        contents.to_data()
    };
    let signed = keys::sign_value(signer, data).unwrap();
    std::fs::write(
        dir.join("repo.json"),
        signetd::home::own_repo::file_bytes(&signed),
    )
    .unwrap();
}

/// CPU seconds a process has used (user + system), from `/proc/PID/stat`.
fn cpu(pid: i32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

struct Case {
    /// The same repository, in the seed format, parsed and each signature verified once with
    /// sequoia on both cores, in a fresh process (`signet_tests::floor`).
    floor: Duration,
    first_wall: Duration,
    first_bytes: u64,
    update_wall: Duration,
    update_cpu: Duration,
    update_bytes: u64,
    restart: Duration,
    rss_mib: u64,
    /// The follower's peak resident size over the first fetch and the update.
    peak_mib: u64,
    rss_restarted_mib: u64,
    /// The restarted daemon's peak, loading the copy from its caches.
    peak_restarted_mib: u64,
}

fn follow(n: usize, in_parts: bool) -> Case {
    let cert = keys::generate("Big Registry <registry@example.org>").unwrap();
    let signer = EmbeddedKey::new(cert.clone()).unwrap();
    let mut contents = repository(&signer, 0, n, 1);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key.asc"), keys::armored_public(&cert)).unwrap();
    publish(dir.path(), &signer, &contents, in_parts);
    let floor = {
        let repo = keys::sign_value(&signer, contents.to_data()).unwrap();
        let repo = signetd::home::own_repo::file_bytes(&repo);
        let key = keys::armored_public(&cert);
        signet_tests::floor::time_in_child(Checker::Floor, &[(&key, &repo)])
    };
    let server = TestServer::start();
    server.serve_repo(dir.path());

    let home = Home::new();
    home.config(json!({"sync": {"interval_secs": 0}, "fetch": {"max_repo_bytes": 1u64 << 32}}));
    home.setup("Follower <f@example.org>");
    home.sig(&["remote", "add", "big", &server.url()]).expect(0);
    let started = Instant::now();
    home.sig(&["fetch"]).expect(0);
    let first_wall = started.elapsed();
    let first_bytes = server.take_bytes_sent();

    // One new attestation, published.
    contents.serial += 1;
    for (id, word) in words(&signer, n, 1) {
        contents.attestations.insert(id, vec![word]);
    }
    publish(dir.path(), &signer, &contents, in_parts);
    server.serve_repo(dir.path());
    let pid = home.daemon_pid().unwrap();
    let perf = profile(
        pid,
        &format!("{n}-{}", if in_parts { "parts" } else { "seed" }),
    );
    let before = cpu(pid);
    let started = Instant::now();
    home.sig(&["fetch"]).expect(0);
    let update_wall = started.elapsed();
    let update_cpu = cpu(pid) - before;
    end_profile(perf);
    let update_bytes = server.take_bytes_sent();
    let rss_mib = signet_tests::proc_status_kib(pid, "VmRSS:") / 1024;
    let peak_mib = signet_tests::proc_status_kib(pid, "VmHWM:") / 1024;

    home.sig(&["daemon", "stop"]).expect(0);
    let started = Instant::now();
    home.sig(&[
        "verify",
        "--id",
        contents.attestations.keys().next().unwrap(),
    ]);
    let restart = started.elapsed();
    let restarted = home.daemon_pid().unwrap();
    let rss_restarted_mib = signet_tests::proc_status_kib(restarted, "VmRSS:") / 1024;
    let peak_restarted_mib = signet_tests::proc_status_kib(restarted, "VmHWM:") / 1024;
    Case {
        floor,
        first_wall,
        first_bytes,
        update_wall,
        update_cpu,
        update_bytes,
        restart,
        rss_mib,
        peak_mib,
        rss_restarted_mib,
        peak_restarted_mib,
    }
}

/// Issue 24's first rows: a follower of `remotes` seed-format remotes of `each` attestations
/// (distinct ids, a key each), fetched at once.
struct Many {
    floor: Duration,
    first_wall: Duration,
    rss_mib: u64,
    peak_mib: u64,
    /// After an 11th small remote (a key never seen) was fetched: restart to the first verify.
    restart: Duration,
    rss_restarted_mib: u64,
    peak_restarted_mib: u64,
}

fn many(remotes: usize, each: usize) -> Many {
    let dirs: Vec<tempfile::TempDir> = (0..remotes).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut floor_inputs = Vec::new();
    let mut first_id = String::new();
    for (r, dir) in dirs.iter().enumerate() {
        let cert = keys::generate(&format!("Publisher {r} <p{r}@example.org>")).unwrap();
        let signer = EmbeddedKey::new(cert.clone()).unwrap();
        let contents = repository(&signer, r * each, each, 1);
        if r == 0 {
            first_id = contents.attestations.keys().next().unwrap().clone();
        }
        let key = keys::armored_public(&cert);
        std::fs::write(dir.path().join("key.asc"), &key).unwrap();
        publish(dir.path(), &signer, &contents, false);
        let repo = std::fs::read(dir.path().join("repo.json")).unwrap();
        floor_inputs.push((key, repo));
    }
    let floor = {
        let inputs: Vec<(&[u8], &[u8])> = floor_inputs
            .iter()
            .map(|(k, r)| (AsRef::<[u8]>::as_ref(k), r.as_slice()))
            .collect();
        signet_tests::floor::time_in_child(Checker::Floor, &inputs)
    };
    drop(floor_inputs);
    let servers: Vec<TestServer> = dirs
        .iter()
        .map(|dir| {
            let server = TestServer::start();
            server.serve_repo(dir.path());
            server
        })
        .collect();
    let home = Home::new();
    home.config(json!({"sync": {"interval_secs": 0}, "fetch": {"max_repo_bytes": 1u64 << 32}}));
    home.setup("Follower <f@example.org>");
    for (r, server) in servers.iter().enumerate() {
        home.sig(&["remote", "add", &format!("r{r}"), &server.url()])
            .expect(0);
    }
    let started = Instant::now();
    home.sig(&["fetch"]).expect(0);
    let first_wall = started.elapsed();
    let pid = home.daemon_pid().unwrap();
    let rss_mib = signet_tests::proc_status_kib(pid, "VmRSS:") / 1024;
    let peak_mib = signet_tests::proc_status_kib(pid, "VmHWM:") / 1024;

    // A key learnt since: an 11th, small remote. Every other remote's checks must stand.
    let small = tempfile::tempdir().unwrap();
    let cert = keys::generate("Newcomer <new@example.org>").unwrap();
    let signer = EmbeddedKey::new(cert.clone()).unwrap();
    std::fs::write(small.path().join("key.asc"), keys::armored_public(&cert)).unwrap();
    publish(small.path(), &signer, &repository(&signer, 0, 10, 1), false);
    let server = TestServer::start();
    server.serve_repo(small.path());
    home.sig(&["remote", "add", "newcomer", &server.url()])
        .expect(0);
    home.sig(&["fetch", "newcomer"]).expect(0);

    home.sig(&["daemon", "stop"]).expect(0);
    let started = Instant::now();
    home.sig(&["verify", "--id", &first_id]);
    let restart = started.elapsed();
    let restarted = home.daemon_pid().unwrap();
    Many {
        floor,
        first_wall,
        rss_mib,
        peak_mib,
        restart,
        rss_restarted_mib: signet_tests::proc_status_kib(restarted, "VmRSS:") / 1024,
        peak_restarted_mib: signet_tests::proc_status_kib(restarted, "VmHWM:") / 1024,
    }
}

/// `SIGNET_PARTS_BENCH_PERF=PREFIX`: the daemon `pid` profiled (perf record) into
/// PREFIX-WHAT until [`end_profile`].
fn profile(pid: i32, what: &str) -> Option<std::process::Child> {
    let prefix = std::env::var("SIGNET_PARTS_BENCH_PERF").ok()?;
    let file = format!("{prefix}-{what}");
    let perf = std::process::Command::new("perf")
        .args([
            "record",
            "-F",
            "2999",
            "-g",
            "-o",
            &file,
            "-p",
            &pid.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(format!("{file}.log")).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    Some(perf)
}

fn end_profile(perf: Option<std::process::Child>) {
    if let Some(perf) = perf {
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(perf.id() as i32).unwrap(),
            rustix::process::Signal::INT,
        )
        .unwrap();
        let _ = perf.wait_with_output();
    }
}

/// One `sig attest` into an own repository of `n` attestations: the median and slowest of 9.
fn own_attest(n: usize) -> (Duration, Duration) {
    use sequoia_openpgp::parse::Parse as _;
    let home = Home::new();
    home.config(json!({"sync": {"interval_secs": 0}}));
    home.setup("Big Registry <registry@example.org>");
    home.sig(&["daemon", "stop"]).expect(0);
    let secret = std::fs::read(home.home.join("keys/secret.asc")).unwrap();
    let cert = sequoia_openpgp::Cert::from_bytes(&secret).unwrap();
    let signer = EmbeddedKey::new(cert).unwrap();
    let contents = repository(&signer, 0, n, 2);
    let repo = home.home.join("repo");
    publish(&repo, &signer, &contents, n > 10_000);
    let mut times = Vec::new();
    let mut perf = None;
    for i in 0..9 {
        let file = home.file(&format!("new-{i}"), format!("new file {i}\n").as_bytes());
        if i == 0 {
            home.sig(&["status"]).expect(0); // the daemon up, the repository loaded
            perf = profile(home.daemon_pid().unwrap(), &format!("{n}-own"));
        }
        let started = Instant::now();
        home.attest(&file, true, "read").expect(0);
        times.push(started.elapsed());
    }
    end_profile(perf);
    // Where each write's time went, as the daemon logs it.
    for line in home.log().lines() {
        if line.contains("filed") || line.contains("the repository's next version") {
            eprintln!("{line}");
        }
    }
    times.sort();
    (times[4], times[8])
}

fn main() {
    signet_tests::floor::run_if_child();
    let n = env_n("SIGNET_PARTS_BENCH_N", 1_000_000);
    let seed = env_n("SIGNET_PARTS_BENCH_SEED", 100_000);
    let mb = |b: u64| format!("{:.2} MB", b as f64 / 1e6);
    let cases = std::env::var("SIGNET_PARTS_BENCH_CASES").unwrap_or_default();
    let only = |case: &str| cases.is_empty() || cases.split(',').any(|c| c == case);
    let (follows, owns) = (only("follow"), only("own"));
    if only("many") {
        let remotes = env_n("SIGNET_PARTS_BENCH_REMOTES", 10);
        let case = many(remotes, seed);
        println!(
            "| {remotes} remotes × {seed} attestations, seed format | first fetch | the floor, \
             same run | daemon RSS after (peak) | restart to first verify, after an 11th \
             remote's new key | RSS after the restart (peak) |"
        );
        println!("|---|---|---|---|---|---|");
        println!(
            "| | {} | {} ({:.2}×) | {} ({}) MiB | {} | {} ({}) MiB |",
            ms(case.first_wall),
            ms(case.floor),
            case.first_wall.as_secs_f64() / case.floor.as_secs_f64(),
            case.rss_mib,
            case.peak_mib,
            ms(case.restart),
            case.rss_restarted_mib,
            case.peak_restarted_mib,
        );
        println!();
    }
    if follows {
        println!(
            "| case | first fetch | the floor, same run | one new attestation: bytes / daemon \
             CPU / wall | restart to first verify | daemon RSS after the update (peak) / after \
             the restart (peak) |"
        );
        println!("|---|---|---|---|---|---|");
    }
    for (label, n, in_parts) in [
        (format!("{n} attestations in parts"), n, true),
        (format!("{seed} attestations, seed format"), seed, false),
        (format!("{seed} attestations in parts"), seed, true),
    ]
    .into_iter()
    .filter(|_| follows)
    {
        let case = follow(n, in_parts);
        println!(
            "| {label} | {} ({}) | {} ({:.2}×) | {} / {} / {} | {} | {} ({}) / {} ({}) MiB |",
            ms(case.first_wall),
            mb(case.first_bytes),
            ms(case.floor),
            case.first_wall.as_secs_f64() / case.floor.as_secs_f64(),
            mb(case.update_bytes),
            ms(case.update_cpu),
            ms(case.update_wall),
            ms(case.restart),
            case.rss_mib,
            case.peak_mib,
            case.rss_restarted_mib,
            case.peak_restarted_mib,
        );
    }
    if !owns {
        return;
    }
    println!();
    println!("| own repository | one `sig attest` (median of 9) | slowest |");
    println!("|---|---|---|");
    for n in [seed, n] {
        let (median, slowest) = own_attest(n);
        println!("| {n} attestations | {} | {} |", ms(median), ms(slowest));
    }
}
