//! Talking to signetd: one blocking JSON-RPC connection, and starting the daemon on demand
//! when nothing answers on the socket (as gpg starts gpg-agent).

use std::fs::{self, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use interprocess::TryClone as _;
use interprocess::local_socket::prelude::*;
use interprocess::local_socket::{GenericFilePath, Stream};
use signet_proto::api::{HelloParams, HelloResult, Method, method};
use signet_proto::paths::{ENV_HOME, ENV_SOCKET, LOG_FILE, Locations};
use signet_proto::rpc::{FrameDecoder, FrameError, Request, Response, RpcError};

/// Largest response read: `verify.many` over a big tree can be long.
const MAX_RESPONSE: usize = 256 << 20;
/// How long a started daemon has to answer.
const START_DEADLINE: Duration = Duration::from_secs(15);

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The daemon answered with an error: show its message.
    #[error("{0}")]
    Rpc(RpcError),
    #[error("lost the connection to signetd: {0}")]
    Io(#[from] io::Error),
    #[error("signetd sent something unexpected: {0}")]
    Protocol(String),
}

/// A connection to the daemon, greeted with `hello`. A local socket (`interprocess`): a Unix
/// socket here, and whatever the platform has where `sig` and editor integrations build.
pub struct Client {
    writer: Stream,
    reader: Stream,
    /// The protocol's own framing (`signet_proto::rpc::FrameDecoder`), as the daemon reads.
    frames: FrameDecoder,
    next_id: i64,
    pub server: HelloResult,
}

impl Client {
    /// Connects to the socket and says hello — only to a daemon of this user: the socket's
    /// directory must be private to the user (as the daemon requires when it binds), and the
    /// process listening must run as the user (its credentials, `SO_PEERCRED`), or anyone able
    /// to bind the socket first would answer every verdict.
    pub fn connect(socket: &Path) -> io::Result<Result<Self, CallError>> {
        check_socket_dir(socket)?;
        let stream = Stream::connect(socket.to_fs_name::<GenericFilePath>()?)?;
        let me = rustix::process::geteuid().as_raw();
        match stream.peer_creds()?.euid() {
            Some(uid) if uid == me => {}
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "{} is served by {}, not by you (uid {me}): refusing to talk to it; \
                         stop that process, or set SIGNET_SOCKET to a socket in a directory \
                         only you can write",
                        socket.display(),
                        other.map_or("an unknown user".into(), |uid| format!("uid {uid}"))
                    ),
                ));
            }
        }
        let reader = stream.try_clone()?;
        let mut client = Client {
            writer: stream,
            reader,
            frames: FrameDecoder::new(MAX_RESPONSE),
            next_id: 1,
            server: HelloResult {
                protocol: 0,
                server: String::new(),
                capabilities: Vec::new(),
            },
        };
        let hello = HelloParams {
            protocol: signet_proto::PROTOCOL_VERSION,
            client: format!("sig/{}", signet_proto::VERSION),
        };
        Ok(client.call::<method::Hello>(&hello).map(|server| {
            client.server = server;
            client
        }))
    }

    /// Sends a request without waiting: for a connection whose reading is done elsewhere (the
    /// notifications of `subscribe`).
    /// Sends a call without waiting for its answer (`subscribe`, whose answers and
    /// notifications are read as they come): its request id.
    pub fn send<M: Method>(&mut self, params: &M::Params) -> Result<i64, CallError> {
        let method = M::NAME;
        let id = self.next_id;
        self.next_id += 1;
        let params =
            serde_json::to_value(params).map_err(|e| CallError::Protocol(e.to_string()))?;
        self.writer
            .write_all(&signet_proto::rpc::encode_line(&Request::new(
                id, method, params,
            )))?;
        Ok(id)
    }

    /// Reads the next line the daemon sends, whatever it is (a response or a notification);
    /// `None` when the daemon closed the connection.
    pub fn read_message(&mut self) -> Result<Option<serde_json::Value>, CallError> {
        let Some(frame) = self.next_frame()? else {
            return Ok(None);
        };
        serde_json::from_slice(&frame)
            .map(Some)
            .map_err(|e| CallError::Protocol(e.to_string()))
    }

    /// The next message the daemon sent; `None` when it closed the connection.
    fn next_frame(&mut self) -> Result<Option<Vec<u8>>, CallError> {
        let mut buf = [0u8; 64 * 1024];
        loop {
            match self.frames.next_frame() {
                Some(Ok(frame)) => return Ok(Some(frame)),
                Some(Err(FrameError::TooLarge { max })) => {
                    return Err(CallError::Protocol(format!(
                        "signetd sent a message larger than {max} bytes"
                    )));
                }
                None => {}
            }
            let n = match self.reader.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            if n == 0 {
                return Ok(None);
            }
            self.frames.push(&buf[..n]);
        }
    }

    /// A second handle on the same connection, for reading while this one writes.
    pub fn try_clone_reader(&self) -> io::Result<Client> {
        Ok(Client {
            writer: self.writer.try_clone()?,
            reader: self.reader.try_clone()?,
            frames: FrameDecoder::new(MAX_RESPONSE),
            next_id: 1,
            server: self.server.clone(),
        })
    }

    /// Calls a method and waits for its result.
    pub fn call<M: Method>(&mut self, params: &M::Params) -> Result<M::Result, CallError> {
        let id = self.send::<M>(params)?;
        loop {
            let Some(frame) = self.next_frame()? else {
                return Err(CallError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "signetd closed the connection (see its log)",
                )));
            };
            let response: Response =
                serde_json::from_slice(&frame).map_err(|e| CallError::Protocol(e.to_string()))?;
            if response.id != Some(signet_proto::rpc::RequestId::Number(id)) {
                if response.id.is_none()
                    && let Some(error) = response.error
                {
                    return Err(CallError::Rpc(error));
                }
                continue; // a notification, or an answer to an earlier call
            }
            return match (response.result, response.error) {
                (_, Some(error)) => Err(CallError::Rpc(error)),
                (Some(result), None) => {
                    serde_json::from_value(result).map_err(|e| CallError::Protocol(e.to_string()))
                }
                (None, None) => Err(CallError::Protocol(
                    "a response with neither result nor error".into(),
                )),
            };
        }
    }
}

/// Refuses a socket whose directory someone else could have bound it in. No socket yet is
/// fine: there is nothing to connect to, and the daemon started then makes the directory
/// private before it binds.
fn check_socket_dir(socket: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let Some(dir) = socket.parent() else {
        return Ok(());
    };
    if fs::symlink_metadata(socket).is_err() {
        return Ok(()); // connecting will say nobody is there
    }
    let meta = fs::metadata(dir)?;
    let me = rustix::process::geteuid().as_raw();
    let my_group = rustix::process::getegid().as_raw();
    // Who could have bound a socket there: whoever may write the directory. systemd makes
    // `%t/signet/` 0755 for the socket unit, which is fine; a shared `/tmp` is not.
    if meta.uid() == me
        && !signet_proto::paths::writable_by_others(meta.mode(), meta.gid(), my_group)
    {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "the socket's directory {} is not private to you (it must be yours, and writable by \
             you alone), so whoever answers there may not be your signetd: set SIGNET_SOCKET to \
             a socket in a directory only you can write, or `chmod 700` it",
            dir.display()
        ),
    ))
}

/// Whether a connect error means nobody is serving the socket (as opposed to, say, no right
/// to it).
fn nobody_there(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
    )
}

/// Connects to a running daemon; `Ok(None)` when none is running.
pub fn connect_running(loc: &Locations) -> anyhow::Result<Option<Client>> {
    match Client::connect(&loc.socket) {
        Ok(client) => Ok(Some(client?)),
        Err(e) if nobody_there(&e) => Ok(None),
        Err(e) => {
            Err(e).with_context(|| format!("connecting to signetd at {}", loc.socket.display()))
        }
    }
}

/// Connects to the daemon, starting it first when none is running.
pub fn connect_or_start(loc: &Locations) -> anyhow::Result<Client> {
    // A daemon that dies just as we connect (killed, crashed) resets the connection during
    // `hello`: try again, which starts a new one once the old socket stops answering.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let connected = match Client::connect(&loc.socket) {
            Ok(connected) => connected,
            Err(e) if nobody_there(&e) => return start(loc),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("connecting to signetd at {}", loc.socket.display()));
            }
        };
        match connected {
            Err(CallError::Io(_)) if attempts < 5 => {
                std::thread::sleep(Duration::from_millis(20 * attempts));
            }
            other => return Ok(other?),
        }
    }
}

/// The daemon binary: beside this `sig`, else on PATH; `None` when there is none.
fn daemon_binary() -> Option<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("signetd")));
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("signetd"));
    beside.into_iter().chain(on_path).find(|p| p.is_file())
}

/// Names where the home came from, for errors about it.
fn home_named(home: &Path) -> String {
    if std::env::var_os(ENV_HOME).is_some_and(|h| Path::new(&h) == home) {
        format!("SIGNET_HOME ({})", home.display())
    } else {
        home.display().to_string()
    }
}

/// Starts `signetd` detached, with its log in the home, and waits until it answers.
pub fn start(loc: &Locations) -> anyhow::Result<Client> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&loc.home)
        .with_context(|| format!("creating {}", home_named(&loc.home)))?;
    // Found before anything is written in the home: no empty log is left behind.
    let binary = daemon_binary().ok_or_else(|| {
        anyhow!(
            "signetd is not installed beside sig or on PATH: install it \
             (`cargo install --path signetd`) and try again"
        )
    })?;
    check_home_is_ours(&loc.home)?;
    let log_path = loc.home.join(LOG_FILE);
    // Never through a symlink: a name planted in the home before it was checked would have
    // the daemon's log written wherever it points.
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(&log_path)
        .with_context(|| format!("opening {} (a symlink is refused)", log_path.display()))?;
    let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
    let mut child = Command::new(&binary)
        .env(ENV_HOME, &loc.home)
        .env(ENV_SOCKET, &loc.socket)
        // Errors, not panics: sequoia reports every user id not valid at a signature's time as
        // an error, and capturing a backtrace for each (RUST_BACKTRACE=1 in a developer's
        // shell) made a padded certificate cost 20x per check. Panics still get theirs.
        .env("RUST_LIB_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        // Its own process group: a Ctrl-C meant for this `sig` must not stop the daemon.
        .process_group(0)
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (is signetd installed beside sig or on PATH?)",
                binary.display()
            )
        })?;

    let deadline = Instant::now() + START_DEADLINE;
    let mut exited = None;
    let mut race = false;
    loop {
        match Client::connect(&loc.socket) {
            Ok(client) => return Ok(client?),
            Err(e) if nobody_there(&e) => {}
            Err(e) => {
                return Err(e).with_context(|| format!("connecting to {}", loc.socket.display()));
            }
        }
        if exited.is_none() {
            exited = child.try_wait()?;
            if exited.is_some() {
                match home_holder(loc) {
                    // The home is served on another socket: waiting for this one to come up is
                    // waiting for nothing.
                    Some((pid, socket)) if socket != loc.socket => {
                        return Err(serving_elsewhere(loc, pid, &socket));
                    }
                    // It lost the race to another daemon on this socket, which is coming up.
                    Some(_) => race = true,
                    // It failed on its own (a bad config): its log says why, now.
                    None => {}
                }
            }
        }
        // A daemon that lost the race to another one exits at once while the winner comes up:
        // keep trying the socket a little, then report what the daemon said.
        let grace = exited.is_some()
            && (!race || Instant::now() + START_DEADLINE - Duration::from_secs(2) > deadline);
        if Instant::now() >= deadline || grace {
            let said = log_tail(&log_path, log_start);
            return Err(match exited {
                Some(status) => anyhow!("signetd exited ({status}) before answering:\n{said}"),
                None => anyhow!(
                    "signetd did not answer on {} within {}s; its log ({}) says:\n{said}",
                    loc.socket.display(),
                    START_DEADLINE.as_secs(),
                    log_path.display()
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether process `pid` still runs: some thread of it is neither a zombie nor dead. A daemon
/// that outlived the `sig` that started it is reaped by whoever adopted it, maybe much later,
/// so a zombie counts as exited — but only once every thread is one: the first thread can be a
/// zombie while others still hold the process's files, the home's lock among them.
fn process_running(pid: u32) -> bool {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|task| {
        fs::read_to_string(task.path().join("stat"))
            .ok()
            .and_then(|stat| {
                let state = stat.rsplit_once(") ")?.1.chars().next()?;
                Some(state != 'Z' && state != 'X')
            })
            // A thread that vanished while being read has exited.
            .unwrap_or(false)
    })
}

/// The running daemon the home's lock names, and the socket it serves (`PID\nSOCKET\n`).
fn home_holder(loc: &Locations) -> Option<(u32, PathBuf)> {
    let text = fs::read_to_string(loc.home.join(signet_proto::paths::LOCK_FILE)).ok()?;
    let (pid, socket) = signet_proto::paths::lock_holder(&text);
    let pid = pid?;
    let socket = PathBuf::from(socket?);
    process_running(pid).then_some((pid, socket))
}

/// The home is served by daemon `pid` on `socket`, not on `loc.socket`: how to reach it.
fn serving_elsewhere(loc: &Locations, pid: u32, socket: &Path) -> anyhow::Error {
    let shown = signet_proto::text::shown(&socket.to_string_lossy()).to_string();
    anyhow!(
        "another signetd (pid {pid}) serves this home on {shown}, not on {}: use \
         SIGNET_SOCKET={shown} (or --socket), or stop it first: SIGNET_SOCKET={shown} sig daemon stop",
        loc.socket.display()
    )
}

/// Refuses a home another user owns or can write: what is in it may have been planted (a
/// log symlink, a trust list). Checked before anything in it is opened.
fn check_home_is_ours(home: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = fs::metadata(home).with_context(|| format!("reading {}", home.display()))?;
    let me = rustix::process::getuid().as_raw();
    if meta.uid() != me {
        bail!(
            "{} belongs to uid {}, not to you (uid {me}): choose another SIGNET_HOME",
            home.display(),
            meta.uid()
        );
    }
    let own_gid = rustix::process::getgid().as_raw();
    if signet_proto::paths::writable_by_others(meta.mode(), meta.gid(), own_gid) {
        bail!(
            "{} can be changed by other users (mode {:o}): check what is in it, then `chmod 700` it",
            home.display(),
            meta.mode() & 0o7777
        );
    }
    Ok(())
}

/// What the daemon logged since `from`, at most the last 20 lines.
fn log_tail(path: &Path, from: u64) -> String {
    let text = fs::read(path)
        .map(|b| b.get(from as usize..).unwrap_or_default().to_vec())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// How stopping the daemon went.
pub enum Stopped {
    NotRunning,
    /// It exited by itself.
    Exited,
    /// It had not exited after the grace period and was killed.
    Killed {
        pid: u32,
    },
}

/// Stops a running daemon and waits until the process has exited (it holds the home's lock
/// until then: a next daemon must not start beside it). One that has not exited within 10 s
/// is killed.
pub fn stop(loc: &Locations) -> anyhow::Result<Stopped> {
    let Some(mut client) = connect_running(loc)? else {
        return Ok(Stopped::NotRunning);
    };
    let status: signet_proto::api::StatusResult =
        client.call::<method::Status>(&signet_proto::api::NoParams)?;
    let _ = client.call::<method::Shutdown>(&signet_proto::api::NoParams)?;
    let pid = status.pid;
    let alive = || process_running(pid);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if !alive() {
            return Ok(Stopped::Exited);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let killed = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !killed && alive() {
        bail!("signetd (pid {pid}) did not stop within 10s and could not be killed");
    }
    Ok(Stopped::Killed { pid })
}
