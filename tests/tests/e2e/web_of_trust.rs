//! The web of trust end to end (issue 14): seven real daemons, each publishing its repository
//! over HTTP on 127.0.0.1 (one, Carol, as static files whose key a test revokes with the real
//! gpg), and you, following the web from two keys you trust directly.
//!
//! ```text
//! you ──high──▶ Alice ──high──▶ Bob ──high──▶ Erin          (Erin: 3 hops, too deep)
//!  │              │ ◀────high───── │                         (a cycle)
//!  │              ├──medium──▶ Carol ──medium──▶ Erin
//!  │              ├──low─────▶ Frank                         (below min_level)
//!  │              └──high────▶ Gus   (served by an impostor: a swapped key.asc)
//!  └──medium──▶ Dave ──distrust──▶ Bob (high via Alice: kept), Carol (medium: cut)
//! ```

use serde_json::{Value, json};
use signet_tests::http::{Serve, TestServer};
use signet_tests::{Gpg, Home, Subscriber};

struct Person {
    home: Home,
    fpr: String,
    url: String,
}

impl Person {
    /// A daemon with a new key, publishing its repository over HTTP.
    fn publishing(name: &str) -> Person {
        let home = quiet_home();
        let fpr = home.setup(&format!("{name} <{}@example.org>", name.to_lowercase()));
        let url = home.publish_http();
        Person { home, fpr, url }
    }

    /// Publishes a trust statement about `other` (at `level`, naming its URL).
    fn says(&self, other: &Person, level: &str) {
        self.says_of(&other.fpr, &other.url, level);
    }

    fn says_of(&self, fpr: &str, url: &str, level: &str) {
        let args = [
            "trust",
            "add",
            fpr,
            "--level",
            level,
            "--url",
            url,
            "--publish",
        ];
        let run = self.home.sig(&args).expect(0);
        assert!(run.stdout.contains("Published"), "{}", run.stdout);
    }

    fn distrusts(&self, other: &Person, why: &str) {
        let args = ["distrust", &other.fpr, "--comment", why, "--publish"];
        self.home.sig(&args).expect(0);
    }

    fn short(&self) -> &str {
        &self.fpr[32..]
    }
}

fn quiet_home() -> Home {
    let home = Home::new();
    home.config(Home::local_web());
    home
}

/// The attestation of `key` in a `verify --json` result.
fn by<'a>(result: &'a Value, key: &Person) -> &'a Value {
    result["attestations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key.fpr.as_str())
        .unwrap_or_else(|| panic!("no attestation by {}: {result:#}", key.fpr))
}

fn path_of(attestation: &Value) -> Vec<(String, String)> {
    attestation["standing"]["path"]
        .as_array()
        .map(|p| {
            p.iter()
                .map(|s| {
                    let fpr = s["fingerprint"].as_str().unwrap();
                    (
                        fpr[32..].to_owned(),
                        s["level"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The line of `sig verify --why` about `key`'s attestation: the first key it names is `key`.
fn line_of<'a>(text: &'a str, key: &Person) -> &'a str {
    text.lines()
        .find(|l| {
            l.split_once('[')
                .is_some_and(|(_, rest)| rest.starts_with(key.short()))
        })
        .unwrap_or_else(|| panic!("no line for {}: {text}", key.short()))
}

#[test]
fn a_web_of_seven_daemons_over_http() {
    let alice = Person::publishing("Alice");
    let bob = Person::publishing("Bob");
    let dave = Person::publishing("Dave");
    let erin = Person::publishing("Erin");
    let frank = Person::publishing("Frank");
    // Carol's key is made by gpg and imported; her repository is served as static files.
    let gpg = Gpg::new();
    let carol_fpr = gpg.generate("Carol <carol@example.org>", "ed25519", "");
    let carol_home = quiet_home();
    let secret = gpg.export_secret(&carol_fpr);
    let key_file = carol_home.file("secret.asc", &secret);
    carol_home
        .sig(&["setup", "--import", key_file.to_str().unwrap()])
        .expect(0);
    let carol_server = TestServer::start();
    let carol = Person {
        home: carol_home,
        fpr: carol_fpr,
        url: carol_server.url(),
    };
    // Gus's URL serves Erin's genuine repository: a key.asc that is not the key named.
    let gus_fpr = "0123456789ABCDEF0123456789ABCDEF01234567";
    let impostor = TestServer::start();
    impostor.serve_repo(&erin.home.repo_dir());

    // Everyone reviews the same file; some review two more.
    let lib = b"int lib(void) { return 42; }\n";
    for p in [&alice, &bob, &carol, &dave, &erin, &frank] {
        let file = p.home.file("lib.c", lib);
        p.home.attest(&file, true, "read it").expect(0);
    }
    for p in [&alice, &bob] {
        let file = p.home.file("two.c", b"two\n");
        p.home.attest(&file, true, "fine").expect(0);
    }
    for p in [&alice, &bob, &dave] {
        let file = p.home.file("three.c", b"three\n");
        p.home.attest(&file, true, "fine").expect(0);
    }
    // Bob also says a word he did not review: shown, never counted.
    let file = bob.home.file("skimmed.c", b"skimmed\n");
    let args = [
        "attest",
        file.to_str().unwrap(),
        "--ok",
        "--not-reviewed",
        "--comment",
        "skimmed",
    ];
    bob.home.sig(&args).expect(0);
    let carols_file = b"carol only\n";
    let file = carol.home.file("carol.c", carols_file);
    carol.home.attest(&file, true, "mine").expect(0);

    // The statements, published.
    alice.says(&bob, "high");
    alice.says(&carol, "medium");
    alice.says(&frank, "low");
    alice.says_of(gus_fpr, &impostor.url(), "high");
    bob.says(&erin, "high");
    bob.says(&alice, "high"); // a cycle
    carol.says(&erin, "medium");
    dave.distrusts(&bob, "sold his key");
    dave.distrusts(&carol, "signs anything");
    erin.distrusts(&alice, "spite"); // Erin is outside your web, then inside it
    carol_server.serve_repo(&carol.home.repo_dir());

    // You trust Alice (high) and Dave (medium), locally, naming where they publish.
    let you = quiet_home();
    you.setup("You <you@example.org>");
    for (p, level) in [(&alice, "high"), (&dave, "medium")] {
        let args = ["trust", "add", &p.fpr, "--level", level, "--url", &p.url];
        let run = you.sig(&args).expect(0);
        assert!(
            run.stdout.contains("Local: not published"),
            "{}",
            run.stdout
        );
    }
    // `sig status` says which of your word is published.
    let status = you.sig(&["status"]).expect(0).stdout;
    assert!(
        status.contains("trust:   0 published, 2 local;"),
        "{status}"
    );
    let status = alice.home.sig(&["status"]).expect(0).stdout;
    assert!(
        status.contains("trust:   4 published, 0 local;"),
        "{status}"
    );
    // You also follow Carol's and Erin's repositories yourself: whether their word counts is
    // the web's to say.
    you.sig(&["remote", "add", "carol", &carol.url]).expect(0);
    you.sig(&["remote", "add", "erin", &erin.url]).expect(0);
    // One `sig fetch` follows the web, one hop per round; Gus's impostor is refused.
    let run = you.sig(&["fetch"]).expect(2);
    assert!(
        run.stderr.contains("pinned to"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );

    // Discovered remotes: pinned to the stated fingerprints from the start. Not discovered:
    // Carol (distrusted, and followed by you anyway), Erin (3 hops; followed by you).
    let remotes = you.sig(&["remote", "list", "--json"]).expect(0).json();
    let remotes = remotes["remotes"].as_array().unwrap();
    let pinned: Vec<&str> = remotes
        .iter()
        .filter(|r| r["discovered"] == true)
        .map(|r| r["key"]["fingerprint"].as_str().unwrap())
        .collect();
    for p in [&alice, &bob, &dave, &frank] {
        assert!(
            pinned.contains(&p.fpr.as_str()),
            "{} not followed: {remotes:#?}",
            p.fpr
        );
    }
    assert!(pinned.contains(&gus_fpr));
    for p in [&carol, &erin] {
        assert!(!pinned.contains(&p.fpr.as_str()), "{remotes:#?}");
    }
    let gus = remotes
        .iter()
        .find(|r| r["key"]["fingerprint"] == gus_fpr)
        .unwrap();
    assert!(
        gus["last_error"].as_str().unwrap().contains("pinned to"),
        "{gus:#}"
    );
    assert_eq!(gus["attestations"], 0);
    let text = you.sig(&["remote", "list"]).expect(0).stdout;
    assert!(text.contains("discovered"), "{text}");

    let lib_path = you.file("lib.c", lib);
    let lib_arg = lib_path.to_str().unwrap();
    let result = you.sig(&["verify", "--json", lib_arg]).expect(0).json();
    // Depth: Bob (2 hops) counts; Erin (3 hops) does not.
    assert_eq!(
        path_of(by(&result, &bob)),
        [
            (alice.short().into(), "high".into()),
            (bob.short().into(), "high".into())
        ]
    );
    assert_eq!(by(&result, &bob)["trusted"], true);
    let erins = by(&result, &erin);
    assert_eq!(erins["trusted"], false);
    assert_eq!(erins["standing"]["why_not"]["reason"], "too_deep");
    assert_eq!(erins["standing"]["why_not"]["depth"], 3);
    // Levels and min_level: Frank is low, below the default medium.
    let franks = by(&result, &frank);
    assert_eq!(franks["standing"]["level"], "low");
    assert_eq!(franks["standing"]["why_not"]["reason"], "below_min_level");
    // Scoped distrust: Dave (medium) cuts Carol (medium through Alice), not Bob (high), and
    // both distrusts are shown.
    let carols = by(&result, &carol);
    assert_eq!(carols["trusted"], false);
    assert_eq!(carols["standing"]["why_not"]["reason"], "distrusted");
    assert_eq!(carols["standing"]["why_not"]["by"], dave.fpr.as_str());
    assert_eq!(carols["standing"]["why_not"]["at"], "medium");
    let bobs_distrust = &by(&result, &bob)["standing"]["distrusted_by"][0];
    assert_eq!(bobs_distrust["by"], dave.fpr.as_str());
    assert_eq!(bobs_distrust["comment"], "sold his key");
    // A distrust by a key outside your web weighs nothing: counted, not listed.
    let alices = &by(&result, &alice)["standing"];
    assert_eq!(alices["other_distrusts"], 1, "{alices:#}");
    assert!(alices.get("distrusted_by").is_none(), "{alices:#}");
    // The cycle: Alice stays as you trust her.
    assert_eq!(
        path_of(by(&result, &alice)),
        [(alice.short().into(), "high".into())]
    );

    // --why, in words, for each.
    let why = you.sig(&["verify", "--why", lib_arg]).expect(0).stdout;
    let want = [
        (
            &alice,
            format!(
                "ok [{}] Alice <alice@example.org> via you → Alice [{}] (high)",
                alice.short(),
                alice.short()
            ),
        ),
        (
            &bob,
            format!(
                "via you → Alice [{}] (high) → Bob [{}] (high); distrusted by Dave [{}] (medium): \"sold his key\"",
                alice.short(),
                bob.short(),
                dave.short()
            ),
        ),
        (
            &dave,
            format!(
                "ok [{}] Dave <dave@example.org> via you → Dave [{}] (medium)",
                dave.short(),
                dave.short()
            ),
        ),
        (
            &erin,
            "— not counted: it is 3 hops from you, deeper than trust.max_depth (2)".into(),
        ),
        (
            &frank,
            format!(
                "— not counted: via you → Alice [{}] (high) → Frank [{}] (low), but its level is below verify.min_level (medium)",
                alice.short(),
                frank.short()
            ),
        ),
        (
            &carol,
            format!(
                "— not counted: distrusted by Dave [{}] at level medium",
                dave.short()
            ),
        ),
    ];
    for (p, text) in want {
        let line = line_of(&why, p);
        assert!(
            line.contains(&text),
            "{}: {line}\nwanted: {text}\n{why}",
            p.short()
        );
    }

    // The editor's hover names the path too.
    let (mut child, mut editor, _) = crate::lsp::start_editor(
        &you,
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    let uri = format!("file://{lib_arg}");
    let text = String::from_utf8_lossy(lib).into_owned();
    editor.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "c", "version": 1, "text": text}}),
    );
    let hover = editor.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}),
    );
    let shown = hover["result"]["contents"]["value"].as_str().unwrap();
    assert!(
        shown.contains(&format!(
            "via you → Alice \\[{}\\] \\(high\\) → Bob",
            alice.short()
        )),
        "{shown}"
    );
    drop(editor);
    child.kill().unwrap();
    child.wait().unwrap();

    // Not reviewed: not counted, whatever the key's standing.
    let skimmed = you.file("skimmed.c", b"skimmed\n");
    let why = you
        .sig(&["verify", "--why", skimmed.to_str().unwrap()])
        .expect(1)
        .stdout;
    let line = line_of(&why, &bob);
    let want = format!(
        "— not counted: not reviewed; its key: via you → Alice [{}] (high)",
        alice.short()
    );
    assert!(line.contains(&want), "{why}");

    // min_level low: Frank counts.
    you.sig(&["config", "verify.min_level", "low"]).expect(0);
    let result = you.sig(&["verify", "--json", lib_arg]).expect(0).json();
    assert_eq!(by(&result, &frank)["trusted"], true);
    you.sig(&["config", "verify.min_level", "medium"]).expect(0);

    // Independent reviewers: Alice and Bob (through Alice) are one; Dave is another.
    let two = you.file("two.c", b"two\n");
    let three = you.file("three.c", b"three\n");
    let (two, three) = (two.to_str().unwrap(), three.to_str().unwrap());
    you.sig(&["config", "verify.threshold", "2"]).expect(0);
    you.sig(&["verify", two]).expect(0);
    you.sig(&["config", "verify.independent", "true"]).expect(0);
    let run = you.sig(&["verify", two]).expect(1);
    assert!(
        run.stdout.contains("(1 of 2 trusted reviewers)"),
        "{}",
        run.stdout
    );
    // Why: Bob is trusted only through Alice, and the two count once.
    let grouped = format!(
        "[{}], [{}] count as one reviewer: all are trusted only through [{}] Alice",
        alice.short(),
        bob.short(),
        alice.short()
    );
    let grouped_other_order = format!(
        "[{}], [{}] count as one reviewer: all are trusted only through [{}] Alice",
        bob.short(),
        alice.short(),
        alice.short()
    );
    assert!(
        run.stdout.contains(&grouped) || run.stdout.contains(&grouped_other_order),
        "{}",
        run.stdout
    );
    let json = you.sig(&["verify", "--json", two]).expect(1).json();
    assert_eq!(by(&json, &bob)["counts_as"]["through"], alice.fpr.as_str());
    you.sig(&["verify", three]).expect(0);
    you.sig(&["config", "verify.threshold", "1"]).expect(0);

    // Your own word overrides Dave's distrust of Carol; through her Erin is 2 hops now, and a
    // watched file only Carol vouches for changes verdict: subscribers hear it.
    let watched = you.root.join("watched");
    std::fs::create_dir(&watched).unwrap();
    std::fs::write(watched.join("carol.c"), carols_file).unwrap();
    you.sig(&["watch", "add", watched.to_str().unwrap()])
        .expect(0);
    let mut subscriber = Subscriber::new(&you.socket, &watched);
    let args = [
        "trust", "add", &carol.fpr, "--level", "medium", "--url", &carol.url,
    ];
    you.sig(&args).expect(0);
    let changed = subscriber.wait_for("carol.c", std::time::Duration::from_secs(10));
    assert_eq!(changed["verdict"], "ok", "{changed:#}");
    you.sig(&["fetch"]).expect(2); // Gus is still refused
    let result = you.sig(&["verify", "--json", lib_arg]).expect(0).json();
    assert_eq!(
        path_of(by(&result, &carol)),
        [(carol.short().into(), "medium".into())]
    );
    assert_eq!(
        path_of(by(&result, &erin)),
        [
            (carol.short().into(), "medium".into()),
            (erin.short().into(), "medium".into())
        ]
    );
    // Erin is in your web now: her distrust of Alice is listed, and cuts nothing you trust
    // yourself.
    let alices = &by(&result, &alice);
    assert_eq!(alices["trusted"], true);
    assert_eq!(
        alices["standing"]["distrusted_by"][0]["by"],
        erin.fpr.as_str()
    );
    let run = you.sig(&["trust", "why", carol.short()]).expect(0);
    assert!(
        run.stdout.contains("Its word counts: via you → Carol"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("distrusted by Dave"), "{}", run.stdout);

    // Carol's key is revoked and the revocation published: her whole subtree is cut.
    gpg.revoke(&carol.fpr);
    carol_server.route("key.asc", Serve::File(gpg.export(&carol.fpr)));
    you.sig(&["fetch"]).expect(2);
    // A change far off in the web (a key's revocation, fetched) reaches subscribers too.
    let changed = subscriber.wait_for("carol.c", std::time::Duration::from_secs(10));
    assert_eq!(changed["verdict"], "unverified", "{changed:#}");
    let result = you.sig(&["verify", "--json", lib_arg]).expect(0).json();
    let carols = by(&result, &carol);
    assert_eq!(carols["revoked"], true);
    assert_eq!(carols["standing"]["why_not"]["reason"], "revoked");
    assert_eq!(
        by(&result, &erin)["standing"]["why_not"]["reason"],
        "too_deep"
    );
    let why = you.sig(&["verify", "--why", lib_arg]).expect(0).stdout;
    let line = line_of(&why, &carol);
    assert!(line.contains("— not counted: its key is revoked"), "{why}");
    let why = you.sig(&["trust", "why", erin.short()]).expect(0).stdout;
    assert!(why.contains("deeper than trust.max_depth"), "{why}");

    // Every key, with its level.
    let all = you
        .sig(&["trust", "list", "--all", "--json"])
        .expect(0)
        .json();
    let level = |fpr: &str| {
        all["web"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["fingerprint"] == fpr)
            .map(|k| k["level"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(level(&alice.fpr), "high");
    assert_eq!(level(&bob.fpr), "high");
    assert_eq!(level(&dave.fpr), "medium");
    assert_eq!(level(&frank.fpr), "low");
    assert_eq!(level(&carol.fpr), Value::Null);
    let text = you.sig(&["trust", "list", "--all"]).expect(0).stdout;
    assert!(text.contains("ultimate"), "{text}");

    // A discovered remote removed by hand is followed again while its key is in the web, and
    // removing it says so.
    let name = format!("web-{}", &alice.fpr[24..]);
    let run = you.sig(&["remote", "remove", &name]).expect(0);
    assert!(
        run.stdout.contains("discovered from your web of trust"),
        "{}",
        run.stdout
    );
    you.sig(&["fetch"]).expect(2);
    let remotes = you.sig(&["remote", "list", "--json"]).expect(0).json();
    assert!(
        remotes["remotes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == name.as_str()),
        "{remotes:#}"
    );
}
