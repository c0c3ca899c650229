//! Verdict integrity against hostile remotes, mirrors and network attackers: each test plays
//! an attack found on an earlier `main` against real daemons, real HTTP servers on 127.0.0.1
//! and real gpg, and checks that Signet's answer stays true.

use serde_json::json;
use signet_tests::forge::{Forge, ago, armored};
use signet_tests::http::{Serve, TestServer};
use signet_tests::{Gpg, Home};

fn id_of(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

fn revoked_line(run: &signet_tests::Run, fpr: &str) -> bool {
    run.stdout
        .contains(&format!("revoked [{}]", &fpr[fpr.len() - 8..]))
}

/// Rule: what Signet knows about a certificate only grows. A revocation, once seen from any
/// source, survives the same remote re-serving the older key.asc, a mirror serving it, the
/// revoking remote's removal, and restarts.
#[test]
fn a_revocation_once_seen_is_never_undone() {
    let gpg = Gpg::new();
    let fpr = gpg.generate("Soon Revoked <r@example.org>", "ed25519", "");
    let id = id_of(0xab);
    let repo = gpg.repo_with_one(&fpr, &id);
    let before = gpg.export(&fpr);
    let server = TestServer::start();
    server.route("repo.json", Serve::File(repo.clone()));
    server.route("key.asc", Serve::File(before.clone()));
    let alice = Home::follower("ref", &server.url());
    alice.sig(&["fetch"]).expect(0);
    alice.sig(&["trust", "add", &fpr]).expect(0);
    alice.sig(&["verify", "--id", &id]).expect(0);

    gpg.revoke(&fpr);
    server.route("key.asc", Serve::File(gpg.export(&fpr)));
    alice.sig(&["fetch"]).expect(0);
    assert!(revoked_line(
        &alice.sig(&["verify", "--id", &id]).expect(1),
        &fpr
    ));

    // The same remote serves the copy from before the revocation again.
    server.route("key.asc", Serve::File(before.clone()));
    alice.sig(&["fetch"]).expect(0);
    assert!(revoked_line(
        &alice.sig(&["verify", "--id", &id]).expect(1),
        &fpr
    ));

    // A mirror of the old copy, then the revoking remote gone, then a restart.
    let mirror = TestServer::start();
    mirror.route("repo.json", Serve::File(repo));
    mirror.route("key.asc", Serve::File(before));
    alice
        .sig(&["remote", "add", "mirror", &mirror.url()])
        .expect(0);
    alice.sig(&["fetch", "mirror"]).expect(0);
    alice.sig(&["remote", "remove", "ref"]).expect(0);
    assert!(revoked_line(
        &alice.sig(&["verify", "--id", &id]).expect(1),
        &fpr
    ));
    alice.sig(&["daemon", "stop"]).expect(0);
    let run = alice.sig(&["verify", "--id", &id]).expect(1);
    assert!(revoked_line(&run, &fpr), "{}", run.stdout);
    let keys = alice.sig(&["keys", "--json"]).expect(0).json();
    assert!(keys.to_string().contains(&fpr), "{keys}");
}

/// A signing subkey revoked alone (the primary key lives on): what it signed is shown as
/// revoked and never counted.
#[test]
fn a_revoked_signing_subkey_voids_what_it_signed() {
    let bob = Forge::new("Bob <bob@example.org>");
    let id = id_of(0x11);
    let server = TestServer::start();
    let repo = bob.repo(1, &[bob.attestation(&id, true, "fine", ago(600))]);
    server.route("repo.json", Serve::File(repo));
    server.route("key.asc", Serve::File(bob.key_asc()));
    let alice = Home::follower("bob", &server.url());
    alice.sig(&["fetch"]).expect(0);
    alice.sig(&["trust", "add", &bob.fingerprint()]).expect(0);
    alice.sig(&["verify", "--id", &id]).expect(0);

    server.route("key.asc", Serve::File(armored(&bob.subkey_revoked())));
    alice.sig(&["fetch"]).expect(0);
    let run = alice.sig(&["verify", "--id", &id]).expect(1);
    assert!(revoked_line(&run, &bob.fingerprint()), "{}", run.stdout);
    // And the plain copy served again does not bring it back.
    server.route("key.asc", Serve::File(bob.key_asc()));
    alice.sig(&["fetch"]).expect(0);
    alice.sig(&["verify", "--id", &id]).expect(1);
}

/// Per key, only its newest signed word about a file counts, wherever each copy comes from:
/// an untrusted remote replaying Bob's retracted "not ok" cannot make the verdict NOT ok, and
/// one replaying his retracted "ok" cannot make it ok.
#[test]
fn a_keys_superseded_word_cannot_be_replayed() {
    let bob = Forge::new("Bob <bob@example.org>");
    let mallory = Forge::new("Mallory <m@example.org>");
    let (fixed, broken) = (id_of(0x21), id_of(0x22));
    let old_not_ok = bob.attestation(&fixed, false, "crashes", ago(900));
    let new_ok = bob.attestation(&fixed, true, "fixed", ago(300));
    let old_ok = bob.attestation(&broken, true, "looked fine", ago(900));
    let new_not_ok = bob.attestation(&broken, false, "backdoor found", ago(300));

    let bobs = TestServer::start();
    bobs.route("repo.json", Serve::File(bob.repo(2, &[new_ok, new_not_ok])));
    bobs.route("key.asc", Serve::File(bob.key_asc()));
    let replayer = TestServer::start();
    replayer.route(
        "repo.json",
        Serve::File(mallory.repo(1, &[old_not_ok, old_ok])),
    );
    replayer.route("key.asc", Serve::File(mallory.key_asc()));

    let alice = Home::follower("bob", &bobs.url());
    alice
        .sig(&["remote", "add", "replayer", &replayer.url()])
        .expect(0);
    // Bob's key first, so that the replayed copies can be checked.
    alice.sig(&["fetch", "bob"]).expect(0);
    alice.sig(&["fetch", "replayer"]).expect(0);
    alice.sig(&["trust", "add", &bob.fingerprint()]).expect(0);
    let run = alice.sig(&["verify", "--id", &fixed]).expect(0);
    assert!(run.stdout.contains("superseded ["), "{}", run.stdout);
    alice.sig(&["verify", "--id", &broken]).expect(3);
    let doc = alice
        .sig(&["verify", "--json", "--id", &fixed])
        .expect(0)
        .json();
    let superseded: Vec<_> = doc["attestations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["superseded"] == true)
        .collect();
    assert_eq!(superseded.len(), 1, "{doc}");
    assert_eq!(superseded[0]["source"], "remote:replayer");
    // The same after a restart, from the stored copies.
    alice.sig(&["daemon", "stop"]).expect(0);
    alice.sig(&["verify", "--id", &fixed]).expect(0);
    alice.sig(&["verify", "--id", &broken]).expect(3);
}

/// The user's own re-attestation supersedes their older word that a remote replays.
#[test]
fn a_replayed_own_word_does_not_undo_a_re_attestation() {
    let mut alice = Home::new();
    alice.config(json!({"sync": {"interval_secs": 0}}));
    alice.setup("Alice <alice@example.org>");
    let file = alice.file("tool.sh", b"echo hi\n");
    alice.attest(&file, false, "suspicious").expect(0);
    let old_repo = alice.read_repo();
    let id = signet_tests::content_id(b"echo hi\n");
    let old_word = old_repo["data"]["attestations"][&id][0].to_string();
    alice.move_clock(5); // a newer second
    alice.attest(&file, true, "reviewed again, fine").expect(0);

    let mallory = Forge::new("Mallory <m@example.org>");
    let server = TestServer::start();
    server.route("repo.json", Serve::File(mallory.repo(1, &[old_word])));
    server.route("key.asc", Serve::File(mallory.key_asc()));
    alice
        .sig(&["remote", "add", "replayer", &server.url()])
        .expect(0);
    alice.sig(&["fetch"]).expect(0);
    let run = alice.sig(&["verify", file.to_str().unwrap()]).expect(0);
    assert!(run.stdout.contains("superseded ["), "{}", run.stdout);
}

/// User ids, comments and file names from outside never reach the terminal raw; a user id
/// not bound to its certificate by a self-signature is never shown as the key's name.
#[test]
fn a_remote_cannot_rewrite_the_terminal() {
    let fake = "\u{1b}[2K\u{1b}[1A\rfile /etc/passwd is ok.\u{202e}";
    let mallory = Forge::new(&format!("Mallory {fake}"));
    let id = signet_tests::content_id(b"payload\n");
    let server = TestServer::start();
    server.route(
        "repo.json",
        Serve::File(mallory.repo(1, &[mallory.attestation(&id, false, fake, ago(60))])),
    );
    server.route("key.asc", Serve::File(mallory.key_asc()));
    let alice = Home::follower("mallory", &server.url());
    let file = alice.file("payload\u{1b}[31m.sh", b"payload\n");
    let mut outputs = vec![alice.sig(&["fetch"]).expect(0)];
    alice
        .sig(&["trust", "add", &mallory.fingerprint()])
        .expect(0);
    outputs.push(alice.sig(&["verify", file.to_str().unwrap()]).expect(3));
    outputs.push(
        alice
            .sig(&["verify", alice.root.to_str().unwrap()])
            .expect(3),
    );
    outputs.push(alice.sig(&["keys"]).expect(0));
    outputs.push(alice.sig(&["remote", "list"]).expect(0));
    outputs.push(alice.sig(&["trust", "list"]).expect(0));
    for run in &outputs {
        for text in [&run.stdout, &run.stderr] {
            assert!(
                !text.contains(['\u{1b}', '\r', '\u{202e}']),
                "raw control characters printed:\n{text:?}"
            );
            assert!(
                !text.lines().any(|l| l.starts_with("file /etc/passwd")),
                "{text}"
            );
        }
    }
    assert!(
        outputs[1].stdout.contains("Mallory \\u{1b}[2K"),
        "{}",
        outputs[1].stdout
    );

    // A user id appended to a key without a self-signature binding it.
    let anonymous = Forge::without_user_id();
    let mut key = anonymous.cert.clone().strip_secret_key_material();
    key = key
        .insert_packets(sequoia_openpgp::Packet::from(
            sequoia_openpgp::packet::UserID::from("Linus Torvalds <torvalds@linux-foundation.org>"),
        ))
        .unwrap()
        .0;
    let server = TestServer::start();
    server.route(
        "repo.json",
        Serve::File(anonymous.repo(1, &[anonymous.attestation(&id, true, "ok", ago(60))])),
    );
    server.route("key.asc", Serve::File(armored(&key)));
    alice
        .sig(&["remote", "add", "anon", &server.url()])
        .expect(0);
    alice.sig(&["fetch", "anon"]).expect(0);
    let run = alice.sig(&["verify", "--id", &id]).expect(3);
    assert!(!run.stdout.contains("Torvalds"), "{}", run.stdout);
    assert!(!alice.sig(&["keys"]).expect(0).stdout.contains("Torvalds"));
}

/// A malformed attestation is rejected and counted, never read as a verdict: `"ok": 1`, a
/// missing `ok`, a string for `ok`.
#[test]
fn a_malformed_verdict_is_rejected_not_read_as_not_ok() {
    let bob = Forge::new("Bob <bob@example.org>");
    let ids = [id_of(0x31), id_of(0x32), id_of(0x33)];
    let atts = [
        format!(
            r#"{{"comment": "", "id": "{}", "ok": 1, "reviewed": true}}"#,
            ids[0]
        ),
        format!(r#"{{"comment": "", "id": "{}", "reviewed": true}}"#, ids[1]),
        format!(
            r#"{{"comment": "", "id": "{}", "ok": "false", "reviewed": true}}"#,
            ids[2]
        ),
    ]
    .map(|data| bob.signed_text(&data, ago(60)));
    let server = TestServer::start();
    server.route("repo.json", Serve::File(bob.repo(1, &atts)));
    server.route("key.asc", Serve::File(bob.key_asc()));
    let alice = Home::follower("bob", &server.url());
    let fetched = alice.sig(&["fetch", "--json"]).expect(0).json();
    assert_eq!(fetched["results"][0]["rejected"], 3, "{fetched}");
    assert_eq!(fetched["results"][0]["attestations"], 0, "{fetched}");
    alice.sig(&["trust", "add", &bob.fingerprint()]).expect(0);
    for id in &ids {
        alice.sig(&["verify", "--id", id]).expect(1);
    }
}

/// One attestation with a 1 MB comment about the empty file's id made `sig verify DIR` over
/// 512 empty files fail and the daemon grow by gigabytes. It is now refused (and counted) as
/// too large; the tree verifies.
#[test]
fn an_oversized_attestation_is_refused_and_costs_nothing_per_file() {
    let mallory = Forge::new("Mallory <m@example.org>");
    let empty = signet_tests::content_id(b"");
    let huge = mallory.attestation(&empty, true, &"x".repeat(1 << 20), ago(60));
    let small = mallory.attestation(&id_of(0x41), true, "fine", ago(60));
    let server = TestServer::start();
    server.route("repo.json", Serve::File(mallory.repo(1, &[huge, small])));
    server.route("key.asc", Serve::File(mallory.key_asc()));
    let alice = Home::follower("mallory", &server.url());
    let fetched = alice.sig(&["fetch", "--json"]).expect(0).json();
    assert_eq!(fetched["results"][0]["rejected"], 1, "{fetched}");
    assert_eq!(fetched["results"][0]["attestations"], 1, "{fetched}");
    let tree = alice.root.join("empties");
    std::fs::create_dir(&tree).unwrap();
    for n in 0..512 {
        std::fs::write(tree.join(format!("f{n}")), b"").unwrap();
    }
    let run = alice.sig(&["verify", tree.to_str().unwrap()]).expect(1);
    assert!(
        run.stdout.contains("0 ok, 512 not verified"),
        "{}",
        run.stdout
    );
}

/// A key.asc padded with thousands of user ids is kept trimmed: what Signet remembers of it is
/// small, so every check against it costs what a plain key's does.
#[test]
fn a_padded_certificate_is_kept_trimmed() {
    let mut bob = Forge::new("Bob <bob@example.org>");
    bob.pad_with_user_ids(2000);
    let key = bob.key_asc();
    assert!(key.len() > 200_000, "padded to {} bytes", key.len());
    let id = id_of(0x51);
    let server = TestServer::start();
    server.route(
        "repo.json",
        Serve::File(bob.repo(1, &[bob.attestation(&id, true, "fine", ago(60))])),
    );
    server.route("key.asc", Serve::File(key));
    let alice = Home::follower("bob", &server.url());
    alice.sig(&["fetch"]).expect(0);
    let kept = std::fs::read(
        alice
            .home
            .join("certs")
            .join(format!("{}.asc", bob.fingerprint())),
    )
    .expect("the certificate is remembered");
    assert!(kept.len() < 32 * 1024, "kept {} bytes", kept.len());
    alice.sig(&["trust", "add", &bob.fingerprint()]).expect(0);
    alice.sig(&["verify", "--id", &id]).expect(0);
}

/// A server that serves the same old copy forever looks healthy; a trusted remote whose copy
/// was signed longer ago than `sync.max_age_secs` is reported in `sig remote list`, `sig
/// status` and `sig verify`.
#[test]
fn a_frozen_remote_is_reported() {
    let bob = Forge::new("Bob <bob@example.org>");
    let id = id_of(0x61);
    let old = bob.repo_at(
        3,
        &[bob.attestation(&id, true, "fine", ago(9 * 86_400))],
        ago(9 * 86_400),
    );
    let server = TestServer::start();
    server.route("repo.json", Serve::File(old));
    server.route("key.asc", Serve::File(bob.key_asc()));
    let alice = Home::follower("bob", &server.url());
    alice.sig(&["fetch"]).expect(0);
    // Untrusted: nobody relies on it, nothing to warn about.
    let list = alice.sig(&["remote", "list", "--json"]).expect(0).json();
    assert_eq!(list["remotes"][0]["stale"], false, "{list}");
    assert!(list["remotes"][0]["signed"].is_string(), "{list}");
    alice.sig(&["trust", "add", &bob.fingerprint()]).expect(0);
    let list = alice.sig(&["remote", "list"]).expect(0);
    assert!(list.stdout.contains("frozen copy"), "{}", list.stdout);
    let status = alice.sig(&["status"]).expect(0);
    assert!(
        status.stdout.contains("warning: remote bob"),
        "{}",
        status.stdout
    );
    let run = alice.sig(&["verify", "--id", &id]).expect(0);
    assert!(
        run.stderr.contains("sig: warning: remote bob"),
        "{}",
        run.stderr
    );
    // A copy signed today ends it.
    server.route(
        "repo.json",
        Serve::File(bob.repo(4, &[bob.attestation(&id, true, "fine", ago(60))])),
    );
    alice.sig(&["fetch"]).expect(0);
    let run = alice.sig(&["verify", "--id", &id]).expect(0);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

/// A stored copy deleted from under the daemon is fetched again in full, not answered by a
/// 304 that leaves "unchanged, 0 attestations" forever.
#[test]
fn a_lost_stored_copy_is_fetched_again_in_full() {
    let bob = Forge::new("Bob <bob@example.org>");
    let id = id_of(0x71);
    let server = TestServer::start();
    server.route(
        "repo.json",
        Serve::File(bob.repo(1, &[bob.attestation(&id, true, "fine", ago(60))])),
    );
    server.route("key.asc", Serve::File(bob.key_asc()));
    let alice = Home::follower("bob", &server.url());
    alice.sig(&["fetch"]).expect(0);
    alice.sig(&["daemon", "stop"]).expect(0);
    std::fs::remove_file(alice.home.join("remotes/bob/repo.json")).unwrap();
    let fetched = alice.sig(&["fetch", "--json"]).expect(0).json();
    assert_eq!(fetched["results"][0]["attestations"], 1, "{fetched}");
    alice.sig(&["trust", "add", &bob.fingerprint()]).expect(0);
    alice.sig(&["verify", "--id", &id]).expect(0);
}

/// An oversized key.asc is refused with the limit that applies to it.
#[test]
fn an_oversized_key_names_its_own_limit() {
    let server = TestServer::start();
    server.route("key.asc", Serve::Huge(4 << 20));
    server.route("repo.json", Serve::File(b"{}".to_vec()));
    let alice = Home::follower("big", &server.url());
    let run = alice.sig(&["fetch"]);
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(text.contains("key.asc may hold"), "{text}");
    assert!(!text.contains("max_repo_bytes"), "{text}");
}

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
    let url = world.publish_http();
    let addr: std::net::SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    // A 24 MB repo.json (what it holds does not matter to the server: it serves bytes).
    world.sig(&["daemon", "stop"]).expect(0);
    let big = vec![b' '; 24 << 20];
    std::fs::write(world.repo_dir().join("repo.json"), &big).unwrap();
    world.sig(&["daemon", "start"]).expect(0);
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
    // The stalled ones are closed: at once past the per-host limit, the rest by the deadline.
    let deadline = Instant::now() + Duration::from_secs(15);
    for (n, c) in stalled.iter_mut().enumerate() {
        c.set_read_timeout(Some(
            deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1)),
        ))
        .unwrap();
        let mut buf = [0u8; 256];
        // Closed: an end of stream, or any error but the read's timeout (a reset, an abort:
        // how the kernel reports a close depends on what was left unread) — and a read
        // interrupted by a signal is made again.
        use std::io::ErrorKind::{Interrupted, TimedOut, WouldBlock};
        let open = loop {
            match c.read(&mut buf) {
                Ok(0) => break None,
                Ok(_) => continue,
                Err(e) if e.kind() == Interrupted => continue,
                Err(e) if matches!(e.kind(), WouldBlock | TimedOut) => break Some(e),
                Err(_) => break None,
            }
        };
        if let Some(e) = open {
            // What the publisher did with each connection, for whoever meets this.
            let log = world.log();
            let publisher: Vec<&str> = log.lines().filter(|l| l.contains("publish")).collect();
            panic!(
                "stalled connection {n} of 300 was still open after 15 s (its read: {e}; {:?} \
                 since the other host connected); the publisher's log:\n{}",
                started.elapsed(),
                publisher.join("\n")
            );
        }
    }
}
