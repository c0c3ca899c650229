//! Settings from `sig config` or a hand-written `config.json` are range-checked: a value that
//! would stop the daemon at every start, kill its scheduler or leave it unable to answer is
//! refused with its range, and nothing changes. Before: each of these was accepted (attack
//! pass 3, "hostile settings").

use std::time::Duration;

use signet_tests::{Home, wait_until};

#[test]
fn settings_that_would_break_the_daemon_are_refused_with_their_range() {
    let home = Home::new();
    home.config(serde_json::json!({"sync": {"interval_secs": 0}}));
    let before = home.sig(&["config", "--json"]).expect(0).stdout;
    for (key, value) in [
        ("sync.interval_secs", "10000000000000000000"),
        ("sync.parallel", "18446744073709551615"),
        ("sync.parallel", "0"),
        ("max_connections", "0"),
        ("max_connections", "18446744073709551615"),
        ("max_message_bytes", "0"),
        ("message_timeout_secs", "0"),
        ("watch.max_queued_notifications", "18446744073709551615"),
        ("fetch.timeout_secs", "0"),
    ] {
        let run = home.sig(&["config", key, value]).expect(2);
        assert!(
            run.stderr.contains(&format!("{key} must be at least")),
            "{key} = {value}: {}",
            run.stderr
        );
    }
    // Nothing changed, and the daemon still answers everything, `daemon stop` included.
    assert_eq!(home.sig(&["config", "--json"]).expect(0).stdout, before);
    home.sig(&["status"]).expect(0);
    home.sig(&["daemon", "stop"]).expect(0);

    // Written by hand: the daemon will not start on it, and says which setting and why.
    home.config(serde_json::json!({"sync": {"parallel": 0}}));
    let run = home.sig(&["status"]).expect(2);
    assert!(
        run.stderr
            .contains("sync.parallel must be at least 1 and at most 64"),
        "{}",
        run.stderr
    );
}

/// The scheduler follows the settings as they change: turned on from 0 it starts fetching, and
/// a shorter interval brings due times forward. Before: set from 0 it never started (the
/// scheduler had ended), and due times stayed those of the old interval.
#[test]
fn the_sync_interval_takes_effect_when_it_is_changed() {
    let bob = Home::new();
    bob.setup("Bob <bob@example.org>");
    let url = bob.publish_http();
    let alice = Home::follower("bob", &url); // sync.interval_secs 0: nothing scheduled
    let attempt = || {
        let list = alice.sig(&["remote", "list", "--json"]).expect(0).json();
        list["remotes"][0]["last_attempt"]
            .as_str()
            .map(str::to_owned)
    };
    assert_eq!(attempt(), None);
    alice.sig(&["config", "sync.interval_secs", "1"]).expect(0);
    let first = wait_until("a scheduled fetch", Duration::from_secs(20), attempt);

    alice
        .sig(&["config", "sync.interval_secs", "3600"])
        .expect(0);
    alice.sig(&["fetch"]).expect(0);
    let fetched = attempt().unwrap();
    alice.sig(&["config", "sync.interval_secs", "1"]).expect(0);
    wait_until(
        "a fetch due at the new interval",
        Duration::from_secs(20),
        || attempt().filter(|at| *at != fetched && *at != first),
    );
}

/// `sig publish --to` into the home (a remote's stored copy, through a symlink too) is refused
/// and writes nothing. Before: it overwrote that remote's stored copy, and after a restart the
/// remote's NOT ok was gone until the next fetch.
#[test]
fn publish_to_refuses_the_home() {
    let bob = Home::new();
    bob.config(serde_json::json!({"sync": {"interval_secs": 0}}));
    bob.setup("Bob <bob@example.org>");
    bob.attest(&bob.file("x.c", b"int x;"), false, "broken")
        .expect(0);
    let alice = Home::follower("bob", &bob.publish_http());
    alice.sig(&["fetch"]).expect(0);
    let stored = alice.home.join("remotes/bob");
    let held = std::fs::read(stored.join("repo.json")).unwrap();
    let link = alice.root.join("link");
    std::os::unix::fs::symlink(&stored, &link).unwrap();
    for to in [stored.clone(), link, alice.home.clone()] {
        let run = alice
            .sig(&["publish", "--to", to.to_str().unwrap()])
            .expect(2);
        assert!(
            run.stderr.contains("inside Signet's home"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(std::fs::read(stored.join("repo.json")).unwrap(), held);
    assert!(!alice.home.join("repo.json").exists());
    let out = alice.root.join("www");
    std::fs::create_dir(&out).unwrap();
    alice
        .sig(&["publish", "--to", out.to_str().unwrap()])
        .expect(0);
    assert!(out.join("repo.json").is_file());
}
