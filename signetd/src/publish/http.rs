//! Publishing the user's repository: an HTTP server (hyper) for `repo.json` and `key.asc`
//! (GET and HEAD, ETag and Last-Modified, 304s, nothing else), and atomic copies to a directory.
//!
//! The server spends nothing per client that a client can make large: both files are read
//! once per write (`Events::published_written` moves; the first request after it reads them)
//! into one shared copy (`Bytes`, its ETag computed then), which every response
//! shares; each connection serves one request and is cut off [`REQUEST_TIMEOUT`] after it was
//! accepted, however slowly its client sends or reads; and each peer address holds at most
//! [`MAX_PER_PEER`] connections, so one host cannot take the slots real followers need.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use hyper::{Method, Request, Response, StatusCode};
use sha2::{Digest as _, Sha256};
use tokio::net::TcpListener;

use crate::home::{Home, store};

/// From a connection's accept to its close, whatever its client does.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 256;
/// Connections served at once for one peer address.
pub const MAX_PER_PEER: usize = 8;
// A follower downloading parts stays well inside the limit, so its downloads are not the
// connections dropped (it retries those that are, see `signet_fetch::parts`).
const _: () = assert!(signet_fetch::parts::PARALLEL * 2 <= MAX_PER_PEER);

/// One published file as read at the last write.
#[derive(Debug, Clone)]
struct Published {
    body: Bytes,
    etag: HeaderValue,
    modified: SystemTime,
}

/// Both files; `None` for one that does not exist (yet).
#[derive(Debug, Default)]
struct Snapshot {
    /// `Events::published_written` when the files were read: every write up to it is in.
    written: u64,
    repo: Option<Published>,
    key: Option<Published>,
}

impl Snapshot {
    fn read(repo_dir: &Path, written: u64) -> Self {
        let one = |name: &str| {
            let path = repo_dir.join(name);
            let body = std::fs::read(&path).ok()?;
            let modified = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            let etag = format!(
                "\"{}\"",
                &signet_proto::formats::hex_lower(&Sha256::digest(&body))[..32]
            );
            Some(Published {
                body: Bytes::from(body),
                etag: HeaderValue::from_str(&etag).expect("hex in quotes is a header value"),
                modified,
            })
        };
        Snapshot {
            written,
            repo: one(signet_proto::paths::REPO_FILE),
            key: one(signet_proto::paths::KEY_FILE),
        }
    }
}

/// The files as last read, and how to tell they were written since.
struct Content {
    held: RwLock<Arc<Snapshot>>,
    written: tokio::sync::watch::Receiver<u64>,
    repo_dir: PathBuf,
    /// One reading at a time: requests that find the files written wait for one reading.
    reading: tokio::sync::Mutex<()>,
}

impl Content {
    /// The files as they are now: read again first if they were written since last read.
    /// The write to disk lands before its event moves, so a request that starts after a write
    /// returns (`sig attest`) is answered from it.
    async fn current(&self) -> Arc<Snapshot> {
        let held = || self.held.read().unwrap_or_else(|e| e.into_inner()).clone();
        let written = *self.written.borrow();
        if held().written >= written {
            return held();
        }
        let _one = self.reading.lock().await;
        let now = held();
        if now.written >= written {
            return now; // read while this request waited its turn
        }
        let written = *self.written.borrow();
        let dir = self.repo_dir.clone();
        match crate::errors::blocking("reading the published files", move || {
            Snapshot::read(&dir, written)
        })
        .await
        {
            Ok(read) => {
                let read = Arc::new(read);
                *self.held.write().unwrap_or_else(|e| e.into_inner()) = read.clone();
                read
            }
            Err(e) => {
                tracing::error!("{e}");
                now
            }
        }
    }
}

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

/// Counts connections per peer; a slot gives its place back when dropped.
#[derive(Default)]
struct Peers(Mutex<HashMap<IpAddr, usize>>);

struct PeerSlot {
    peers: Arc<Peers>,
    ip: IpAddr,
}

impl Peers {
    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<PeerSlot> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(ip).or_default();
        if *n >= MAX_PER_PEER {
            return None;
        }
        *n += 1;
        Some(PeerSlot {
            peers: self.clone(),
            ip,
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut map = self.peers.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Binds `addr` and serves the home's `repo/` until dropped.
pub async fn start(
    home: &Home,
    addr: &str,
    written: tokio::sync::watch::Receiver<u64>,
) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let addr = listener.local_addr()?;
    let repo_dir = home.repo_dir();
    let first = {
        let (dir, now) = (repo_dir.clone(), *written.borrow());
        crate::errors::blocking("reading the repository", move || Snapshot::read(&dir, now)).await?
    };
    let served = Arc::new(Content {
        held: RwLock::new(Arc::new(first)),
        written,
        repo_dir,
        reading: tokio::sync::Mutex::new(()),
    });
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let peers = Arc::new(Peers::default());
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            // Counted from here, not from when the task first runs: a busy runtime does not
            // lengthen what a client can hold.
            let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
            // Over either limit the connection is dropped at once: the client retries later.
            let Some(peer_slot) = peers.take(peer.ip()) else {
                continue;
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                continue;
            };
            let content = served.clone();
            tokio::spawn(async move {
                let _slots = (slot, peer_slot);
                let service = hyper::service::service_fn(move |request| {
                    let content = content.clone();
                    async move {
                        if let Some(digest) = part_digest(request.uri().path()) {
                            return Ok::<_, Infallible>(
                                respond_part(&content.repo_dir, digest, &request).await,
                            );
                        }
                        let snapshot = content.current().await;
                        Ok::<_, Infallible>(respond(&snapshot, &request))
                    }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .keep_alive(false)
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(REQUEST_TIMEOUT)
                    .max_buf_size(16 * 1024)
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                match tokio::time::timeout_at(deadline, connection).await {
                    Ok(Err(e)) => tracing::debug!(%peer, "publish connection: {e}"),
                    Err(_) => {
                        tracing::debug!(%peer, "publish connection cut off after {REQUEST_TIMEOUT:?}")
                    }
                    Ok(Ok(())) => {}
                }
            });
        }
    });
    tracing::info!("publishing {} on http://{addr}/", home.repo_dir().display());
    Ok(Running { addr, task })
}

fn plain(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("{status}\n"))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The digest a request for a part names: `/parts/` and 64 lowercase hex digits, `.json`.
/// Nothing else under `parts/` is served, so no path can leave it.
fn part_digest(path: &str) -> Option<&str> {
    let digest = path.strip_prefix("/parts/")?.strip_suffix(".json")?;
    signet_proto::formats::PartRef::is_digest(digest).then_some(digest)
}

/// A part of the repository in the large-publisher layout (docs/FORMATS.md, "Parts"), read
/// from `repo/parts/` for each request: named by its digest, it never changes, so its ETag is
/// that digest and caches may keep it for ever. Parts are written before the `repo.json` that
/// names them and kept while the version before it may still be fetched.
async fn respond_part<B>(
    repo_dir: &Path,
    digest: &str,
    request: &Request<B>,
) -> Response<Full<Bytes>> {
    let with_body = match *request.method() {
        Method::GET => true,
        Method::HEAD => false,
        _ => return plain(StatusCode::METHOD_NOT_ALLOWED),
    };
    let path = repo_dir
        .join(signet_proto::formats::PARTS_DIR)
        .join(format!("{digest}.json"));
    let read = crate::errors::blocking("reading a part", move || {
        store::read_bounded(&path, crate::home::own_repo::MAX_PART_BYTES)
    })
    .await;
    let Ok(Ok(Some(body))) = read else {
        return plain(StatusCode::NOT_FOUND);
    };
    let etag = format!("\"{digest}\"");
    let fresh = request
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let length = body.len();
    let mut response = Response::new(Full::new(if fresh || !with_body {
        Bytes::new()
    } else {
        Bytes::from(body)
    }));
    let headers = response.headers_mut();
    headers.insert(ETAG, HeaderValue::from_str(&etag).expect("hex in quotes"));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if fresh {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return response;
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if !with_body {
        headers.insert(hyper::header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    response
}

/// Only the two files are served here (parts by `respond_part`): anything else is 404, so no
/// path can leave `repo/`.
fn respond<B>(snapshot: &Snapshot, request: &Request<B>) -> Response<Full<Bytes>> {
    let with_body = match *request.method() {
        Method::GET => true,
        Method::HEAD => false,
        _ => return plain(StatusCode::METHOD_NOT_ALLOWED),
    };
    let (file, content_type) = match request.uri().path() {
        "/repo.json" => (&snapshot.repo, "application/json"),
        "/key.asc" => (&snapshot.key, "application/pgp-keys"),
        _ => return plain(StatusCode::NOT_FOUND),
    };
    let Some(file) = file else {
        return plain(StatusCode::NOT_FOUND);
    };
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let etag = file.etag.to_str().expect("ASCII");
    let fresh = match (header(IF_NONE_MATCH), header(IF_MODIFIED_SINCE)) {
        (Some(tags), _) => tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        (None, Some(since)) => httpdate::parse_http_date(since).is_ok_and(|since| {
            file.modified
                .duration_since(since)
                .map_or(true, |d| d.as_secs() == 0)
        }),
        (None, None) => false,
    };
    let mut response = Response::new(Full::new(if fresh || !with_body {
        Bytes::new()
    } else {
        file.body.clone() // shared, not copied
    }));
    let headers = response.headers_mut();
    headers.insert(ETAG, file.etag.clone());
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(file.modified)) {
        headers.insert(LAST_MODIFIED, v);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if fresh {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return response;
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if !with_body {
        headers.insert(
            hyper::header::CONTENT_LENGTH,
            HeaderValue::from(file.body.len()),
        );
    }
    response
}

/// Copies the repository into `dir` atomically (each file replaced whole), for static hosting.
/// Whether `dir` is the home or under it, once symlinks in its existing part are resolved:
/// the home's files are Signet's own (a copy into `remotes/NAME/` overwrote that remote's
/// stored copy).
pub fn inside_home(home: &Home, dir: &Path) -> bool {
    let Ok(root) = std::fs::canonicalize(&home.root) else {
        return false;
    };
    let mut existing = dir;
    let mut rest = Vec::new();
    while std::fs::symlink_metadata(existing).is_err() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            // `..` or the root: resolved as written.
            _ => break,
        }
    }
    let Ok(mut resolved) = std::fs::canonicalize(existing) else {
        return dir.starts_with(&root);
    };
    resolved.extend(rest.iter().rev());
    resolved.starts_with(&root)
        || dir
            .components()
            .any(|c| c == std::path::Component::ParentDir)
}

pub fn copy_to(home: &Home, dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // The parts first (in the large-publisher layout): named by their digests, none already
    // there is rewritten, and a reader of the old repo.json still finds its own.
    let named = crate::home::own_repo::parts_named(&home.repo_file());
    let (from, to) = (
        crate::home::own_repo::PartDir::of(&home.repo_dir()),
        crate::home::own_repo::PartDir::of(dir),
    );
    let mut keep = crate::home::own_repo::parts_named(&dir.join(signet_proto::paths::REPO_FILE));
    for digest in named.iter().filter(|d| !to.holds(d)) {
        let bytes = store::read_bounded(&from.path(digest), crate::home::own_repo::MAX_PART_BYTES)?
            .with_context(|| format!("{} is missing", from.path(digest).display()))?;
        std::fs::create_dir_all(to.path(digest).parent().expect("in parts/"))?;
        store::write_atomic(&to.path(digest), &bytes, 0o644)?;
    }
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
    keep.extend(named);
    to.keep_only(&keep);
    Ok(dir.to_path_buf())
}
