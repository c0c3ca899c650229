//! Keys that change: `sig setup --force` publishes a transition both keys sign, and followers
//! pinned to the old key follow the new one by themselves — a remote added by hand and one
//! discovered through the web of trust alike — carrying their trust over to the successor and
//! keeping the old key's earlier words. A swap with no transition stays refused, and a new
//! follower can check the retired key's words (key.asc carries it).

use signet_tests::Home;
use signet_tests::http::{Serve, TestServer};

fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
}

#[test]
fn followers_follow_a_rotation_both_keys_signed() {
    let (bob, old) = Home::keyed("Bob <bob@example.org>");
    let early = bob.file("early.c", b"int early;");
    bob.attest(&early, true, "with the old key").expect(0);
    let url = bob.publish_http();

    // Alice added Bob's repository by hand and trusts his key; Carol trusts it with its URL,
    // so she follows it as a discovered remote.
    let alice = Home::follower("bob", &url);
    alice.sig(&["fetch"]).expect(0);
    alice.sig(&["trust", "add", &old]).expect(0);
    let (carol, _) = Home::keyed("Carol <carol@example.org>");
    carol
        .sig(&["trust", "add", &old, "--url", &url, "--local"])
        .expect(0);
    carol.sig(&["fetch"]).expect(0);
    for home in [&alice, &carol] {
        std::fs::copy(&early, home.root.join("early.c")).unwrap();
        home.sig(&["verify", "early.c"]).expect(0);
    }

    let (run, new) = bob.replace_key("Bob <bob@example.org>");
    assert!(
        run.stdout.contains(&format!("Replaced key {old}"))
            && run.stdout.contains("signed the transition")
            && !run.stdout.contains("Welcome"),
        "{}",
        run.stdout
    );
    let later = bob.file("later.c", b"int later;");
    bob.attest(&later, true, "with the new key").expect(0);

    // Alice's fetch follows the rotation; her trust in the old key carries over, shown so.
    let run = alice.sig(&["fetch"]).expect(0);
    assert!(
        run.stdout.contains(&format!(
            "Key rotated: [{}] was succeeded by [{}]",
            &old[32..],
            &new[32..]
        )),
        "{}",
        run.stdout
    );
    std::fs::copy(&later, alice.root.join("later.c")).unwrap();
    let why = alice.sig(&["verify", "--why", "later.c"]).expect(0).stdout;
    assert!(
        line_with(&why, &format!("ok [{}]", &new[32..])).contains("(its successor, medium)"),
        "{why}"
    );
    alice.sig(&["verify", "early.c"]).expect(0);
    let remotes = alice.sig(&["remote", "list", "--json"]).expect(0).json();
    assert_eq!(remotes["remotes"][0]["key"]["fingerprint"], new.as_str());

    // Carol's discovered remote follows it too, keeping its record (no second remote for the
    // new key).
    carol.sig(&["fetch"]).expect(0);
    carol.sig(&["fetch"]).expect(0);
    std::fs::copy(&later, carol.root.join("later.c")).unwrap();
    carol.sig(&["verify", "later.c"]).expect(0);
    carol.sig(&["verify", "early.c"]).expect(0);
    let remotes = carol.sig(&["remote", "list", "--json"]).expect(0).json();
    let remotes = remotes["remotes"].as_array().unwrap();
    assert_eq!(remotes.len(), 1, "{remotes:#?}");
    assert_eq!(remotes[0]["key"]["fingerprint"], new.as_str());
    assert_eq!(remotes[0]["name"], format!("web-{}", &old[24..]));

    // A follower who comes after the rotation and trusts the new key: the old key's words are
    // checked (key.asc carries it) and count through the new key's word for it.
    let erin = Home::follower("bob", &url);
    erin.sig(&["fetch"]).expect(0);
    erin.sig(&["trust", "add", &new]).expect(0);
    std::fs::copy(&early, erin.root.join("early.c")).unwrap();
    let run = erin.sig(&["verify", "early.c"]).expect(0);
    assert!(!run.stdout.contains("unknown"), "{}", run.stdout);
}

/// A key.asc that changes to another key with no transition signed by the pinned key is
/// refused, saying why; the last good copy keeps answering. A key revoked as compromised
/// signs no transition.
#[test]
fn a_key_swapped_without_a_transition_is_refused() {
    let (bob, old) = Home::keyed("Bob <bob@example.org>");
    let early = bob.file("early.c", b"int early;");
    bob.attest(&early, true, "old").expect(0);
    let server = TestServer::start();
    server.serve_repo(&bob.repo_dir());
    let alice = Home::follower("bob", &server.url());
    alice.sig(&["fetch"]).expect(0);
    alice.sig(&["trust", "add", &old]).expect(0);

    // Someone else's key and repository at the same URL.
    let mallory = Home::new();
    let other = mallory.setup("Bob <bob@example.org>");
    mallory
        .attest(&mallory.file("early.c", b"int early;"), false, "swap")
        .expect(0);
    server.serve_repo(&mallory.repo_dir());
    let run = alice.sig(&["fetch"]).expect(2);
    assert!(
        run.stderr.contains(&format!("pinned to {old}"))
            && run.stderr.contains(&format!(
                "no statement by {old} names {other} its successor"
            )),
        "{}",
        run.stderr
    );
    std::fs::copy(&early, alice.root.join("early.c")).unwrap();
    alice.sig(&["verify", "early.c"]).expect(0);

    // The owner's key is stolen: revoked as compromised, it signs no transition.
    bob.sig(&["revoke", "--reason", "compromised", "--yes"])
        .expect(0);
    let (run, _) = bob.replace_key("Bob <bob@example.org>");
    assert!(
        run.stdout.contains("without a transition") && run.stdout.contains("revoked"),
        "{}",
        run.stdout
    );
    server.serve_repo(&bob.repo_dir());
    let run = alice.sig(&["fetch"]).expect(2);
    assert!(run.stderr.contains("its successor"), "{}", run.stderr);
    // Yet the revocation reached Alice: key.asc carries the retired key with it.
    alice.sig(&["verify", "early.c"]).expect(1);
    drop(Serve::Silent);
}

/// A key and its successors are one reviewer. Otherwise a key could name any number of
/// "successors" (each naming it back), each standing where it stands, and count several times
/// toward `verify.threshold` — even at `trust.max_depth`, where it could introduce no one.
#[test]
fn a_key_and_its_successors_count_as_one_reviewer() {
    use signet_tests::forge::{self, Forge};
    let mallory = Forge::new("Mallory <m@example.org>");
    let heirs = [
        Forge::new("Heir 1 <h1@example.org>"),
        Forge::new("Heir 2 <h2@example.org>"),
    ];
    let id = format!("sha256:{}", "ab".repeat(32));
    let at = forge::ago(60);
    let statement = |by: &Forge, about: &Forge, succession: &str| {
        let data = format!(
            r#"{{"comment": "", "id": "openpgp:{}", "succession": "{succession}", "trust": "high"}}"#,
            about.fingerprint()
        );
        by.signed_text(&data, at)
    };
    let mut words = vec![mallory.attestation(&id, true, "fine", at)];
    for heir in &heirs {
        words.push(statement(&mallory, heir, "successor"));
        words.push(statement(heir, &mallory, "predecessor"));
        words.push(heir.attestation(&id, true, "fine", at));
    }
    let server = TestServer::start();
    server.route("key.asc", Serve::File(mallory.key_asc()));
    server.route("repo.json", Serve::File(mallory.repo(1, &words)));
    // Each heir publishes its key in a repository of its own.
    let homes: Vec<TestServer> = heirs
        .iter()
        .map(|heir| {
            let home = TestServer::start();
            home.route("key.asc", Serve::File(heir.key_asc()));
            home.route("repo.json", Serve::File(heir.repo(1, &[])));
            home
        })
        .collect();

    let you = Home::follower("mallory", &server.url());
    for (n, home) in homes.iter().enumerate() {
        you.sig(&["remote", "add", &format!("heir{n}"), &home.url()])
            .expect(0);
    }
    you.sig(&["config", "verify.threshold", "2"]).expect(0);
    you.sig(&["fetch"]).expect(0);
    you.sig(&["trust", "add", &mallory.fingerprint()]).expect(0);
    let run = you.sig(&["verify", "--id", &id]).expect(1);
    assert!(
        run.stdout.contains("(1 of 2 trusted reviewers)"),
        "{}",
        run.stdout
    );
    // The heirs do stand where Mallory stands: their words are shown as trusted.
    let doc = you.sig(&["verify", "--json", "--id", &id]).expect(1).json();
    let trusted = doc["attestations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["trusted"] == true)
        .count();
    assert_eq!(trusted, 3, "{doc:#}");
}
