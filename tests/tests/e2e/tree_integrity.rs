//! Verdict integrity in trees: a watched file is never answered stale — changed where no event
//! tells, its directory swapped or mounted over, a tree deeper than PATH_MAX, a file that
//! yields without end — and hashing stops when the client that asked has gone.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use signet_tests::Home;

const SOON: Duration = Duration::from_secs(10);

/// A home watching `ROOT/tree`, with `tree/f` attested ok.
fn watched_tree() -> (Home, std::path::PathBuf) {
    let home = Home::new();
    home.config(serde_json::json!({"sync": {"interval_secs": 0}}));
    home.setup("Alice <alice@example.org>");
    let tree = std::fs::canonicalize(&home.root).unwrap().join("tree");
    std::fs::create_dir_all(tree.join("d")).unwrap();
    std::fs::write(tree.join("f"), b"reviewed bytes").unwrap();
    std::fs::write(tree.join("d/g"), b"reviewed too").unwrap();
    home.attest(&tree.join("f"), true, "fine").expect(0);
    home.attest(&tree.join("d/g"), true, "fine").expect(0);
    home.sig(&["watch", "add", tree.to_str().unwrap()])
        .expect(0);
    (home, tree)
}

fn verify_id(home: &Home, path: &std::path::Path) -> (i32, String) {
    let run = home.sig(&["verify", "--json", path.to_str().unwrap()]);
    let id = run.json()["id"].as_str().unwrap_or_default().to_owned();
    (run.code, id)
}

#[test]
fn a_watched_file_changed_where_no_event_tells_is_never_answered_stale() {
    let (home, tree) = watched_tree();
    let f = tree.join("f");
    assert_eq!(verify_id(&home, &f).0, 0);
    // A hard link outside the tree: writes through it raise no event in the tree's directory.
    let outside = home.root.join("outside-link");
    std::fs::hard_link(&f, &outside).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&outside)
        .and_then(|mut file| std::io::Write::write_all(&mut file, b"REVIEWED BYTES"))
        .unwrap();
    let (code, id) = verify_id(&home, &f);
    assert_eq!(id, signet_tests::content_id(b"REVIEWED BYTES"));
    assert_eq!(code, 1, "the new bytes were never reviewed");
}

#[test]
fn a_directory_swapped_under_its_name_is_watched_again() {
    let (home, tree) = watched_tree();
    std::fs::create_dir(tree.join("d.new")).unwrap();
    std::fs::write(tree.join("d.new/g"), b"the new d").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut events = signet_tests::Subscriber::new(&home.socket, &tree);
    std::fs::rename(tree.join("d"), tree.join("d.old")).unwrap();
    std::fs::rename(tree.join("d.new"), tree.join("d")).unwrap();
    let g = events.wait_for("/d/g", SOON);
    assert_eq!(g["id"], signet_tests::content_id(b"the new d"));
    events.drain(Duration::from_millis(300));
    // An edit in the directory now named d is seen, and one in the old one is seen as d.old's.
    std::fs::write(tree.join("d/g"), b"edited in the new d").unwrap();
    let g = events.wait_for("/d/g", SOON);
    assert_eq!(g["id"], signet_tests::content_id(b"edited in the new d"));
    std::fs::write(tree.join("d.old/g"), b"edited in the old d").unwrap();
    let old = events.wait_for("/d.old/g", SOON);
    assert_eq!(old["id"], signet_tests::content_id(b"edited in the old d"));
    // And back again (x -> y -> x).
    std::fs::rename(tree.join("d"), tree.join("d.tmp")).unwrap();
    std::fs::rename(tree.join("d.old"), tree.join("d")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    events.drain(Duration::from_millis(300));
    std::fs::write(tree.join("d/g"), b"the first d, edited").unwrap();
    let g = events.wait_for("/d/g", SOON);
    assert_eq!(g["id"], signet_tests::content_id(b"the first d, edited"));
}

#[test]
fn a_directory_deeper_than_path_max_does_not_stop_the_rest_of_the_tree() {
    let (home, tree) = watched_tree();
    // Deeper than PATH_MAX (4096): made one short step at a time, relative to the last.
    {
        use rustix::fs::{Mode, OFlags};
        let mut dir = rustix::fs::open(&tree, OFlags::DIRECTORY, Mode::empty()).unwrap();
        for _ in 0..230 {
            rustix::fs::mkdirat(&dir, "dddddddddddddddddddd", Mode::RWXU).unwrap();
            dir = rustix::fs::openat(
                &dir,
                "dddddddddddddddddddd",
                OFlags::DIRECTORY,
                Mode::empty(),
            )
            .unwrap();
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    // A burst: more changes than are applied one by one, so the tree is rescanned.
    for n in 0..1500 {
        std::fs::write(tree.join(format!("new-{n}")), format!("{n}")).unwrap();
    }
    signet_tests::wait_until("the rescan to apply", Duration::from_secs(30), || {
        let list = home.sig(&["watch", "list", "--json"]).expect(0).json();
        (list["watches"][0]["files"].as_u64().unwrap() >= 1502).then_some(())
    });
}

#[test]
fn a_file_in_a_tree_that_yields_without_end_is_not_read_to_its_end() {
    let _alone = signet_tests::exclusive();
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let tree = home.root.join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::os::unix::fs::symlink("/proc/self/pagemap", tree.join("pagemap")).unwrap();
    std::fs::write(tree.join("plain"), b"plain").unwrap();
    let started = Instant::now();
    let run = home.sig(&["verify", tree.to_str().unwrap()]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}: {}",
        started.elapsed(),
        run.stderr
    );
    assert!(run.stdout.contains("1 not verified"), "{}", run.stdout);
}

#[test]
fn a_mount_over_a_watched_directory_is_never_answered_from_the_old_files() {
    // A bind mount needs a mount namespace of our own: `unshare -rm`, where the machine allows
    // it. The daemon runs inside it, started by `sig` there.
    if !std::process::Command::new("unshare")
        .args(["-rm", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        signet_tests::skip(
            "a_mount_over_a_watched_directory_is_never_answered_from_the_old_files",
            "this machine does not allow `unshare -rm` (user and mount namespaces)",
        );
        return;
    }
    let home = Home::new();
    home.config(serde_json::json!({"sync": {"interval_secs": 0}}));
    let root = std::fs::canonicalize(&home.root).unwrap();
    std::fs::create_dir_all(root.join("tree/m")).unwrap();
    std::fs::create_dir_all(root.join("other")).unwrap();
    std::fs::write(root.join("tree/m/f"), b"reviewed").unwrap();
    std::fs::write(root.join("other/f"), b"mounted over it").unwrap();
    let script = r#"
        set -e
        "$SIG" setup --generate "Alice <alice@example.org>" >/dev/null
        "$SIG" attest "$ROOT/tree/m/f" --ok --reviewed --comment fine >/dev/null
        "$SIG" watch add "$ROOT/tree" >/dev/null
        "$SIG" verify "$ROOT/tree/m/f" >/dev/null
        mount --bind "$ROOT/other" "$ROOT/tree/m"
        code=0; "$SIG" verify --json "$ROOT/tree/m/f" || code=$?
        "$SIG" daemon stop >/dev/null
        exit $code
    "#;
    let out = std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", script])
        .env("SIG", signet_tests::bin("sig"))
        .env("ROOT", &root)
        .env("SIGNET_HOME", &home.home)
        .env_remove("SIGNET_SOCKET")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_str(&said).unwrap();
    assert_eq!(json["id"], signet_tests::content_id(b"mounted over it"));
}

/// Bytes the process has read (`rchar` of /proc/PID/io).
fn bytes_read(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

#[test]
fn hashing_stops_when_the_client_that_asked_has_gone() {
    let _alone = signet_tests::exclusive();
    let home = Home::new();
    home.config(serde_json::json!({"sync": {"interval_secs": 0}}));
    home.setup("Alice <alice@example.org>");
    // 64 GiB of holes: minutes of hashing, no disk.
    let big = home.root.join("big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(64 << 30)
        .unwrap();
    let pid = home.daemon_pid().unwrap();
    let mut asking = home
        .sig_command(&["verify", big.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let before = bytes_read(pid);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        bytes_read(pid) - before > 10 << 20,
        "the daemon was not hashing the file"
    );
    asking.kill().unwrap();
    asking.wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let after = bytes_read(pid);
    std::thread::sleep(Duration::from_secs(1));
    let more = bytes_read(pid) - after;
    assert!(
        more < 1 << 20,
        "the daemon read {more} more bytes after its client had gone"
    );
    // And it answers the next client at once.
    home.sig(&["status"]).expect(0);
}
