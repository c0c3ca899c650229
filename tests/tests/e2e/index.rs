//! The public index (`signet-index`), on SQLite and on a real PostgreSQL: real daemons publish
//! over HTTP, the index crawls them with the daemon's rules, and its answers carry the signed
//! attestations and certificates that a client checks itself.

use serde_json::Value;
use signet_tests::Home;
use signet_tests::index::{Index, Postgres};

/// Alice attests a file and publishes; the index is told of her repository and crawls it.
fn alice_publishing() -> (Home, String, String, String) {
    let alice = Home::new();
    alice.config(serde_json::json!({"sync": {"interval_secs": 0}}));
    let fpr = alice.setup("Alice <alice@example.org>");
    let file = alice.file("tool.sh", b"echo reviewed\n");
    alice.attest(&file, true, "read every line").expect(0);
    let url = alice.publish_http();
    let id = signet_tests::content_id(b"echo reviewed\n");
    (alice, fpr, url, id)
}

/// What the index answered for `id` is Alice's word as she signed it, with her certificate.
fn answers_alices_word(index: &Index, alice: &Home, fpr: &str, url: &str, id: &str) {
    let answer = index.wait_for(id);
    let found = &answer["results"][0];
    assert_eq!(found["id"], id);
    let attestations = found["attestations"].as_array().unwrap();
    assert_eq!(attestations.len(), 1, "{answer:#}");
    let published: Value = alice.read_repo()["data"]["attestations"][id][0].clone();
    assert_eq!(attestations[0]["attestation"], published, "not as signed");
    assert_eq!(attestations[0]["repository"], url);
    let certificate = answer["certificates"][fpr].as_str().unwrap_or_default();
    assert!(
        certificate.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"),
        "{answer:#}"
    );
    // By key, and in the repository list with its pin.
    let (status, by_key) = index.get(&format!("v1/keys/{fpr}"));
    assert_eq!(status, 200);
    assert_eq!(by_key["attestations"][0]["attestation"], published);
    let (_, list) = index.get("v1/repositories");
    let listed = &list["repositories"][0];
    assert_eq!(listed["url"], url);
    assert_eq!(listed["key"], fpr);
    assert_eq!(listed["attestations"], 1);
}

#[test]
fn the_index_on_sqlite_finds_who_vouched_for_a_file() {
    let (alice, fpr, url, id) = alice_publishing();
    let dir = tempfile::tempdir().unwrap();
    let index = Index::sqlite(dir.path());
    let (status, submitted) = index.submit(&url);
    assert_eq!(status, 202, "{submitted}");
    assert_eq!(submitted["new"], true);
    answers_alices_word(&index, &alice, &fpr, &url, &id);
    // A second submission changes nothing; an id nobody vouched for has no attestations.
    assert_eq!(index.submit(&url).0, 200);
    let (status, none) = index.get(&format!("v1/ids/sha256:{}", "0".repeat(64)));
    assert_eq!(status, 200);
    assert_eq!(none["results"][0]["attestations"], serde_json::json!([]));
    let (status, _) = index.get("v1/ids/not-an-id");
    assert_eq!(status, 400);
    let (_, health) = index.get("v1/health");
    assert_eq!(health["engine"], "sqlite");
    assert_eq!(health["attestations"], 1);
    // Submissions are rate-limited per address (30 a minute; two were made above).
    let refused = (0..29)
        .map(|n| index.submit(&format!("http://127.0.0.1:9/r{n}/")).0)
        .filter(|status| *status == 429)
        .count();
    assert_eq!(refused, 1);
    // Its log, written to a file, is plain text: no terminal colours.
    let log = index.log();
    assert!(log.contains("crawled"), "{log}");
    assert!(!log.contains('\u{1b}'), "{log:?}");
}

#[test]
fn the_index_on_postgresql_finds_who_vouched_for_a_file() {
    let Some(postgres) = Postgres::start("the_index_on_postgresql_finds_who_vouched_for_a_file")
    else {
        return;
    };
    let (alice, fpr, url, id) = alice_publishing();
    let index = Index::start(&postgres.database("index"), &[]);
    assert_eq!(index.submit(&url).0, 202);
    answers_alices_word(&index, &alice, &fpr, &url, &id);
    let (_, health) = index.get("v1/health");
    assert_eq!(health["engine"], "postgresql");
}

/// A database as the first version of the schema left it — Alice's repository and her word,
/// held under the content-id key that version had — opened by this index: moved forward, her
/// word is found by id and by key as before. Its repository is not due, so nothing is crawled.
fn a_version_1_database_is_moved_forward(db: &str) {
    let (alice, fpr, url, id) = alice_publishing();
    let published: Value = alice.read_repo()["data"]["attestations"][&id][0].clone();
    let envelope = published.to_string();
    let signed_at = "1796547611";
    signet_index::store::Store::prepare_at_version(
        db,
        1,
        &[
            (
                "INSERT INTO repositories (url, source, added, pinned, serial, attestations,
                     last_success, next_crawl) VALUES ($1, 'submitted', 0, $2, 1, 2,
                     '2026-12-06T09:00:00Z', 4102444800)",
                &[&url, &fpr],
            ),
            (
                &format!(
                    "INSERT INTO attestations (content_id, key, repository, signed_at, envelope,
                         seen) VALUES ($1, $2, $3, {signed_at}, $4, 1796547611)"
                ),
                &[&id, &fpr, &url, &envelope],
            ),
            (
                // Another word about another id, which must not be found for Alice's.
                "INSERT INTO attestations (content_id, key, repository, signed_at, envelope,
                     seen) VALUES ($1, $2, $3, 1, '{}', 1)",
                &[&format!("sha256:{}", "0".repeat(64)), &fpr, &url],
            ),
        ],
    )
    .unwrap();
    let index = Index::start(db, &[]);
    let answer = index.wait_for(&id);
    let attestations = answer["results"][0]["attestations"].as_array().unwrap();
    assert_eq!(attestations.len(), 1, "{answer:#}");
    assert_eq!(attestations[0]["attestation"], published);
    assert_eq!(attestations[0]["repository"], url);
    assert_eq!(attestations[0]["seen"], 1796547611);
    let (status, by_key) = index.get(&format!("v1/keys/{fpr}"));
    assert_eq!(status, 200);
    assert_eq!(by_key["attestations"].as_array().unwrap().len(), 2);
    let (_, health) = index.get("v1/health");
    assert_eq!(health["attestations"], 2);
    assert!(
        index.log().contains("the database's schema moved forward"),
        "{}",
        index.log()
    );
}

#[test]
fn a_version_1_database_on_sqlite_is_moved_forward() {
    let dir = tempfile::tempdir().unwrap();
    a_version_1_database_is_moved_forward(&format!(
        "sqlite:{}",
        dir.path().join("index.db").display()
    ));
}

#[test]
fn a_version_1_database_on_postgresql_is_moved_forward() {
    let Some(postgres) = Postgres::start("a_version_1_database_on_postgresql_is_moved_forward")
    else {
        return;
    };
    a_version_1_database_is_moved_forward(&postgres.database("index"));
}

/// Bob, who follows nobody, asks the index about a file Alice vouched for: her word is shown
/// with its signature checked, and counts only once Bob trusts her key; then the lookup
/// offers her repository to follow.
#[test]
fn a_lookup_shows_words_outside_your_web_and_counts_them_once_trusted() {
    let (alice, fpr, url, id) = alice_publishing();
    let dir = tempfile::tempdir().unwrap();
    let index = Index::sqlite(dir.path());
    index.submit(&url);
    index.wait_for(&id);

    let bob = Home::new();
    let run = bob.sig(&["lookup", "--id", &id]).expect(2);
    assert!(
        run.stderr.contains("no public index is configured"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("sig config index.urls"),
        "{}",
        run.stderr
    );
    // Set on the running daemon, as a user would.
    let urls = serde_json::json!([index.url]).to_string();
    bob.sig(&["config", "index.urls", &urls]).expect(0);
    let file = bob.file("tool.sh", b"echo reviewed\n");
    let run = bob.sig(&["lookup", file.to_str().unwrap()]).expect(1);
    assert!(
        run.stdout.contains("Alice <alice@example.org>"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("1 attestation served, 1 checked"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("follow"), "{}", run.stdout);
    let json = bob.sig(&["lookup", "--json", "--id", &id]).expect(1).json();
    let word = &json["result"]["attestations"][0];
    assert_eq!(word["trusted"], false);
    assert_eq!(word["source"], format!("found:{url}"));
    // `verify` alone knows nothing of it; `verify --index` asks the index as lookup does.
    bob.sig(&["verify", file.to_str().unwrap()]).expect(1);
    bob.sig(&["verify", "--index", file.to_str().unwrap()])
        .expect(1);
    // Her key was learnt from the answer (its word checked): Bob can trust it by fingerprint.
    bob.sig(&["trust", "add", &fpr]).expect(0);
    let run = bob
        .sig(&["verify", "--index", file.to_str().unwrap()])
        .expect(0);
    assert!(run.stdout.contains("is ok."), "{}", run.stdout);
    let run = bob.sig(&["lookup", file.to_str().unwrap()]).expect(0);
    assert!(
        run.stdout.contains(&format!("sig remote add NAME {url}")),
        "{}",
        run.stdout
    );
    // Following it, the word is held and counted without asking the index.
    bob.sig(&["remote", "add", "alice", &url]).expect(0);
    bob.sig(&["fetch"]).expect(0);
    bob.sig(&["verify", file.to_str().unwrap()]).expect(0);
    let run = bob.sig(&["lookup", file.to_str().unwrap()]).expect(0);
    assert!(!run.stdout.contains("sig remote add"), "{}", run.stdout);
    drop(alice);
}

/// An index that lies is caught each way, and its lies change nothing Bob holds: altered
/// data, a certificate filed under another key, an answer about another id, a withheld
/// revocation. The lying index is a real HTTP server serving what an honest index answered,
/// altered.
#[test]
fn a_lying_index_is_caught_each_way_and_changes_nothing_held() {
    use signet_tests::http::{Serve, TestServer};
    let (alice, fpr, url, id) = alice_publishing();
    let dir = tempfile::tempdir().unwrap();
    let index = Index::sqlite(dir.path());
    index.submit(&url);
    let honest = index.wait_for(&id);
    let mallory = Home::new();
    let mallory_fpr = mallory.setup("Mallory <m@example.org>");
    let mallory_cert = std::fs::read_to_string(mallory.repo_dir().join("key.asc")).unwrap();

    let liar = TestServer::start();
    let path = format!("v1/ids/{id}");
    let bob = Home::new();
    bob.config(
        serde_json::json!({"index": {"urls": [format!("{}/", liar.url().trim_end_matches('/'))]}}),
    );
    let serve = |answer: &Value| liar.route(&path, Serve::File(answer.to_string().into_bytes()));
    let lookup = |expect: i32| {
        bob.sig(&["lookup", "--json", "--id", &id])
            .expect(expect)
            .json()
    };
    let problems = |answer: &Value| answer["indexes"][0]["problems"].to_string();

    // Altered data: the comment changed under the signature.
    let mut altered = honest.clone();
    let envelope = &mut altered["results"][0]["attestations"][0]["attestation"];
    envelope["data"]["comment"] = "nothing to see".into();
    serve(&altered);
    let answer = lookup(1);
    assert!(problems(&answer).contains("does not check"), "{answer:#}");
    assert_eq!(answer["result"]["attestations"], serde_json::json!([]));

    // A certificate filed under Alice's fingerprint that is Mallory's key.
    let mut swapped = honest.clone();
    swapped["certificates"] = serde_json::json!({ &fpr: mallory_cert });
    serve(&swapped);
    let answer = lookup(1);
    assert!(problems(&answer).contains("another key's"), "{answer:#}");
    assert!(problems(&answer).contains(&mallory_fpr), "{answer:#}");
    let keys = bob.sig(&["keys", "--json"]).expect(0).stdout;
    assert!(
        !keys.contains(&mallory_fpr),
        "a liar's key was learnt: {keys}"
    );

    // An answer about another id.
    let mut other = honest.clone();
    other["results"][0]["id"] = format!("sha256:{}", "1".repeat(64)).into();
    serve(&other);
    let answer = lookup(1);
    assert!(problems(&answer).contains("when asked about"), "{answer:#}");

    // The honest answer: Alice's word, checked, her key learnt; Bob trusts her.
    serve(&honest);
    lookup(1);
    bob.sig(&["trust", "add", &fpr]).expect(0);
    lookup(0);

    // Alice's key is stolen and she revokes it; Bob hears of it from her repository. An
    // index serving her certificate as it was before is caught withholding the revocation,
    // and her word stays void.
    alice
        .sig(&["revoke", "--reason", "compromised", "--yes"])
        .expect(0);
    bob.sig(&["remote", "add", "alice", &url]).expect(0);
    bob.sig(&["fetch"]).expect(0);
    let answer = lookup(1);
    assert!(
        problems(&answer).contains("lacks a revocation"),
        "{answer:#}"
    );
    assert_eq!(
        answer["result"]["attestations"][0]["revoked"], true,
        "{answer:#}"
    );
}

/// `sig deps --index` asks the index about a whole lockfile in one batch (issue 26): an npm
/// package Alice reviewed is found by its sha512 in package-lock.json, shown until Bob trusts
/// her and counted after, with nothing followed.
#[test]
fn deps_asks_the_index_about_a_whole_lockfile_and_finds_an_npm_package_by_sha512() {
    let alice = Home::new();
    alice.config(serde_json::json!({"sync": {"interval_secs": 0}}));
    let fpr = alice.setup("Alice <alice@example.org>");
    let tarball = signet_tests::fixture("packages/is-number-7.0.0.tgz");
    alice
        .sig(&["attest", &tarball, "--ok", "--reviewed"])
        .expect(0);
    let url = alice.publish_http();
    let lock = signet_tests::fixture("lockfiles/npm/package-lock.json");
    let text = std::fs::read_to_string(&lock).unwrap();
    let deps = signet_client::lockfile::package_lock(&text).unwrap();
    let is_number = deps.iter().find(|d| d.name == "is-number").unwrap();
    let sha512 = is_number.ids()[0].to_string();
    assert!(sha512.starts_with("sha512:"));

    let dir = tempfile::tempdir().unwrap();
    let index = Index::sqlite(dir.path());
    index.submit(&url);
    index.wait_for(&sha512);

    let bob = Home::new();
    let urls = serde_json::json!([index.url]).to_string();
    bob.sig(&["config", "index.urls", &urls]).expect(0);
    let lock = lock.as_str();
    let line = |verdict: &str| format!("{verdict:<10} is-number 7.0.0");
    let run = bob.sig(&["deps", lock]).expect(1);
    assert!(run.stdout.contains(&line("unverified")), "{}", run.stdout);
    // Found, checked, shown — not counted: Alice is outside Bob's web.
    let json = bob
        .sig(&["deps", "--index", "--json", lock])
        .expect(1)
        .json();
    let found = json["lockfiles"][0]["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "is-number")
        .unwrap()
        .clone();
    assert_eq!(found["verdict"], "unverified", "{found:#}");
    let word = &found["results"][0]["attestations"][0];
    assert_eq!(word["source"], format!("found:{url}"), "{found:#}");
    assert_eq!(word["subject"], "npm/is-number@7.0.0");
    assert_eq!(word["trusted"], false);
    bob.sig(&["trust", "add", &fpr]).expect(0);
    let run = bob.sig(&["deps", "--index", lock]).expect(1);
    assert!(run.stdout.contains(&line("ok")), "{}", run.stdout);
    assert!(
        run.stderr.contains(&format!("sig remote add NAME {url}")),
        "{}",
        run.stderr
    );
    // Without the index, Bob holds nothing of it still.
    let run = bob.sig(&["deps", lock]).expect(1);
    assert!(run.stdout.contains(&line("unverified")), "{}", run.stdout);

    // A project's signet.toml names the index and the key: a home with nothing configured
    // asks that index and counts Alice's word.
    let project = tempfile::tempdir().unwrap();
    std::fs::copy(lock, project.path().join("package-lock.json")).unwrap();
    let policy = format!(
        "[[trust]]\nkey = \"{fpr}\"\n\n[index]\nurls = [\"{}\"]\n",
        index.url
    );
    std::fs::write(project.path().join("signet.toml"), policy).unwrap();
    let ci = Home::new();
    let run = ci
        .sig(&["deps", "--index", project.path().to_str().unwrap()])
        .expect(1);
    assert!(run.stdout.contains(&line("ok")), "{}", run.stdout);
}

/// As it runs by default, an index crawls public addresses only: a repository submitted at a
/// loopback address (or one a name resolves to, as a rebinding attack would make it) is never
/// fetched, and the repository list says why.
#[test]
fn by_default_the_index_never_crawls_a_private_address() {
    let (_alice, _fpr, url, id) = alice_publishing();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("index.db").display());
    let index = Index::start_public(&db);
    let (status, submitted) = index.submit(&url);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let listed = loop {
        let (_, list) = index.get("v1/repositories");
        let listed = list["repositories"]
            .as_array()
            .and_then(|r| r.first().cloned());
        match listed {
            Some(r) if !r["last_error"].is_null() || !r["dropped"].is_null() => break Some(r),
            // Refused at the door: never listed at all.
            None if status >= 400 => break None,
            _ => {}
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no crawl outcome for {url} ({status} {submitted}):\n{}",
            index.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    if let Some(r) = listed {
        let why = format!("{} {}", r["last_error"], r["dropped"]);
        assert!(
            why.contains("private") || why.contains("public"),
            "the reason is said: {r:#}"
        );
        assert!(r["key"].is_null(), "nothing was taken from it: {r:#}");
    } else {
        assert!(submitted.to_string().contains("public"), "{submitted}");
    }
    let (_, answer) = index.get(&format!("v1/ids/{id}"));
    assert_eq!(answer["results"][0]["attestations"], serde_json::json!([]));
    drop(index);

    // Nor one a peer's list names: listed, dropped with the reason, nothing taken from it.
    let peer_dir = tempfile::tempdir().unwrap();
    let peer = Index::sqlite(peer_dir.path());
    peer.submit(&url);
    peer.wait_for(&id);
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("index.db").display());
    let index = Index::start_public_with(&db, &["--peer", &peer.url]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let dropped = loop {
        let (_, list) = index.get("v1/repositories");
        if let Some(r) = list["repositories"].as_array().and_then(|r| r.first())
            && !r["dropped"].is_null()
        {
            break r.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the peer's repository was not judged:\n{}",
            index.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(dropped["url"], url);
    assert!(
        dropped["dropped"]
            .as_str()
            .unwrap()
            .contains("not a public address"),
        "{dropped:#}"
    );
    assert!(dropped["key"].is_null(), "{dropped:#}");
    let (_, answer) = index.get(&format!("v1/ids/{id}"));
    assert_eq!(answer["results"][0]["attestations"], serde_json::json!([]));
}

/// A repository in the large-publisher layout (docs/FORMATS.md, "Parts") is crawled through
/// its parts: every word in them found, as signed.
#[test]
fn the_index_crawls_a_repository_published_in_parts() {
    let registry = Home::new();
    registry
        .config(serde_json::json!({"sync": {"interval_secs": 0}, "publish": {"parts_above": 10}}));
    let fpr = registry.setup("Big Registry <registry@example.org>");
    let files: Vec<_> = (0..40)
        .map(|i| registry.file(&format!("f{i}"), format!("file {i}\n").as_bytes()))
        .collect();
    let mut args = vec!["attest", "--ok", "--reviewed", "--comment", "read"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    registry.sig(&args).expect(0);
    assert!(registry.read_repo()["data"]["parts"].is_array());
    let url = registry.publish_http();
    let dir = tempfile::tempdir().unwrap();
    let index = Index::sqlite(dir.path());
    assert_eq!(index.submit(&url).0, 202);
    for i in [0, 39] {
        let id = signet_tests::content_id(format!("file {i}\n").as_bytes());
        let answer = index.wait_for(&id);
        let found = &answer["results"][0]["attestations"][0]["attestation"];
        assert_eq!(found["key"], fpr.as_str(), "{answer:#}");
        assert_eq!(found["data"]["id"], id.as_str());
    }
    let (_, list) = index.get("v1/repositories");
    assert_eq!(list["repositories"][0]["attestations"], 40, "{list:#}");
    // Health sums the repositories' counts: the same 40.
    assert_eq!(index.get("v1/health").1["attestations"], 40);
}
