//! Verdict integrity on the local side: re-keying is a transaction that no failure or kill -9
//! breaks, a passphrase prompt nobody answers holds no other write, and a stopped daemon is
//! gone before another may start.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use signet_tests::{Gpg, Home, process_alive};

fn status(home: &Home) -> Value {
    home.sig(&["status", "--json"]).expect(0).json()
}

fn own_key(home: &Home) -> String {
    status(home)["key"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Waits until the daemon holding `home` has exited.
fn wait_gone(pid: i32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while process_alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        // Polled: a process has no event to wait on here.
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

#[test]
fn a_rekey_to_a_key_that_cannot_sign_changes_nothing() {
    let home = Home::new();
    let old = home.setup("Old <old@example.org>");
    let f = home.file("f", b"reviewed");
    home.attest(&f, true, "fine").expect(0);
    let secret = std::fs::read(home.home.join("keys/secret.asc")).unwrap();
    let repo = std::fs::read(home.home.join("repo/repo.json")).unwrap();

    // A public key only (its secret is in another keyring), and a key whose passphrase nobody
    // can type (no terminal).
    let elsewhere = Gpg::new();
    let public_only = elsewhere.generate("Elsewhere <e@example.org>", "ed25519", "");
    let gpg = Gpg::new();
    let public = home.file("public.asc", &elsewhere.export(&public_only));
    gpg.import(&public);
    let locked = gpg.generate("Locked <l@example.org>", "ed25519", "correct horse");
    let _ = std::process::Command::new("gpgconf")
        .env("GNUPGHOME", gpg.dir.path())
        .args(["--kill", "gpg-agent"])
        .status();

    for key in [&public_only, &locked] {
        let run = home
            .sig_with_gpg(&gpg, &[], &["setup", "--force", key])
            .expect(2);
        assert!(run.stderr.contains("gpg could not sign"), "{}", run.stderr);
        for restart in [false, true] {
            if restart {
                home.sig(&["daemon", "stop"]).expect(0);
            }
            assert_eq!(own_key(&home), old, "{key}, restart {restart}");
            assert_eq!(status(&home)["problems"], serde_json::json!([]));
            assert_eq!(
                std::fs::read(home.home.join("keys/secret.asc")).unwrap(),
                secret,
                "the secret key is untouched"
            );
            assert_eq!(
                std::fs::read(home.home.join("repo/repo.json")).unwrap(),
                repo
            );
            assert!(!home.home.join("keys/gpg.json").exists());
            home.sig(&["verify", "f"]).expect(0);
        }
    }
    // And the home goes on: attest, and a re-key that works.
    home.attest(&home.file("g", b"more"), true, "also fine")
        .expect(0);
    home.sig(&["setup", "--force", "--generate", "New <new@example.org>"])
        .expect(0);
    home.sig(&["verify", "f"]).expect(0);
    home.sig(&["verify", "g"]).expect(0);
    assert!(
        std::fs::read_to_string(home.home.join(format!("keys/retired/{old}.secret")))
            .unwrap()
            .contains("PRIVATE KEY"),
        "the replaced secret key is kept"
    );
}

/// Every point `signetd/src/rekey.rs` can be killed at, in order; from `rekey:committed` on the
/// new key has taken effect.
const CRASH_POINTS: [&str; 6] = [
    "rekey:retired",
    "rekey:staged",
    "rekey:committed",
    "rekey:key-file",
    "rekey:keys-installed",
    "rekey:repo-installed",
];

#[test]
fn kill_9_at_every_step_of_a_rekey_loses_neither_key_nor_attestation() {
    let gpg = Gpg::new();
    let gpg_key = gpg.generate("Gpg User <g@example.org>", "ed25519", "");
    for to_gpg in [false, true] {
        for (step, point) in CRASH_POINTS.iter().enumerate() {
            let home = Home::new();
            let old = home.setup("Old <old@example.org>");
            let f = home.file("f", b"reviewed before the re-key");
            home.attest(&f, true, "fine").expect(0);
            home.sig(&["daemon", "stop"]).expect(0);

            let args: &[&str] = if to_gpg {
                &["setup", "--force", &gpg_key]
            } else {
                &["setup", "--force", "--generate", "New <new@example.org>"]
            };
            let crashed = home.sig_with_gpg(&gpg, &[("SIGNET_TEST_CRASH_AT", point)], args);
            assert_ne!(crashed.code, 0, "{point}: the daemon was killed mid-way");
            if let Some(pid) = home.daemon_pid() {
                assert!(wait_gone(pid, Duration::from_secs(5)), "{point}");
            }

            // The next start finishes or undoes it: one key, a valid repository, nothing lost.
            let ctx = format!("{point} (to gpg: {to_gpg})");
            let current = own_key(&home);
            let took_effect = step >= 2;
            if took_effect {
                assert_ne!(current, old, "{ctx}: committed, so the new key is current");
                assert!(
                    std::fs::read_to_string(home.home.join(format!("keys/retired/{old}.secret")))
                        .unwrap()
                        .contains("PRIVATE KEY"),
                    "{ctx}: the old secret is kept"
                );
            } else {
                assert_eq!(current, old, "{ctx}: not committed, so the old key stays");
                assert!(home.home.join("keys/secret.asc").exists(), "{ctx}");
            }
            assert_eq!(status(&home)["problems"], serde_json::json!([]), "{ctx}");
            assert_eq!(home.read_repo()["key"], current.as_str(), "{ctx}");
            let leftovers: Vec<String> = std::fs::read_dir(home.home.join("keys"))
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("rekey"))
                .collect();
            assert!(leftovers.is_empty(), "{ctx}: {leftovers:?}");
            home.sig(&["verify", "f"]).expect(0);
            let g = home.file("g", b"reviewed after");
            home.sig_with_gpg(
                &gpg,
                &[],
                &["attest", "g", "--ok", "--reviewed", "--comment", "after"],
            )
            .expect(0);
            home.sig(&["daemon", "stop"]).expect(0);
            home.sig(&["verify", "f"]).expect(0);
            home.sig(&["verify", g.to_str().unwrap()]).expect(0);
            // And a re-key done to the end from here works.
            home.sig_with_gpg(&gpg, &[], args).expect(0);
            home.sig(&["verify", "f"]).expect(0);
        }
    }
}

/// A gpg home whose key needs a passphrase, and whose pinentry, from now on, never answers.
/// The passphrase is in gpg-agent's cache until [`hang_pinentry`] is called.
fn gpg_with_passphrase() -> (Gpg, String) {
    let gpg = Gpg::new();
    let fpr = gpg.generate("Hung <h@example.org>", "ed25519", "pw");
    let data = gpg.dir.path().join("data");
    std::fs::write(&data, b"cache the passphrase").unwrap();
    gpg.run(&[
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "pw",
        "--local-user",
        &fpr,
        "--detach-sign",
        "--output",
        "/dev/null",
        data.to_str().unwrap(),
    ]);
    (gpg, fpr)
}

fn hang_pinentry(gpg: &Gpg) {
    use std::os::unix::fs::PermissionsExt as _;
    let script = gpg.dir.path().join("hung-pinentry");
    let asked = prompt_marker(gpg);
    std::fs::write(
        &script,
        format!("#!/bin/sh\ntouch '{}'\nexec sleep 600\n", asked.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        gpg.dir.path().join("gpg-agent.conf"),
        format!("pinentry-program {}\n", script.display()),
    )
    .unwrap();
    // Reloading also forgets cached passphrases.
    let status = std::process::Command::new("gpgconf")
        .env("GNUPGHOME", gpg.dir.path())
        .args(["--reload", "gpg-agent"])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Where the hung pinentry notes that it was started.
fn prompt_marker(gpg: &Gpg) -> std::path::PathBuf {
    gpg.dir.path().join("pinentry-asked")
}

/// Waits until gpg has started the hung pinentry: the signing now waits on a prompt.
fn wait_for_prompt(gpg: &Gpg) {
    let asked = prompt_marker(gpg);
    signet_tests::wait_until(
        "gpg to ask for the passphrase",
        Duration::from_secs(20),
        || std::fs::remove_file(&asked).ok(),
    );
}

/// Whether any thread of process `pid` has a child process.
fn runs_a_child(pid: i32) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|task| {
            std::fs::read_to_string(task.path().join("children"))
                .is_ok_and(|c| !c.trim().is_empty())
        })
}

/// `sig attest` from a terminal, so that gpg asks its pinentry.
fn attest_from_terminal(home: &Home, gpg: &Gpg, file: &str) -> std::process::Child {
    home.sig_command(&["attest", file, "--ok", "--reviewed", "--comment", "x"])
        .env("GNUPGHOME", gpg.dir.path())
        .env("GPG_TTY", "/dev/null")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_passphrase_prompt_nobody_answers_holds_no_other_write() {
    let _alone = signet_tests::exclusive();
    let (gpg, fpr) = gpg_with_passphrase();
    let home = Home::new();
    home.config(serde_json::json!({
        "sync": {"interval_secs": 0},
        "gpg": {"sign_timeout_secs": 4},
    }));
    home.sig_with_gpg(&gpg, &[], &["setup", &fpr]).expect(0);
    let serial = home.read_repo()["data"]["serial"].clone();
    hang_pinentry(&gpg);
    home.file("f", b"waiting for a passphrase");

    let started = Instant::now();
    let hung = attest_from_terminal(&home, &gpg, "f");
    wait_for_prompt(&gpg);
    // Every other write goes on meanwhile.
    let t = Instant::now();
    home.sig(&["trust", "add", "0123456789ABCDEF0123456789ABCDEF01234567"])
        .expect(0);
    let published = home.root.join("published");
    std::fs::create_dir(&published).unwrap();
    home.sig(&["publish", "--to", published.to_str().unwrap()])
        .expect(0);
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "writes waited {:?} for a prompt",
        t.elapsed()
    );
    // The prompt is given up at the deadline, with nothing saved.
    let out = hung.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("did not finish signing"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(home.read_repo()["data"]["serial"], serial);

    // Stopping the daemon while a prompt waits: it is gone when `daemon stop` returns, and the
    // next daemon starts on the home.
    home.config(serde_json::json!({
        "sync": {"interval_secs": 0},
        "gpg": {"sign_timeout_secs": 300},
    }));
    home.sig(&["daemon", "stop"]).expect(0);
    let hung = attest_from_terminal(&home, &gpg, "f");
    // gpg-agent asks one pinentry at a time, and the first still hangs: this signing
    // waits in gpg, the daemon's child.
    signet_tests::wait_until("the daemon to run gpg", Duration::from_secs(20), || {
        home.daemon_pid().filter(|pid| runs_a_child(*pid))
    });
    let pid = home.daemon_pid().unwrap();
    let t = Instant::now();
    home.sig(&["daemon", "stop"]).expect(0);
    assert!(
        !process_alive(pid),
        "`daemon stop` returned before the daemon exited"
    );
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    let out = hung.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert_eq!(
        status(&home)["pid"].as_i64().unwrap() as i32,
        home.daemon_pid().unwrap()
    );
    assert_eq!(home.read_repo()["data"]["serial"], serial);
}

#[test]
fn removing_a_remote_cancels_its_fetch_and_waits_for_no_network() {
    let _alone = signet_tests::exclusive();
    let server = signet_tests::http::TestServer::start();
    let world = Home::new();
    world.setup("World <w@example.org>");
    server.serve_repo(&world.repo_dir());
    let home = Home::follower("slow", &server.url());
    home.config(serde_json::json!({
        "sync": {"interval_secs": 0},
        "fetch": {"timeout_secs": 60, "connect_timeout_secs": 60},
    }));
    home.sig(&["daemon", "stop"]).expect(0);
    server.route("key.asc", signet_tests::http::Serve::Silent);
    // `remote add` looked at key.asc already: the fetch's own request is the next one.
    let asked = server.times_asked("key.asc");
    let fetching = home
        .sig_command(&["fetch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    signet_tests::wait_until(
        "the fetch to ask for key.asc",
        Duration::from_secs(20),
        || (server.times_asked("key.asc") > asked).then_some(()),
    );
    let started = Instant::now();
    home.sig(&["remote", "remove", "slow"]).expect(0);
    home.sig(&["trust", "add", "0123456789ABCDEF0123456789ABCDEF01234567"])
        .expect(0);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "writes waited {:?} for a fetch",
        started.elapsed()
    );
    let out = fetching.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("the remote was removed"), "{said}");
    let list = home.sig(&["remote", "list", "--json"]).expect(0).json();
    assert_eq!(list["remotes"], serde_json::json!([]));
}

#[test]
fn a_home_others_can_write_or_own_is_refused_before_anything_in_it_is_used() {
    use std::os::unix::fs::PermissionsExt as _;
    let victim_of = |home: &Home| {
        let victim = home.root.join("victim");
        std::fs::write(&victim, b"").unwrap();
        std::fs::create_dir_all(&home.home).unwrap();
        std::os::unix::fs::symlink(&victim, home.home.join("signetd.log")).unwrap();
        victim
    };
    // Writable by everyone, with a log symlink planted: refused, nothing written through it.
    let home = Home::new();
    let victim = victim_of(&home);
    std::fs::set_permissions(&home.home, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = home.sig(&["status"]).expect(2);
    assert!(
        run.stderr.contains("can be changed by other users"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&victim).unwrap(), b"");

    // Ours and private, but the log name is a symlink: refused, not followed.
    std::fs::set_permissions(&home.home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let run = home.sig(&["status"]).expect(2);
    assert!(
        run.stderr.contains("a symlink is refused"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&victim).unwrap(), b"");
    std::fs::remove_file(home.home.join("signetd.log")).unwrap();

    // A trust list others can write is not used: reported, and trusting waits for a fix.
    home.setup("Alice <alice@example.org>");
    home.sig(&["daemon", "stop"]).expect(0);
    let trust = home.home.join("trust.json");
    std::fs::write(&trust, br#"{"trusted": []}"#).unwrap();
    std::fs::set_permissions(&trust, std::fs::Permissions::from_mode(0o666)).unwrap();
    let problems = status(&home)["problems"].to_string();
    assert!(
        problems.contains("can be changed by other users"),
        "{problems}"
    );
    home.sig(&["trust", "add", "0123456789ABCDEF0123456789ABCDEF01234567"])
        .expect(2);

    // `setup --import` of a FIFO: a clear error at once, not a write blocked for good.
    let fifo = home.root.join("key-fifo");
    signet_tests::mkfifo(&fifo);
    let other = Home::new();
    let started = Instant::now();
    let run = other
        .sig(&["setup", "--import", fifo.to_str().unwrap()])
        .expect(2);
    assert!(run.stderr.contains("not a regular file"), "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(5));

    // Owned by another user (root can make one here): refused before the log is opened.
    if rustix::process::getuid().as_raw() != 0 {
        signet_tests::skip(
            "a_home_others_can_write_or_own_is_refused…, the other-owner case",
            "needs root to chown a home to nobody",
        );
        return;
    }
    let home = Home::new();
    let victim = victim_of(&home);
    let nobody = rustix::process::Uid::from_raw(65534);
    rustix::fs::chown(&home.home, Some(nobody), None).unwrap();
    let run = home.sig(&["status"]).expect(2);
    assert!(
        run.stderr.contains("belongs to uid 65534"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&victim).unwrap(), b"");
}

#[test]
fn your_current_and_retired_keys_are_one_reviewer() {
    let home = Home::new();
    home.config(serde_json::json!({"sync": {"interval_secs": 0}, "verify": {"threshold": 2}}));
    home.setup("Old <me@example.org>");
    let f = home.file("f", b"reviewed twice by one person");
    home.attest(&f, true, "fine").expect(0);
    home.sig(&["setup", "--force", "--generate", "New <me@example.org>"])
        .expect(0);
    // The new key's word replaces nothing in the file (the old key's stays, signed by it), but
    // one person saying ok twice is still one reviewer.
    home.attest(&f, true, "still fine").expect(0);
    let run = home.sig(&["verify", "--json", "f"]);
    assert_eq!(run.json()["verdict"], "unverified", "{}", run.stdout);
    assert_eq!(run.code, 1);
    // And the person's newest word is theirs: the new key saying NOT ok is NOT ok.
    home.attest(&f, false, "found a bug").expect(0);
    let run = home.sig(&["verify", "--json", "f"]);
    assert_eq!(run.json()["verdict"], "not-ok", "{}", run.stdout);
}

#[test]
fn a_signing_subkey_added_in_gnupg_later_gets_an_error_that_says_what_to_do() {
    let gpg = Gpg::new();
    let fpr = gpg.generate("Grows <g@example.org>", "ed25519", "");
    let home = Home::new();
    home.sig_with_gpg(&gpg, &[], &["setup", &fpr]).expect(0);
    // A newer signing subkey: gpg signs with it from now on (gpg's clock a few seconds on,
    // so that it is newer than the first).
    gpg.set_clock(5);
    gpg.run(&[
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
        "--quick-add-key",
        &fpr,
        "ed25519",
        "sign",
        "never",
    ]);
    gpg.set_clock(10); // each gpg run starts on the clock set for it: sign after it was made
    home.file("f", b"attested after the subkey");
    let attest = ["attest", "f", "--ok", "--reviewed", "--comment", "x"];
    let run = home.sig_with_gpg(&gpg, &[], &attest).expect(2);
    assert!(
        run.stderr.contains(&format!("sig setup --force {fpr}")),
        "{}",
        run.stderr
    );
    home.sig_with_gpg(&gpg, &[], &["setup", "--force", &fpr])
        .expect(0);
    home.sig_with_gpg(&gpg, &[], &attest).expect(0);
    home.sig(&["verify", "f"]).expect(0);
}
