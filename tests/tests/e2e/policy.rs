//! A CI run from an empty home with only the project's `signet.toml` (issue 26): three
//! reviewers publish over HTTP; the policy names their keys and repositories; `sig deps`
//! follows them, pinned to those keys, judges by the policy alone, fails on the one NOT ok
//! dependency, and passes once the project replaces it.

use signet_tests::http::TestServer;
use signet_tests::{Home, fixture};

/// The sha256 ids `requirements.txt` pins for `name`, in its order.
fn pinned(requirements: &str, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(fixture(requirements)).unwrap();
    let deps = signet_client::lockfile::requirements(&text).unwrap();
    let dep = deps.iter().find(|d| d.name == name).unwrap();
    dep.ids().iter().map(|i| i.to_string()).collect()
}

/// A reviewer with a key, whose repository is served over HTTP.
struct Reviewer {
    home: Home,
    fpr: String,
    server: TestServer,
}

impl Reviewer {
    fn new(user_id: &str) -> Reviewer {
        let home = Home::new();
        let fpr = home.setup(user_id);
        let server = TestServer::start();
        Reviewer { home, fpr, server }
    }

    fn says(&self, id: &str, ok: bool, comment: &str) {
        let verdict = if ok { "--ok" } else { "--not-ok" };
        self.home
            .sig(&[
                "attest",
                "--id",
                id,
                verdict,
                "--reviewed",
                "--comment",
                comment,
            ])
            .expect(0);
        self.server.serve_repo(&self.home.repo_dir());
    }
}

#[test]
fn ci_from_an_empty_home_with_only_signet_toml_fails_on_a_not_ok_dependency_then_passes() {
    let (alice, bob, carol) = (
        Reviewer::new("Alice <alice@example.org>"),
        Reviewer::new("Bob <bob@example.org>"),
        Reviewer::new("Carol <carol@example.org>"),
    );
    // Someone the policy does not name: their NOT ok must not count.
    let mallory = Reviewer::new("Mallory <mallory@example.org>");

    let old = "lockfiles/uv/requirements.txt";
    let new = "lockfiles/uv-idna-3.8/requirements.txt";
    // The wheel of six, the file alice read; idna 3.7 bob vouched for, carol says NOT ok.
    let six_wheel = "sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254";
    alice.says(six_wheel, true, "read six");
    for id in pinned(old, "idna") {
        bob.says(&id, true, "read idna 3.7");
        carol.says(&id, false, "idna 3.7: CVE-2024-3651");
    }
    for id in pinned(new, "idna") {
        carol.says(&id, true, "idna 3.8 fixes it");
    }
    mallory.says(six_wheel, false, "lies");

    let project = tempfile::tempdir().unwrap();
    let policy = format!(
        "[[trust]]\nkey = \"{}\"\nlevel = \"high\"\nurl = \"{}\"\n\n\
         [[trust]]\nkey = \"{}\"\nurl = \"{}\"\n\n\
         [[trust]]\nkey = \"{}\"\nurl = \"{}\"\n\n\
         # A key whose repository someone else serves: refused, never pinned to theirs.\n\
         [[trust]]\nkey = \"{}\"\nurl = \"{}\"\n",
        alice.fpr,
        alice.server.url(),
        bob.fpr,
        bob.server.url(),
        carol.fpr,
        carol.server.url(),
        "D".repeat(40),
        mallory.server.url(),
    );
    std::fs::write(project.path().join("signet.toml"), policy).unwrap();
    let lock = project.path().join("requirements.txt");
    std::fs::copy(fixture(old), &lock).unwrap();
    let dir = project.path().to_str().unwrap();

    // CI: a home with nothing in it — no key, no trust, no remotes.
    let ci = Home::new();
    let run = ci.sig(&["deps", dir]).expect(3);
    assert!(run.stdout.contains("Policy "), "{}", run.stdout);
    let six = format!("{:<10} six 1.16.0 — [", "ok");
    assert!(run.stdout.contains(&six), "{}", run.stdout);
    assert!(
        !run.stdout.contains("lies"),
        "mallory's word counted:\n{}",
        run.stdout
    );
    let idna = format!("{:<10} idna 3.7 — [", "NOT ok");
    assert!(run.stdout.contains(&idna), "{}", run.stdout);
    assert!(run.stdout.contains("CVE-2024-3651"), "{}", run.stdout);
    assert!(
        run.stderr.contains(&mallory.server.url()) && run.stderr.contains("missing"),
        "the repository serving another key is said:\n{}",
        run.stderr
    );
    // Nothing of the user's own was needed or made: no trust statements, no key.
    let remotes = ci.sig(&["remote", "list", "--json"]).expect(0).json();
    let remotes = remotes["remotes"].as_array().unwrap();
    assert_eq!(remotes.len(), 4, "{remotes:#?}");
    let mallory_remote = remotes
        .iter()
        .find(|r| r["url"] == mallory.server.url().as_str())
        .unwrap();
    assert_eq!(
        mallory_remote["key"]["fingerprint"],
        "D".repeat(40),
        "pinned to the policy's key, not the one served: {mallory_remote:#}"
    );
    assert!(
        mallory_remote["last_success"].is_null(),
        "{mallory_remote:#}"
    );

    // The same home judges by its own (empty) trust without the policy: nothing counts.
    ci.sig(&["deps", "--no-policy", dir]).expect(1);
    // `sig verify` judges by a policy as `sig deps` does.
    let toml = project.path().join("signet.toml");
    let toml = toml.to_str().unwrap();
    let run = ci
        .sig(&["verify", "--policy", toml, "--id", six_wheel])
        .expect(0);
    assert!(run.stdout.contains("Alice"), "{}", run.stdout);
    ci.sig(&["verify", "--id", six_wheel]).expect(1);

    // The project replaces idna: the run passes.
    std::fs::copy(fixture(new), &lock).unwrap();
    let run = ci.sig(&["deps", dir]).expect(0);
    let idna = format!("{:<10} idna 3.8 — [", "ok");
    assert!(run.stdout.contains(&idna), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("2 dependencies: 2 ok, 0 not reviewed, 0 NOT ok"),
        "{}",
        run.stdout
    );
    let json = ci.sig(&["deps", "--json", dir]).expect(0).json();
    assert!(
        json["policy"].as_str().unwrap().ends_with("signet.toml"),
        "{json:#}"
    );

    // A threshold of two: six has one reviewer, so it is not ok enough.
    let two = std::fs::read_to_string(project.path().join("signet.toml")).unwrap()
        + "\n[verify]\nthreshold = 2\n";
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("strict.toml"), two).unwrap();
    let strict = other.path().join("strict.toml");
    let run = ci
        .sig(&["deps", "--policy", strict.to_str().unwrap(), dir])
        .expect(1);
    let six = format!("{:<10} six 1.16.0", "unverified");
    assert!(run.stdout.contains(&six), "{}", run.stdout);
}

#[test]
fn a_broken_policy_is_said_and_nothing_is_judged() {
    let home = Home::new();
    let project = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("lockfiles/uv/requirements.txt"),
        project.path().join("requirements.txt"),
    )
    .unwrap();
    std::fs::write(
        project.path().join("signet.toml"),
        "[[trust]]\nkey = \"B32780D9\"\n",
    )
    .unwrap();
    let run = home
        .sig(&["deps", project.path().to_str().unwrap()])
        .expect(2);
    assert!(
        run.stderr.contains("signet.toml") && run.stderr.contains("not a full fingerprint"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}
