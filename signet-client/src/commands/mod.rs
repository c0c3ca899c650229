//! What each command does: gather input, call the daemon, print the seed's transcript.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use signet_proto::api::{
    self, AttestParams, AttestationView, KeyChoice, KeysListResult, SetupParams, SetupResult,
    StatusResult, Target, TrustChange, TrustListResult, TrustParams, Verdict, VerifyManyParams,
    VerifyManyResult, VerifyOutcome, VerifyResult, method,
};
use signet_proto::formats::ContentId;
use signet_proto::paths::Locations;
use signet_proto::text::{self, shown};
use signet_proto::wire_path::AbsPath;

use crate::cli::{
    AttestArgs, DaemonCommand, DepsArgs, LookupArgs, PublishArgs, RemoteCommand, RevokeArgs,
    SetupArgs, TrustCommand, VerifyArgs, WatchCommand,
};
use crate::connection;

mod attest;
mod daemon;
pub mod deps;
mod keys;
pub mod policy;
mod remotes;
mod setup;
mod verify;
mod watch;
pub mod why;

pub use attest::attest;
pub use daemon::{config, daemon, man, status};
pub use deps::deps;
pub use keys::{distrust, keys, trust};
pub use remotes::{fetch, publish, remote};
pub use setup::{revoke, setup};
pub use verify::{lookup, verify};
pub use watch::watch;

/// Exit codes: part of the interface.
pub mod exit {
    pub const OK: i32 = 0;
    pub const NOT_VERIFIED: i32 = 1;
    pub const ERROR: i32 = 2;
    pub const NOT_OK: i32 = 3;
}

/// Where output goes; write errors (a closed pipe) end the command.
pub struct Out<W: Write> {
    pub w: W,
    /// `--quiet`: nothing but errors (on stderr) and the exit code.
    quiet: bool,
    /// `--verbose`: comments and sources beside each attestation.
    pub verbose: bool,
    /// Verdicts in colour: on a terminal, unless `--no-color`, `NO_COLOR` or `--json`.
    color: bool,
    /// `--json`: one JSON document instead of lines for people.
    pub json: bool,
}

/// Colours for verdicts, as the reference uses them.
#[derive(Debug, Clone, Copy)]
pub enum Paint {
    Green,
    Red,
    Yellow,
}

impl<W: Write> Out<W> {
    pub fn new(w: W, quiet: bool, verbose: bool, no_color: bool, json: bool) -> Self
    where
        W: std::io::IsTerminal,
    {
        let color = !no_color
            && !json
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && w.is_terminal();
        Out {
            w,
            quiet,
            verbose,
            color,
            json,
        }
    }

    /// Writes a line for people. Whatever it holds, no control character or bidi override
    /// reaches the terminal (fields from outside are also escaped one by one with `shown`, so
    /// that a newline in one cannot start a line of its own).
    pub fn line(&mut self, text: impl AsRef<str>) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        writeln!(self.w, "{}", text::lines(text.as_ref()))
    }

    /// [`Out::line`] in a colour, where colour is on. The escape codes are added after the
    /// text is made safe, so nothing from outside can write one.
    pub fn painted(&mut self, text: impl AsRef<str>, paint: Paint) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        if !self.color {
            return self.line(text);
        }
        let code = match paint {
            Paint::Green => "32",
            Paint::Red => "1;31",
            Paint::Yellow => "33",
        };
        writeln!(self.w, "\x1b[{code}m{}\x1b[0m", text::lines(text.as_ref()))
    }
    /// Writes a JSON document: the same value, with bidi controls and line separators in its
    /// strings escaped too.
    pub fn json<T: serde::Serialize>(&mut self, value: &T) -> io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        self.json_text(&text)
    }

    /// Writes JSON text, escaped as [`Out::json`] does.
    pub fn json_text(&mut self, json: &str) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        writeln!(self.w, "{}", text::json_escaped(json))
    }
}

fn short(fpr: &signet_proto::formats::Fingerprint) -> &str {
    fpr.short()
}

/// The user's terminal, for gpg's pinentry: `GPG_TTY` as gpg documents it, else the terminal
/// on standard input.
fn terminal() -> Option<String> {
    use std::io::IsTerminal as _;
    if let Some(tty) = std::env::var("GPG_TTY").ok().filter(|t| !t.is_empty()) {
        return Some(tty);
    }
    if !io::stdin().is_terminal() {
        return None;
    }
    std::fs::read_link("/proc/self/fd/0")
        .ok()
        .and_then(|p| p.to_str().map(str::to_owned))
}

/// Asks a yes/no question on the terminal or stdin until it gets an answer.
fn ask_yes_no(question: &str, input: &mut impl io::BufRead) -> anyhow::Result<bool> {
    for _ in 0..3 {
        eprint!("{question} (yes/no): ");
        let mut answer = String::new();
        if input.read_line(&mut answer)? == 0 {
            bail!(
                "no answer on standard input: answer the questions, or pass --ok/--not-ok and --reviewed/--not-reviewed"
            );
        }
        match answer.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Ok(true),
            "n" | "no" => return Ok(false),
            _ => eprintln!("Please answer yes or no."),
        }
    }
    bail!("no yes/no answer after three tries")
}

fn ask_line(question: &str, input: &mut impl io::BufRead) -> anyhow::Result<String> {
    eprint!("{question}: ");
    let mut answer = String::new();
    input.read_line(&mut answer)?;
    Ok(answer.trim_end_matches(['\n', '\r']).to_owned())
}

/// A file's error in the wording every command uses (`signet_proto::text::file_error`).
fn file_error(path: &Path, e: &io::Error) -> anyhow::Error {
    anyhow::anyhow!(text::file_error(
        &shown(&path.to_string_lossy()).to_string(),
        e
    ))
}

fn absolute(path: &Path) -> anyhow::Result<AbsPath> {
    let path =
        std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))?;
    Ok(AbsPath::new(path)?)
}

/// A full fingerprint as people write it (`dfdd 7051 …`, `0xDFDD…`): the formats' form.
pub fn full_fingerprint(text: &str) -> anyhow::Result<signet_proto::formats::Fingerprint> {
    let hex: String = text
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    signet_proto::formats::Fingerprint::parse(&hex).map_err(|e| anyhow::anyhow!("{e}"))
}

/// A content id given on the command line.
fn content_id(id: &str) -> anyhow::Result<ContentId> {
    let id = id.trim();
    ContentId::parse(id).map_err(|e| {
        // A bare digest, as `sha256sum` prints it.
        let hex = id.to_ascii_lowercase();
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            anyhow::anyhow!(
                "{} is not a content id: did you mean sha256:{hex}?",
                shown(id)
            )
        } else {
            anyhow::anyhow!("{}: {e}", shown(id))
        }
    })
}

/// Combines exit codes: a trusted "not ok" is loudest, then errors, then "not verified".
fn worst(a: i32, b: i32) -> i32 {
    let rank = |c| match c {
        exit::NOT_OK => 3,
        exit::ERROR => 2,
        exit::NOT_VERIFIED => 1,
        _ => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Prints what the daemon says an answer may be missing, on stderr.
fn warn(warnings: &[String]) {
    for w in warnings {
        eprintln!("sig: warning: {}", text::lines(w));
    }
}

/// Prints an error on stderr, its text from outside escaped: every `sig: error:` goes here.
pub fn report_error(message: &str) {
    eprintln!("sig: error: {}", text::lines(message));
}

fn key_line(fpr: &signet_proto::formats::Fingerprint, user_id: &str) -> String {
    if user_id.is_empty() {
        format!("[{}] (key not yet fetched)", short(fpr))
    } else {
        format!("[{}] {}", short(fpr), shown(user_id))
    }
}

/// A spinner on stderr while a long call runs, only when stderr is a terminal, with the
/// seconds it has taken.
struct Spinner {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    fn start(what: &'static str) -> Self {
        use std::io::IsTerminal as _;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = io::stderr().is_terminal().then(|| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let frames = ['|', '/', '-', '\\'];
                let started = std::time::Instant::now();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    if started.elapsed().as_millis() > 300 {
                        eprint!(
                            "\r{} {what}… {}s",
                            frames[n % 4],
                            started.elapsed().as_secs()
                        );
                        n += 1;
                    }
                }
                if n > 0 {
                    eprint!("\r\x1b[2K");
                }
            })
        });
        Spinner { stop, thread }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
