//! The daemon at work (issue 6), each figure beside its peer from the same run:
//!
//! - hashing: `sig verify` of a 1 GiB file vs `openssl dgst -sha256` of it;
//! - a tree of N small files (default 100,000): `sig watch add` until every file is hashed and
//!   judged vs `watchman` crawling it; `sig verify DIR` from the watch's table and hashing it
//!   all (unwatched, both cores);
//! - change → notification: writing a file in the watched tree until the subscriber reads
//!   `verdict.changed`, vs watchman's subscription and raw inotify on the same tree;
//! - `verify` by path of a watched file over the socket, 1 and 64 clients.
//!
//! Run: `cargo bench -p signet-tests --bench watch_bench` (`SIGNET_BENCH_FILES` to change N;
//! `SIGNET_BENCH_SKIP_GIB=1` to leave out the 1 GiB file). Figures go to stdout as Markdown.

use std::io::{BufRead as _, BufReader, Write as _};
use std::mem::MaybeUninit;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use signet_tests::stats::{median, ms, quantile, time};
use signet_tests::{Home, Subscriber};

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// The table so far; each row is also printed as it is measured, in case a later one fails.
struct Rows(Vec<[String; 3]>);

impl Rows {
    fn push(&mut self, row: [String; 3]) {
        eprintln!("| {} | {} | {} |", row[0], row[1], row[2]);
        self.0.push(row);
    }
}

fn hashing(rows: &mut Rows, home: &Home) {
    let file = home.root.join("one-gib.bin");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        let block: Vec<u8> = (0..1 << 20)
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for _ in 0..1024 {
            out.write_all(&block).unwrap();
        }
    }
    let path = file.to_str().unwrap();
    let (mut sig, mut ssl) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        // A new mtime: the daemon's path cache must hash it again.
        Command::new("touch").arg(&file).status().unwrap();
        sig.push(time(|| home.sig(&["verify", path]).expect(1)).0);
        ssl.push(
            time(|| {
                let out = Command::new("openssl")
                    .args(["dgst", "-sha256", path])
                    .output()
                    .unwrap();
                assert!(out.status.success());
            })
            .0,
        );
    }
    let (s, o) = (median(&sig), median(&ssl));
    rows.push([
        "`sig verify` of a 1 GiB file (hashing; median of 3)".into(),
        secs(s),
        format!("{:.2}x openssl's time", s.as_secs_f64() / o.as_secs_f64()),
    ]);
    rows.push([
        "`openssl dgst -sha256` of the same file".into(),
        secs(o),
        format!("{:.2} GB/s", 1.073_741_824 / o.as_secs_f64()),
    ]);
    std::fs::remove_file(&file).unwrap();
}

/// A watchman client with its stdin and stdout piped.
fn watchman_client(args: &[&str]) -> std::process::Child {
    Command::new("watchman")
        .arg("--no-pretty")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("watchman (Debian package `watchman`)")
}

/// One watchman command (the server must be running), its answer as JSON.
fn watchman(args: &[&str], input: Option<&Value>) -> Value {
    // `--no-local`: without a server, watchman 4.9 runs some commands in the client itself
    // ("not available in this mode" for others) instead of failing.
    let mut child = watchman_client(&[&["--no-spawn", "--no-local"], args].concat());
    if let Some(input) = input {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn tree(rows: &mut Rows, home: &Home, n: usize) {
    let root = std::fs::canonicalize(&home.root).unwrap().join("tree");
    let files = signet_tests::small_files(&root, n, 100);
    let dir = root.to_str().unwrap();

    let (watch, run) = time(|| home.sig(&["watch", "add", dir]).expect(0));
    eprintln!("{}", run.stdout.trim());
    let w = &home.sig(&["watch", "list", "--json"]).expect(0).json()["watches"][0];
    assert_eq!(w["files"].as_u64(), Some(n as u64), "{w}");

    // watchman, the same tree: watch it and wait until its crawl is done (a query syncs).
    // Its server is started first, by hand: a client that spawns one can wait minutes here.
    let _ = Command::new("watchman").arg("shutdown-server").output();
    let mut server = Command::new("watchman")
        .arg("--foreground")
        .arg(format!(
            "--logfile={}",
            home.root.join("watchman.log").display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("watchman (Debian package `watchman`)");
    let up = Instant::now() + Duration::from_secs(20);
    while !Command::new("watchman")
        .args(["--no-spawn", "--no-local", "version"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        assert!(
            Instant::now() < up,
            "watchman's server did not start: {}",
            std::fs::read_to_string(home.root.join("watchman.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (crawl, _) = time(|| {
        watchman(&["watch", dir], None);
        let found = watchman(
            &["-j"],
            Some(&json!(["query", dir, {"expression": ["type", "f"], "fields": ["name"]}])),
        );
        assert_eq!(
            found["files"].as_array().map(Vec::len),
            Some(n),
            "watchman saw {found:.200}"
        );
    });
    rows.push([
        format!("`sig watch add` of {n} files: every file hashed and judged"),
        secs(watch),
        format!("watchman crawl (no hashing): {}", secs(crawl)),
    ]);

    let (cached, _) = time(|| home.sig(&["verify", dir]).expect(1));
    rows.push([
        format!("`sig verify DIR`, {n} watched files (from the watch's table)"),
        secs(cached),
        String::new(),
    ]);

    latency(rows, home, &root, &files);
    by_path(rows, home, &files[n / 2]);

    home.sig(&["watch", "remove", dir]).expect(0);
    let (hashed, _) = time(|| home.sig(&["verify", dir]).expect(1));
    rows.push([
        format!("`sig verify DIR`, {n} unwatched files (all hashed, both cores)"),
        secs(hashed),
        format!("{:.0} files/s", n as f64 / hashed.as_secs_f64()),
    ]);
    watchman(&["watch-del", dir], None);
    let _ = Command::new("watchman").arg("shutdown-server").output();
    let _ = server.kill();
    let _ = server.wait();
}

/// Writes files in the watched tree and times each until its notification arrives; the same
/// writes seen through watchman's subscription and through a bare inotify watch.
fn latency(rows: &mut Rows, home: &Home, root: &Path, files: &[PathBuf]) {
    const ROUNDS: usize = 200;
    let pick = |k: usize| &files[(k * 7919) % files.len()];
    // A file's name as notifications end with it and watchman reports it: relative to the root.
    let relative = |path: &Path| {
        path.strip_prefix(root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    let mut events = Subscriber::new(&home.socket, root);
    let mut signet = Vec::new();
    for k in 0..ROUNDS {
        let path = pick(k);
        let suffix = relative(path);
        let t = Instant::now();
        std::fs::write(path, format!("signet round {k}\n")).unwrap();
        events.wait_for(&suffix, Duration::from_secs(10));
        signet.push(t.elapsed());
    }
    // A verdict changed by a new attestation: every watched file is judged again.
    let (mut acked, mut told) = (Vec::new(), Vec::new());
    let file = &files[1];
    let suffix = relative(file);
    for k in 0..10 {
        let t = Instant::now();
        home.attest(file, k % 2 == 1, "bench").expect(0); // ends ok
        acked.push(t.elapsed());
        let change = events.wait_for(&suffix, Duration::from_secs(10));
        assert_eq!(change["cause"], "attestations", "{change}");
        told.push(t.elapsed());
    }
    rows.push([
        format!(
            "`sig attest` → `verdict.changed` ({} watched files judged again; median of 10)",
            files.len()
        ),
        ms(median(&told)),
        format!("of which `sig attest` itself: {}", ms(median(&acked))),
    ]);
    drop(events);

    // watchman: a subscription on the same tree, its notifications read as they come.
    let dir = root.to_str().unwrap();
    // (`subscribe` is refused with `--no-spawn`; the server runs already.)
    let mut child = watchman_client(&["-j", "-p"]);
    let mut input = child.stdin.take().unwrap();
    let mut output = BufReader::new(child.stdout.take().unwrap());
    writeln!(
        input,
        "{}",
        json!(["subscribe", dir, "bench", {"expression": ["type", "f"], "fields": ["name"]}])
    )
    .unwrap();
    input.flush().unwrap();
    let mut next = || {
        let mut line = String::new();
        output.read_line(&mut line).unwrap();
        serde_json::from_str::<Value>(&line)
            .unwrap_or_else(|e| panic!("watchman said something that is not JSON ({e}): {line:?}"))
    };
    // A change-notification PDU (not the initial result set) that names `name`.
    let names = |pdu: &Value, name: &str| {
        pdu["is_fresh_instance"] == false
            && pdu["files"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f == name))
    };
    while next().get("subscribe").is_none() {}
    // Settle: wait until a change made now comes through.
    std::fs::write(root.join("sentinel"), "now").unwrap();
    while !names(&next(), "sentinel") {}
    let mut watchman_times = Vec::new();
    for k in 0..ROUNDS / 4 {
        let path = pick(k + ROUNDS);
        let name = relative(path);
        let t = Instant::now();
        std::fs::write(path, format!("watchman round {k}\n")).unwrap();
        while !names(&next(), &name) {}
        watchman_times.push(t.elapsed());
    }
    let _ = child.kill();
    let _ = child.wait();

    // Raw inotify on the files' directories: the floor anything built on it can reach.
    use rustix::fs::inotify;
    let fd = inotify::init(inotify::CreateFlags::CLOEXEC).unwrap();
    let mut raw = Vec::new();
    for k in 0..ROUNDS {
        let path = pick(k + 2 * ROUNDS);
        let wd = inotify::add_watch(
            &fd,
            path.parent().unwrap(),
            inotify::WatchFlags::CLOSE_WRITE,
        )
        .unwrap();
        let t = Instant::now();
        std::fs::write(path, format!("inotify round {k}\n")).unwrap();
        let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
        let mut reader = inotify::Reader::new(&fd, &mut buf);
        reader.next().unwrap();
        raw.push(t.elapsed());
        inotify::remove_watch(&fd, wd).unwrap();
    }

    let (s, w, r) = (median(&signet), median(&watchman_times), median(&raw));
    rows.push([
        format!(
            "write → `verdict.changed` in a watched tree of {} files (median of {ROUNDS})",
            files.len()
        ),
        ms(s),
        format!(
            "worst {}; p99 {}",
            ms(*signet.iter().max().unwrap()),
            ms(quantile(&signet, 0.99))
        ),
    ]);
    rows.push([
        format!(
            "write → watchman subscription PDU (median of {})",
            ROUNDS / 4
        ),
        ms(w),
        format!(
            "worst {}; Signet is {:.1}x faster",
            ms(*watchman_times.iter().max().unwrap()),
            w.as_secs_f64() / s.as_secs_f64()
        ),
    ]);
    rows.push([
        "write → raw inotify event (median)".into(),
        ms(r),
        "the floor".into(),
    ]);
}

/// `verify` of one watched file by path over the socket, from `clients` connections at once
/// for two seconds: per-request latency and total throughput.
fn by_path(rows: &mut Rows, home: &Home, file: &Path) {
    for clients in [1usize, 64] {
        let deadline = Instant::now() + Duration::from_secs(2);
        let started = Instant::now();
        let threads: Vec<_> = (0..clients)
            .map(|_| {
                let (socket, file) = (home.socket.clone(), file.to_owned());
                std::thread::spawn(move || {
                    let stream = UnixStream::connect(&socket).unwrap();
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut writer = stream;
                    let mut line = String::new();
                    writeln!(writer, "{}", json!({"jsonrpc": "2.0", "id": 0, "method": "hello", "params": {"protocol": 1, "client": "bench"}})).unwrap();
                    reader.read_line(&mut line).unwrap();
                    let request = format!("{}\n", json!({"jsonrpc": "2.0", "id": 1, "method": "verify", "params": {"path": file}}));
                    let mut times = Vec::new();
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        writer.write_all(request.as_bytes()).unwrap();
                        line.clear();
                        reader.read_line(&mut line).unwrap();
                        times.push(t.elapsed());
                        debug_assert!(line.contains("\"verdict\""));
                    }
                    times
                })
            })
            .collect();
        let times: Vec<Duration> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let rate = times.len() as f64 / started.elapsed().as_secs_f64();
        rows.push([
            format!("`verify` by path of a watched file, {clients} client(s)"),
            format!("median {}", us(median(&times))),
            format!("p99 {}; {rate:.0} requests/s", us(quantile(&times, 0.99))),
        ]);
    }
}

fn main() {
    let n: usize = std::env::var("SIGNET_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let home = Home::new();
    home.config(json!({"sync": {"interval_secs": 0}}));
    home.setup("Bench <bench@example.org>");
    let mut rows = Rows(Vec::new());
    if std::env::var_os("SIGNET_BENCH_SKIP_GIB").is_none() {
        hashing(&mut rows, &home);
    }
    tree(&mut rows, &home, n);
    println!("\n| measure | figure | note |\n|---|---|---|");
    for [a, b, c] in rows.0 {
        println!("| {a} | {b} | {c} |");
    }
}
