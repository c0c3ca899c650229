//! Bad input gets a clear error and loses nothing: attest before setup, missing files,
//! directories, special files, damaged repo.json and trust.json.

use signet_tests::Home;

#[test]
fn attest_before_setup_says_what_to_do() {
    let home = Home::new();
    let file = home.file("f", b"x");
    let run = home.attest(&file, true, "").expect(2);
    assert!(
        run.stderr.contains("sig setup --generate"),
        "{}",
        run.stderr
    );
    assert!(!home.home.join("repo/repo.json").exists());
}

#[test]
fn files_that_cannot_be_hashed() {
    let home = Home::new();
    home.setup("Frank <frank@example.org>");
    let run = home
        .sig(&[
            "attest",
            "missing.txt",
            "--ok",
            "--reviewed",
            "--comment",
            "",
        ])
        .expect(2);
    assert!(run.stderr.contains("missing.txt"), "{}", run.stderr);
    let run = home.sig(&["verify", "missing.txt"]).expect(2);
    assert!(
        run.stderr.contains("missing.txt: no such file"),
        "{}",
        run.stderr
    );

    std::fs::create_dir(home.root.join("dir")).unwrap();
    let run = home
        .sig(&["attest", "dir", "--ok", "--reviewed", "--comment", ""])
        .expect(2);
    // A directory stands for the files in it (`sig attest DIR`): an empty one has none.
    assert!(
        run.stderr.contains("no files in it to attest"),
        "{}",
        run.stderr
    );

    // A FIFO is refused without being opened (opening it would hang).
    let fifo = home.root.join("fifo");
    signet_tests::mkfifo(&fifo);
    let run = home.sig(&["verify", "fifo"]).expect(2);
    assert!(
        run.stderr.contains("not a regular file (a FIFO)"),
        "{}",
        run.stderr
    );

    // One bad file among good ones: the others are still verified, exit code 2.
    let good = home.file("good", b"good");
    home.attest(&good, true, "").expect(0);
    let run = home.sig(&["verify", "good", "missing.txt"]).expect(2);
    assert!(run.stdout.contains("/good is ok."), "{}", run.stdout);

    // Unreadable files (root reads everything, so only where the test is not root).
    if rustix::process::getuid().as_raw() != 0 {
        let secret = home.file("secret", b"s");
        std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o000))
            .unwrap();
        let run = home.sig(&["verify", "secret"]).expect(2);
        assert!(run.stderr.contains("permission denied"), "{}", run.stderr);
    }
}

#[test]
fn damaged_repo_json_keeps_reads_refuses_writes_and_is_never_overwritten() {
    let home = Home::new();
    let fpr = home.setup("Gina <gina@example.org>");
    let file = home.file("f", b"content");
    home.attest(&file, true, "fine").expect(0);
    home.sig(&["daemon", "stop"]).expect(0);

    let repo_path = home.home.join("repo/repo.json");
    let good = std::fs::read(&repo_path).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated",
            good[..good.len() / 2].to_vec(),
            "not valid JSON",
        ),
        ("garbage", b"\x00\xffnot json".to_vec(), "not valid JSON"),
        (
            "tampered",
            String::from_utf8(good.clone())
                .unwrap()
                .replace("\"fine\"", "\"FINE\"")
                .into_bytes(),
            "signature does not verify",
        ),
        ("empty", Vec::new(), "not valid JSON"),
    ];
    for (name, bytes, why) in cases {
        std::fs::write(&repo_path, &bytes).unwrap();
        // Reads go on: the daemon starts and answers (the damaged own repository counts nothing).
        let run = home.sig(&["verify", "f"]).expect(1);
        assert!(
            run.stdout.contains("is not verified."),
            "{name}: {}",
            run.stdout
        );
        let run = home.sig(&["status"]).expect(2);
        assert!(
            run.stdout.contains("repo.json is damaged") && run.stdout.contains(why),
            "{name}: {}",
            run.stdout
        );
        // Writes are refused with the file named; the file is left exactly as it was.
        let run = home.attest(&file, true, "again").expect(2);
        assert!(
            run.stderr.contains(repo_path.to_str().unwrap()) && run.stderr.contains(why),
            "{name}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("repair it or move it aside"),
            "{name}: {}",
            run.stderr
        );
        assert_eq!(
            std::fs::read(&repo_path).unwrap(),
            bytes,
            "{name}: damaged file was rewritten"
        );
        home.sig(&["daemon", "stop"]).expect(0);
    }

    // Repaired while the daemon runs: the next write notices and goes ahead.
    std::fs::write(&repo_path, b"{").unwrap();
    home.sig(&["verify", "f"]).expect(1);
    std::fs::write(&repo_path, &good).unwrap();
    home.attest(&file, true, "after repair").expect(0);
    let run = home.sig(&["verify", "--json", "f"]).expect(0);
    assert_eq!(run.json()["attestations"][0]["comment"], "after repair");
    assert_eq!(run.json()["attestations"][0]["key"], fpr.as_str());
    assert_eq!(home.read_repo()["data"]["serial"], 3);
}

#[test]
fn damaged_trust_json_fails_closed() {
    let home = Home::new();
    home.setup("Hana <hana@example.org>");
    let stranger = "0123456789ABCDEF0123456789ABCDEF01234567";
    home.sig(&["trust", "add", stranger]).expect(0);
    home.sig(&["daemon", "stop"]).expect(0);
    let trust_path = home.home.join("trust.json");
    std::fs::write(&trust_path, b"{\"version\": 1, \"trusted\": [").unwrap();

    let run = home.sig(&["status"]).expect(2);
    assert!(
        run.stdout.contains("trust.json is damaged"),
        "{}",
        run.stdout
    );
    let run = home.sig(&["trust", "add", stranger]).expect(2);
    assert!(
        run.stderr.contains("trust.json is damaged"),
        "{}",
        run.stderr
    );
    home.sig(&["trust", "list"]).expect(2);
    // Own attestations still count: verification goes on.
    let file = home.file("f", b"x");
    home.attest(&file, true, "").expect(0);
    home.sig(&["verify", "f"]).expect(0);
    assert_eq!(
        std::fs::read(&trust_path).unwrap(),
        b"{\"version\": 1, \"trusted\": ["
    );
}

#[test]
fn a_damaged_remote_record_is_reported_in_status_and_never_overwritten() {
    let server = signet_tests::http::TestServer::start();
    let world = Home::new();
    world.setup("World <w@example.org>");
    server.serve_repo(&world.repo_dir());
    let alice = Home::follower("world", &server.url());
    alice.sig(&["fetch"]).expect(0);
    alice.sig(&["status"]).expect(0);
    alice.sig(&["daemon", "stop"]).expect(0);
    let record = alice.home.join("remotes/world/remote.json");
    std::fs::write(&record, b"{ not json").unwrap();
    let run = alice.sig(&["status", "--json"]);
    let problems = run.json()["problems"].to_string();
    assert!(problems.contains("remote.json"), "{problems}");
    // And the damaged record is left as it was for the user to repair: adding a remote of
    // that name again is refused (it would write over it); removing it is what the user asks.
    let run = alice
        .sig(&["remote", "add", "world", &server.url()])
        .expect(2);
    assert!(
        run.stderr.contains("remote.json is damaged"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&record).unwrap(), b"{ not json");
    alice.sig(&["remote", "remove", "world"]).expect(0);
    assert!(!record.exists());
    assert_eq!(
        alice.sig(&["status", "--json"]).json()["problems"],
        serde_json::json!([])
    );
    alice
        .sig(&["remote", "add", "world", &server.url()])
        .expect(0);
    alice.sig(&["fetch"]).expect(0);
}

#[test]
fn a_damaged_watches_json_is_reported_and_never_overwritten() {
    let home = Home::new();
    home.setup("Wanda <wanda@example.org>");
    let tree = home.root.join("tree");
    std::fs::create_dir(&tree).unwrap();
    home.sig(&["watch", "add", tree.to_str().unwrap()])
        .expect(0);
    home.sig(&["daemon", "stop"]).expect(0);
    let path = home.home.join("watches.json");
    std::fs::write(&path, b"{\"watches\": [").unwrap();

    let run = home.sig(&["status"]).expect(2);
    assert!(run.stdout.contains("watches.json is damaged"), "{run:?}");
    let other = home.root.join("other");
    std::fs::create_dir(&other).unwrap();
    let run = home
        .sig(&["watch", "add", other.to_str().unwrap()])
        .expect(2);
    assert!(
        run.stderr.contains("watches.json is damaged"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"{\"watches\": [");
    // Verification goes on.
    let file = home.file("f", b"x");
    home.attest(&file, true, "").expect(0);
    home.sig(&["verify", "f"]).expect(0);
}
