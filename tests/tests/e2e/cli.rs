//! The seed's command line, complete, and what people expect of a Unix tool: standard input,
//! quiet and verbose, colour only on a terminal, and errors that say what was meant (the manual
//! and completions are `manual.rs`).

use std::process::{Command, Stdio};

use signet_tests::Home;

#[test]
fn verify_reads_standard_input_and_speaks_quietly_verbosely_and_in_colour() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let file = home.file("install.sh", b"#!/bin/sh\necho hello\n");
    home.attest(&file, true, "read every line").expect(0);

    // `-`, and no argument at all, read standard input.
    for args in [&["verify", "-"][..], &["verify"]] {
        let run = home
            .sig_with_input(args, b"#!/bin/sh\necho hello\n")
            .expect(0);
        assert!(
            run.stdout.ends_with("standard input is ok.\n"),
            "{}",
            run.stdout
        );
    }
    home.sig_with_input(&["verify", "-"], b"something else")
        .expect(1);

    // --quiet: nothing on stdout; the exit code is the verdict.
    let run = home.sig(&["-q", "verify", "install.sh"]).expect(0);
    assert_eq!(run.stdout, "");
    let other = home.file("other", b"nobody vouched");
    let run = home
        .sig(&["verify", "--quiet", other.to_str().unwrap()])
        .expect(1);
    assert_eq!(run.stdout, "");
    // --verbose: each attestation's comment and source.
    let run = home.sig(&["verify", "-v", "install.sh"]).expect(0);
    assert!(run.stdout.contains("(from own)"), "{}", run.stdout);
    assert!(run.stdout.contains("    read every line"), "{}", run.stdout);

    // Colour only on a terminal (a real pty, by `script`), never in a pipe or with NO_COLOR.
    let piped = home.sig(&["verify", "install.sh"]).expect(0);
    assert!(!piped.stdout.contains('\u{1b}'));
    let on_terminal = |extra_env: &[(&str, &str)], flags: &str| {
        let sig = home.sig_command(&[]).get_program().to_owned();
        let mut cmd = Command::new("script");
        cmd.args(["-qec"])
            .arg(format!(
                "{} {flags} verify install.sh",
                sig.to_string_lossy()
            ))
            .arg("/dev/null")
            .env("SIGNET_HOME", &home.home)
            .current_dir(&home.root)
            .stdin(Stdio::null());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        String::from_utf8_lossy(&cmd.output().unwrap().stdout).into_owned()
    };
    let colored = on_terminal(&[], "");
    assert!(colored.contains("\u{1b}[32m"), "{colored:?}");
    assert!(!on_terminal(&[("NO_COLOR", "1")], "").contains('\u{1b}'));
    assert!(!on_terminal(&[], "--no-color").contains('\u{1b}'));
}

#[test]
fn attest_says_what_it_saved_and_leaves_an_empty_comment_out() {
    let home = Home::new();
    // No key: said before any question is asked.
    let file = home.file("f", b"contents");
    let run = home.sig_with_input(&["attest", "f"], b"").expect(2);
    assert!(
        run.stderr.contains("sig setup --generate"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("reviewed"), "{}", run.stderr);

    home.setup("Alice <alice@example.org>");
    let run = home
        .sig(&["attest", "f", "--ok", "--reviewed", "--comment", ""])
        .expect(0);
    assert!(
        run.stdout.starts_with("Saved attestation for f:\n"),
        "{}",
        run.stdout
    );
    let repo = home.read_repo();
    let data = &repo["data"]["attestations"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()[0]["data"];
    assert!(data.get("comment").is_none(), "{data}");
    // Several files: each question names its file.
    let g = home.file("g", b"more");
    let run = home
        .sig_with_input(&["attest", "f", "g"], b"yes\nyes\nfine\nyes\nno\nbad\n")
        .expect(0);
    assert!(
        run.stderr.contains("I have reviewed this file (f)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("(g)"), "{}", run.stderr);
    home.sig(&["verify", g.to_str().unwrap()]).expect(3);
    home.sig(&["verify", file.to_str().unwrap()]).expect(0);
}

#[test]
fn slips_get_a_did_you_mean_and_a_running_daemon_says_so() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let run = home
        .sig(&["remote", "add", "bob", "bob.example.org/signet"])
        .expect(2);
    assert!(
        run.stderr
            .contains("did you mean http://bob.example.org/signet/ ?"),
        "{}",
        run.stderr
    );
    let run = home
        .sig(&[
            "remote",
            "add",
            "bob",
            "http://bob.example.org/signet/repo.json",
        ])
        .expect(2);
    assert!(
        run.stderr
            .contains("did you mean http://bob.example.org/signet/ ?"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
    let run = home.sig(&["daemon", "start"]).expect(0);
    assert!(
        run.stdout.contains("already running (pid "),
        "{}",
        run.stdout
    );

    // A refused connection is said once, on stderr, the URL named once.
    home.sig(&["remote", "add", "closed", "http://127.0.0.1:9/"])
        .expect(0);
    let run = home.sig(&["fetch"]).expect(2);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("closed: failed"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(
        line.contains("cannot connect: connection refused"),
        "{line}"
    );
    assert_eq!(line.matches("127.0.0.1:9").count(), 1, "{line}");
    // One wording for a missing file, whichever command meets it.
    let missing = home.root.join("missing");
    let missing = missing.to_str().unwrap();
    for args in [
        &["attest", missing, "--ok", "--reviewed", "--comment", ""][..],
        &["verify", missing],
        &["watch", "add", missing],
        &["setup", "--force", "--import", missing],
    ] {
        let run = home.sig(args).expect(2);
        assert!(
            run.stderr.contains(&format!("{missing}: no such file")),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn config_shows_and_changes_settings_in_the_running_daemon() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let file = home.file("f", b"reviewed");
    home.attest(&file, true, "fine").expect(0);
    let pid = home.daemon_pid();

    let run = home.sig(&["config"]).expect(0);
    assert!(
        run.stdout.contains("verify.threshold = 1\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("sync.interval_secs = 900\n"),
        "{}",
        run.stdout
    );
    let run = home.sig(&["config", "verify.threshold"]).expect(0);
    assert_eq!(run.stdout, "verify.threshold = 1\n");
    let run = home.sig(&["config", "--json", "verify"]).expect(0);
    assert_eq!(run.json()["max_not_ok"], 0);

    // A stricter policy is in effect at once, in the same daemon, and kept in config.json.
    home.sig(&["config", "verify.threshold", "2"]).expect(0);
    home.sig(&["verify", "f"]).expect(1);
    assert_eq!(home.daemon_pid(), pid, "no restart");
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.home.join("config.json")).unwrap()).unwrap();
    assert_eq!(saved["verify"]["threshold"], 2);
    home.sig(&["daemon", "stop"]).expect(0);
    home.sig(&["verify", "f"]).expect(1);
    home.sig(&["config", "verify.threshold", "1"]).expect(0);
    home.sig(&["verify", "f"]).expect(0);
    home.sig(&["config", "watch.ignore", r#"["*.o", "target/"]"#])
        .expect(0);
    let run = home.sig(&["config", "watch.ignore"]).expect(0);
    assert_eq!(run.stdout, "watch.ignore = [\"*.o\",\"target/\"]\n");

    // Wrong names, wrong types and wrong values are refused; nothing changes.
    let before = std::fs::read(home.home.join("config.json")).unwrap();
    for (args, said) in [
        (&["config", "verify.treshold", "2"][..], "no setting"),
        (&["config", "verify.threshold", "0"], "at least 1"),
        (
            &["config", "verify.threshold", "\"two\""],
            "verify.threshold",
        ),
        // A bare word is a string (`sig config verify.min_level low`): refused where a number
        // is wanted, by the daemon.
        (&["config", "verify.threshold", "two"], "verify.threshold"),
        (
            &["config", "verify.min_level", "total"],
            "not a trust level",
        ),
        (
            &["config", "verify.min_level", "distrust"],
            "high, medium or low",
        ),
        (&["config", "trust.max_depth", "0"], "trust.max_depth"),
        (&["config", "verify.threshold", "{two"], "not a JSON value"),
    ] {
        let run = home.sig(args).expect(2);
        assert!(run.stderr.contains(said), "{args:?}: {}", run.stderr);
    }
    assert_eq!(
        std::fs::read(home.home.join("config.json")).unwrap(),
        before
    );
}

#[test]
fn one_word_from_two_sources_is_shown_once_and_a_short_count_is_said() {
    let server = signet_tests::http::TestServer::start();
    let mirror = signet_tests::http::TestServer::start();
    let bob = Home::new();
    bob.setup("Bob <bob@example.org>");
    let file = bob.file("f", b"reviewed by bob");
    bob.attest(&file, true, "fine").expect(0);
    server.serve_repo(&bob.repo_dir());
    mirror.serve_repo(&bob.repo_dir());

    let alice = Home::follower("bob", &server.url());
    alice
        .sig(&["remote", "add", "mirror", &mirror.url()])
        .expect(0);
    alice.sig(&["fetch"]).expect(0);
    let bob_fpr = alice.sig(&["keys", "--json"]).expect(0).json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["user_id"] == "Bob <bob@example.org>")
        .unwrap()["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    alice.sig(&["trust", "add", &bob_fpr]).expect(0);
    let here = alice.file("f", b"reviewed by bob");
    let run = alice
        .sig(&["verify", "-v", here.to_str().unwrap()])
        .expect(0);
    assert_eq!(
        run.stdout.matches("Bob <bob@example.org>").count(),
        1,
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("(from remote:bob, remote:mirror)"),
        "{}",
        run.stdout
    );
    let json = alice
        .sig(&["verify", "--json", here.to_str().unwrap()])
        .expect(0)
        .json();
    assert_eq!(json["attestations"].as_array().unwrap().len(), 1);
    assert_eq!(json["attestations"][0]["also_from"][0], "remote:mirror");

    alice.sig(&["config", "verify.threshold", "2"]).expect(0);
    let run = alice.sig(&["verify", here.to_str().unwrap()]).expect(1);
    assert!(
        run.stdout
            .contains("is not verified (1 of 2 trusted reviewers)."),
        "{}",
        run.stdout
    );
}

#[test]
fn small_things_a_new_user_meets() {
    let home = Home::new();
    // An empty home says what to do.
    let run = home.sig(&["keys"]).expect(0);
    assert!(run.stdout.contains("No keys yet"), "{}", run.stdout);
    // `setup` alone shows how, --generate first.
    let run = home.sig(&["setup"]).expect(2);
    assert!(run.stderr.contains("--generate"), "{}", run.stderr);
    let fpr = home.setup("Alice <alice@example.org>");
    // The own key stays trusted, and says so.
    let run = home.sig(&["trust", "remove", &fpr]).expect(2);
    assert!(run.stderr.contains("your own key"), "{}", run.stderr);
    // Publishing: a port alone, and a directory that is not there.
    let run = home.sig(&["publish", "--http", "8771"]).expect(2);
    assert!(
        run.stderr.contains("--http 127.0.0.1:8771"),
        "{}",
        run.stderr
    );
    let run = home.sig(&["publish", "--to", "no/such/dir"]).expect(2);
    assert!(run.stderr.contains("create it first"), "{}", run.stderr);
    // A relative SIGNET_HOME is one place, wherever sig runs.
    let elsewhere = home.root.join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let out = signet_tests::clean_command(&signet_tests::bin("sig"))
        .args(["status", "--json"])
        .env("SIGNET_HOME", "home")
        .current_dir(&home.root)
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["home"], home.home.to_str().unwrap());
    // No signetd to start: a clear error, and no empty log left in a new home.
    let lonely = home.root.join("lonely");
    std::fs::create_dir(&lonely).unwrap();
    signet_tests::copy_program(&signet_tests::bin("sig"), &lonely.join("sig"));
    let out = Command::new(lonely.join("sig"))
        .args(["status"])
        .env("SIGNET_HOME", lonely.join("home"))
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("signetd is not installed"), "{said}");
    assert!(!lonely.join("home/signetd.log").exists());
    // signetd's help names no file the user does not have.
    let out = Command::new(signet_tests::bin("signetd"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(".md"));
}

#[test]
fn every_command_speaks_json_with_one_spelling() {
    let home = Home::new();
    let root = home.root.to_str().unwrap().to_owned();
    let json = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let run = home.sig(&all);
        assert!(run.code == 0 || run.code == 1, "{args:?}: {}", run.stderr);
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", run.stdout))
    };
    let setup = json(&["setup", "--generate", "Alice <alice@example.org>"]);
    let fpr = setup["key"]["fingerprint"].as_str().unwrap().to_owned();
    let f = home.file("f", b"reviewed");
    json(&[
        "attest",
        f.to_str().unwrap(),
        "--ok",
        "--reviewed",
        "--comment",
        "x",
    ]);
    let tree = home.root.join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("g"), b"nobody").unwrap();
    assert_eq!(json(&["verify", f.to_str().unwrap()])["verdict"], "ok");
    let dir = json(&["verify", tree.to_str().unwrap()]);
    assert_eq!(dir["unverified"], 1, "{dir}");
    assert_eq!(
        json(&["verify", tree.join("g").to_str().unwrap()])["verdict"],
        "unverified"
    );
    json(&["trust", "add", "0123456789ABCDEF0123456789ABCDEF01234567"]);
    json(&["trust", "list"]);
    json(&[
        "trust",
        "remove",
        "0123456789ABCDEF0123456789ABCDEF01234567",
    ]);
    let server = signet_tests::http::TestServer::start();
    server.serve_repo(&home.repo_dir());
    json(&["remote", "add", "me", &server.url()]);
    json(&["remote", "list"]);
    json(&["fetch"]);
    json(&["remote", "remove", "me"]);
    let published = format!("{root}/pub");
    std::fs::create_dir(&published).unwrap();
    json(&["publish", "--to", &published]);
    let watched = json(&["watch", "add", tree.to_str().unwrap()]);
    assert_eq!(watched["unverified"], 1, "{watched}");
    json(&["watch", "list"]);
    json(&["watch", "remove", tree.to_str().unwrap()]);
    assert_eq!(json(&["keys"])["keys"][0]["fingerprint"], fpr.as_str());
    json(&["status"]);
    json(&["config", "verify"]);
    assert_eq!(json(&["daemon", "status"])["running"], true);
    assert_eq!(json(&["daemon", "start"])["started"], false);
    assert_eq!(json(&["daemon", "stop"])["was_running"], true);
    // An error in a JSON result carries the path it is about.
    let missing = home.root.join("missing");
    let run = home.sig(&[
        "--json",
        "verify",
        f.to_str().unwrap(),
        missing.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let results: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(results[1]["path"], missing.to_str().unwrap(), "{results}");
}

#[test]
fn verify_counts_unknown_keys_and_invalid_signatures_as_the_reference_does() {
    use signet_tests::forge::Forge;
    let owner = Forge::new("Owner <owner@example.org>");
    let stranger = Forge::new("Stranger <stranger@example.org>");
    let id = signet_tests::content_id(b"the file");
    let now = std::time::SystemTime::now();
    let good = owner.attestation(&id, true, "fine", now);
    let unknown = stranger.attestation(&id, true, "who am I", now);
    let invalid = owner
        .attestation(&id, true, "original", now)
        .replace("original", "tampered");
    let server = signet_tests::http::TestServer::start();
    server.route(
        "repo.json",
        signet_tests::http::Serve::File(owner.repo(1, &[good, unknown, invalid])),
    );
    server.route("key.asc", signet_tests::http::Serve::File(owner.key_asc()));
    let home = Home::follower("owner", &server.url());
    home.sig(&["fetch"]).expect(0);
    home.sig(&["trust", "add", &owner.fingerprint()]).expect(0);
    let file = home.file("f", b"the file");
    let run = home.sig(&["verify", file.to_str().unwrap()]).expect(0);
    assert!(
        run.stdout.contains("\nunknown: 1\ninvalid: 1\n"),
        "{}",
        run.stdout
    );
    let json = home
        .sig(&["--json", "verify", file.to_str().unwrap()])
        .expect(0)
        .json();
    assert_eq!(
        (json["unknown"].as_u64(), json["invalid"].as_u64()),
        (Some(1), Some(1))
    );
}
