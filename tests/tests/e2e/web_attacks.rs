//! The third attack pass on the web of trust: each test plays one finding against real daemons
//! publishing over HTTP on 127.0.0.1, and fails on the code before its fix.

use signet_tests::Home;
use signet_tests::forge::Forge;
use signet_tests::http::{Serve, TestServer};

fn home(user_id: &str) -> (Home, String) {
    Home::keyed(user_id)
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

/// Python's `http.server`, serving `dir` on a free loopback port: an ordinary static server,
/// whose `Last-Modified` has one-second resolution and which answers `If-Modified-Since`.
struct StaticServer {
    child: std::process::Child,
    url: String,
}

impl StaticServer {
    fn start(dir: &std::path::Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m http.server");
        let url = format!("http://127.0.0.1:{port}/");
        signet_tests::wait_until(
            "http.server to listen",
            std::time::Duration::from_secs(20),
            || std::net::TcpStream::connect(("127.0.0.1", port)).ok(),
        );
        StaticServer { child, url }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sets a file's modification time to `secs` since the epoch, as a write within that second
/// leaves it.
fn set_mtime(path: &std::path::Path, secs: u64) {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

/// A publisher writes, a follower fetches, and the publisher writes again within the same
/// second (as `sig publish --to` into a web root does): the second version must not be hidden
/// behind `Last-Modified`. Before: the follower kept that one-second validator and every later
/// fetch got 304 — the NOT ok (or a revocation) hidden until the next change.
#[test]
fn an_update_within_the_second_of_a_fetch_is_not_hidden_by_last_modified() {
    let (bob, bob_fpr) = home("Bob <bob@example.org>");
    let www = bob.root.join("www");
    std::fs::create_dir(&www).unwrap();
    let file = bob.file("lib.c", b"int lib;");
    bob.attest(&file, true, "looks fine").expect(0);
    bob.sig(&["publish", "--to", www.to_str().unwrap()])
        .expect(0);
    let server = StaticServer::start(&www);
    // Both versions carry the same `Last-Modified`, as two writes within one second do. It is
    // set a little ahead of now, so that however slowly this machine runs, the first answer's
    // `Last-Modified` is never more than a second before its `Date`.
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 30;
    for name in ["repo.json", "key.asc"] {
        set_mtime(&www.join(name), second);
    }
    let alice = Home::follower("bob", &server.url);
    alice.sig(&["fetch"]).expect(0);
    alice.sig(&["trust", "add", &bob_fpr]).expect(0);
    std::fs::copy(&file, alice.root.join("lib.c")).unwrap();
    alice.sig(&["verify", "lib.c"]).expect(0);

    // Bob finds a flaw and publishes again, within that same second.
    bob.attest(&file, false, "buffer overflow").expect(0);
    bob.sig(&["publish", "--to", www.to_str().unwrap()])
        .expect(0);
    for name in ["repo.json", "key.asc"] {
        set_mtime(&www.join(name), second);
    }
    let run = alice.sig(&["fetch"]).expect(0);
    assert!(run.stdout.contains("bob: updated"), "{}", run.stdout);
    alice.sig(&["verify", "lib.c"]).expect(3);
}

/// A home that publishes over HTTP: the home, its fingerprint, its URL.
fn publisher(user_id: &str) -> (Home, String, String) {
    let (home, fpr) = home(user_id);
    let url = home.publish_http();
    (home, fpr, url)
}

/// Two keys at the same level distrust each other: both are cut, whichever repository is
/// fetched first. Before: the first fetched cut the other, whose discovered remote was then
/// dropped before its own distrust was read — and the next fetch brought it back.
#[test]
fn a_distrust_race_cuts_both_whatever_is_fetched_first() {
    let (ann, ann_fpr, ann_url) = publisher("Ann <ann@example.org>");
    let (carl, carl_fpr, carl_url) = publisher("Carl <carl@example.org>");
    let (dora, dora_fpr, dora_url) = publisher("Dora <dora@example.org>");
    ann.says(&carl_fpr, "medium", Some(&carl_url));
    ann.says(&dora_fpr, "medium", Some(&dora_url));
    carl.says(&dora_fpr, "distrust", None);
    dora.says(&carl_fpr, "distrust", None);
    let file = dora.file("lib.c", b"int lib;");
    dora.attest(&file, false, "a backdoor").expect(0);

    let (you, _) = home("You <you@example.org>");
    you.sig(&[
        "trust", "add", &ann_fpr, "--level", "high", "--url", &ann_url,
    ])
    .expect(0);
    std::fs::copy(&file, you.root.join("lib.c")).unwrap();
    for _ in 0..3 {
        you.sig(&["fetch"]).expect(0);
        let list = you.sig(&["remote", "list", "--json"]).expect(0).json();
        assert_eq!(list["remotes"].as_array().unwrap().len(), 3, "{list:#}");
        for fpr in [&carl_fpr, &dora_fpr] {
            let why = you.sig(&["trust", "why", fpr]).expect(0).stdout;
            assert!(why.contains("distrusted by"), "{why}");
        }
        you.sig(&["verify", "lib.c"]).expect(1);
    }
}

/// A key cut by a stronger distrust cuts no one. Before: Carl, cut by Erin (high), still cut
/// Dora, and Dora's trusted NOT ok was hidden.
#[test]
fn a_distruster_cut_by_a_stronger_distrust_cuts_no_one() {
    let (ann, ann_fpr, ann_url) = publisher("Ann <ann@example.org>");
    let (carl, carl_fpr, carl_url) = publisher("Carl <carl@example.org>");
    let (dora, dora_fpr, dora_url) = publisher("Dora <dora@example.org>");
    let (erin, erin_fpr, erin_url) = publisher("Erin <erin@example.org>");
    ann.says(&carl_fpr, "medium", Some(&carl_url));
    ann.says(&dora_fpr, "medium", Some(&dora_url));
    ann.says(&erin_fpr, "high", Some(&erin_url));
    erin.says(&carl_fpr, "distrust", None);
    carl.says(&dora_fpr, "distrust", None);
    let file = dora.file("lib.c", b"int lib;");
    dora.attest(&file, false, "a backdoor").expect(0);

    let (you, _) = home("You <you@example.org>");
    you.sig(&[
        "trust", "add", &ann_fpr, "--level", "high", "--url", &ann_url,
    ])
    .expect(0);
    you.sig(&["fetch"]).expect(0);
    you.sig(&["fetch"]).expect(0);
    std::fs::copy(&file, you.root.join("lib.c")).unwrap();
    you.sig(&["verify", "lib.c"]).expect(3);
    let why = you.sig(&["trust", "why", &carl_fpr]).expect(0).stdout;
    assert!(why.contains("distrusted by Erin"), "{why}");
    drop(erin);
}

/// `trust add --publish` whose `trust.json` cannot be saved: the statement it published first
/// is taken back, so that the repository never says what the trust list does not. Before: the
/// statement stayed published and followers counted it, while the list was unchanged.
#[test]
fn a_trust_change_that_cannot_be_saved_is_not_left_published() {
    let (you, _) = home("You <you@example.org>");
    you.sig(&["status"]).expect(0); // the daemon holds trust.json in memory
    let list = you.home.join("trust.json");
    let _ = std::fs::remove_file(&list);
    std::fs::create_dir(&list).unwrap();
    std::fs::write(list.join("in-the-way"), b"").unwrap();
    let stranger = "0123456789ABCDEF0123456789ABCDEF01234567";
    let run = you
        .sig(&["trust", "add", stranger, "--level", "high", "--publish"])
        .expect(2);
    assert!(run.stderr.contains("trust.json"), "{}", run.stderr);
    let id = format!("openpgp:{stranger}");
    let said = &you.read_repo()["data"]["attestations"][&id];
    assert!(
        said.as_array()
            .is_none_or(|list| list.iter().all(|s| s["data"]["withdrawn"] == true)),
        "still published: {said:#}"
    );
}

/// `trust.list` with `all` answers page by page, in one order: a web of a million keys once
/// made one answer of gigabytes, which the client refused. `sig trust list --all` reads every
/// page.
#[test]
fn the_whole_web_is_listed_page_by_page() {
    let (ann, ann_fpr, ann_url) = publisher("Ann <ann@example.org>");
    for n in 1..=5u8 {
        ann.says(&format!("{n:02X}").repeat(20), "medium", None);
    }
    let (you, _) = home("You <you@example.org>");
    you.sig(&[
        "trust", "add", &ann_fpr, "--level", "high", "--url", &ann_url,
    ])
    .expect(0);
    you.sig(&["fetch"]).expect(0);
    let whole = you
        .sig(&["trust", "list", "--all", "--json"])
        .expect(0)
        .json();
    let listed: Vec<&str> = whole["web"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 7, "you, Ann and her five: {whole:#}");

    let mut raw = signet_tests::RawClient::connect(&you.socket).unwrap();
    raw.hello();
    let mut paged = Vec::new();
    let mut offset = 0;
    for call in 1.. {
        let page = raw.call(
            call,
            "trust.list",
            serde_json::json!({"all": true, "limit": 2, "offset": offset}),
        );
        let result = &page["result"];
        assert_eq!(result["web_total"], 7, "{page:#}");
        let web = result["web"].as_array().unwrap();
        assert!(web.len() <= 2, "{page:#}");
        paged.extend(
            web.iter()
                .map(|s| s["fingerprint"].as_str().unwrap().to_owned()),
        );
        match result["next"].as_u64() {
            Some(next) => offset = next,
            None => break,
        }
    }
    assert_eq!(paged, listed, "the pages, in order, are the whole list");
}

/// A repository's `key.asc` may carry its owner's retired keys; one offering fresh keys at
/// every fetch must not grow what is known for ever (what is known of keys only grows, so it
/// must be worth knowing): only keys already known, or that the repository proves its key
/// succeeded, are taken.
#[test]
fn fresh_keys_offered_beside_a_repositorys_key_are_not_learnt() {
    use signet_tests::forge::Forge;
    let owner = Forge::new("Owner <o@example.org>");
    let server = TestServer::start();
    let (you, _) = home("You <you@example.org>");
    you.sig(&["remote", "add", "r", &server.url()]).expect(0);
    for serial in 1..=3 {
        let mut key_asc = owner.key_asc();
        for n in 0..4 {
            key_asc.extend(Forge::new(&format!("Fresh {serial}.{n} <f@example.org>")).key_asc());
        }
        server.route("key.asc", Serve::File(key_asc));
        server.route("repo.json", Serve::File(owner.repo(serial, &[])));
        you.sig(&["fetch"]).expect(0);
    }
    let keys = you.sig(&["keys", "--json"]).expect(0).json();
    assert_eq!(
        keys["keys"].as_array().unwrap().len(),
        2,
        "yours and the owner's: {keys:#}"
    );
}

/// A remote naming fresh keys at every fetch: what the daemon numbers for the web follows what
/// it holds. Before: numbers only grew (the pass: 10,000 fresh keys a fetch took the daemon from
/// 33 to 152 MiB over 16 fetches of a constant-size remote).
#[test]
fn fresh_keys_named_at_every_fetch_do_not_grow_the_daemon_for_ever() {
    use signet_tests::forge::{self, Forge};
    let _heavy = signet_tests::exclusive();
    let churner = Forge::new("Churner <c@example.org>");
    let server = TestServer::start();
    let (you, _) = home("You <you@example.org>");
    you.sig(&["remote", "add", "churn", &server.url()])
        .expect(0);
    let at = forge::ago(60);
    let per_fetch = 2_000u32;
    for round in 0..8u32 {
        let statements: Vec<String> = (0..per_fetch)
            .map(|n| {
                let about = format!("{:040X}", 1 + round * per_fetch + n);
                let data = format!(r#"{{"comment": "", "id": "openpgp:{about}", "trust": "low"}}"#);
                churner.signed_text(&data, at)
            })
            .collect();
        server.route("key.asc", Serve::File(churner.key_asc()));
        server.route(
            "repo.json",
            Serve::File(churner.repo(u64::from(round) + 1, &statements)),
        );
        you.sig(&["fetch"]).expect(0);
    }
    let status = you.sig(&["status", "--json"]).expect(0).json();
    let numbered = status["trust"]["keys_numbered"].as_u64().unwrap();
    // 16,000 keys named over the run, 2,001 held now: within twice those and the slack.
    assert!(
        numbered <= 2 * 2 * u64::from(per_fetch + 1) + 4096,
        "{numbered} keys numbered"
    );
}
