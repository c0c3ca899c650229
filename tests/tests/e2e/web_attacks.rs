//! The third attack pass on the web of trust: each test plays one finding against real daemons
//! publishing over HTTP on 127.0.0.1, and fails on the code before its fix.

use signet_tests::Home;
use signet_tests::forge::Forge;
use signet_tests::http::{Serve, TestServer};

/// A home with a key and no scheduled sync.
fn home(user_id: &str) -> (Home, String) {
    let home = Home::new();
    home.config(serde_json::json!({"sync": {"interval_secs": 0}}));
    let fpr = home.setup(user_id);
    (home, fpr)
}

/// A trusted key publishes trust in another, then takes it back (`sig trust remove`). A
/// repository nobody trusts replays the signed statement it took back: it must stay taken
/// back. Before: the withdrawal deleted the statement, so the replayed copy was the key's
/// newest word and made the other key trusted again.
#[test]
fn a_withdrawn_trust_statement_replayed_elsewhere_stays_withdrawn() {
    let (bob, bob_fpr) = home("Bob <bob@example.org>");
    let file = bob.file("lib.c", b"int lib;");
    bob.attest(&file, true, "reviewed").expect(0);
    let bob_url = bob.publish_http();
    let (ann, ann_fpr) = home("Ann <ann@example.org>");
    ann.sig(&["trust", "add", &bob_fpr, "--publish"]).expect(0);
    let ann_url = ann.publish_http();

    let (you, _) = home("You <you@example.org>");
    you.sig(&["trust", "add", &ann_fpr, "--level", "high"])
        .expect(0);
    you.sig(&["remote", "add", "ann", &ann_url]).expect(0);
    you.sig(&["remote", "add", "bob", &bob_url]).expect(0);
    you.sig(&["fetch"]).expect(0);
    std::fs::copy(&file, you.root.join("lib.c")).unwrap();
    you.sig(&["verify", "lib.c"]).expect(0);

    let id = format!("openpgp:{bob_fpr}");
    let statement = ann.read_repo()["data"]["attestations"][&id][0].to_string();
    ann.sig(&["trust", "remove", &bob_fpr]).expect(0);
    let withdrawal = &ann.read_repo()["data"]["attestations"][&id][0];
    assert_eq!(withdrawal["data"]["withdrawn"], true, "{withdrawal:#}");
    you.sig(&["fetch", "ann"]).expect(0);
    you.sig(&["verify", "lib.c"]).expect(1);

    // Mallory, whom nobody trusts, serves Ann's old statement, genuinely signed by Ann.
    let mallory = Forge::new("Mallory <m@example.org>");
    let server = TestServer::start();
    server.route("key.asc", Serve::File(mallory.key_asc()));
    server.route("repo.json", Serve::File(mallory.repo(1, &[statement])));
    you.sig(&["remote", "add", "mallory", &server.url()])
        .expect(0);
    you.sig(&["fetch", "mallory"]).expect(0);
    let run = you.sig(&["verify", "--why", "lib.c"]).expect(1);
    assert!(run.stdout.contains("not counted"), "{}", run.stdout);
    let why = you.sig(&["trust", "why", &bob_fpr]).expect(0).stdout;
    assert!(why.contains("no key you trust vouches for it"), "{why}");
}

/// A short key id names whichever key ends so: one made to match in seconds. Trust and
/// distrust take 16 hex digits or more. Before: `trust add` with the last 8 digits trusted the
/// only known key with them, whoever made it.
#[test]
fn trust_is_given_by_sixteen_hex_digits_or_more() {
    let (bob, bob_fpr) = home("Bob <bob@example.org>");
    let url = bob.publish_http();
    let (you, _) = home("You <you@example.org>");
    you.sig(&["remote", "add", "bob", &url]).expect(0);
    you.sig(&["fetch"]).expect(0);
    for short in [&bob_fpr[32..], &bob_fpr[26..]] {
        for args in [
            vec!["trust", "add", short],
            vec!["distrust", short, "--comment", "x"],
        ] {
            let run = you.sig(&args).expect(2);
            assert!(
                run.stderr.contains("too short to trust by")
                    && run.stderr.contains("16 or more hex digits"),
                "{args:?}: {}",
                run.stderr
            );
        }
    }
    assert!(
        you.sig(&["trust", "list", "--json"]).expect(0).json()["trusted"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    you.sig(&["trust", "add", &bob_fpr[24..]]).expect(0);
}
