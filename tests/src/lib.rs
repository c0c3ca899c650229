//! Harness for end-to-end tests: temp homes, the real `sig` and `signetd` binaries, raw socket
//! clients, and cleanup of every daemon a test started, however the test ends.

pub mod examples;
pub mod floor;
pub mod forge;
pub mod http;
pub mod index;
pub mod stats;
pub mod terminal;

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

/// A built binary of this workspace. Cargo builds `sig`, `signetd` and `signet-index` before any test runs
/// because their own packages have integration tests; they sit beside `deps/`.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/..");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run the suite with `cargo test --workspace` so cargo builds it",
        path.display()
    );
    assert_fresh(&path);
    path
}

/// Copies a program to run it from `to`, by `cp`: a copy written by this process would be
/// open for writing here while another test's thread forks, and the child holds that
/// descriptor until it execs; running the copy meanwhile fails with "Text file busy"
/// (`cli::small_things_a_new_user_meets` did so in a full run).
pub fn copy_program(from: &Path, to: &Path) {
    let copied = Command::new("cp")
        .arg(from)
        .arg(to)
        .status()
        .expect("run cp");
    assert!(copied.success(), "cp {} {}", from.display(), to.display());
}

/// Refuses to test a binary older than the sources it is built from: `cargo test -p
/// signet-tests` alone does not rebuild `sig` and `signetd`, and would test stale code.
fn assert_fresh(binary: &Path) {
    fn newest(dir: &Path) -> std::time::SystemTime {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| {
                let meta = e.metadata().unwrap();
                if meta.is_dir() {
                    newest(&e.path())
                } else {
                    meta.modified().unwrap()
                }
            })
            .max()
            .unwrap_or(std::time::UNIX_EPOCH)
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    // Each binary's sources: the daemon is built from the rules and the fetch crates too.
    let own: &[&str] = if binary.ends_with("signetd") {
        &["signetd/src", "signet-core/src", "signet-fetch/src"]
    } else if binary.ends_with("signet-index") {
        &["signet-index/src", "signet-core/src", "signet-fetch/src"]
    } else {
        &["signet-client/src"]
    };
    let sources = ["proto/src"]
        .iter()
        .chain(own)
        .map(|d| newest(&root.join(d)))
        .max()
        .unwrap();
    let built = std::fs::metadata(binary).unwrap().modified().unwrap();
    assert!(
        built >= sources,
        "{} is older than its sources: run `cargo build --workspace --bins`, or the whole suite \
         with `cargo test --workspace` (`cargo test --test e2e AREA::` alone does not rebuild binaries)",
        binary.display()
    );
}

/// Polls `done` until it gives a value or `timeout` passes; then fails, saying `what` was
/// awaited. For waiting on another process (a daemon's scheduled fetch, a file appearing),
/// never for time itself to pass.
#[track_caller]
pub fn wait_until<T>(what: &str, timeout: Duration, mut done: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = done() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "waited {timeout:?} for {what}; it did not happen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Skips the rest of a test that needs what this machine lacks (a tool, a privilege), saying
/// so on stderr — unless `CI=true`, where it fails instead: CI must run every test, and a test
/// that skips there proves nothing.
#[track_caller]
pub fn skip(test: &str, why: &str) {
    assert!(
        std::env::var_os("CI").is_none_or(|v| v != "true"),
        "{test} cannot run here, and CI must run it: {why}"
    );
    eprintln!("SKIP {test}: {why}");
}

/// Held by the tests that measure time or load the machine (a burst of writes, kill -9 loops,
/// gigabytes hashed, deadlines of a few seconds): all the end-to-end tests share one process,
/// and two of these at once on two cores would measure each other. Others run beside them.
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Makes a FIFO at `path` (`mkfifo`), for the tests that prove one is never opened.
pub fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// A command with every `SIGNET_*` variable of the outer environment removed.
pub fn clean_command(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SIGNET_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("SIGNET_LOG", "debug");
    cmd
}

/// The outcome of a `sig` run, with helpers for assertions.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The log of the daemon this run talked to, when a home ran it: shown when it fails.
    pub daemon_log: Option<PathBuf>,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            daemon_log: None,
        }
    }
}

impl Run {
    /// Lines of the daemon's log shown with a failed [`Run::expect`].
    const LOG_LINES: usize = 40;

    /// Asserts the exit code, showing everything on failure: the output, and the end of the
    /// daemon's log (what the daemon did is often why).
    #[track_caller]
    pub fn expect(self, code: i32) -> Self {
        if self.code != code {
            let log = self
                .daemon_log
                .as_ref()
                .and_then(|p| std::fs::read_to_string(p).ok())
                .map(|log| {
                    let lines: Vec<&str> = log.lines().collect();
                    lines[lines.len().saturating_sub(Self::LOG_LINES)..].join("\n")
                })
                .unwrap_or_default();
            panic!(
                "exit code {} (expected {code}); stdout:\n{}\nstderr:\n{}\nthe daemon's log, last {} lines:\n{log}",
                self.code,
                self.stdout,
                self.stderr,
                Self::LOG_LINES
            );
        }
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// The fingerprint `sig setup` says it set up.
fn fingerprint_set_up(run: &Run) -> String {
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix("With public key fingerprint: "))
        .expect("fingerprint line")
        .to_owned()
}

/// A throwaway Signet home. Dropping it stops its daemon.
pub struct Home {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
    pub socket: PathBuf,
    /// Variables every `sig` and `signetd` of this home runs with (the signing clock).
    env: Vec<(&'static str, String)>,
}

impl Default for Home {
    fn default() -> Self {
        Self::new()
    }
}

impl Home {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("signet-test")
            .tempdir()
            .expect("temp dir");
        let root = dir.path().to_path_buf();
        let home = root.join("home");
        let socket = home.join("signetd.sock");
        Home {
            _dir: dir,
            root,
            home,
            socket,
            env: Vec::new(),
        }
    }

    /// A home whose daemon dates what it signs (keys, attestations, revocations) `secs`
    /// seconds away from now: "signed earlier" and "signed later" without waiting for the
    /// clock (signetd's `test-hooks` clock).
    pub fn dated(secs: i64) -> Self {
        let mut home = Home::new();
        home.env
            .push(("SIGNET_TEST_CLOCK_OFFSET_SECS", secs.to_string()));
        home
    }

    /// Moves this home's signing clock to `secs` seconds away from now: "signed later"
    /// without waiting for a newer second. The clock is the daemon's, so a running daemon is
    /// stopped first; the next `sig` starts one on the new clock.
    pub fn move_clock(&mut self, secs: i64) {
        self.sig(&["daemon", "stop"]).expect(0);
        self.env
            .retain(|(k, _)| *k != "SIGNET_TEST_CLOCK_OFFSET_SECS");
        self.env
            .push(("SIGNET_TEST_CLOCK_OFFSET_SECS", secs.to_string()));
    }

    pub fn sig_command(&self, args: &[&str]) -> Command {
        // sig starts the signetd beside it: that one must be fresh too.
        bin("signetd");
        let mut cmd = clean_command(&bin("sig"));
        cmd.args(args)
            .env("SIGNET_HOME", &self.home)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.root);
        cmd
    }

    /// Runs `sig` with no input.
    pub fn sig(&self, args: &[&str]) -> Run {
        self.sig_with_input(args, "")
    }

    /// Runs `sig` with no input in the directory `dir` (a project, a git repository).
    pub fn sig_in(&self, dir: &Path, args: &[&str]) -> Run {
        let mut cmd = self.sig_command(args);
        cmd.current_dir(dir).stdin(Stdio::null());
        Run {
            daemon_log: Some(self.home.join("signetd.log")),
            ..Run::from(cmd.output().expect("run sig"))
        }
    }

    /// Runs `sig` with `input` on its stdin.
    pub fn sig_with_input(&self, args: &[&str], input: impl AsRef<[u8]>) -> Run {
        let mut child = self
            .sig_command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sig");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_ref())
            .unwrap();
        Run {
            daemon_log: Some(self.home.join("signetd.log")),
            ..Run::from(child.wait_with_output().expect("wait for sig"))
        }
    }

    /// Runs `sig` with `gpg`'s keyring, no terminal (so no pinentry) and these variables.
    pub fn sig_with_gpg(&self, gpg: &Gpg, env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut cmd = self.sig_command(args);
        cmd.env("GNUPGHOME", gpg.dir.path())
            .env_remove("GPG_TTY")
            .stdin(Stdio::null());
        for (name, value) in env {
            cmd.env(name, value);
        }
        Run {
            daemon_log: Some(self.home.join("signetd.log")),
            ..Run::from(cmd.output().expect("run sig"))
        }
    }

    /// A home with a key made for `user_id` and no scheduled sync (tests fetch by hand); the
    /// key's fingerprint.
    pub fn keyed(user_id: &str) -> (Self, String) {
        let home = Home::new();
        home.config(Self::local_web());
        let fpr = home.setup(user_id);
        (home, fpr)
    }

    /// The settings of a home in a test's web of trust: no scheduled sync (tests fetch by
    /// hand), and discovered remotes followed on 127.0.0.1, where every test's servers are
    /// (`trust.follow_private_urls`; off by default).
    pub fn local_web() -> serde_json::Value {
        serde_json::json!({"sync": {"interval_secs": 0}, "trust": {"follow_private_urls": true}})
    }

    /// A home with a key and no scheduled sync, following the remote at `url` as `name`.
    pub fn follower(name: &str, url: &str) -> Self {
        let home = Home::new();
        home.config(Self::local_web());
        home.setup("Alice <alice@example.org>");
        home.sig(&["remote", "add", name, url]).expect(0);
        home
    }

    /// Serves this home's repository over HTTP (`sig publish --http 127.0.0.1:0`); its URL.
    pub fn publish_http(&self) -> String {
        let run = self.sig(&["publish", "--http", "127.0.0.1:0"]).expect(0);
        run.stdout
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("the URL published at")
            .to_owned()
    }

    /// Makes a key for this home.
    pub fn setup(&self, user_id: &str) -> String {
        fingerprint_set_up(&self.sig(&["setup", "--generate", user_id]).expect(0))
    }

    /// Replaces this home's key with a new one (`sig setup --force --generate`): what `sig`
    /// said, and the new key's fingerprint.
    pub fn replace_key(&self, user_id: &str) -> (Run, String) {
        let run = self
            .sig(&["setup", "--force", "--generate", user_id])
            .expect(0);
        let fpr = fingerprint_set_up(&run);
        (run, fpr)
    }

    /// Publishes this home's word about `key` (a level, or `distrust`), with where that key
    /// publishes when `url` is given: a signed statement in its repository.
    pub fn says(&self, key: &str, word: &str, url: Option<&str>) {
        let mut args = if word == "distrust" {
            vec!["distrust", key, "--comment", "do not"]
        } else {
            vec!["trust", "add", key, "--level", word]
        };
        if let Some(url) = url {
            args.extend(["--url", url]);
        }
        args.push("--publish");
        self.sig(&args).expect(0);
    }

    /// Writes a file under the test's directory and returns its path.
    pub fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.root.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Attests a file without questions.
    pub fn attest(&self, path: &Path, ok: bool, comment: &str) -> Run {
        let verdict = if ok { "--ok" } else { "--not-ok" };
        self.sig(&[
            "attest",
            path.to_str().unwrap(),
            verdict,
            "--reviewed",
            "--comment",
            comment,
        ])
    }

    /// Starts `signetd` directly (not through `sig`) and waits until it answers.
    pub fn spawn_daemon(&self) -> Child {
        let child = self.daemon_command().spawn().expect("spawn signetd");
        self.wait_for_socket();
        child
    }

    pub fn daemon_command(&self) -> Command {
        let mut cmd = clean_command(&bin("signetd"));
        cmd.env("SIGNET_HOME", &self.home)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LIB_BACKTRACE", "0") // as `sig` starts it
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }

    /// Waits (with a deadline) until a daemon answers `hello` on the socket.
    pub fn wait_for_socket(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut c) = RawClient::connect(&self.socket)
                && c.hello().get("result").is_some()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "signetd did not answer on {}",
                self.socket.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The pid recorded by the daemon holding this home's lock.
    pub fn daemon_pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.home.join(signet_proto::paths::LOCK_FILE)).ok()?;
        let pid = signet_proto::paths::lock_holder(&text).0?;
        i32::try_from(pid).ok()
    }

    pub fn read_repo(&self) -> Value {
        let text = std::fs::read_to_string(self.home.join("repo/repo.json")).expect("repo.json");
        serde_json::from_str(&text).expect("repo.json is JSON")
    }

    /// Writes `config.json` (before the daemon starts, or restart it after).
    pub fn config(&self, config: serde_json::Value) {
        std::fs::create_dir_all(&self.home).unwrap();
        std::fs::write(self.home.join("config.json"), config.to_string()).unwrap();
    }

    pub fn repo_dir(&self) -> PathBuf {
        self.home.join("repo")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.join("signetd.log")).unwrap_or_default()
    }
}

impl Drop for Home {
    /// Stops every daemon of this home, even when the test panicked, and even one a client was
    /// still starting as the test ended (a kill -9 loop, an editor reconnecting): daemons are
    /// found by the home in their environment, not only by the lock file, and looked for again
    /// until none is left.
    fn drop(&mut self) {
        for _ in 0..20 {
            let mut pids = daemons_of(&self.home);
            if let Some(pid) = self.daemon_pid().filter(|p| process_alive(*p))
                && !pids.contains(&pid)
            {
                pids.push(pid);
            }
            if pids.is_empty() {
                return;
            }
            for pid in &pids {
                signal(*pid, "TERM");
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while pids.iter().any(|p| process_alive(*p)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            for pid in pids.iter().filter(|p| process_alive(**p)) {
                signal(*pid, "KILL");
            }
            // A client may be starting another one: look again.
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The live `signetd` processes whose `SIGNET_HOME` is `home`.
fn daemons_of(home: &Path) -> Vec<i32> {
    let want = format!("SIGNET_HOME={}", home.display());
    let is_daemon = |pid: &i32| {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "signetd")
    };
    let of_home = |pid: &i32| {
        std::fs::read(format!("/proc/{pid}/environ"))
            .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == want.as_bytes()))
    };
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(is_daemon)
        .filter(of_home)
        .filter(|pid| process_alive(*pid))
        .collect()
}

pub fn signal(pid: i32, name: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// CPU time a process has used (user + system, in ticks of 10 ms), from `/proc/PID/stat`;
/// `None` when it cannot be read.
pub fn process_cpu(pid: i32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command's name, which may hold spaces, in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split(' ').collect();
    let ticks = |n: usize| fields.get(n)?.parse::<u64>().ok();
    Some(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

/// Whether a process exists and is not a zombie.
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// A raw NDJSON client for protocol tests: sends bytes, reads lines.
pub struct RawClient {
    stream: UnixStream,
    reader: BufReader<UnixStream>,
}

impl RawClient {
    pub fn connect(socket: &Path) -> std::io::Result<Self> {
        let stream = UnixStream::connect(socket)?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        let reader = BufReader::new(stream.try_clone()?);
        Ok(RawClient { stream, reader })
    }

    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads one line as JSON.
    pub fn read(&mut self) -> Value {
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .expect("read a response line");
        assert!(!line.is_empty(), "connection closed");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("response is not JSON ({e}): {line}"))
    }

    pub fn call(&mut self, id: i64, method: &str, params: Value) -> Value {
        let line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_raw(format!("{line}\n").as_bytes()).expect("send");
        self.read()
    }

    pub fn hello(&mut self) -> Value {
        self.call(0, "hello", json!({"protocol": 1, "client": "signet-tests"}))
    }

    /// Reads one line within `timeout`; `None` if nothing came (or the connection closed).
    pub fn read_within(&mut self, timeout: Duration) -> Option<Value> {
        self.stream.set_read_timeout(Some(timeout)).ok()?;
        let mut line = String::new();
        let got = self.reader.read_line(&mut line);
        self.stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .ok()?;
        match got {
            Ok(n) if n > 0 => Some(serde_json::from_str(&line).expect("a JSON line")),
            _ => None,
        }
    }
}

/// A connection subscribed to `verdict.changed` under a path.
pub struct Subscriber {
    pub client: RawClient,
}

impl Subscriber {
    pub fn new(socket: &Path, path: &Path) -> Self {
        let mut client = RawClient::connect(socket).expect("connect");
        client.hello();
        let answer = client.call(1, "subscribe", json!({"path": path}));
        assert!(answer.get("result").is_some(), "{answer}");
        Subscriber { client }
    }

    /// The next `verdict.changed` params whose path ends with `suffix`, skipping others;
    /// panics after `timeout`.
    pub fn wait_for(&mut self, suffix: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no verdict.changed for …{suffix} in {timeout:?}"
            );
            if let Some(message) = self.client.read_within(left) {
                assert_eq!(message["method"], "verdict.changed", "{message}");
                let params = &message["params"];
                if params["path"].as_str().is_some_and(|p| p.ends_with(suffix)) {
                    return params.clone();
                }
            }
        }
    }

    /// Every notification that arrives until `quiet` passes without one.
    pub fn drain(&mut self, quiet: Duration) -> Vec<Value> {
        let mut all = Vec::new();
        while let Some(message) = self.client.read_within(quiet) {
            all.push(message["params"].clone());
        }
        all
    }
}

/// What the benches' generated repositories say of file number `i`: its id (the SHA-256 of
/// `i`'s bytes) and the statement's `data` to sign, one file in ten "not ok". `signet_bench`
/// and `scale_bench` make the same repositories from it.
pub fn numbered_statement(
    i: usize,
) -> (signet_proto::formats::ContentId, signet_proto::json::Value) {
    use sha2::Digest as _;
    let id =
        signet_proto::formats::ContentId::sha256(&sha2::Sha256::digest(i.to_le_bytes()).into());
    let data = signet_proto::formats::Statement::to_data(
        &id,
        !i.is_multiple_of(10),
        true,
        &format!("reviewed file number {i} carefully"),
    );
    (id, data)
}

/// `make(i)` for each `i` of `range`, in order, made on every core: signing is most of the
/// benches' setup.
pub fn on_every_core<T: Send>(
    range: std::ops::Range<usize>,
    make: impl Fn(usize) -> T + Sync,
) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (chunk, last) = (range.len().div_ceil(threads).max(1), range.end);
    let make = &make;
    std::thread::scope(|scope| {
        let workers: Vec<_> = range
            .step_by(chunk)
            .map(|start| {
                let end = (start + chunk).min(last);
                scope.spawn(move || (start..end).map(make).collect::<Vec<_>>())
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    })
}

/// `n` small files of distinct contents under `root`, `per_dir` to a directory (the benches'
/// trees).
pub fn small_files(root: &Path, n: usize, per_dir: usize) -> Vec<PathBuf> {
    let mut files = Vec::with_capacity(n);
    for i in 0..n {
        let dir = root.join(format!("d{:04}", i / per_dir));
        if i % per_dir == 0 {
            std::fs::create_dir_all(&dir).unwrap();
        }
        let path = dir.join(format!("f{i}.txt"));
        std::fs::write(&path, format!("file {i}: some small content\n")).unwrap();
        files.push(path);
    }
    files
}

/// A `kB` field of `/proc/PID/status` (`VmRSS:`, `VmHWM:`), in KiB.
pub fn proc_status_kib(pid: i32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A file of `tests/fixtures/` (real packages and lockfiles: its README says whence), as a
/// path to give `sig`.
pub fn fixture(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path)
        .to_str()
        .expect("fixture paths are UTF-8")
        .to_owned()
}

/// The content id of `bytes`.
pub fn content_id(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The error code of a JSON-RPC response, if it is an error.
pub fn error_code(response: &Value) -> Option<i64> {
    response.get("error")?.get("code")?.as_i64()
}

/// Python's canonical bytes of a JSON value, the oracle FORMATS.md names.
pub fn python_canonical(value: &Value) -> Vec<u8> {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import json,sys; sys.stdout.write(json.dumps(json.load(sys.stdin), sort_keys=True))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(value.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}

/// Python's canonical bytes of a JSON text (kept as text: serde_json cannot hold big integers).
pub fn canonical_text(text: &str) -> Vec<u8> {
    use std::io::Write as _;
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            "import json,sys; sys.stdout.write(json.dumps(json.load(sys.stdin), sort_keys=True))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 rejected {text}");
    out.stdout
}

/// A temporary GnuPG home.
pub struct Gpg {
    pub dir: tempfile::TempDir,
}

impl Default for Gpg {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.dir.path())
            .args(["--kill", "all"])
            .stderr(Stdio::null())
            .status();
    }
}

impl Gpg {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("signet-gpg")
            .tempdir()
            .unwrap();
        Gpg { dir }
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new("gpg");
        cmd.env("GNUPGHOME", self.dir.path())
            .args(["--batch", "--no-tty", "--quiet"]);
        cmd
    }

    /// Moves the clock of everything this GnuPG home does (its `gpg.conf`'s
    /// `faked-system-time`, which every gpg run on it reads, the daemon's signing included) to
    /// `secs` seconds away from now; 0 gives it the real time back. "Signed later" and "made
    /// an hour ago" without waiting for the clock. Every gpg run starts its clock at that
    /// moment again: steps that must follow each other (made, then signed) each set a later one.
    pub fn set_clock(&self, secs: i64) {
        let conf = self.dir.path().join("gpg.conf");
        if secs == 0 {
            let _ = std::fs::remove_file(&conf);
            return;
        }
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        std::fs::write(&conf, format!("faked-system-time {}\n", now + secs)).unwrap();
    }

    pub fn import(&self, path: &Path) {
        let out = self.command().arg("--import").arg(path).output().unwrap();
        assert!(
            out.status.success(),
            "gpg --import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Verifies a detached signature; returns the primary fingerprint of gpg's VALIDSIG line.
    pub fn verify(&self, sig: &[u8], data: &[u8]) -> Result<String, String> {
        let dir = tempfile::tempdir().unwrap();
        let (sig_path, data_path) = (dir.path().join("sig"), dir.path().join("data"));
        std::fs::write(&sig_path, sig).unwrap();
        std::fs::write(&data_path, data).unwrap();
        let out = self
            .command()
            .args(["--status-fd", "1", "--verify"])
            .arg(&sig_path)
            .arg(&data_path)
            .output()
            .unwrap();
        let status = String::from_utf8_lossy(&out.stdout);
        let valid = status
            .lines()
            .find_map(|l| l.strip_prefix("[GNUPG:] VALIDSIG "));
        match (out.status.success(), valid) {
            (true, Some(fields)) => Ok(fields.split(' ').next_back().unwrap().to_owned()),
            _ => Err(format!(
                "{status}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )),
        }
    }

    /// Runs gpg with these arguments, asserting it succeeds; returns its standard output.
    pub fn run(&self, args: &[&str]) -> Vec<u8> {
        let out = self.command().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Makes a key without passphrase; returns its fingerprint, read from the exported key
    /// with sequoia (never from gpg's human-readable output). `ed25519` keys get a separate
    /// signing subkey, as gpg users' keys usually have.
    pub fn generate(&self, user_id: &str, algo: &str, passphrase: &str) -> String {
        let usage = if algo == "ed25519" { "cert" } else { "sign" };
        let run = |args: &[&str]| {
            let out = self
                .command()
                .args(["--pinentry-mode", "loopback", "--passphrase", passphrase])
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "gpg {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        run(&["--quick-gen-key", user_id, algo, usage, "never"]);
        let export = run(&["--export", user_id]);
        let fpr =
            signetd::keys::fingerprint(&signetd::keys::parse_cert(&export).unwrap()).to_string();
        if algo == "ed25519" {
            run(&["--quick-add-key", &fpr, "ed25519", "sign", "never"]);
        }
        fpr
    }

    /// A repository by `fpr` (serial 1) with one "ok, reviewed" attestation about `id`, made
    /// as the reference implementation makes it.
    pub fn repo_with_one(&self, fpr: &str, id: &str) -> Vec<u8> {
        let att = self.signed_text(
            fpr,
            &format!(r#"{{"comment": "fine", "id": "{id}", "ok": true, "reviewed": true}}"#),
            false,
        );
        let data =
            format!(r#"{{"attestations": {{"{id}": [{att}]}}, "serial": 1, "version": "0.0.1"}}"#);
        self.signed_text(fpr, &data, false).into_bytes()
    }

    /// Makes GnuPG's classic key: one Ed25519 primary key that certifies and signs (`[SC]`),
    /// no subkey, no passphrase. Returns its fingerprint.
    pub fn generate_signing_primary(&self, user_id: &str) -> String {
        self.generate_signing_primary_of(user_id, "ed25519")
    }

    /// [`Gpg::generate_signing_primary`] of another algorithm (`rsa3072`).
    pub fn generate_signing_primary_of(&self, user_id: &str, algo: &str) -> String {
        self.run(&[
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-gen-key",
            user_id,
            algo,
            "sign",
            "never",
        ]);
        let export = self.run(&["--export", user_id]);
        signetd::keys::fingerprint(&signetd::keys::parse_cert(&export).unwrap()).to_string()
    }

    /// `{"data": …, "key": …, "sig": …}` as text, signed by gpg over Python's canonical bytes
    /// of the JSON text `data`, as the reference implementation signs.
    pub fn signed_text(&self, fpr: &str, data: &str, armor: bool) -> String {
        use base64::Engine as _;
        let sig = self.sign(fpr, &canonical_text(data), armor);
        format!(
            r#"{{"data": {data}, "key": "{fpr}", "sig": "{}"}}"#,
            base64::engine::general_purpose::STANDARD.encode(sig)
        )
    }

    /// The armored public key, as `gpg --armor --export` prints it.
    pub fn export(&self, fpr: &str) -> Vec<u8> {
        let out = self
            .command()
            .args(["--armor", "--export", fpr])
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    }

    /// The armored secret key of a key made without passphrase, for `sig setup --import`.
    pub fn export_secret(&self, fpr: &str) -> Vec<u8> {
        self.run(&[
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--armor",
            "--export-secret-keys",
            fpr,
        ])
    }

    /// Imports the revocation certificate gpg wrote when it made the key: the key is revoked.
    pub fn revoke(&self, fpr: &str) {
        let path = self
            .dir
            .path()
            .join("openpgp-revocs.d")
            .join(format!("{fpr}.rev"));
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace(":-----BEGIN", "-----BEGIN");
        let armored = self.dir.path().join("revocation.asc");
        std::fs::write(&armored, text).unwrap();
        self.import(&armored);
    }

    /// Signs `data` with gpg (detached, binary), as the reference implementation does.
    pub fn sign(&self, key: &str, data: &[u8], armor: bool) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let data_path = dir.path().join("data");
        std::fs::write(&data_path, data).unwrap();
        let mut cmd = self.command();
        cmd.args([
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--detach-sign",
            "--local-user",
            key,
            "--output",
            "-",
        ]);
        if armor {
            cmd.arg("--armor");
        }
        let out = cmd.arg(&data_path).output().unwrap();
        assert!(
            out.status.success(),
            "gpg --detach-sign: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}
