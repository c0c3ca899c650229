//! The Unix socket: binding it privately, accepting connections from this user only, and
//! reading NDJSON frames with bounds on size, time and the number of connections.

pub mod dispatch;

use std::io;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use signet_proto::api::method;
use signet_proto::rpc::{
    self, ErrorCode, FrameDecoder, FrameError, Notification, Request, RequestId, Response, RpcError,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;

use crate::daemon::Daemon;
use dispatch::Session;

/// How long a client may take to accept a response before it is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds the socket at `path`: its directory must be private to this user (it is created 0700
/// when missing), a stale socket left by a dead daemon is replaced, and the socket is 0600.
/// The caller holds the home's lock, so no live daemon owns a socket found there.
pub fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    ensure_private_dir(dir)?;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            std::fs::remove_file(path)
                .with_context(|| format!("removing stale socket {}", path.display()))?;
        }
        Ok(_) => bail!(
            "{} exists and is not a socket; refusing to replace it",
            path.display()
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("checking {}", path.display())),
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("making {} private", path.display()))?;
    Ok(listener)
}

/// The listening socket systemd passed (socket activation, `sd_listen_fds(3)`), if any.
pub fn from_systemd() -> anyhow::Result<Option<UnixListener>> {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let count = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    if !ours || count == 0 {
        return Ok(None);
    }
    if count > 1 {
        tracing::warn!("systemd passed {count} sockets; signetd uses the first");
    }
    use std::os::fd::FromRawFd as _;
    // SAFETY: LISTEN_PID names this process, so by the socket-activation protocol fd 3 is a
    // listening socket systemd opened for us alone; nothing else in this process owns it.
    #[allow(unsafe_code)]
    let listener = unsafe { std::os::unix::net::UnixListener::from_raw_fd(3) };
    listener
        .set_nonblocking(true)
        .context("the socket systemd passed (fd 3)")?;
    Ok(Some(
        UnixListener::from_std(listener).context("the socket systemd passed (fd 3)")?,
    ))
}

fn ensure_private_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        return crate::home::store::private_dir(dir);
    }
    let meta = std::fs::metadata(dir).with_context(|| format!("checking {}", dir.display()))?;
    let me = rustix::process::getuid().as_raw();
    if !signet_proto::paths::private_to(meta.mode(), meta.uid(), me) {
        bail!(
            "the socket's directory {} is not private to you (it must be yours, mode 0700): \
             choose another SIGNET_SOCKET, or `chmod 700` it",
            dir.display()
        );
    }
    Ok(())
}

/// Accepts connections until shutdown is requested.
pub async fn serve(daemon: Arc<Daemon>, listener: UnixListener) {
    let slots = Arc::new(Semaphore::new(daemon.config().max_connections));
    let mut shutdown = daemon.shared.shutdown_requested();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let daemon = daemon.clone();
                    let slots = slots.clone();
                    tokio::spawn(async move {
                        match slots.try_acquire_owned() {
                            Ok(_slot) => connection(daemon, stream).await,
                            Err(_) => refuse(stream, RpcError::new(
                                ErrorCode::Busy,
                                "signetd is serving as many connections as it allows; try again",
                            )).await,
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors, mostly: wait a little rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
}

async fn refuse(mut stream: UnixStream, error: RpcError) {
    let line = rpc::encode_line(&Response::err(None, error));
    let _ = tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&line)).await;
    // Closing with the client's request unread would reset the connection and could destroy
    // the refusal before the client reads it: read what it sent first, briefly.
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

async fn connection(daemon: Arc<Daemon>, stream: UnixStream) {
    let me = rustix::process::getuid().as_raw();
    match stream.peer_cred() {
        Ok(cred) if cred.uid() == me => {}
        Ok(cred) => {
            tracing::warn!(uid = cred.uid(), pid = ?cred.pid(), "refused a connection from another user");
            return refuse(
                stream,
                RpcError::new(
                    ErrorCode::InvalidRequest,
                    format!("signetd serves only its own user (uid {me})"),
                ),
            )
            .await;
        }
        Err(e) => {
            tracing::warn!("refused a connection whose peer could not be identified: {e}");
            return;
        }
    }
    if let Err(e) = serve_connection(&daemon, stream).await {
        tracing::debug!("connection ended: {e}");
    }
}

async fn serve_connection(daemon: &Arc<Daemon>, stream: UnixStream) -> io::Result<()> {
    let mut session = Session::default();
    let result = serve_session(daemon, stream, &mut session).await;
    if let Some(inbox) = &session.inbox {
        daemon.subscribers.remove_connection(inbox.connection);
    }
    result
}

/// The next notification for a subscribed connection; `None` when it was cut off for falling
/// behind. Never resolves for a connection that has not subscribed.
async fn next_notification(
    inbox: Option<&mut crate::subscribers::Inbox>,
) -> Option<Arc<signet_proto::api::VerdictChanged>> {
    let Some(inbox) = inbox else {
        return std::future::pending().await;
    };
    tokio::select! {
        biased;
        _ = inbox.cut_off.notified() => None,
        change = inbox.notifications.recv() => change,
    }
}

/// A `verdict.changed` notification, framed.
fn notification_line(change: &signet_proto::api::VerdictChanged) -> Vec<u8> {
    rpc::encode_line(&Notification {
        jsonrpc: rpc::V2,
        method: method::VERDICT_CHANGED.to_owned(),
        params: serde_json::to_value(change).expect("notifications serialize"),
    })
}

async fn serve_session(
    daemon: &Arc<Daemon>,
    stream: UnixStream,
    session: &mut Session,
) -> io::Result<()> {
    let (mut reader, mut writer) = stream.into_split();
    let mut decoder = FrameDecoder::new(daemon.config().max_message_bytes);
    let mut shutdown = daemon.shared.shutdown_requested();
    let message_timeout = Duration::from_secs(daemon.config().message_timeout_secs);
    let mut buf = vec![0u8; 64 * 1024];
    // When the unfinished message began: its deadline runs from its first byte, so a client
    // sending a byte now and then cannot hold a slot by restarting a timer.
    let mut message_began: Option<tokio::time::Instant> = None;
    loop {
        while let Some(frame) = decoder.next_frame() {
            let response = match frame {
                Ok(bytes) => {
                    let answering = answer(daemon, session, &bytes);
                    let room = daemon.config().max_message_bytes;
                    let watched = (&mut reader, &writer, &mut decoder, &mut buf[..]);
                    match until_gone(answering, watched, room).await {
                        Some(response) => response,
                        // The client has gone: what it asked for was dropped (a hash stops).
                        None => return Ok(()),
                    }
                }
                Err(FrameError::TooLarge { max }) => Some(Response::err(
                    None,
                    RpcError::new(
                        ErrorCode::InvalidRequest,
                        format!("message larger than {max} bytes; send smaller requests"),
                    ),
                )),
            };
            if let Some(response) = response {
                send(&mut writer, &rpc::encode_line(&response), message_timeout).await?;
            }
        }
        message_began = match (decoder.pending(), message_began) {
            (0, _) => None,
            (_, None) => Some(tokio::time::Instant::now()),
            (_, began) => began,
        };
        let message_deadline = message_began.map(|began| began + message_timeout);
        let read = tokio::select! {
            read = reader.read(&mut buf) => read?,
            change = next_notification(session.inbox.as_mut()) => {
                let Some(change) = change else {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "subscriber fell behind"));
                };
                send(&mut writer, &notification_line(&change), message_timeout).await?;
                continue;
            }
            _ = shutdown.changed() => return Ok(()),
            // A started message must be finished in time: a trickling client loses its slot.
            _ = tokio::time::sleep_until(
                message_deadline.unwrap_or_else(tokio::time::Instant::now),
            ), if message_deadline.is_some() => {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "message not finished in time"));
            }
        };
        if read == 0 {
            return Ok(());
        }
        decoder.push(&buf[..read]);
    }
}

/// Awaits `answering` while watching the connection: `None` when the client has gone (closed
/// the socket entirely), and the work is dropped with it. What the client pipelines meanwhile
/// is kept for later, up to one message's worth. A client that only shut down its sending
/// side (a script piping one request) still gets its answer.
async fn until_gone<T>(
    answering: impl std::future::Future<Output = T>,
    (reader, writer, decoder, buf): (
        &mut tokio::net::unix::OwnedReadHalf,
        &tokio::net::unix::OwnedWriteHalf,
        &mut FrameDecoder,
        &mut [u8],
    ),
    max_pending: usize,
) -> Option<T> {
    tokio::pin!(answering);
    let mut read_closed = false;
    loop {
        let room = decoder.pending() < max_pending;
        tokio::select! {
            answer = &mut answering => return Some(answer),
            read = reader.read(buf), if room && !read_closed => match read {
                Ok(0) | Err(_) => {
                    read_closed = true;
                    // Gone entirely (the peer closed: EPOLLHUP), or only done sending?
                    let probe = writer.as_ref().ready(tokio::io::Interest::WRITABLE);
                    let gone = match tokio::time::timeout(Duration::from_millis(100), probe).await {
                        Ok(Ok(ready)) => ready.is_write_closed(),
                        Ok(Err(_)) => true,
                        Err(_) => false, // not writable yet: still there
                    };
                    if gone {
                        return None;
                    }
                }
                Ok(n) => decoder.push(&buf[..n]),
            },
        }
    }
}

/// Writes one line; a client that does not take it in time loses its connection, never the
/// daemon's time.
async fn send(
    writer: &mut tokio::net::unix::OwnedWriteHalf,
    line: &[u8],
    deadline: Duration,
) -> io::Result<()> {
    match tokio::time::timeout(deadline, writer.write_all(line)).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "client does not read",
        )),
    }
}

/// Parses one frame and answers it; malformed frames get JSON-RPC errors.
async fn answer(daemon: &Arc<Daemon>, session: &mut Session, bytes: &[u8]) -> Option<Response> {
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            let why = match std::str::from_utf8(bytes) {
                Err(_) => "the message is not valid UTF-8".to_owned(),
                Ok(_) => format!("the message is not JSON: {e}"),
            };
            return Some(Response::err(
                None,
                RpcError::new(ErrorCode::ParseError, why),
            ));
        }
    };
    let notification = value.get("id").is_none();
    let id: Option<RequestId> = value
        .get("id")
        .cloned()
        .and_then(|id| serde_json::from_value(id).ok());
    match serde_json::from_value::<Request>(value) {
        Ok(request) => dispatch::handle(daemon, session, request, notification).await,
        Err(e) => Some(Response::err(
            id,
            RpcError::new(
                ErrorCode::InvalidRequest,
                format!("not a JSON-RPC 2.0 request: {e}"),
            ),
        )),
    }
}
