//! The HTTP publisher (`sig publish --http`) under load and abuse: one in-memory copy shared by
//! every reader, each connection cut off at its deadline, a cap per peer address.

use serde_json::json;
use signet_tests::Home;

/// A TCP connection to `to` from the loopback address `from` (127.0.0.0/8 is all loopback).
fn connect_from(from: std::net::Ipv4Addr, to: std::net::SocketAddr) -> std::net::TcpStream {
    use rustix::net::{AddressFamily, SocketType, bind, connect, socket};
    let fd = socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    bind(&fd, &std::net::SocketAddr::from((from, 0))).unwrap();
    connect(&fd, &to).unwrap();
    std::net::TcpStream::from(fd)
}

fn daemon_rss_kib(home: &Home) -> u64 {
    signet_tests::proc_status_kib(home.daemon_pid().unwrap(), "VmRSS:")
}

/// The publisher spends nothing per client that a client can make large: a hundred clients
/// that never read a 24 MB repository share one copy of it; one host's 300 stalled
/// connections do not keep another host from being served; a stalled request is cut off.
#[test]
fn the_publisher_shares_one_copy_and_bounds_each_peer() {
    let _alone = signet_tests::exclusive();
    use std::io::{Read as _, Write as _};
    use std::time::{Duration, Instant};
    let world = Home::new();
    world.config(json!({"sync": {"interval_secs": 0}}));
    world.setup("World <w@example.org>");
    // A 24 MB repo.json (what it holds does not matter to the server: it serves bytes),
    // written before publishing: a daemon restarted after `publish --http 127.0.0.1:0` binds
    // the remembered port again, which another test's server may have taken meanwhile (this
    // test then talked to that server, whose stalled connections never close).
    world.sig(&["daemon", "stop"]).expect(0);
    let big = vec![b' '; 24 << 20];
    std::fs::write(world.repo_dir().join("repo.json"), &big).unwrap();
    let url = world.publish_http();
    let addr: std::net::SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let get = b"GET /repo.json HTTP/1.1\r\nHost: x\r\n\r\n";
    let before = daemon_rss_kib(&world);
    let mut readers_that_never_read = Vec::new();
    for n in 0..100u8 {
        let mut c = connect_from(std::net::Ipv4Addr::new(127, 0, 1, n + 1), addr);
        c.write_all(get).unwrap();
        readers_that_never_read.push(c);
    }
    std::thread::sleep(Duration::from_secs(2));
    let grown = daemon_rss_kib(&world).saturating_sub(before);
    assert!(
        grown < 150 * 1024,
        "100 slow readers of a 24 MB file grew the daemon by {grown} KiB"
    );
    drop(readers_that_never_read);

    // 300 stalled connections from one host, then a request from another.
    let mut stalled = Vec::new();
    for _ in 0..300 {
        let mut c = connect_from(std::net::Ipv4Addr::new(127, 0, 0, 1), addr);
        let _ = c.write_all(b"GET /repo.json HTTP/1.1\r\n");
        stalled.push(c);
    }
    let started = Instant::now();
    let mut other = connect_from(std::net::Ipv4Addr::new(127, 0, 0, 2), addr);
    other
        .write_all(b"GET /key.asc HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    other
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = Vec::new();
    other.read_to_end(&mut answer).unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    // The stalled ones are closed: at once past the per-host limit, the rest by the deadline
    // (10 s after each was accepted); 30 s leaves a busy machine room, and one held for ever
    // still fails.
    let deadline = Instant::now() + Duration::from_secs(30);
    for c in &mut stalled {
        c.set_read_timeout(Some(
            deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1)),
        ))
        .unwrap();
        let mut buf = [0u8; 256];
        let closed = loop {
            match c.read(&mut buf) {
                Ok(0) => break true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
                Err(_) => break false,
            }
        };
        assert!(closed, "a stalled connection was still open after 30 s");
    }
}
