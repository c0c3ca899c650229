//! The seed's flow on one home: setup, attest (questions and flags), verify, JSON output,
//! exit codes, trust.

use signet_tests::Home;

#[test]
fn setup_attest_verify_as_the_seed_does() {
    let home = Home::new();
    let fpr = home.setup("Alice <alice@example.org>");
    assert_eq!(fpr.len(), 40);
    let short = &fpr[32..];

    let file = home.file("hello.txt", b"hello, world\n");
    let run = home
        .sig_with_input(
            &["attest", "hello.txt"],
            "yes\nyes\nMy first attestation!\n",
        )
        .expect(0);
    assert!(
        run.stderr.contains("I have reviewed this file (yes/no): "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("It performs as expected and is free of major flaws (yes/no): ")
    );
    assert!(run.stderr.contains("Comment: "));
    // The seed's transcript: what was saved, then the data.
    let id = "sha256:853ff93762a06ddbf722c4ebe9ddd66d8f63ddaea97f521c3ecc20da7c976020";
    assert_eq!(
        run.stdout,
        format!(
            "Saved attestation for hello.txt:\n{{\n  \"comment\": \"My first attestation!\",\n  \"id\": \"{id}\",\n  \"ok\": true,\n  \"reviewed\": true\n}}\n"
        )
    );
    // `--json`: the whole signed attestation.
    let run = home
        .sig_with_input(
            &["attest", "--json", "hello.txt"],
            "yes\nyes\nMy first attestation!\n",
        )
        .expect(0);
    let saved = run.json();
    assert_eq!(saved["data"]["id"], id);
    assert_eq!(saved["data"]["comment"], "My first attestation!");
    assert_eq!(saved["data"]["ok"], true);
    assert_eq!(saved["data"]["reviewed"], true);
    assert_eq!(saved["key"], fpr.as_str());
    assert_eq!(
        saved["data"].as_object().unwrap().len(),
        4,
        "exactly the four fields"
    );

    let run = home.sig(&["verify", file.to_str().unwrap()]).expect(0);
    let expected = format!(
        "identified file as {id}\nok [{short}] Alice <alice@example.org>\nfile {} is ok.\n",
        file.display()
    );
    assert_eq!(run.stdout, expected);

    // Relative paths work, and are shown absolute, as the seed shows them.
    let run = home.sig(&["verify", "hello.txt"]).expect(0);
    assert!(
        run.stdout
            .ends_with(&format!("file {} is ok.\n", file.display())),
        "{}",
        run.stdout
    );

    // A file nobody vouched for.
    let other = home.file("other.txt", b"other");
    let run = home.sig(&["verify", "other.txt"]).expect(1);
    assert!(
        run.stdout
            .ends_with(&format!("file {} is not verified.\n", other.display())),
        "{}",
        run.stdout
    );

    // By id, without the file.
    let run = home.sig(&["verify", "--id", id]).expect(0);
    assert!(
        run.stdout.contains(&format!("id {id} is ok.")),
        "{}",
        run.stdout
    );

    // JSON: one document with the protocol's shape.
    let run = home.sig(&["verify", "--json", "hello.txt"]).expect(0);
    let doc = run.json();
    assert_eq!(doc["id"], id);
    assert_eq!(doc["verdict"], "ok");
    let att = &doc["attestations"][0];
    assert_eq!(att["key"], fpr.as_str());
    assert_eq!(att["user_id"], "Alice <alice@example.org>");
    assert_eq!(att["trusted"], true);
    assert_eq!(att["source"], "own");
    assert_eq!(att["comment"], "My first attestation!");

    // Changing one's mind replaces the earlier attestation: NOT ok is loudest (exit 3).
    home.attest(&file, false, "found a backdoor").expect(0);
    let run = home.sig(&["verify", "hello.txt"]).expect(3);
    assert!(
        run.stdout.contains(&format!("NOT OK [{short}] Alice")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .ends_with(&format!("file {} is NOT ok.\n", file.display()))
    );
    let repo = home.read_repo();
    assert_eq!(
        repo["data"]["attestations"][id].as_array().unwrap().len(),
        1
    );
    assert_eq!(
        repo["data"]["serial"], 4,
        "setup, attest, attest --json, attest"
    );

    // Several files: the loudest verdict decides the exit code.
    let run = home.sig(&["verify", "other.txt", "hello.txt"]).expect(3);
    assert!(
        run.stdout
            .contains(&format!("file {} is not verified.", other.display()))
    );
    let run = home
        .sig(&["verify", "--json", "other.txt", "hello.txt"])
        .expect(3);
    assert_eq!(run.json().as_array().unwrap().len(), 2);
}

#[test]
fn attest_flags_and_answers() {
    let home = Home::new();
    home.setup("Bob <bob@example.org>");
    let file = home.file("a.bin", &[0u8, 1, 2, 255]);
    let path = file.to_str().unwrap();

    // Not reviewed, but ok; unusual characters in the comment survive.
    let comment = "caf\u{e9} \u{1F600} \"quoted\"\ttab";
    let run = home
        .sig(&[
            "attest",
            "--json",
            path,
            "--ok",
            "--not-reviewed",
            "--comment",
            comment,
        ])
        .expect(0);
    assert_eq!(run.json()["data"]["comment"], comment);
    assert_eq!(run.json()["data"]["reviewed"], false);
    // Shown, never counted (as in the reference): an unreviewed "ok" verifies nothing.
    let run = home.sig(&["verify", path]).expect(1);
    assert!(
        run.stdout.contains("(not reviewed: it does not count)"),
        "{}",
        run.stdout
    );
    // Answering "no" to "I have reviewed this file" saves nothing, as in the reference.
    let serial = home.read_repo()["data"]["serial"].clone();
    let run = home
        .sig_with_input(
            &["attest", path],
            "no
",
        )
        .expect(0);
    assert!(
        run.stdout.contains("Please review the file"),
        "{}",
        run.stdout
    );
    assert_eq!(
        home.read_repo()["data"]["serial"],
        serial,
        "nothing written"
    );

    // Answers are re-asked until yes or no; end of input is a clear error.
    let run = home
        .sig_with_input(&["attest", "--json", path], "maybe\nYES\nn\n\n")
        .expect(0);
    assert!(run.stderr.contains("Please answer yes or no."));
    assert_eq!(run.json()["data"]["ok"], false);
    let run = home.sig_with_input(&["attest", path], "yes\n").expect(2);
    assert!(run.stderr.contains("--ok/--not-ok"), "{}", run.stderr);
}

#[test]
fn trust_by_fingerprint_and_suffix() {
    let home = Home::new();
    let fpr = home.setup("Carol <carol@example.org>");

    // An unknown key can be trusted by full fingerprint, never by a short id.
    let stranger = "0123456789ABCDEF0123456789ABCDEF01234567";
    let run = home.sig(&["trust", "add", "0123456789ABCDEF"]).expect(2);
    assert!(
        run.stderr.contains("no known key matches 0123456789ABCDEF"),
        "{}",
        run.stderr
    );
    let run = home
        .sig(&[
            "trust",
            "add",
            &stranger.to_lowercase(),
            "--reason",
            "met at a conference",
        ])
        .expect(0);
    assert!(
        run.stdout.starts_with("Trusted: [01234567]"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(&format!("Fingerprint: {stranger}")));
    let run = home.sig(&["trust", "add", stranger]).expect(0);
    assert!(run.stdout.starts_with("Already trusted"), "{}", run.stdout);

    // The own key is known: a spaced, 0x-prefixed suffix finds it.
    let spaced = format!("0x{} {} {}", &fpr[24..28], &fpr[28..32], &fpr[32..]);
    let run = home.sig(&["trust", "add", &spaced]).expect(0);
    assert!(
        run.stdout.contains("Carol <carol@example.org>"),
        "{}",
        run.stdout
    );

    let run = home.sig(&["trust", "list", "--json"]).expect(0);
    let listed: Vec<_> = run.json()["trusted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fingerprint"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, vec![stranger.to_owned(), fpr.clone()]);
    // A new level for a key replaces its entry in place; what is not said again stays.
    let run = home
        .sig(&["trust", "add", stranger, "--level", "high"])
        .expect(0);
    assert!(run.stdout.contains("Level: high"), "{}", run.stdout);
    let list = home.sig(&["trust", "list", "--json"]).expect(0).json();
    assert_eq!(list["trusted"][0]["fingerprint"], stranger);
    assert_eq!(list["trusted"][0]["level"], "high");
    assert_eq!(list["trusted"][0]["reason"], "met at a conference");
    assert_eq!(list["trusted"][1]["level"], "medium");
    let trust: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.home.join("trust.json")).unwrap())
            .unwrap();
    assert_eq!(trust["trusted"][0]["reason"], "met at a conference");

    let run = home.sig(&["trust", "remove", &stranger[32..]]).expect(0);
    assert!(
        run.stdout.starts_with("No longer trusted: [01234567]"),
        "{}",
        run.stdout
    );
    home.sig(&["trust", "remove", &stranger[32..]]).expect(2);
    let run = home.sig(&["trust", "list"]).expect(0);
    // Each entry with its level and whether it is published.
    assert_eq!(
        run.stdout.trim(),
        format!("{fpr}  medium    local      Carol <carol@example.org>")
    );
}

#[test]
fn status_and_help() {
    let home = Home::new();
    let run = home.sig(&["status"]).expect(0);
    assert!(run.stdout.contains("key:     none yet"), "{}", run.stdout);
    let fpr = home.setup("Dana <dana@example.org>");
    let run = home.sig(&["status", "--json"]).expect(0);
    let s = run.json();
    assert_eq!(s["key"]["fingerprint"], fpr.as_str());
    assert_eq!(s["home"], home.home.to_str().unwrap());
    assert_eq!(s["serial"], 1);
    assert!(s["pid"].as_u64().unwrap() > 0);

    for args in [
        &["help"][..],
        &["--help"],
        &["attest", "--help"],
        &["verify", "--help"],
        &["trust", "add", "--help"],
        &["daemon", "--help"],
    ] {
        let run = home.sig(args).expect(0);
        assert!(
            run.stdout.contains("Usage: sig"),
            "{args:?}: {}",
            run.stdout
        );
    }
    // Setting up twice is refused without --force.
    let run = home
        .sig(&["setup", "--generate", "Other <o@example.org>"])
        .expect(2);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
}

#[test]
fn verify_a_directory_summarises_every_file_under_it() {
    let home = Home::new();
    home.setup("Tree <tree@example.org>");
    let tree = home.root.join("tree");
    std::fs::create_dir_all(tree.join("sub/deeper")).unwrap();
    let good = home.file("tree/good.txt", b"good");
    let bad = home.file("tree/sub/bad.txt", b"bad");
    home.file("tree/sub/deeper/unknown.txt", b"unknown");
    home.attest(&good, true, "").expect(0);
    home.attest(&bad, false, "").expect(0);
    // Neither a FIFO nor a symlink loop may trap the walk.
    signet_tests::mkfifo(&tree.join("fifo"));
    std::os::unix::fs::symlink(&tree, tree.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink(&good, tree.join("link-to-good")).unwrap();

    // NOT ok files and a summary; every file not verified with --all.
    let run = home.sig(&["verify", "tree"]).expect(3);
    assert_eq!(
        run.stdout, "NOT OK       sub/bad.txt\ntree: 2 ok, 1 not verified, 1 NOT ok\n",
        "{}",
        run.stderr
    );
    let run = home.sig(&["verify", "--all", "tree"]).expect(3);
    assert_eq!(
        run.stdout,
        "NOT OK       sub/bad.txt\nnot verified sub/deeper/unknown.txt\ntree: 2 ok, 1 not verified, 1 NOT ok\n",
        "{}",
        run.stderr
    );
    let json = home.sig(&["verify", "--json", "tree"]).expect(3).json();
    assert_eq!(
        (
            json["ok"].as_u64(),
            json["unverified"].as_u64(),
            json["not_ok"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(json["results"].as_array().unwrap().len(), 4);

    std::fs::remove_file(&bad).unwrap();
    std::fs::remove_file(tree.join("sub/deeper/unknown.txt")).unwrap();
    let run = home.sig(&["verify", "tree"]).expect(0);
    assert!(
        run.stdout
            .ends_with("tree: 2 ok, 0 not verified, 0 NOT ok\n"),
        "{}",
        run.stdout
    );
    home.sig(&["verify", "tree", "tree/good.txt"]).expect(2);
}
