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
