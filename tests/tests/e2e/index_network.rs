//! The index as part of a network: announced by a publisher, finding repositories through the
//! trust statements it crawls and through a peer index's list, dropping a repository that
//! turns hostile, and sharing one PostgreSQL between crawlers that never fetch a repository
//! twice in a round.

use std::collections::BTreeMap;

use signet_tests::Home;
use signet_tests::forge::Forge;
use signet_tests::http::{Serve, TestServer};
use signet_tests::index::{Index, Postgres};

/// Alice announces her repository to index A; A finds Carol's through Alice's trust
/// statement; index B, peering with A, crawls both itself; Bob asks both indexes and sees
/// each word once.
#[test]
fn announced_discovered_and_federated_each_word_once() {
    let carol = Home::new();
    let carol_fpr = carol.setup("Carol <carol@example.org>");
    let carol_file = carol.file("lib.rs", b"pub fn safe() {}\n");
    carol.attest(&carol_file, true, "audited").expect(0);
    let carol_url = carol.publish_http();
    let carol_id = signet_tests::content_id(b"pub fn safe() {}\n");

    let alice = Home::new();
    alice.config(serde_json::json!({"sync": {"interval_secs": 0}}));
    alice.setup("Alice <alice@example.org>");
    let file = alice.file("tool.sh", b"echo reviewed\n");
    alice.attest(&file, true, "read every line").expect(0);
    alice
        .sig(&["trust", "add", &carol_fpr, "--url", &carol_url, "--publish"])
        .expect(0);
    let alice_url = alice.publish_http();
    let id = signet_tests::content_id(b"echo reviewed\n");

    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Index::sqlite(dirs.0.path());
    let run = alice.sig(&["publish", "--announce", &a.url]).expect(0);
    assert!(run.stdout.contains("it crawls it next"), "{}", run.stdout);
    a.wait_for(&id);
    a.wait_for(&carol_id);
    let (_, list) = a.get("v1/repositories");
    let sources: BTreeMap<String, String> = list["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["url"].as_str().unwrap().into(),
                r["source"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(sources[&alice_url], "submitted");
    assert_eq!(sources[&carol_url], "discovered");

    let b = Index::sqlite_with(dirs.1.path(), &["--peer", &a.url]);
    b.wait_for(&id);
    b.wait_for(&carol_id);
    let (_, list) = b.get("v1/repositories");
    assert!(
        list["repositories"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["source"] == "peer" && r["key"].is_string()),
        "B crawled each itself: {list:#}"
    );

    let bob = Home::new();
    bob.config(serde_json::json!({"index": {"urls": [a.url, b.url]}}));
    let json = bob.sig(&["lookup", "--json", "--id", &id]).expect(1).json();
    assert_eq!(
        json["result"]["attestations"].as_array().unwrap().len(),
        1,
        "{json:#}"
    );
    for index in json["indexes"].as_array().unwrap() {
        assert_eq!(index["checked"], 1, "{json:#}");
    }
}

/// A repository that serves an older copy than one the index accepted is dropped, with the
/// reason in the list; the words it published before stay.
#[test]
fn a_repository_that_rolls_back_is_dropped_with_its_reason() {
    let forge = Forge::new("Roller <r@example.org>");
    let id = format!("sha256:{}", "ab".repeat(32));
    let word = forge.attestation(&id, true, "fine", signet_tests::forge::ago(60));
    let server = TestServer::start();
    server.route("key.asc", Serve::File(forge.key_asc()));
    server.route(
        "repo.json",
        Serve::File(forge.repo(2, std::slice::from_ref(&word))),
    );
    let dir = tempfile::tempdir().unwrap();
    let index = Index::sqlite_with(dir.path(), &["--interval", "1"]);
    index.submit(&server.url());
    index.wait_for(&id);
    server.route("repo.json", Serve::File(forge.repo(1, &[word])));
    let dropped = signet_tests::wait_until(
        "the index to drop the repository",
        std::time::Duration::from_secs(30),
        || {
            let (_, list) = index.get("v1/repositories");
            list["repositories"][0]["dropped"]
                .as_str()
                .map(str::to_owned)
        },
    );
    assert!(dropped.contains("rollback"), "{dropped}");
    index.wait_for(&id);
    // Dropped stays dropped: no more requests for it.
    server.take_log();
    let (_, health) = index.get("v1/health");
    assert_eq!(health["attestations"], 1);
    std::thread::sleep(std::time::Duration::from_millis(2500)); // two intervals, no crawl
    assert!(
        server.take_log().is_empty(),
        "a dropped repository was fetched again"
    );
}

/// Two index processes share one PostgreSQL and crawl 100 repositories: every repository is
/// fetched once in the round, by one of them.
#[test]
fn two_indexes_on_one_postgresql_fetch_each_repository_once_a_round() {
    let Some(postgres) =
        Postgres::start("two_indexes_on_one_postgresql_fetch_each_repository_once_a_round")
    else {
        return;
    };
    let db = postgres.database("shared");
    let server = TestServer::start();
    let mut ids = Vec::new();
    for n in 0..100 {
        let forge = Forge::new(&format!("Publisher {n} <p{n}@example.org>"));
        let id = format!("sha256:{:064x}", n + 1);
        let word = forge.attestation(&id, true, "fine", signet_tests::forge::ago(60));
        server.route(&format!("r{n}/key.asc"), Serve::File(forge.key_asc()));
        server.route(
            &format!("r{n}/repo.json"),
            Serve::File(forge.repo(1, &[word])),
        );
        ids.push(id);
    }
    let flags = ["--crawlers", "8", "--submissions-per-minute", "1000"];
    let (first, second) = (Index::start(&db, &flags), Index::start(&db, &flags));
    for n in 0..100 {
        let index = if n % 2 == 0 { &first } else { &second };
        assert_eq!(index.submit(&format!("{}r{n}/", server.url())).0, 202);
    }
    signet_tests::wait_until(
        "both indexes to crawl all 100",
        std::time::Duration::from_secs(60),
        || {
            let (_, health) = second.get("v1/health");
            (health["attestations"] == 100).then_some(())
        },
    );
    let mut fetched: BTreeMap<String, usize> = BTreeMap::new();
    for (path, _) in server.take_log() {
        *fetched.entry(path).or_default() += 1;
    }
    let twice: Vec<_> = fetched.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "fetched more than once: {twice:?}");
    assert_eq!(fetched.len(), 200, "{fetched:?}");
    let found = first.post("v1/ids", &serde_json::json!({ "ids": ids }));
    assert_eq!(found.0, 200);
    let results = found.1["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .all(|r| r["attestations"].as_array().unwrap().len() == 1)
    );
}

/// A repository carrying a word by a key the index has no certificate for yet (a mirror, a
/// team's shared repository): once that key is learnt from its own repository, the word is
/// found at the next crawl, though the repository carrying it has not changed.
#[test]
fn a_word_whose_key_is_learnt_later_is_found_without_its_repository_changing() {
    let ago = signet_tests::forge::ago;
    let (mirror, carol) = (
        Forge::new("Mirror <m@example.org>"),
        Forge::new("Carol <carol@example.org>"),
    );
    let id = format!("sha256:{}", "cd".repeat(32));
    let own = format!("sha256:{}", "ce".repeat(32));
    let mirrored = carol.attestation(&id, true, "carol read it", ago(60));
    let mirror_server = TestServer::start();
    mirror_server.route("key.asc", Serve::File(mirror.key_asc()));
    mirror_server.route("repo.json", Serve::File(mirror.repo(1, &[mirrored])));
    let carol_server = TestServer::start();
    carol_server.route("key.asc", Serve::File(carol.key_asc()));
    let carols_own = carol.attestation(&own, true, "mine", ago(60));
    carol_server.route("repo.json", Serve::File(carol.repo(1, &[carols_own])));

    let dir = tempfile::tempdir().unwrap();
    let index = Index::sqlite_with(dir.path(), &["--interval", "1"]);
    index.submit(&mirror_server.url());
    signet_tests::wait_until(
        "the mirror to be crawled",
        std::time::Duration::from_secs(30),
        || {
            let (_, list) = index.get("v1/repositories");
            list["repositories"][0]["last_success"]
                .is_string()
                .then_some(())
        },
    );
    let (_, answer) = index.get(&format!("v1/ids/{id}"));
    assert_eq!(
        answer["results"][0]["attestations"],
        serde_json::json!([]),
        "a word by an unknown key is not held"
    );
    // Carol's own repository teaches the index her key.
    index.submit(&carol_server.url());
    index.wait_for(&own);
    let answer = index.wait_for(&id);
    let found = &answer["results"][0]["attestations"][0];
    assert_eq!(found["repository"], mirror_server.url(), "{answer:#}");
}

/// A repository that serves more than the index takes is cut off at its bound and its error
/// shown in the list, holding nothing of it back: the repository beside it is crawled. And one
/// address submits no more than the index's rate a minute.
#[test]
fn a_hostile_repository_is_bounded_and_submissions_are_rate_limited() {
    let good = Forge::new("Good <g@example.org>");
    let id = format!("sha256:{}", "cd".repeat(32));
    let word = good.attestation(&id, true, "fine", signet_tests::forge::ago(60));
    let server = TestServer::start();
    server.route("good/key.asc", Serve::File(good.key_asc()));
    server.route("good/repo.json", Serve::File(good.repo(1, &[word])));
    let hostile = Forge::new("Hostile <h@example.org>");
    server.route("huge/key.asc", Serve::File(hostile.key_asc()));
    // Past the index's 64 MiB for a repository.
    server.route("huge/repo.json", Serve::Huge(80 << 20));
    let dir = tempfile::tempdir().unwrap();
    let index = Index::sqlite_with(dir.path(), &["--submissions-per-minute", "3"]);
    let huge = format!("{}huge/", server.url());
    assert_eq!(index.submit(&huge).0, 202);
    assert_eq!(index.submit(&format!("{}good/", server.url())).0, 202);
    index.wait_for(&id);
    let error = signet_tests::wait_until(
        "the index to record the oversized repository's failure",
        std::time::Duration::from_secs(30),
        || {
            let (_, list) = index.get("v1/repositories");
            list["repositories"]
                .as_array()?
                .iter()
                .find(|r| r["url"] == huge.as_str())?["last_error"]
                .as_str()
                .map(str::to_owned)
        },
    );
    assert!(error.contains("max_repo_bytes"), "{error}");
    let (_, health) = index.get("v1/health");
    assert_eq!(health["attestations"], 1, "{health}");
    // The third submission this minute is taken; the fourth is refused, and not added.
    assert_eq!(index.submit(&format!("{}third/", server.url())).0, 202);
    let (status, answer) = index.submit(&format!("{}fourth/", server.url()));
    assert_eq!(status, 429, "{answer}");
    let (_, list) = index.get("v1/repositories");
    let listed: Vec<&str> = list["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["url"].as_str())
        .collect();
    assert!(!listed.iter().any(|u| u.ends_with("fourth/")), "{listed:?}");
}
