//! How a remote's words are read when they are odd rather than hostile: text the JSON
//! parser must take apart word by word, words whose key comes later, copies without a serial,
//! unreviewed words and a tolerance for NOT ok. Real daemons, real HTTP servers on 127.0.0.1.

use serde_json::json;
use signet_tests::forge::{Forge, ago};
use signet_tests::http::{Serve, TestServer};
use signet_tests::{Gpg, Home};

fn id_of(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

/// An unpaired surrogate (`\ud800`, which Python's json reads) in one attestation's comment
/// costs that attestation, counted as malformed; the rest of the remote counts.
#[test]
fn an_unpaired_surrogate_costs_one_attestation_not_the_remote() {
    let bob = Forge::new("Bob <bob@example.org>");
    let (bad, good) = (id_of(0x81), id_of(0x82));
    let odd = bob.signed_text(
        &format!(r#"{{"comment": "x\ud800y", "id": "{bad}", "ok": true, "reviewed": true}}"#),
        ago(60),
    );
    let server = TestServer::start();
    server.route(
        "repo.json",
        Serve::File(bob.repo(1, &[odd, bob.attestation(&good, true, "fine", ago(60))])),
    );
    server.route("key.asc", Serve::File(bob.key_asc()));
    let alice = Home::follower("bob", &server.url());
    let fetched = alice.sig(&["fetch", "--json"]).expect(0).json();
    assert_eq!(fetched["results"][0]["outcome"], "updated", "{fetched}");
    assert_eq!(fetched["results"][0]["attestations"], 1, "{fetched}");
    assert_eq!(fetched["results"][0]["rejected"], 1, "{fetched}");
    alice.sig(&["trust", "add", &bob.fingerprint()]).expect(0);
    alice.sig(&["verify", "--id", &good]).expect(0);
    alice.sig(&["verify", "--id", &bad]).expect(1);
}

/// An attestation carried by one remote for a key first fetched from another counts as soon
/// as that key arrives, not after a restart: a trusted "not ok" must never stay unseen.
#[test]
fn an_attestation_waiting_for_its_key_counts_once_the_key_arrives() {
    let bob = Forge::new("Bob <bob@example.org>");
    let carrier = Forge::new("Carrier <c@example.org>");
    let id = id_of(0x91);
    let carried = TestServer::start();
    carried.route(
        "repo.json",
        Serve::File(carrier.repo(1, &[bob.attestation(&id, false, "backdoor", ago(60))])),
    );
    carried.route("key.asc", Serve::File(carrier.key_asc()));
    let bobs = TestServer::start();
    bobs.route("repo.json", Serve::File(bob.repo(1, &[])));
    bobs.route("key.asc", Serve::File(bob.key_asc()));
    let alice = Home::follower("carrier", &carried.url());
    alice.sig(&["remote", "add", "bob", &bobs.url()]).expect(0);
    let first = alice.sig(&["fetch", "carrier", "--json"]).expect(0).json();
    assert_eq!(first["results"][0]["rejected"], 1, "unknown key: {first}");
    alice.sig(&["fetch", "bob"]).expect(0);
    alice.sig(&["trust", "add", &bob.fingerprint()]).expect(0);
    alice.sig(&["verify", "--id", &id]).expect(3);
}

/// The reference implementation writes no serial: its updates are ordered by when the
/// repository was signed (newer taken, older refused as a rollback), never refused as
/// equivocation.
#[test]
fn serial_less_copies_are_ordered_by_signature_time() {
    let gpg = Gpg::new();
    let fpr = gpg.generate_signing_primary("Reference <ref@example.org>");
    let (first, second) = (id_of(0xa1), id_of(0xa2));
    let att = |id: &str| {
        gpg.signed_text(
            &fpr,
            &format!(r#"{{"comment": "fine", "id": "{id}", "ok": true, "reviewed": true}}"#),
            false,
        )
    };
    let (a1, a2) = (att(&first), att(&second));
    let v1 = gpg.signed_text(
        &fpr,
        &format!(r#"{{"attestations": {{"{first}": [{a1}]}}, "version": "0.0.1"}}"#),
        false,
    );
    gpg.set_clock(5); // a later second
    let v2 = gpg.signed_text(
        &fpr,
        &format!(
            r#"{{"attestations": {{"{first}": [{a1}], "{second}": [{a2}]}}, "version": "0.0.1"}}"#
        ),
        false,
    );
    let server = TestServer::start();
    server.route("key.asc", Serve::File(gpg.export(&fpr)));
    server.route("repo.json", Serve::File(v1.clone().into_bytes()));
    let alice = Home::follower("ref", &server.url());
    alice.sig(&["fetch"]).expect(0);
    alice.sig(&["trust", "add", &fpr]).expect(0);
    alice.sig(&["verify", "--id", &second]).expect(1);
    server.route("repo.json", Serve::File(v2.into_bytes()));
    let run = alice.sig(&["fetch"]).expect(0);
    assert!(run.stdout.contains("ref: updated"), "{}", run.stdout);
    alice.sig(&["verify", "--id", &second]).expect(0);
    server.route("repo.json", Serve::File(v1.into_bytes()));
    let run = alice.sig(&["fetch"]);
    assert!(
        run.stderr.contains("rollback"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    alice.sig(&["verify", "--id", &second]).expect(0);
}

/// Unreviewed attestations are shown and never counted, as in the reference; the reference's
/// not-ok tolerance is `verify.max_not_ok`.
#[test]
fn unreviewed_words_never_count_and_not_ok_has_a_tolerance() {
    let (bob, carol) = (
        Forge::new("Bob <bob@example.org>"),
        Forge::new("Carol <c@example.org>"),
    );
    let (unreviewed, disputed) = (id_of(0xb1), id_of(0xb2));
    let unreviewed_ok = bob.signed_text(
        &format!(r#"{{"comment": "", "id": "{unreviewed}", "ok": true, "reviewed": false}}"#),
        ago(60),
    );
    let server = TestServer::start();
    server.route(
        "repo.json",
        Serve::File(bob.repo(
            1,
            &[
                unreviewed_ok,
                bob.attestation(&disputed, true, "fine", ago(60)),
                carol.attestation(&disputed, false, "not fine", ago(60)),
            ],
        )),
    );
    server.route("key.asc", Serve::File(bob.key_asc()));
    let carols = TestServer::start();
    carols.route("repo.json", Serve::File(carol.repo(1, &[])));
    carols.route("key.asc", Serve::File(carol.key_asc()));
    let alice = Home::follower("carol", &carols.url());
    alice.sig(&["fetch"]).expect(0);
    alice
        .sig(&["remote", "add", "bob", &server.url()])
        .expect(0);
    alice.sig(&["fetch", "bob"]).expect(0);
    alice.sig(&["trust", "add", &bob.fingerprint()]).expect(0);
    alice.sig(&["trust", "add", &carol.fingerprint()]).expect(0);
    let run = alice.sig(&["verify", "--id", &unreviewed]).expect(1);
    assert!(
        run.stdout.contains("not reviewed: it does not count"),
        "{}",
        run.stdout
    );
    alice.sig(&["verify", "--id", &disputed]).expect(3);
    alice.sig(&["daemon", "stop"]).expect(0);
    alice.config(json!({"sync": {"interval_secs": 0}, "verify": {"max_not_ok": 1}}));
    alice.sig(&["verify", "--id", &disputed]).expect(0);
}
