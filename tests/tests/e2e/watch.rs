//! Watched directories against the real file system: inotify events through a real daemon to a
//! real subscriber, ignore rules, bursts, restarts, and the trees that try to break a watcher.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use signet_tests::{Home, RawClient, Subscriber, content_id};

const SOON: Duration = Duration::from_secs(10);

fn write(path: &Path, contents: &[u8]) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, contents).unwrap();
}

fn watch_list(home: &Home) -> Vec<Value> {
    let run = home.sig(&["watch", "list", "--json"]).expect(0);
    run.json()["watches"].as_array().unwrap().clone()
}

/// Polls `sig watch list` until `done` holds for the first watch.
fn wait_for_watch(home: &Home, done: impl Fn(&Value) -> bool) -> Value {
    signet_tests::wait_until("the watch to get there", SOON, || {
        watch_list(home).first().filter(|w| done(w)).cloned()
    })
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap()
}

#[test]
fn a_watch_follows_edits_renames_deletes_and_attestations_and_survives_a_restart() {
    let home = Home::new();
    home.config(json!({"watch": {"ignore": ["*.tmp"], "max_file_bytes": 1000}}));
    home.setup("Alice <alice@example.org>");
    let tree = canonical(&home.root).join("tree");
    write(&tree.join("a.txt"), b"a");
    write(&tree.join("sub/b.txt"), b"b");
    write(&tree.join(".gitignore"), b"build/\n*.log\n");
    write(&tree.join("build/out.bin"), b"ignored by .gitignore");
    write(&tree.join("x.log"), b"ignored by .gitignore");
    write(&tree.join("sub/.signetignore"), b"secret\n");
    write(&tree.join("sub/secret"), b"ignored by .signetignore");
    write(&tree.join("scratch.tmp"), b"ignored by config");
    write(&tree.join("big.bin"), &[0u8; 2000]);

    let run = home
        .sig(&["watch", "add", tree.to_str().unwrap()])
        .expect(0);
    assert!(run.stdout.starts_with("Watching "), "{}", run.stdout);
    let w = &watch_list(&home)[0];
    assert_eq!(w["path"], tree.to_str().unwrap());
    // a.txt, sub/b.txt and the two ignore files; big.bin is over the size cap.
    assert_eq!(
        (w["files"].as_u64(), w["skipped"].as_u64()),
        (Some(4), Some(1)),
        "{w}"
    );

    let mut events = Subscriber::new(&home.socket, &tree);
    write(&tree.join("a.txt"), b"a, edited");
    let change = events.wait_for("/a.txt", SOON);
    assert_eq!(change["id"], content_id(b"a, edited"));
    assert_eq!(
        (change["verdict"].as_str(), change["cause"].as_str()),
        (Some("unverified"), Some("file"))
    );

    // Ignored files never show up; the next real change does.
    write(&tree.join("y.log"), b"log");
    write(&tree.join("z.tmp"), b"tmp");
    write(&tree.join("build/more.bin"), b"more");
    write(&tree.join("c.txt"), b"c");
    let seen = events.wait_for("/c.txt", SOON);
    assert_eq!(seen["id"], content_id(b"c"));
    for later in events.drain(Duration::from_millis(300)) {
        let path = later["path"].as_str().unwrap();
        assert!(
            !path.ends_with(".log") && !path.ends_with(".tmp") && !path.contains("/build/"),
            "{later}"
        );
    }

    std::fs::rename(tree.join("c.txt"), tree.join("d.txt")).unwrap();
    let moved = events.wait_for("/d.txt", SOON);
    assert_eq!(moved["id"], content_id(b"c"));
    std::fs::remove_dir_all(tree.join("sub")).unwrap();
    let gone = events.wait_for("/sub/b.txt", SOON);
    assert_eq!(
        (gone["cause"].as_str(), gone["id"].as_str()),
        (Some("removed"), None)
    );

    // New attestations change the verdict of a watched file without touching it.
    home.attest(&tree.join("a.txt"), true, "fine").expect(0);
    let vouched = events.wait_for("/a.txt", SOON);
    assert_eq!(
        (vouched["verdict"].as_str(), vouched["cause"].as_str()),
        (Some("ok"), Some("attestations"))
    );

    let run = home.sig(&["verify", tree.to_str().unwrap()]);
    assert!(run.stdout.contains("1 ok, "), "{}", run.stdout);

    // Remembered across a restart: the tree is scanned again, with the current contents.
    home.sig(&["daemon", "stop"]).expect(0);
    write(&tree.join("while-stopped.txt"), b"new");
    let w = wait_for_watch(&home, |w| w["files"] == 4);
    assert_eq!(
        (w["ok"].as_u64(), w["unverified"].as_u64()),
        (Some(1), Some(3)),
        "{w}"
    );
    let mut events = Subscriber::new(&home.socket, &tree);
    write(&tree.join("after-restart.txt"), b"after");
    events.wait_for("/after-restart.txt", SOON);

    home.sig(&["watch", "remove", tree.to_str().unwrap()])
        .expect(0);
    assert!(watch_list(&home).is_empty());
    let run = home
        .sig(&["watch", "remove", tree.to_str().unwrap()])
        .expect(2);
    assert!(run.stderr.contains("is not watched"), "{}", run.stderr);
}

#[test]
fn a_burst_of_thousands_of_changes_is_one_rescan_not_thousands_of_hashes() {
    let _alone = signet_tests::exclusive();
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let tree = canonical(&home.root).join("tree");
    for d in 0..30 {
        std::fs::create_dir_all(tree.join(format!("src/{d}"))).unwrap();
    }
    write(&tree.join("README"), b"hello");
    home.sig(&["watch", "add", tree.to_str().unwrap()])
        .expect(0);
    let mut events = Subscriber::new(&home.socket, &tree);
    // Like a `git checkout`: thousands of files written at once.
    for n in 0..3000 {
        write(
            &tree.join(format!("src/{}/f{n}.rs", n % 30)),
            format!("fn f{n}() {{}}").as_bytes(),
        );
    }
    let w = wait_for_watch(&home, |w| w["files"] == 3001);
    assert_eq!(w["unverified"], 3001);
    let mut told: std::collections::HashSet<String> = std::collections::HashSet::new();
    let deadline = Instant::now() + SOON;
    while told.len() < 3000 && Instant::now() < deadline {
        for change in events.drain(Duration::from_millis(200)) {
            told.insert(change["path"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(told.len(), 3000, "every new file is told once");
    let rescans = home.log().matches("a burst of changes: rescanning").count();
    assert!(
        (1..=5).contains(&rescans),
        "{rescans} rescans:\n{}",
        home.log()
    );

    // Files landing in directories that are being created as they are written: each new
    // directory is watched and scanned again until nothing new appears, so none is missed.
    for n in 0..1000 {
        write(
            &tree.join(format!("new/{}/{}/g{n}.rs", n % 10, n % 7)),
            format!("fn g{n}() {{}}").as_bytes(),
        );
    }
    wait_for_watch(&home, |w| w["files"] == 4001);
}

#[test]
fn a_subscriber_that_does_not_read_is_cut_off_and_the_daemon_is_not_slowed() {
    let _alone = signet_tests::exclusive();
    let home = Home::new();
    home.config(json!({"watch": {"max_queued_notifications": 8}}));
    home.setup("Alice <alice@example.org>");
    let tree = canonical(&home.root).join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    home.sig(&["watch", "add", tree.to_str().unwrap()])
        .expect(0);
    let mut sleeper = Subscriber::new(&home.socket, &tree);
    let mut reader = Subscriber::new(&home.socket, &tree.join("one"));
    for n in 0..2000 {
        write(&tree.join(format!("f{n}")), format!("{n}").as_bytes());
    }
    write(&tree.join("one"), b"one");
    // A subscriber to one file gets its change, though the other fell behind.
    reader.wait_for("/one", SOON);
    let mut probe = RawClient::connect(&home.socket).unwrap();
    probe.hello();
    let started = Instant::now();
    let answer = probe.call(2, "verify", json!({"path": tree.join("one")}));
    assert_eq!(answer["result"]["verdict"], "unverified", "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // The sleeper's connection was closed: what it has buffered ends, well short of 2000.
    let mut got = 0;
    while sleeper.client.read_within(Duration::from_secs(5)).is_some() {
        got += 1;
    }
    assert!(
        got < 2000,
        "{got} notifications reached a subscriber that never read"
    );
    assert!(home.log().contains("disconnecting it"), "{}", home.log());
}

#[test]
fn trees_that_try_to_break_a_watcher() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let tree = canonical(&home.root).join("tree");
    write(&tree.join("plain.txt"), b"plain");
    // A symlink loop, and a link out of the tree: neither is followed.
    std::os::unix::fs::symlink(".", tree.join("loop")).unwrap();
    std::os::unix::fs::symlink("/etc", tree.join("etc")).unwrap();
    // A FIFO with a writer waiting: if anything opened it for reading, the writer would wake.
    let fifo = tree.join("fifo");
    signet_tests::mkfifo(&fifo);
    let (woke_tx, woke) = std::sync::mpsc::channel();
    {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let opened = std::fs::OpenOptions::new().write(true).open(&fifo);
            let _ = woke_tx.send(opened.is_ok());
        });
    }
    // A device node, where the system lets us make one.
    let device = tree.join("null-device");
    let made_device = Command::new("mknod")
        .args([
            device.as_os_str(),
            OsStr::new("c"),
            OsStr::new("1"),
            OsStr::new("3"),
        ])
        .status()
        .is_ok_and(|s| s.success());
    // A name that is not UTF-8.
    let odd = tree.join(OsStr::from_bytes(b"caf\xe9.txt"));
    write(&odd, b"latin-1 name");

    let run = home
        .sig(&["watch", "add", tree.to_str().unwrap()])
        .expect(0);
    assert!(run.stdout.contains("2 files"), "{}", run.stdout);
    let w = &watch_list(&home)[0];
    let specials = 3 + usize::from(made_device); // loop, etc, fifo (+ device)
    assert_eq!(w["skipped"].as_u64(), Some(specials as u64), "{w}");
    let mut events = Subscriber::new(&home.socket, &tree);
    write(&odd, b"latin-1 name, edited");
    write(&tree.join("plain.txt"), b"plain, edited");
    let plain = events.wait_for("/plain.txt", SOON);
    assert_eq!(plain["id"], content_id(b"plain, edited"));
    assert!(
        woke.recv_timeout(Duration::from_millis(300)).is_err(),
        "the FIFO was opened"
    );

    // The odd name travels as its bytes, base64, and verifies by path.
    let mut client = RawClient::connect(&home.socket).unwrap();
    client.hello();
    let bytes = odd.as_os_str().as_bytes();
    let b64 = base64_of(bytes);
    let answer = client.call(3, "verify", json!({"path": {"base64": b64}}));
    assert_eq!(
        answer["result"]["id"],
        content_id(b"latin-1 name, edited"),
        "{answer}"
    );
    assert_eq!(answer["result"]["path"]["base64"], b64);
    let run = home.sig_command(&["verify"]).arg(&odd).output().unwrap();
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let run = home.sig(&["verify", tree.to_str().unwrap()]).expect(1);
    assert!(
        run.stdout.contains("0 ok, 2 not verified, 0 NOT ok"),
        "{}",
        run.stdout
    );

    // What cannot be watched is refused with a reason.
    let run = home.sig(&["watch", "add", "/"]).expect(2);
    assert!(run.stderr.contains("refusing to watch /"), "{}", run.stderr);
    let run = home
        .sig(&["watch", "add", tree.join("plain.txt").to_str().unwrap()])
        .expect(2);
    assert!(run.stderr.contains("not a directory"), "{}", run.stderr);
    let run = home
        .sig(&["watch", "add", tree.join("nope").to_str().unwrap()])
        .expect(2);
    assert!(run.stderr.contains("no such file"), "{}", run.stderr);

    // The watched directory itself deleted: its files are gone, the watch says why.
    let _ = std::fs::OpenOptions::new().read(true).open(&fifo); // release the writer
    std::fs::remove_dir_all(&tree).unwrap();
    events.wait_for("/plain.txt", SOON);
    let w = wait_for_watch(&home, |w| w.get("error").is_some());
    assert_eq!(w["files"], 0);
    assert!(w["error"].as_str().unwrap().contains("no such file"), "{w}");
    home.sig(&["status"]).expect(0);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn the_inotify_limit_is_a_clear_error_naming_the_sysctl() {
    // In a user namespace of its own the daemon gets an inotify limit of its own, which we
    // may lower without touching the machine's.
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    home.sig(&["daemon", "stop"]).expect(0);
    let tree = canonical(&home.root).join("tree");
    for n in 0..10 {
        write(&tree.join(format!("d{n}/f")), b"f");
    }
    let mut daemon = home.daemon_command();
    let program = daemon.get_program().to_owned();
    let mut cmd = Command::new("unshare");
    cmd.args(["-U", "-r", "sh", "-c"])
        .arg("echo 4 > /proc/sys/user/max_inotify_watches && exec \"$0\"")
        .arg(program)
        .envs(daemon.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdin(std::process::Stdio::null());
    let _ = &mut daemon;
    let mut child = cmd.spawn().expect("unshare");
    home.wait_for_socket();
    let run = home
        .sig(&["watch", "add", tree.to_str().unwrap()])
        .expect(2);
    assert!(
        run.stderr.contains("fs.inotify.max_user_watches"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("11 here"), "{}", run.stderr);
    assert!(watch_list(&home).is_empty(), "a refused watch is not kept");
    home.sig(&["daemon", "stop"]).expect(0);
    let _ = child.wait();
}

#[test]
fn unreadable_directories_are_skipped_inside_a_watch_and_refused_as_one() {
    // Root reads everything: the daemon runs as `nobody` here, as a user would run it.
    let dir = tempfile::Builder::new()
        .prefix("signet-nobody")
        .tempdir()
        .unwrap();
    let root = dir.path();
    for name in ["sig", "signetd"] {
        signet_tests::copy_program(&signet_tests::bin(name), &root.join(name));
    }
    write(&root.join("tree/open.txt"), b"open");
    write(&root.join("tree/locked/inside.txt"), b"hidden");
    write(&root.join("closed/secret.txt"), b"secret");
    assert!(
        Command::new("chown")
            .args(["-R", "nobody:nogroup"])
            .arg(root)
            .status()
            .unwrap()
            .success()
    );
    std::fs::set_permissions(root, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    for locked in [root.join("tree/locked"), root.join("closed")] {
        std::fs::set_permissions(locked, std::os::unix::fs::PermissionsExt::from_mode(0o000))
            .unwrap();
    }
    let sig = |args: &[&str]| {
        let out = Command::new("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .arg(root.join("sig"))
            .args(args)
            .env_clear()
            .env("SIGNET_HOME", root.join("home"))
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, said) = sig(&["watch", "add", root.join("tree").to_str().unwrap()]);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("1 files") && said.contains("1 skipped"),
        "{said}"
    );
    let (code, said) = sig(&["watch", "add", root.join("closed").to_str().unwrap()]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("permission denied"), "{said}");
    let (code, said) = sig(&["verify", root.join("tree").to_str().unwrap()]);
    assert_eq!(
        code,
        Some(2),
        "an unreadable directory is an error in `sig verify DIR`: {said}"
    );
    assert!(
        said.contains("locked") && said.contains("1 not verified"),
        "{said}"
    );
    sig(&["daemon", "stop"]);
}

#[test]
fn a_file_replaced_again_and_again_while_hashed_ends_with_its_last_contents() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let tree = canonical(&home.root).join("tree");
    write(&tree.join("big.bin"), b"first");
    home.sig(&["watch", "add", tree.to_str().unwrap()])
        .expect(0);
    let mut events = Subscriber::new(&home.socket, &tree);
    let mut last = Vec::new();
    for round in 0..20u8 {
        // 8 MiB each, written beside it and renamed over it, as editors and compilers do.
        last = vec![round; 8 << 20];
        write(&tree.join("big.tmp"), &last);
        std::fs::rename(tree.join("big.tmp"), tree.join("big.bin")).unwrap();
    }
    let want = content_id(&last);
    signet_tests::wait_until("the last contents to be told", SOON, || {
        (events.wait_for("/big.bin", SOON)["id"] == want.as_str()).then_some(())
    });
    let mut client = RawClient::connect(&home.socket).unwrap();
    client.hello();
    let answer = client.call(2, "verify", json!({"path": tree.join("big.bin")}));
    assert_eq!(answer["result"]["id"], want.as_str());
}
