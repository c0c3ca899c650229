//! Keys that can be lost: `sig revoke` by the owner, published in `key.asc`, for a key Signet
//! holds and for one in GnuPG; hard revocations (compromised, no reason) void every word of the
//! key, soft ones (superseded, retired) only those signed from then on.

use signet_tests::{Gpg, Home};

/// Bob, publishing over HTTP, with two files he vouched for; Alice follows and trusts him.
struct Pair {
    bob: Home,
    alice: Home,
    bob_fpr: String,
    early: std::path::PathBuf,
}

/// Bob's home dates what it signs an hour back, so that what others sign now is later than his
/// revocation, without waiting for the clock.
fn pair() -> Pair {
    let bob = Home::dated(-3600);
    bob.config(serde_json::json!({"sync": {"interval_secs": 0}}));
    let bob_fpr = bob.setup("Bob <bob@example.org>");
    let early = bob.file("early.c", b"int early;");
    bob.attest(&early, true, "read it").expect(0);
    let url = bob.publish_http();
    let alice = Home::follower("bob", &url);
    alice.sig(&["fetch"]).expect(0);
    alice.sig(&["trust", "add", &bob_fpr]).expect(0);
    std::fs::copy(&early, alice.root.join("early.c")).unwrap();
    alice.sig(&["verify", "early.c"]).expect(0);
    Pair {
        bob,
        alice,
        bob_fpr,
        early,
    }
}

#[test]
fn a_compromised_key_revoked_by_its_owner_stops_counting_everywhere() {
    let Pair {
        bob,
        alice,
        bob_fpr,
        ..
    } = pair();
    // Nothing is revoked without a confirmation: standard input is no terminal here.
    let run = bob.sig(&["revoke"]).expect(2);
    assert!(run.stderr.contains("pass --yes"), "{}", run.stderr);

    let run = bob
        .sig(&[
            "revoke",
            "--reason",
            "compromised",
            "--comment",
            "laptop stolen",
            "--yes",
        ])
        .expect(0);
    assert!(
        run.stdout.contains(&format!("Revoked key {bob_fpr}"))
            && run.stdout.contains("compromised"),
        "{}",
        run.stdout
    );
    // The published key.asc carries the revocation; Bob's home signs nothing more.
    let run = bob
        .attest(&bob.file("later.c", b"int later;"), true, "x")
        .expect(2);
    assert!(
        run.stderr.contains("revoked") && run.stderr.contains("sig setup --force"),
        "{}",
        run.stderr
    );

    alice.sig(&["fetch"]).expect(0);
    let run = alice.sig(&["verify", "early.c"]).expect(1);
    assert!(
        run.stdout.contains(&format!(
            "revoked [{}] Bob <bob@example.org> (its key was revoked as compromised",
            &bob_fpr[32..]
        )) && run.stdout.contains("\"laptop stolen\""),
        "{}",
        run.stdout
    );
    let run = alice.sig(&["verify", "--why", "early.c"]).expect(1);
    assert!(
        run.stdout.contains("none of its words count")
            && run.stdout.contains("— not counted: its key is revoked"),
        "{}",
        run.stdout
    );
    let doc = alice.sig(&["verify", "--json", "early.c"]).expect(1).json();
    let a = &doc["attestations"][0];
    assert_eq!(a["revoked"], true);
    assert_eq!(a["revocation"]["reason"], "compromised");
    assert_eq!(a["revocation"]["comment"], "laptop stolen");

    // The revocation survives Bob's restart (his key file holds it) and a new key after it.
    bob.sig(&["daemon", "stop"]).expect(0);
    bob.attest(&bob.file("later.c", b"int later;"), true, "x")
        .expect(2);
    bob.sig(&["setup", "--force", "--generate", "Bob <bob@example.org>"])
        .expect(0);
    bob.attest(&bob.file("later.c", b"int later;"), true, "new key")
        .expect(0);
}

/// A soft revocation (retired, superseded) leaves the words made before it counting; a word
/// dated after it — by whoever still holds the secret — is void. Then a hard one voids all.
#[test]
fn a_retired_key_keeps_its_earlier_words_and_loses_later_ones() {
    let Pair {
        bob,
        alice,
        bob_fpr,
        early,
    } = pair();
    // Someone keeps a copy of Bob's secret key from before the revocation, and publishes.
    let copy = Home::new();
    copy.config(serde_json::json!({"sync": {"interval_secs": 0}}));
    copy.sig(&[
        "setup",
        "--import",
        bob.home.join("keys/secret.asc").to_str().unwrap(),
    ])
    .expect(0);

    bob.sig(&["revoke", "--reason", "retired", "--yes"])
        .expect(0);
    alice.sig(&["fetch"]).expect(0);
    let run = alice.sig(&["verify", "early.c"]).expect(0);
    assert!(
        run.stdout.contains("(its key was retired at ")
            && run.stdout.contains("this word is older and stands"),
        "{}",
        run.stdout
    );

    // The copy signs after the revocation (it never saw it); Alice, who has, voids that word.
    let late = copy.file("late.c", b"int late;");
    copy.attest(&late, true, "signed after retirement")
        .expect(0);
    let copy_url = copy.publish_http();
    alice.sig(&["remote", "add", "copy", &copy_url]).expect(0);
    alice.sig(&["fetch", "copy"]).expect(0);
    std::fs::copy(&late, alice.root.join("late.c")).unwrap();
    let run = alice.sig(&["verify", "--why", "late.c"]).expect(1);
    assert!(
        run.stdout
            .contains(&format!("revoked [{}]", &bob_fpr[32..]))
            && run.stdout.contains("this word was signed after that"),
        "{}",
        run.stdout
    );
    // The earlier word still stands, whichever copy of the key Alice got last.
    alice.sig(&["verify", "early.c"]).expect(0);

    // Then Bob learns it was stolen: compromised voids the earlier word too.
    bob.sig(&["revoke", "--reason", "compromised", "--yes"])
        .expect(0);
    alice.sig(&["fetch", "bob"]).expect(0);
    alice.sig(&["verify", "early.c"]).expect(1);
    drop(early);
}

/// A key in GnuPG is revoked by GnuPG; `sig revoke` says how, then publishes what GnuPG holds.
/// `sig setup` of the revoked key explains instead of only refusing.
#[test]
fn a_gnupg_key_revoked_in_gnupg_is_published_by_sig_revoke() {
    let gpg = Gpg::new();
    let fpr = gpg.generate("Gpg Bob <gbob@example.org>", "ed25519", "");
    let bob = Home::new();
    bob.config(serde_json::json!({"sync": {"interval_secs": 0}}));
    bob.sig_with_gpg(&gpg, &[], &["setup", &fpr]).expect(0);
    let file = bob.file("f.c", b"int f;");
    bob.sig_with_gpg(
        &gpg,
        &[],
        &[
            "attest",
            file.to_str().unwrap(),
            "--ok",
            "--reviewed",
            "--comment",
            "ok",
        ],
    )
    .expect(0);
    let url = bob.publish_http();
    let alice = Home::follower("bob", &url);
    alice.sig(&["fetch"]).expect(0);
    alice.sig(&["trust", "add", &fpr]).expect(0);
    std::fs::copy(&file, alice.root.join("f.c")).unwrap();
    alice.sig(&["verify", "f.c"]).expect(0);

    // Not revoked in GnuPG yet: sig says how, and nothing changes.
    let run = bob.sig_with_gpg(&gpg, &[], &["revoke", "--yes"]).expect(2);
    assert!(
        run.stderr.contains("GnuPG holds no revocation")
            && run.stderr.contains(&format!("openpgp-revocs.d/{fpr}.rev")),
        "{}",
        run.stderr
    );
    let run = bob
        .sig_with_gpg(&gpg, &[], &["revoke", "--reason", "retired", "--yes"])
        .expect(2);
    assert!(run.stderr.contains("leave out --reason"), "{}", run.stderr);
    alice.sig(&["fetch"]).expect(0);
    alice.sig(&["verify", "f.c"]).expect(0);

    // The owner imports the revocation certificate gpg made (no reason given: hard).
    gpg.revoke(&fpr);
    let run = bob.sig_with_gpg(&gpg, &[], &["revoke", "--yes"]).expect(0);
    assert!(run.stdout.contains("unspecified"), "{}", run.stdout);
    alice.sig(&["fetch"]).expect(0);
    let run = alice.sig(&["verify", "f.c"]).expect(1);
    assert!(
        run.stdout.contains("revoked as unspecified"),
        "{}",
        run.stdout
    );

    // Setting the revoked key up again explains what to do.
    let other = Home::new();
    let run = other.sig_with_gpg(&gpg, &[], &["setup", &fpr]).expect(2);
    assert!(
        run.stderr.contains("is revoked") && run.stderr.contains("`sig revoke`"),
        "{}",
        run.stderr
    );
}
