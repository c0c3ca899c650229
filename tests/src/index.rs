//! The public index under test: the real `signet-index` binary on a real database — SQLite in
//! a temp directory, or a throwaway PostgreSQL cluster (`initdb` and `pg_ctl` as the
//! `postgres` user when the tests run as root, on a loopback port) — and a small HTTP client
//! to ask it.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// A running `signet-index serve`. Dropping it stops it.
pub struct Index {
    child: Child,
    /// `http://127.0.0.1:PORT/`
    pub url: String,
    /// Its log (standard error), for a failing test to show.
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Index {
    /// Starts an index on `db` (`sqlite:PATH` or `postgres://…`) that may crawl loopback
    /// addresses, with the extra arguments given.
    pub fn start(db: &str, extra: &[&str]) -> Index {
        let mut args = vec!["--allow-private"];
        args.extend_from_slice(extra);
        Index::start_with(db, &args)
    }

    /// Starts an index as it runs by default: public addresses only.
    pub fn start_public(db: &str) -> Index {
        Index::start_with(db, &[])
    }

    /// [`Index::start_public`] with the extra arguments given.
    pub fn start_public_with(db: &str, extra: &[&str]) -> Index {
        Index::start_with(db, extra)
    }

    fn start_with(db: &str, extra: &[&str]) -> Index {
        Index::start_binary(&crate::bin("signet-index"), db, extra)
    }

    /// [`Index::start`] of another build of `signet-index` (a bench's A/B).
    pub fn start_binary(exe: &Path, db: &str, extra: &[&str]) -> Index {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("index.log");
        let mut child = Command::new(exe)
            .args(["serve", "--db", db, "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("SIGNET_LOG", "signet_index=debug")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("signet-index runs");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| {
                panic!(
                    "signet-index did not say where it listens: {first:?}\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .to_owned();
        Index {
            child,
            url,
            log,
            _dir: dir,
        }
    }

    /// An index on a fresh SQLite file.
    pub fn sqlite(dir: &Path) -> Index {
        Index::sqlite_with(dir, &[])
    }

    /// [`Index::sqlite`] with the extra arguments given.
    pub fn sqlite_with(dir: &Path, extra: &[&str]) -> Index {
        Index::start(&format!("sqlite:{}", dir.join("index.db").display()), extra)
    }

    /// The CPU time the index has used, user and system (zero if it cannot be read).
    pub fn cpu(&self) -> Duration {
        crate::process_cpu(self.child.id() as i32).unwrap_or_default()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET path`: the status and the JSON answer.
    pub fn get(&self, path: &str) -> (u16, Value) {
        request(&self.url, "GET", path, None)
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        request(&self.url, "POST", path, Some(body))
    }

    /// Submits a repository by its base URL.
    pub fn submit(&self, repository: &str) -> (u16, Value) {
        self.post("v1/repositories", &serde_json::json!({ "url": repository }))
    }

    /// Waits until the index holds an attestation about `id`; its answer. Fails with the
    /// index's log when it does not come.
    pub fn wait_for(&self, id: &str) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (status, answer) = self.get(&format!("v1/ids/{id}"));
            let held = status == 200
                && !answer["results"][0]["attestations"]
                    .as_array()
                    .is_none_or(Vec::is_empty);
            if held {
                return answer;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "waited 30s for the index at {} to hold an attestation about {id}; its log:\n{}",
                self.url,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Index {
    fn drop(&mut self) {
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_child(&self.child),
            rustix::process::Signal::TERM,
        );
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange, the connection closed after it.
pub fn request(base: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let host = base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = TcpStream::connect(&host).expect("the index answers");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        stream,
        "{method} /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let json = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, json)
}

/// A throwaway PostgreSQL cluster: its own data directory and a loopback port, stopped and
/// removed when dropped. `None` (after `skip`, which fails under `CI=true`) where PostgreSQL
/// is not installed.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

impl Postgres {
    pub fn start(test: &str) -> Option<Postgres> {
        let Some(bin) = postgres_bin() else {
            crate::skip(test, "PostgreSQL (initdb, pg_ctl) is not installed");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("signet-pg")
            .tempdir()
            .unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        as_postgres_owner(dir.path());
        let port = free_port();
        run_as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
            ],
        );
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.path().display()
        );
        run_as_postgres(
            &bin.join("pg_ctl"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                dir.path().join("log").to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        Some(Postgres { dir, bin, port })
    }

    /// A new database on the cluster, as a URL for `--db`.
    pub fn database(&self, name: &str) -> String {
        run_as_postgres(
            &self.bin.join("createdb"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                name,
            ],
        );
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = command_as_postgres(&self.bin.join("pg_ctl"))
            .args([
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Where PostgreSQL's server programs are: beside the `initdb` on the PATH (followed to where
/// it really is: a link on the PATH may be alone), or in Debian's versioned directory.
fn postgres_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .filter_map(|p| std::fs::canonicalize(p.join("initdb")).ok())
            .find_map(|initdb| Some(initdb.parent()?.to_owned()))
            .filter(|dir| dir.join("pg_ctl").is_file() && dir.join("createdb").is_file())
    });
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").is_file())
            .collect();
        versions.sort();
        versions.pop()
    })
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// PostgreSQL refuses to run as root: as root, the cluster's directory goes to `postgres`.
fn as_postgres_owner(dir: &Path) {
    if !is_root() {
        return;
    }
    let status = Command::new("chown")
        .args(["-R", "postgres:"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success(), "chown to postgres");
}

fn command_as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ])
        .arg(program)
        .current_dir("/");
        cmd
    } else {
        Command::new(program)
    }
}

fn run_as_postgres(program: &Path, args: &[&str]) {
    let out = command_as_postgres(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?}: {}{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
