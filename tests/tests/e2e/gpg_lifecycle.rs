//! Key lifecycle on the verify side, with keys made by gpg: a revocation published in a
//! remote's key.asc makes that key's attestations stop counting (shown as revoked); an
//! attestation made while the key was alive stays valid after the key expires.

use signet_tests::http::{Serve, TestServer};
use signet_tests::{Gpg, Home};

/// Both shapes of key gpg makes: a certification primary with a signing subkey, and GnuPG's
/// classic key whose primary key signs (`[SC]`). For the latter the revocation once made every
/// signature look forged: the whole fetch was refused and the old copy kept counting.
#[test]
fn a_published_revocation_stops_the_keys_attestations_counting() {
    for classic in [false, true] {
        let gpg = Gpg::new();
        let user_id = "Soon Revoked <r@example.org>";
        let fpr = if classic {
            gpg.generate_signing_primary(user_id)
        } else {
            gpg.generate(user_id, "ed25519", "")
        };
        let id = format!("sha256:{}", "ab".repeat(32));
        let server = TestServer::start();
        server.route("repo.json", Serve::File(gpg.repo_with_one(&fpr, &id)));
        server.route("key.asc", Serve::File(gpg.export(&fpr)));
        let alice = Home::follower("ref", &server.url());
        alice.sig(&["fetch"]).expect(0);
        alice.sig(&["trust", "add", &fpr]).expect(0);
        alice.sig(&["verify", "--id", &id]).expect(0);

        // The owner revokes the key and publishes the revocation; repo.json stays as it was.
        gpg.revoke(&fpr);
        server.route("key.asc", Serve::File(gpg.export(&fpr)));
        let run = alice.sig(&["fetch"]).expect(0);
        assert!(
            run.stdout.contains("ref: updated"),
            "classic {classic}: {}",
            run.stdout
        );
        let run = alice.sig(&["verify", "--id", &id]).expect(1);
        assert!(
            run.stdout
                .contains(&format!("revoked [{}] Soon Revoked", &fpr[32..])),
            "classic {classic}: {}",
            run.stdout
        );
        let doc = alice
            .sig(&["verify", "--json", "--id", &id])
            .expect(1)
            .json();
        assert_eq!(doc["attestations"][0]["revoked"], true, "classic {classic}");
        // And after a restart, from the stored copy.
        alice.sig(&["daemon", "stop"]).expect(0);
        alice.sig(&["verify", "--id", &id]).expect(1);
    }
}

#[test]
fn attestations_made_while_the_key_was_alive_survive_its_expiry() {
    let gpg = Gpg::new();
    // Made, given five minutes to live and used, all an hour ago: expired for 55 minutes now.
    // Each gpg run starts on the clock set for it, so each step is set a little later.
    gpg.set_clock(-3600);
    let fpr = gpg.generate("Expiring <e@example.org>", "rsa3072", "");
    gpg.set_clock(-3500);
    gpg.run(&["--quick-set-expire", &fpr, "seconds=300"]);
    gpg.set_clock(-3450);
    let id = format!("sha256:{}", "cd".repeat(32));
    let repo = gpg.repo_with_one(&fpr, &id);
    let key = gpg.export(&fpr);
    gpg.set_clock(0);

    let server = TestServer::start();
    server.route("repo.json", Serve::File(repo));
    server.route("key.asc", Serve::File(key));
    let alice = Home::follower("ref", &server.url());
    alice.sig(&["fetch"]).expect(0);
    alice.sig(&["trust", "add", &fpr]).expect(0);
    alice.sig(&["verify", "--id", &id]).expect(0);
}
