//! Publishing the user's repository: a minimal HTTP server for `repo.json` and `key.asc`
//! (GET and HEAD, ETag and Last-Modified, 304s, nothing else), and atomic copies to a directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::store::{self, Home};

/// Largest request head read.
const MAX_HEAD: usize = 8 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once.
const MAX_CONNECTIONS: usize = 256;

/// A running publisher; dropping it stops it.
pub struct Running {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `addr` and serves the home's `repo/` until dropped.
pub async fn start(home: &Home, addr: &str) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let addr = listener.local_addr()?;
    let repo = home.repo_dir();
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                continue; // dropped: the client retries later
            };
            let repo = repo.clone();
            tokio::spawn(async move {
                let _slot = slot;
                if let Err(e) = tokio::time::timeout(REQUEST_TIMEOUT, serve(stream, &repo)).await {
                    tracing::debug!("publish connection timed out: {e}");
                }
            });
        }
    });
    tracing::info!("publishing {} on http://{addr}/", home.repo_dir().display());
    Ok(Running { addr, task })
}

struct Reply {
    status: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn plain(status: &'static str) -> Self {
        Reply {
            status,
            headers: vec![("Content-Type", "text/plain; charset=utf-8".into())],
            body: format!("{status}\n").into_bytes(),
        }
    }
}

async fn serve(mut stream: TcpStream, repo: &Path) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_HEAD {
            return write(
                &mut stream,
                Reply::plain("431 Request Header Fields Too Large"),
                true,
            )
            .await;
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let mut request = lines.next().unwrap_or("").split(' ');
    let (method, target) = (request.next().unwrap_or(""), request.next().unwrap_or(""));
    let header = |name: &str| {
        text.split("\r\n").skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let with_body = method != "HEAD";
    let reply = if method != "GET" && method != "HEAD" {
        Reply::plain("405 Method Not Allowed")
    } else {
        respond(
            repo,
            target,
            header("If-None-Match"),
            header("If-Modified-Since"),
        )
    };
    write(&mut stream, reply, with_body).await
}

/// Only the two files are served: anything else is 404, so no path can leave `repo/`.
fn respond(
    repo: &Path,
    target: &str,
    if_none_match: Option<String>,
    if_modified_since: Option<String>,
) -> Reply {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let (name, content_type) = match path {
        "/repo.json" => (signet_proto::paths::REPO_FILE, "application/json"),
        "/key.asc" => (signet_proto::paths::KEY_FILE, "application/pgp-keys"),
        _ => return Reply::plain("404 Not Found"),
    };
    let file = repo.join(name);
    let (Ok(body), Ok(meta)) = (std::fs::read(&file), std::fs::metadata(&file)) else {
        return Reply::plain("404 Not Found");
    };
    let etag = format!(
        "\"{}\"",
        &signet_proto::formats::hex_lower(&Sha256::digest(&body))[..32]
    );
    let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let last_modified = httpdate::fmt_http_date(modified);
    let fresh = match (if_none_match, if_modified_since) {
        (Some(tags), _) => tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        (None, Some(since)) => httpdate::parse_http_date(&since).is_ok_and(|since| {
            modified
                .duration_since(since)
                .map_or(true, |d| d.as_secs() == 0)
        }),
        (None, None) => false,
    };
    let headers = vec![
        ("ETag", etag),
        ("Last-Modified", last_modified),
        ("Cache-Control", "no-cache".into()),
    ];
    if fresh {
        return Reply {
            status: "304 Not Modified",
            headers,
            body: Vec::new(),
        };
    }
    let mut headers = headers;
    headers.push(("Content-Type", content_type.into()));
    Reply {
        status: "200 OK",
        headers,
        body,
    }
}

async fn write(stream: &mut TcpStream, reply: Reply, with_body: bool) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {}\r\nConnection: close\r\n", reply.status);
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", reply.body.len()));
    stream.write_all(out.as_bytes()).await?;
    if with_body {
        stream.write_all(&reply.body).await?;
    }
    stream.shutdown().await
}

/// Copies the repository into `dir` atomically (each file replaced whole), for static hosting.
pub fn copy_to(home: &Home, dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // key.asc first: a reader that sees the new repo.json can always check it.
    for name in [
        signet_proto::paths::KEY_FILE,
        signet_proto::paths::REPO_FILE,
    ] {
        let from = home.repo_dir().join(name);
        let bytes = std::fs::read(&from)
            .with_context(|| format!("reading {} (run `sig setup` first)", from.display()))?;
        store::write_atomic(&dir.join(name), &bytes, 0o644)?;
    }
    Ok(dir.to_path_buf())
}
