//! What a newcomer meets first: prompts that ask only a person at a terminal and never leave a
//! script waiting, hints where `sig` waits, colour on a terminal only, the reason for a NOT ok,
//! global flags anywhere, and a warning beside every verdict while a verdict input is damaged.
//! The terminal is a real pseudo-terminal (`signet_tests::terminal`).

use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

use signet_tests::terminal::Terminal;
use signet_tests::{Home, Run, wait_until};

/// At a terminal, `sig attest` asks the seed's three questions. In a script whose standard
/// input stays open (a CI step), the flags answer the verdict and the comment is not waited
/// for: before, it asked "Comment:" and waited until standard input closed — for ever.
#[test]
fn attest_asks_a_person_and_never_waits_for_a_script() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let file = home.file("f.txt", b"reviewed at a terminal\n");
    let mut term = Terminal::start(home.sig_command(&["attest", file.to_str().unwrap()]));
    term.wait_for("I have reviewed this file (yes/no): ");
    term.type_line("yes");
    term.wait_for("It performs as expected and is free of major flaws (yes/no): ");
    term.type_line("yes");
    term.wait_for("Comment: ");
    term.type_line("read it twice");
    let (code, shown) = term.finish();
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("Saved attestation for"), "{shown}");
    assert!(shown.contains("read it twice"), "{shown}");

    let other = home.file("g.txt", b"attested by a script\n");
    let mut script = home
        .sig_command(&["attest", other.to_str().unwrap(), "--ok", "--reviewed"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Standard input stays open, as a CI runner's does, until the test ends.
    let open_stdin = script.stdin.take().unwrap();
    let status = wait_until("sig attest to finish", Duration::from_secs(20), || {
        script.try_wait().unwrap()
    });
    drop(open_stdin);
    let run = Run::from(script.wait_with_output().unwrap());
    assert_eq!(status.code(), Some(0), "{run:?}");
    assert!(!run.stderr.contains("Comment"), "{run:?}");
    assert!(run.stdout.contains("Saved attestation for"), "{run:?}");
}

/// `sig verify` with nothing to verify reads standard input; at a terminal it says so, as gpg
/// does, instead of waiting without a word. Piped, it says nothing and just reads.
#[test]
fn verify_at_a_terminal_says_it_reads_standard_input() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let mut term = Terminal::start(home.sig_command(&["verify"]));
    term.wait_for("reading standard input");
    term.type_line("some text");
    term.end_input();
    let (code, shown) = term.finish();
    assert_eq!(code, 1, "not verified: {shown}");
    assert!(shown.contains("standard input is not verified"), "{shown}");

    let piped = home.sig_with_input(&["verify"], "some text\n").expect(1);
    assert!(
        !piped.stderr.contains("reading standard input"),
        "{piped:?}"
    );
}

/// Verdicts are coloured on a terminal, never in a pipe.
#[test]
fn verdicts_are_coloured_on_a_terminal_only() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let file = home.file("f.txt", b"ok\n");
    let f = file.to_str().unwrap();
    home.sig(&["attest", f, "--ok", "--reviewed", "--comment", "fine"])
        .expect(0);
    let (code, shown) = Terminal::start(home.sig_command(&["verify", f])).finish();
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("\x1b[32m"), "green on a terminal: {shown:?}");
    let piped = home.sig(&["verify", f]).expect(0);
    assert!(!piped.stdout.contains('\x1b'), "{piped:?}");
}

/// A trusted NOT ok is shown with its reason by default: before, only with `-v`.
#[test]
fn a_not_ok_says_why_without_asking() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let file = home.file("f.txt", b"leaky\n");
    let f = file.to_str().unwrap();
    home.sig(&[
        "attest",
        f,
        "--not-ok",
        "--reviewed",
        "--comment",
        "leaks the token",
    ])
    .expect(0);
    let run = home.sig(&["verify", f]).expect(3);
    assert!(run.stdout.contains("NOT OK"), "{run:?}");
    assert!(run.stdout.contains("leaks the token"), "{run:?}");
}

/// Global flags go anywhere, after a setting's value too: before, `-q` was read as part of the
/// value ("1 -q is not a JSON value").
#[test]
fn global_flags_go_anywhere() {
    let home = Home::new();
    let run = home
        .sig(&["config", "verify.threshold", "2", "-q"])
        .expect(0);
    assert_eq!(run.stdout, "", "quiet: {run:?}");
    let run = home
        .sig(&["config", "verify.threshold", "--json"])
        .expect(0);
    assert_eq!(run.json(), serde_json::json!(2));
    home.sig(&["daemon", "stop"]).expect(0);
}

/// While `trust.json` is damaged, every verdict says so: before, `sig verify` answered with no
/// trusted key and nothing on standard error.
#[test]
fn every_verdict_warns_while_a_verdict_input_is_damaged() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let file = home.file("f.txt", b"anything\n");
    let f = file.to_str().unwrap();
    home.sig(&["daemon", "stop"]).expect(0);
    let mut trust = std::fs::File::create(home.home.join("trust.json")).unwrap();
    trust.write_all(b"{ not json").unwrap();
    drop(trust);
    let run = home.sig(&["verify", f]);
    assert!(
        run.stderr.contains("trust.json is damaged"),
        "a verdict without the warning: {run:?}"
    );
    let run = home.sig(&["verify", "--id", &format!("sha256:{}", "0".repeat(64))]);
    assert!(run.stderr.contains("trust.json is damaged"), "{run:?}");
}

/// A second daemon asked for on another socket finds the home taken: `sig` names the socket
/// the home is served on, at once. Before: it waited 2 s for a socket that would never come,
/// then printed the daemon's error, which named no socket.
#[test]
fn a_home_served_on_another_socket_is_named_at_once() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let served = home.sig(&["status", "--json"]).expect(0).json()["socket"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = home.root.join("other.sock");
    let started = std::time::Instant::now();
    let run = Run::from(
        home.sig_command(&["status"])
            .env("SIGNET_SOCKET", &other)
            .output()
            .unwrap(),
    );
    let took = started.elapsed();
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("serves this home on {served}")),
        "{run:?}"
    );
    assert!(took < Duration::from_millis(1500), "took {took:?}");
}

/// A daemon that cannot start says why once: before, its error came twice (its log line and
/// its last words).
#[test]
fn a_daemon_that_cannot_start_says_why_once() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    home.sig(&["daemon", "stop"]).expect(0);
    std::fs::write(home.home.join("config.json"), "{ bad").unwrap();
    let run = home.sig(&["status"]).expect(2);
    assert_eq!(
        run.stderr.matches("is not a valid Signet config").count(),
        1,
        "{run:?}"
    );
}

/// `sig remote add` looks at what the URL publishes: the key there, to check with its owner,
/// or, for a mistyped URL, that no Signet repository is there. Before: nothing until the
/// first fetch, and a 404 never said "not a Signet repository".
#[test]
fn remote_add_says_what_the_url_publishes() {
    use signet_tests::forge::Forge;
    use signet_tests::http::{Serve, TestServer};
    let bob = Forge::new("Bob <bob@example.org>");
    let server = TestServer::start();
    server.route("key.asc", Serve::File(bob.key_asc()));
    server.route("repo.json", Serve::File(bob.repo(1, &[])));
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let run = home.sig(&["remote", "add", "bob", &server.url()]).expect(0);
    assert!(
        run.stdout.contains(bob.fingerprint().as_str()) && run.stdout.contains("Bob"),
        "{run:?}"
    );
    let wrong = format!("{}nothing/", server.url());
    let run = home.sig(&["remote", "add", "typo", &wrong]).expect(0);
    assert!(
        run.stderr.contains("no Signet repository") && run.stderr.contains("404"),
        "{run:?}"
    );
    // Looked at, not taken: nothing is pinned before the first fetch.
    let list = home.sig(&["remote", "list", "--json"]).expect(0).json();
    assert!(
        list["remotes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["key"].is_null()),
        "{list:#}"
    );
}

/// A server that accepts and never answers is given up on once no answer has begun within
/// `fetch.first_byte_timeout_secs`, saying so, not after the whole request's deadline (120 s
/// by default: `sig fetch` sat on `GET …/key.asc...` for two minutes).
#[test]
fn a_server_that_never_answers_is_given_up_on_soon() {
    use signet_tests::http::{Serve, TestServer};
    let server = TestServer::start();
    server.route("key.asc", Serve::Silent);
    let home = Home::new();
    home.config(serde_json::json!({
        "sync": {"interval_secs": 0},
        "fetch": {"first_byte_timeout_secs": 1, "timeout_secs": 120}
    }));
    home.setup("Alice <alice@example.org>");
    let run = home
        .sig(&["remote", "add", "mute", &server.url()])
        .expect(0);
    assert!(run.stderr.contains("no answer began within 1s"), "{run:?}");
    let started = std::time::Instant::now();
    let run = home.sig(&["fetch"]).expect(2);
    let took = started.elapsed();
    assert!(
        run.stderr
            .contains("no answer began within 1s (fetch.first_byte_timeout_secs)"),
        "{run:?}"
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

/// The smaller slips of a first afternoon, each with the way forward: a bare digest for `--id`,
/// a key id too short to trust, a full fingerprint no key here has (a typo would never count),
/// and `sig status --help` naming its exit code for a problem.
#[test]
fn small_slips_get_a_way_forward() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let digest = "7b4871e6b35405054627068a49669e601dc93c5201ec75105d5858b79aecea12";
    let run = home.sig(&["verify", "--id", digest]).expect(2);
    assert!(
        run.stderr
            .contains(&format!("did you mean sha256:{digest}?")),
        "{run:?}"
    );
    let run = home.sig(&["trust", "add", "7B8F1D5"]).expect(2);
    assert!(
        run.stderr.contains("last 16 or more hex digits"),
        "it said 8 would do: {run:?}"
    );
    let typo = "7B8F1D5A7B8F1D5A7B8F1D5A7B8F1D5A7B8F1D5A";
    let run = home.sig(&["trust", "add", typo]).expect(0);
    assert!(
        run.stderr.contains("Signet has not seen this key yet")
            && run.stderr.contains("sig trust remove 7B8F1D5A"),
        "{run:?}"
    );
    let help = home.sig(&["status", "--help"]).expect(0);
    assert!(
        help.stdout
            .contains("2 when the daemon cannot be reached or it reports a problem")
    );
}
