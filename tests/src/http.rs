//! A real HTTP server on 127.0.0.1 whose behaviour each test controls: serving files (with
//! ETags and 304s), or misbehaving as a hostile or broken server would.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the server answers one path.
#[derive(Debug, Clone)]
pub enum Serve {
    /// 200 with the body, an ETag, and 304 when the client already has it.
    File(Vec<u8>),
    /// The same, for a body shared with the test and its ETag made once ([`Serve::shared`]):
    /// a bench serving gigabytes holds them once and neither copies nor hashes a body for each
    /// request.
    Shared(Arc<[u8]>, String),
    /// Any status and body, no validators.
    Status(u16, Vec<u8>),
    /// A body of this many bytes, streamed without Content-Length.
    Huge(u64),
    /// Headers, then one byte of the body a second.
    Trickle(Vec<u8>),
    /// Promises 10,000 bytes, sends 10, then closes the connection.
    ResetMidBody,
    /// 302 to itself, forever.
    RedirectLoop,
    /// Accepts the connection and never answers.
    Silent,
}

#[derive(Default)]
struct Shared {
    routes: HashMap<String, Serve>,
    /// (path, status) of every response, in order.
    log: Vec<(String, u16)>,
    /// The path of every request read, answered or not.
    asked: Vec<String>,
    /// Bytes of the bodies of `File` routes sent so far.
    sent: u64,
}

pub struct TestServer {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
}

impl Default for TestServer {
    fn default() -> Self {
        Self::start()
    }
}

impl TestServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (s, st) = (s.clone(), st.clone());
                std::thread::spawn(move || handle(stream, &s, &st));
            }
        });
        TestServer { addr, shared, stop }
    }

    /// The URL of the served directory.
    pub fn url(&self) -> String {
        format!("http://{}/signet/", self.addr)
    }

    pub fn route(&self, file: &str, serve: Serve) {
        self.shared
            .lock()
            .unwrap()
            .routes
            .insert(format!("/signet/{file}"), serve);
    }

    /// Serves a repository directory's `repo.json`, `key.asc` and parts (the large-publisher
    /// layout) as they are now.
    pub fn serve_repo(&self, repo_dir: &std::path::Path) {
        if let Ok(parts) = std::fs::read_dir(repo_dir.join("parts")) {
            for part in parts.flatten() {
                let name = format!("parts/{}", part.file_name().to_string_lossy());
                self.route(&name, Serve::File(std::fs::read(part.path()).unwrap()));
            }
        }
        self.route(
            "repo.json",
            Serve::File(std::fs::read(repo_dir.join("repo.json")).unwrap()),
        );
        self.route(
            "key.asc",
            Serve::File(std::fs::read(repo_dir.join("key.asc")).unwrap()),
        );
    }

    /// How many requests for a path ending in `file` have been read (answered or not: a
    /// `Silent` route answers nothing).
    pub fn times_asked(&self, file: &str) -> usize {
        self.shared
            .lock()
            .unwrap()
            .asked
            .iter()
            .filter(|p| p.ends_with(file))
            .count()
    }

    /// Bytes of file bodies sent since the last call.
    pub fn take_bytes_sent(&self) -> u64 {
        std::mem::take(&mut self.shared.lock().unwrap().sent)
    }

    /// Statuses answered so far for a file, and forgets them.
    pub fn take_log(&self) -> Vec<(String, u16)> {
        std::mem::take(&mut self.shared.lock().unwrap().log)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wake the accept loop
    }
}

impl Serve {
    /// `body` served as a file, shared rather than copied, its ETag made here once.
    pub fn shared(body: Arc<[u8]>) -> Serve {
        let etag = etag_of(&body);
        Serve::Shared(body, etag)
    }
}

fn etag_of(body: &[u8]) -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h =
        std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .build_hasher();
    h.write(body);
    format!("\"{:x}\"", h.finish())
}

fn handle(mut stream: TcpStream, shared: &Mutex<Shared>, stop: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let path = text.split(' ').nth(1).unwrap_or("/").to_owned();
    shared.lock().unwrap().asked.push(path.clone());
    let if_none_match = text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("if-none-match")
            .then(|| v.trim().to_owned())
    });
    let serve = shared.lock().unwrap().routes.get(&path).cloned();
    let log = |status| shared.lock().unwrap().log.push((path.clone(), status));
    let file = |stream: &mut TcpStream, body: &[u8], etag: &str| {
        if if_none_match.as_deref() == Some(etag) {
            log(304);
            stream.write_all(
                format!("HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
        } else {
            log(200);
            shared.lock().unwrap().sent += body.len() as u64;
            let head = format!(
                "HTTP/1.1 200 OK\r\nETag: {etag}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream
                .write_all(head.as_bytes())
                .and_then(|()| stream.write_all(body))
        }
    };
    let _ = match serve {
        None => {
            log(404);
            stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
        }
        Some(Serve::File(body)) => file(&mut stream, &body, &etag_of(&body)),
        Some(Serve::Shared(body, etag)) => file(&mut stream, &body, &etag),
        Some(Serve::Status(status, body)) => {
            log(status);
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream
                .write_all(head.as_bytes())
                .and_then(|()| stream.write_all(&body))
        }
        Some(Serve::Huge(size)) => {
            log(200);
            let chunk = vec![b' '; 1 << 16];
            let mut sent = 0u64;
            let mut result = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            while result.is_ok() && sent < size {
                result = stream.write_all(&chunk);
                sent += chunk.len() as u64;
            }
            result
        }
        Some(Serve::Trickle(body)) => {
            log(200);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let mut result = stream.write_all(head.as_bytes());
            for byte in body {
                if result.is_err() || stop.load(Ordering::SeqCst) {
                    break;
                }
                result = stream.write_all(&[byte]).and_then(|()| stream.flush());
                std::thread::sleep(Duration::from_secs(1));
            }
            result
        }
        Some(Serve::ResetMidBody) => {
            log(200);
            stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 10000\r\nConnection: close\r\n\r\n0123456789",
            )
        }
        Some(Serve::RedirectLoop) => {
            log(302);
            stream.write_all(format!("HTTP/1.1 302 Found\r\nLocation: {path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes())
        }
        Some(Serve::Silent) => {
            log(0);
            let until = Instant::now() + Duration::from_secs(60);
            while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(())
        }
    };
}
