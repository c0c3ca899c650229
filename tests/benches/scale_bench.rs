//! Issue 24's table at scale, each row against its floor or peer in the same run (release):
//!
//! - `many`: a follower of ten seed-format remotes of `SIGNET_SCALE_BENCH_SEED` (default
//!   100,000) attestations each (`SIGNET_SCALE_BENCH_REMOTES`), fetched at once, against the
//!   floor for all of them (`signet_tests::floor`: parsed, each signature verified once with
//!   sequoia, both cores, a fresh process); its memory; its restart after an 11th remote's key
//!   was learnt.
//! - `follow`: one repository followed — `SIGNET_SCALE_BENCH_N` (default 1,000,000) in the
//!   large-publisher layout (docs/FORMATS.md, "Parts"), `SIGNET_SCALE_BENCH_ONE` (default
//!   300,000) in the seed format, and the seed's size both ways: the first fetch against its
//!   floor, one new attestation (the bytes the follower downloads, the CPU its daemon spends),
//!   a restart to the first verify answer, the daemon's memory.
//! - `own`: one `sig attest` into an own repository of the seed's size and of N, median of 9.
//! - `tree`: `SIGNET_SCALE_BENCH_FILES` (default 20,000) small files in directories of 500:
//!   `sig attest DIR` (one signed write) against the way the issue measured, `find … | xargs -n
//!   2000 sig attest`; then `sig verify DIR` of the unchanged tree, unwatched and watched,
//!   against `find DIR -type f` and `find DIR -type f -size -100k` (a stat each) in turn in the
//!   same rounds, medians of 15.
//!
//! Run: `cargo bench -p signet-tests --bench scale_bench` (`SIGNET_SCALE_BENCH_CASES=` a
//! comma-separated choice of `many`, `follow`, `own`, `tree`; all by default;
//! `SIGNET_SCALE_BENCH_PERF=PREFIX` profiles the daemon's update and attests with `perf`).
//! Figures go to stdout as Markdown tables; the daemon's own timings of each write to stderr.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use signet_core::parts;
use signet_proto::formats::{RepoContents, Signed};
use signet_tests::Home;
use signet_tests::floor::Checker;
use signet_tests::http::TestServer;
use signet_tests::stats::{median, ms};
use signetd::keys::{self, EmbeddedKey};

fn env_n(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `n` attestations signed by `signer`, on both cores.
fn words(signer: &EmbeddedKey, from: usize, n: usize) -> Vec<(String, Signed)> {
    signet_tests::on_every_core(from..from + n, |i| {
        let (id, data) = signet_tests::numbered_statement(i);
        let signed = keys::sign_value(signer, data).unwrap().compact();
        (id.to_string(), signed)
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

/// CPU seconds a process has used (user + system).
fn cpu(pid: i32) -> Duration {
    signet_tests::process_cpu(pid).expect("the daemon's /proc/PID/stat")
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
    let trace = trace_memory(home.daemon_pid().unwrap(), "follow-fetch");
    let started = Instant::now();
    home.sig(&["fetch"]).expect(0);
    let first_wall = started.elapsed();
    drop(trace);
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
        Some(pid),
        &format!("{n}-{}", if in_parts { "parts" } else { "seed" }),
    );
    let trace = trace_memory(pid, "follow-update");
    let before = cpu(pid);
    let started = Instant::now();
    home.sig(&["fetch"]).expect(0);
    let update_wall = started.elapsed();
    if trace.is_some() {
        eprintln!("{}", home.log());
    }
    drop(trace);
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
    let pid = home.daemon_pid().unwrap();
    let trace = trace_memory(pid, "many-fetch");
    let started = Instant::now();
    home.sig(&["fetch"]).expect(0);
    let first_wall = started.elapsed();
    drop(trace);
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
    let perf = profile(None, "many-restart");
    let started = Instant::now();
    home.sig(&["verify", "--id", &first_id]);
    let restart = started.elapsed();
    end_profile(perf);
    let restarted = home.daemon_pid().unwrap();
    // The restart as the daemon logs it: each copy loaded, and when it answered.
    let log = home.log();
    let lines: Vec<&str> = log.lines().collect();
    for line in &lines[lines.len().saturating_sub(40)..] {
        if line.contains("checked cache") || line.contains("the home loaded") {
            eprintln!("{line}");
        }
    }
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

/// `SIGNET_SCALE_BENCH_TRACE=1`: the daemon's resident size to stderr every 100 ms until
/// dropped (where a peak comes from).
fn trace_memory(pid: i32, what: &'static str) -> Option<impl Drop> {
    std::env::var_os("SIGNET_SCALE_BENCH_TRACE")?;
    struct Stop(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopping = stop.clone();
    std::thread::spawn(move || {
        let started = Instant::now();
        while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
            let rss = signet_tests::proc_status_kib(pid, "VmRSS:") / 1024;
            // The wall clock too, to set beside the daemon's log.
            let now = humantime::format_rfc3339_millis(std::time::SystemTime::now());
            eprintln!(
                "{what} {:>6} ms {rss:>5} MiB {now}",
                started.elapsed().as_millis()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    Some(Stop(stop))
}

/// `SIGNET_SCALE_BENCH_PERF=PREFIX`: the daemon `pid` (or, `None`, the whole machine: a
/// daemon yet to start) profiled (perf record) into PREFIX-WHAT until [`end_profile`].
fn profile(pid: Option<i32>, what: &str) -> Option<std::process::Child> {
    let prefix = std::env::var("SIGNET_SCALE_BENCH_PERF").ok()?;
    let file = format!("{prefix}-{what}");
    let target = match pid {
        Some(pid) => vec!["-p".to_owned(), pid.to_string()],
        None => vec!["-a".to_owned()],
    };
    let perf = std::process::Command::new("perf")
        .args(["record", "-F", "2999", "-g", "-o", &file])
        .args(&target)
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
            perf = profile(home.daemon_pid(), &format!("{n}-own"));
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

/// Issue 24's tree rows: `files` small files, attested in bulk and verified unchanged.
struct Tree {
    attest_dir: Duration,
    /// The issue's way: `find DIR -type f | xargs -n 2000 sig attest`, another home.
    attest_xargs: Duration,
    verify: Duration,
    verify_watched: Duration,
    find: Duration,
    find_stat: Duration,
}

fn timed(cmd: &mut std::process::Command) -> Duration {
    let started = Instant::now();
    let status = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    let took = started.elapsed();
    assert!(status.success(), "{cmd:?}: {status}");
    took
}

fn tree(files: usize) -> Tree {
    let root = tempfile::tempdir().unwrap();
    signet_tests::small_files(root.path(), files, 500);
    let dir = root.path().to_str().unwrap();
    let home = Home::new();
    home.config(json!({"sync": {"interval_secs": 0}}));
    home.setup("Reviewer <r@example.org>");
    let args = ["attest", "--ok", "--reviewed", "--comment", "read", dir];
    let attest_dir = timed(&mut home.sig_command(&args));

    let other = Home::new();
    other.config(json!({"sync": {"interval_secs": 0}}));
    other.setup("Reviewer <r@example.org>");
    let sig = other.sig_command(&[]);
    let mut xargs = std::process::Command::new("sh");
    xargs
        .arg("-c")
        .arg(r#"find "$1" -type f | xargs -n 2000 "$0" attest --ok --reviewed --comment read"#)
        .arg(sig.get_program())
        .arg(dir)
        .envs(sig.get_envs().filter_map(|(k, v)| Some((k, v?))));
    let attest_xargs = timed(&mut xargs);
    drop(other);

    let verify_args = ["verify", dir];
    timed(&mut home.sig_command(&verify_args)); // verified once before
    let rounds = |watched: bool| {
        let (mut verify, mut find, mut find_stat) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..15 {
            verify.push(timed(&mut home.sig_command(&verify_args)));
            if !watched {
                let mut cmd = std::process::Command::new("find");
                find.push(timed(cmd.args([dir, "-type", "f"])));
                let mut cmd = std::process::Command::new("find");
                find_stat.push(timed(cmd.args([dir, "-type", "f", "-size", "-100k"])));
            }
        }
        (median(&verify), find, find_stat)
    };
    let (verify, find, find_stat) = rounds(false);
    let (find, find_stat) = (median(&find), median(&find_stat));
    home.sig(&["watch", "add", dir]).expect(0);
    timed(&mut home.sig_command(&verify_args));
    let (verify_watched, ..) = rounds(true);
    Tree {
        attest_dir,
        attest_xargs,
        verify,
        verify_watched,
        find,
        find_stat,
    }
}

fn main() {
    signet_tests::floor::run_if_child();
    let n = env_n("SIGNET_SCALE_BENCH_N", 1_000_000);
    let seed = env_n("SIGNET_SCALE_BENCH_SEED", 100_000);
    let mb = |b: u64| format!("{:.2} MB", b as f64 / 1e6);
    let cases = std::env::var("SIGNET_SCALE_BENCH_CASES").unwrap_or_default();
    let only = |case: &str| cases.is_empty() || cases.split(',').any(|c| c == case);
    let (follows, owns) = (only("follow"), only("own"));
    if only("tree") {
        let files = env_n("SIGNET_SCALE_BENCH_FILES", 20_000);
        let t = tree(files);
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        println!("| {files} small files | figure | peer, same run |");
        println!("|---|---|---|");
        println!(
            "| `sig attest DIR` (one signed write) | {} | `find … \\| xargs -n 2000 sig attest`: {} |",
            ms(t.attest_dir),
            ms(t.attest_xargs),
        );
        println!(
            "| `sig verify DIR`, unchanged, not watched (median of 15) | {} | `find -type f` {} \
             ({:.2}×); `find -type f -size -100k`, a stat each, {} ({:.2}×) |",
            ms(t.verify),
            ms(t.find),
            ratio(t.verify, t.find),
            ms(t.find_stat),
            ratio(t.verify, t.find_stat),
        );
        println!(
            "| the same, watched | {} | ({:.2}× `find -type f`, {:.2}× with a stat each) |",
            ms(t.verify_watched),
            ratio(t.verify_watched, t.find),
            ratio(t.verify_watched, t.find_stat),
        );
        println!();
    }
    if only("many") {
        let remotes = env_n("SIGNET_SCALE_BENCH_REMOTES", 10);
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
    let one = env_n("SIGNET_SCALE_BENCH_ONE", 300_000);
    for (label, n, in_parts) in [
        (format!("{n} attestations in parts"), n, true),
        (format!("{one} attestations, seed format"), one, false),
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
