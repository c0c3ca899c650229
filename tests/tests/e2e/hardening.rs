//! Trying hard to break it: kill -9 in a stream of attests, concurrent writers, a full or
//! read-only disk, a deleted repo/, and clients that trickle, never read, or send a 1 GiB line.
//!
//! Slow versions (200+ kills, 10 × 100 attests) run when SIGNET_SLOW_TESTS is set, as CI does;
//! the default is a smaller version of each.

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use serde_json::json;
use signet_tests::{Home, RawClient, error_code, process_alive, signal};

fn slow() -> bool {
    std::env::var_os("SIGNET_SLOW_TESTS").is_some()
}

/// A small deterministic pseudo-random sequence (no dependency for a test's jitter).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

#[test]
fn kill_9_at_random_moments_never_loses_an_acknowledged_attest() {
    let _alone = signet_tests::exclusive();
    let kills = if slow() { 200 } else { 25 };
    let home = Home::new();
    home.config(json!({"sync": {"interval_secs": 0}}));
    home.setup("Crash <crash@example.org>");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let writer = {
        let (stop, acked) = (stop.clone(), acked.clone());
        let (root, home_dir) = (home.root.clone(), home.home.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                n += 1;
                let file = root.join(format!("f{n}"));
                std::fs::write(&file, format!("file {n}")).unwrap();
                let out = signet_tests::clean_command(&signet_tests::bin("sig"))
                    .args([
                        "attest",
                        "--json",
                        file.to_str().unwrap(),
                        "--ok",
                        "--reviewed",
                        "--comment",
                        "crash",
                    ])
                    .env("SIGNET_HOME", &home_dir)
                    .stdin(std::process::Stdio::null())
                    .output()
                    .unwrap();
                if out.status.success() {
                    let saved: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                    acked
                        .lock()
                        .unwrap()
                        .push(saved["data"]["id"].as_str().unwrap().to_owned());
                }
            }
        })
    };
    let mut rng = Lcg(0x5eed);
    let mut last_serial = 0;
    let mut killed = 0;
    // At least `kills` kills, and enough acknowledged attests among them for the check to
    // mean something: on a loaded machine fewer attests fit between kills, so kill on.
    let give_up = std::time::Instant::now() + Duration::from_secs(300);
    while (killed < kills || acked.lock().unwrap().len() < kills / 2)
        && std::time::Instant::now() < give_up
    {
        std::thread::sleep(Duration::from_millis(5 + rng.next(40)));
        let Some(pid) = home.daemon_pid().filter(|p| process_alive(*p)) else {
            continue;
        };
        signal(pid, "KILL");
        killed += 1;
        while process_alive(pid) {
            std::thread::sleep(Duration::from_millis(1));
        }
        // Whatever instant it died at, repo.json is a whole version, never older than before.
        let repo = home.read_repo();
        let serial = repo["data"]["serial"].as_u64().unwrap();
        assert!(
            serial >= last_serial,
            "serial went down: {last_serial} -> {serial}"
        );
        last_serial = serial;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    writer.join().unwrap();

    // A restarted daemon finds the repository valid (its signature checks) and complete.
    let status = home.sig(&["status", "--json"]).expect(0).json();
    assert_eq!(status["problems"], json!([]), "{status}");
    let repo = home.read_repo();
    let acked = acked.lock().unwrap();
    assert!(
        acked.len() >= kills / 2,
        "too few attests got through: {}",
        acked.len()
    );
    for id in acked.iter() {
        assert!(
            repo["data"]["attestations"].get(id).is_some(),
            "acknowledged {id} is missing"
        );
    }
    eprintln!(
        "kills survived: {killed}; acknowledged attests: {}; final serial {last_serial}",
        acked.len()
    );
}

#[test]
fn concurrent_writers_get_every_attest_in_with_strictly_increasing_serials() {
    let _alone = signet_tests::exclusive();
    let (clients, each) = if slow() { (10, 100) } else { (10, 15) };
    let home = Home::new();
    home.config(json!({"sync": {"interval_secs": 0}}));
    home.setup("Busy <busy@example.org>");
    let start_serial = home.read_repo()["data"]["serial"].as_u64().unwrap();
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let (socket, root) = (home.socket.clone(), home.root.clone());
            std::thread::spawn(move || {
                let mut client = RawClient::connect(&socket).unwrap();
                client.hello();
                let mut serials = Vec::new();
                for n in 0..each {
                    let file = root.join(format!("c{c}-{n}"));
                    std::fs::write(&file, format!("client {c} file {n}")).unwrap();
                    let r = client.call(
                        n as i64,
                        "attest",
                        json!({"path": file, "ok": true, "reviewed": true, "comment": ""}),
                    );
                    serials.push(
                        r["result"]["serial"]
                            .as_u64()
                            .unwrap_or_else(|| panic!("{r}")),
                    );
                }
                serials
            })
        })
        .collect();
    let mut serials: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let total = clients * each;
    serials.sort();
    serials.dedup();
    assert_eq!(
        serials.len(),
        total,
        "every acknowledged write has its own serial"
    );
    assert_eq!(
        serials,
        ((start_serial + 1)..=(start_serial + total as u64)).collect::<Vec<_>>()
    );
    let repo = home.read_repo();
    let attestations = repo["data"]["attestations"].as_object().unwrap();
    assert_eq!(attestations.len(), total);
    assert!(
        attestations
            .values()
            .all(|l| l.as_array().unwrap().len() == 1),
        "nothing duplicated"
    );
    assert_eq!(repo["data"]["serial"], start_serial + total as u64);
}

fn mount_tmpfs(dir: &std::path::Path, size: &str) -> bool {
    std::fs::create_dir_all(dir).unwrap();
    std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size},mode=0700"),
            "tmpfs",
        ])
        .arg(dir)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn umount(dir: &std::path::Path) {
    let _ = std::process::Command::new("umount")
        .arg("-l")
        .arg(dir)
        .status();
}

fn leftover_temps(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

#[test]
fn a_full_or_read_only_disk_is_a_clear_error_and_changes_nothing() {
    let home = Home::new();
    if !mount_tmpfs(&home.home, "2m") {
        signet_tests::skip(
            "a_full_or_read_only_disk_is_a_clear_error_and_changes_nothing",
            "cannot mount a tmpfs here (needs root)",
        );
        return;
    }
    /// Unmounts the home's tmpfs — after stopping its daemon: dropped before `home` is, and once
    /// unmounted `home` could no longer find the daemon's lock file to stop it.
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let pid = std::fs::read_to_string(self.0.join("signetd.lock"))
                .ok()
                .and_then(|p| p.lines().next()?.trim().parse::<i32>().ok());
            if let Some(pid) = pid {
                signet_tests::signal(pid, "TERM");
                let deadline = Instant::now() + Duration::from_secs(5);
                while process_alive(pid) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
                signet_tests::signal(pid, "KILL");
            }
            umount(&self.0);
        }
    }
    let _unmount = Unmount(home.home.clone());
    home.config(json!({"sync": {"interval_secs": 0}}));
    home.setup("Disk <disk@example.org>");
    let file = home.file("f", b"before the disk filled");
    home.attest(&file, true, "before").expect(0);
    let before = std::fs::read(home.home.join("repo/repo.json")).unwrap();

    // Fill the disk, leaving less room than a new repo.json needs.
    let filler = home.home.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).is_ok() {}
    drop(f);
    let other = home.file("g", b"after the disk filled");
    let run = home
        .attest(&other, true, "x".repeat(200).as_str())
        .expect(2);
    assert!(
        run.stderr.contains("could not save the repository")
            && run.stderr.contains("No space left"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(home.home.join("repo/repo.json")).unwrap(),
        before
    );
    assert!(leftover_temps(&home.home.join("repo")).is_empty());
    home.sig(&["verify", "f"]).expect(0);
    home.sig(&["verify", "g"]).expect(1);
    std::fs::remove_file(&filler).unwrap();
    home.attest(&other, true, "room again").expect(0);

    // A read-only home: a clear error naming the problem, and everything as it was after.
    let pid = home.daemon_pid().unwrap();
    home.sig(&["daemon", "stop"]).expect(0);
    // The daemon has stopped answering; wait until it has also closed its files.
    signet_tests::wait_until("signetd to exit", Duration::from_secs(10), || {
        (!process_alive(pid)).then_some(())
    });
    let remount_ro = || {
        std::process::Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&home.home)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    signet_tests::wait_until(
        "the home remounted read-only",
        Duration::from_secs(10),
        || remount_ro().then_some(()),
    );
    let run = home.sig(&["verify", "g"]).expect(2);
    assert!(
        run.stderr.contains("Read-only file system"),
        "{}",
        run.stderr
    );
    let rw = std::process::Command::new("mount")
        .args(["-o", "remount,rw"])
        .arg(&home.home)
        .status()
        .unwrap();
    assert!(rw.success());
    home.sig(&["verify", "g"]).expect(0);
    let third = home.file("h", b"writable again");
    home.attest(&third, true, "").expect(0);
}

#[test]
fn a_deleted_repo_directory_is_rebuilt_from_what_the_daemon_holds() {
    let home = Home::new();
    home.setup("Gone <gone@example.org>");
    let file = home.file("f", b"f");
    home.attest(&file, true, "kept").expect(0);
    std::fs::remove_dir_all(home.home.join("repo")).unwrap();
    let other = home.file("g", b"g");
    home.attest(&other, true, "").expect(0);
    let repo = home.read_repo();
    assert_eq!(
        repo["data"]["attestations"].as_object().unwrap().len(),
        2,
        "nothing was lost"
    );
    home.sig(&["daemon", "stop"]).expect(0);
    home.sig(&["verify", "f"]).expect(0);
    assert!(
        home.home.join("repo/key.asc").exists(),
        "key.asc is published again at start"
    );
}

#[test]
fn trickling_and_stuck_clients_lose_their_connection_not_the_daemons_time() {
    let _alone = signet_tests::exclusive();
    let home = Home::new();
    home.config(json!({"sync": {"interval_secs": 0}, "message_timeout_secs": 2}));
    home.setup("Slow <slow@example.org>");
    let file = home.file("f", b"f");
    home.attest(&file, true, "").expect(0);

    // 500 connections, each mid-message.
    let mut slow_clients: Vec<UnixStream> = (0..500)
        .map(|_| {
            let mut s = UnixStream::connect(&home.socket).unwrap();
            s.write_all(b"{\"jsonrpc\"").unwrap();
            s
        })
        .collect();
    let started = Instant::now();
    home.sig(&["verify", "f"]).expect(0);
    let answered = started.elapsed();
    assert!(
        answered < Duration::from_secs(2),
        "a normal verify took {answered:?}"
    );
    // Each trickles on, one byte a second: the deadline is for the whole message.
    std::thread::sleep(Duration::from_secs(1));
    for s in &mut slow_clients {
        let _ = s.write_all(b":");
    }
    std::thread::sleep(Duration::from_millis(1500));
    let mut closed = 0;
    for s in &mut slow_clients {
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut buf = [0u8; 16];
        if matches!(s.read(&mut buf), Ok(0) | Err(_)) {
            closed += 1;
        }
    }
    assert_eq!(closed, 500, "every trickling client was dropped");

    // A client that sends and never reads: the daemon stops writing to it after the deadline.
    let mut stuck = UnixStream::connect(&home.socket).unwrap();
    let hello = b"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"hello\",\"params\":{\"protocol\":1,\"client\":\"stuck\"}}\n";
    stuck.write_all(hello).unwrap();
    let request = format!(
        "{}\n",
        json!({"jsonrpc": "2.0", "id": 1, "method": "keys.list"})
    );
    stuck
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    for _ in 0..20_000 {
        if stuck.write_all(request.as_bytes()).is_err() {
            break;
        }
    }
    let started = Instant::now();
    home.sig(&["verify", "f"]).expect(0);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "others are served while one client is stuck"
    );
    signet_tests::wait_until(
        "the stuck client to be dropped",
        Duration::from_secs(15),
        || home.log().contains("client does not read").then_some(()),
    );
}

#[test]
fn a_one_gib_line_is_refused_and_the_connection_goes_on() {
    let _alone = signet_tests::exclusive();
    let home = Home::new();
    home.sig(&["daemon", "start"]).expect(0);
    let mut c = RawClient::connect(&home.socket).unwrap();
    c.hello();
    let chunk = vec![b'a'; 1 << 20];
    let started = Instant::now();
    for _ in 0..1024 {
        c.send_raw(&chunk).unwrap();
    }
    c.send_raw(b"\n").unwrap();
    let r = c.read();
    assert_eq!(error_code(&r), Some(-32600), "{r}");
    let r = c.call(1, "status", json!({}));
    assert!(r["result"]["pid"].is_u64(), "{r}");
    eprintln!("1 GiB line refused in {:?}", started.elapsed());
    // The daemon did not buffer it: its memory stays small.
    let pid = home.daemon_pid().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    assert!(
        rss_kib < 200 * 1024,
        "daemon RSS {rss_kib} KiB after a 1 GiB line"
    );
}

/// While a large remote is being fetched and checked, 200 clients verifying at once are all
/// answered promptly: the fetch holds no lock while it downloads and checks.
#[test]
fn verifies_are_answered_while_a_large_fetch_is_in_progress() {
    let _alone = signet_tests::exclusive();
    use signet_proto::formats::{ContentId, RepoContents, Statement};
    use signet_tests::http::{Serve, TestServer};
    use signetd::keys;

    let n = if slow() { 100_000 } else { 10_000 };
    let owner = keys::generate("Big <big@example.org>").unwrap();
    let signer = keys::EmbeddedKey::new(owner.clone()).unwrap();
    let mut contents = RepoContents {
        serial: 1,
        ..Default::default()
    };
    for i in 0..n as u64 {
        let mut digest = [0u8; 32];
        digest[..8].copy_from_slice(&i.to_le_bytes());
        let id = ContentId::sha256(&digest);
        let att = keys::sign_value(&signer, Statement::to_data(&id, true, true, "bulk")).unwrap();
        contents.attestations.insert(id.to_string(), vec![att]);
    }
    let repo = keys::sign_value(&signer, contents.to_data()).unwrap();
    let server = TestServer::start();
    server.route(
        "repo.json",
        Serve::File(signetd::home::own_repo::file_bytes(&repo)),
    );
    server.route("key.asc", Serve::File(keys::armored_public(&owner)));

    let home = Home::new();
    home.config(json!({"sync": {"interval_secs": 0}, "max_connections": 1024}));
    home.setup("Reader <reader@example.org>");
    let file = home.file("mine", b"mine");
    home.attest(&file, true, "").expect(0);
    let mine = home.sig(&["verify", "--json", "mine"]).expect(0).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    home.sig(&["remote", "add", "big", &server.url()]).expect(0);

    let fetch = home
        .sig_command(&["fetch"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the fetch is under way (the server has answered the repository).
    signet_tests::wait_until("the fetch to start", Duration::from_secs(30), || {
        server
            .take_log()
            .iter()
            .any(|(path, _)| path.ends_with("repo.json"))
            .then_some(())
    });
    let clients: Vec<_> = (0..200)
        .map(|_| {
            let (socket, mine) = (home.socket.clone(), mine.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut c = RawClient::connect(&socket).unwrap();
                c.hello();
                let r = c.call(1, "verify", json!({"id": mine}));
                assert_eq!(r["result"]["verdict"], "ok", "{r}");
                started.elapsed()
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = clients.into_iter().map(|t| t.join().unwrap()).collect();
    latencies.sort();
    let fetch = fetch.wait_with_output().unwrap();
    assert!(
        fetch.status.success(),
        "{}",
        String::from_utf8_lossy(&fetch.stdout)
    );
    assert!(String::from_utf8_lossy(&fetch.stdout).contains(&format!("{n} attestations")));
    let worst = *latencies.last().unwrap();
    eprintln!(
        "200 verifies during a fetch of {n}: median {:?}, worst {worst:?}",
        latencies[100]
    );
    assert!(
        worst < Duration::from_secs(2),
        "a verify waited on the fetch: {worst:?}"
    );
}

/// `sig publish --to DIR` into a directory another user can write: names planted there in
/// advance (symlinks at the temp names the old writer used, `.NAME.tmp-PID`) are never written
/// through; the published files are the repository's.
#[test]
fn publishing_into_a_shared_directory_never_follows_a_planted_name() {
    use std::os::unix::fs::PermissionsExt as _;
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let pid = home.daemon_pid().expect("a running daemon");
    let shared = home.root.join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let victim = home.root.join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    for name in ["repo.json", "key.asc"] {
        std::os::unix::fs::symlink(&victim, shared.join(format!(".{name}.tmp-{pid}"))).unwrap();
    }
    home.sig(&["publish", "--to", shared.to_str().unwrap()])
        .expect(0);
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    for name in ["repo.json", "key.asc"] {
        let published = shared.join(name);
        assert!(
            std::fs::symlink_metadata(&published).unwrap().is_file(),
            "{name} is a regular file"
        );
        assert_eq!(
            std::fs::read(&published).unwrap(),
            std::fs::read(home.repo_dir().join(name)).unwrap()
        );
    }
}
