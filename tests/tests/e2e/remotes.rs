//! Remotes against a real HTTP server on 127.0.0.1 that each test controls: the seed's flow,
//! and every way a hostile or broken server can misbehave. After each refusal or failure the
//! last good copy keeps answering, and a good fetch succeeds again.

use serde_json::json;
use signet_tests::Home;
use signet_tests::http::{Serve, TestServer};

/// A home that fetches with short deadlines and no scheduled sync (tests fetch by hand).
fn follower() -> Home {
    let home = Home::new();
    home.config(json!({"fetch": {"timeout_secs": 3, "connect_timeout_secs": 3}, "sync": {"interval_secs": 0}}));
    home.setup("Alice <alice@example.org>");
    home
}

/// The other person, with one attestation about `lib.c` in their repository.
fn world() -> (Home, String) {
    let world = Home::new();
    world.config(json!({"sync": {"interval_secs": 0}}));
    let fpr = world.setup("Hello World <hello@world.com>");
    let file = world.file("lib.c", b"int main(void) { return 0; }\n");
    world.attest(&file, true, "reviewed").expect(0);
    (world, fpr)
}

#[test]
fn seed_flow_fetch_untrusted_then_trusted() {
    let (world, world_fpr) = world();
    let server = TestServer::start();
    server.serve_repo(&world.repo_dir());
    let alice = follower();
    let lib = alice.file("lib.c", b"int main(void) { return 0; }\n");
    let lib = lib.to_str().unwrap();

    alice
        .sig(&["remote", "add", "world", &server.url()])
        .expect(0);
    let run = alice.sig(&["fetch"]).expect(0);
    let url = server.url();
    assert!(
        run.stdout.contains(&format!("GET {url}repo.json... done.")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "Imported [{}] Hello World <hello@world.com>.",
            &world_fpr[32..]
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("world: updated (serial 2, 1 attestations)"),
        "{}",
        run.stdout
    );

    let run = alice.sig(&["verify", lib]).expect(1);
    assert!(
        run.stdout.contains(&format!(
            "untrusted [{}] Hello World <hello@world.com>",
            &world_fpr[32..]
        )),
        "{}",
        run.stdout
    );
    alice.sig(&["trust", "add", &world_fpr[24..]]).expect(0);
    let run = alice.sig(&["verify", lib]).expect(0);
    assert!(
        run.stdout
            .contains(&format!("ok [{}] Hello World", &world_fpr[32..])),
        "{}",
        run.stdout
    );
    let json = alice.sig(&["verify", "--json", lib]).expect(0).json();
    assert_eq!(json["attestations"][0]["source"], "remote:world");

    // Unchanged: two 304s, no new copy.
    server.take_log();
    let run = alice.sig(&["fetch", "world"]).expect(0);
    assert!(run.stdout.contains("world: unchanged"), "{}", run.stdout);
    let statuses: Vec<u16> = server.take_log().into_iter().map(|(_, s)| s).collect();
    assert_eq!(statuses, vec![304, 304]);

    // A new attestation upstream arrives with the next fetch.
    let other = world.file("other.c", b"other");
    world.attest(&other, false, "backdoor").expect(0);
    server.serve_repo(&world.repo_dir());
    let run = alice.sig(&["fetch"]).expect(0);
    assert!(
        run.stdout
            .contains("world: updated (serial 3, 2 attestations)"),
        "{}",
        run.stdout
    );
    let other = alice.file("other.c", b"other");
    alice.sig(&["verify", other.to_str().unwrap()]).expect(3);

    // The remote's state survives a daemon restart, answering from the stored copy, without
    // checking its signatures again (the checked cache matches the copy)...
    alice.sig(&["daemon", "stop"]).expect(0);
    alice.sig(&["verify", lib]).expect(0);
    assert!(
        alice.log().contains("loaded from the checked cache"),
        "{}",
        alice.log()
    );
    // ...and a cache that does not match its copy is ignored and rebuilt.
    let cache_path = alice.home.join("remotes/world/checked.json");
    let mut cache: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cache_path).unwrap()).unwrap();
    let real = cache["repo_sha256"].clone();
    cache["repo_sha256"] = json!("0".repeat(64));
    cache["entries"] = json!([]);
    std::fs::write(&cache_path, cache.to_string()).unwrap();
    alice.sig(&["daemon", "stop"]).expect(0);
    alice.sig(&["verify", lib]).expect(0);
    let rebuilt: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cache_path).unwrap()).unwrap();
    assert_eq!(rebuilt["repo_sha256"], real);
    let list = alice.sig(&["remote", "list", "--json"]).expect(0).json();
    let r = &list["remotes"][0];
    assert_eq!(r["name"], "world");
    assert_eq!(r["key"]["fingerprint"], world_fpr.as_str());
    assert_eq!(r["serial"], 3);
    assert_eq!(r["attestations"], 2);
    assert!(r["last_success"].is_string());

    // Removing the remote takes its attestations out at once.
    alice.sig(&["remote", "remove", "world"]).expect(0);
    alice.sig(&["verify", lib]).expect(1);
    assert!(!alice.home.join("remotes/world").exists());
    let run = alice.sig(&["fetch", "world"]).expect(2);
    assert!(
        run.stderr.contains("no remote named \"world\""),
        "{}",
        run.stderr
    );
}

/// Each bad answer is refused or fails with a clear message; verify keeps answering from the
/// last good copy; the error shows in `remote list`; a good fetch then succeeds again.
#[test]
fn hostile_servers_are_refused_and_the_last_good_copy_stays() {
    let (world, world_fpr) = world();
    let mallory = Home::new();
    mallory.setup("Mallory <mallory@example.org>");
    let server = TestServer::start();
    server.serve_repo(&world.repo_dir());
    let alice = follower();
    let lib = alice.file("lib.c", b"int main(void) { return 0; }\n");
    let lib = lib.to_str().unwrap();
    alice
        .sig(&["remote", "add", "world", &server.url()])
        .expect(0);
    alice.sig(&["fetch"]).expect(0);
    alice.sig(&["trust", "add", &world_fpr]).expect(0);
    alice.sig(&["verify", lib]).expect(0);

    let good_repo = std::fs::read(world.repo_dir().join("repo.json")).unwrap();
    let good_key = std::fs::read(world.repo_dir().join("key.asc")).unwrap();
    let tampered = String::from_utf8(good_repo.clone())
        .unwrap()
        .replace("\"reviewed\"", "\"REVIEWED\"")
        .into_bytes();
    let mallory_key = std::fs::read(mallory.repo_dir().join("key.asc")).unwrap();
    let mallory_repo = std::fs::read(mallory.repo_dir().join("repo.json")).unwrap();

    let cases: Vec<(&str, &str, Serve, &str)> = vec![
        (
            "tampered data",
            "repo.json",
            Serve::File(tampered),
            "refused: repo.json's signature does not verify",
        ),
        (
            "swapped key.asc",
            "key.asc",
            Serve::File(mallory_key.clone()),
            "is pinned to",
        ),
        (
            "repo signed by another key",
            "repo.json",
            Serve::File(mallory_repo),
            "not by the remote's key",
        ),
        (
            "HTML with status 200",
            "repo.json",
            Serve::Status(200, b"<html><body>Welcome!</body></html>".to_vec()),
            "refused: repo.json is not a valid repository: not valid JSON",
        ),
        (
            "404",
            "repo.json",
            Serve::Status(404, b"gone".to_vec()),
            "HTTP 404",
        ),
        (
            "200 MB body",
            "repo.json",
            Serve::Huge(200 << 20),
            "larger than 67108864 bytes",
        ),
        (
            "trickling body",
            "repo.json",
            Serve::Trickle(good_repo.clone()),
            "no complete answer within 3s",
        ),
        (
            "connection reset mid-body",
            "repo.json",
            Serve::ResetMidBody,
            "failed:",
        ),
        (
            "redirect loop",
            "repo.json",
            Serve::RedirectLoop,
            "too many redirects",
        ),
        (
            "never answers",
            "key.asc",
            Serve::Silent,
            "no complete answer within 3s",
        ),
    ];
    for (name, file, serve, expected) in cases {
        server.route(file, serve);
        let started = std::time::Instant::now();
        let run = alice.sig(&["fetch"]).expect(2);
        assert!(
            run.stderr.contains(expected),
            "{name}: expected {expected:?} in:\n{}",
            run.stderr
        );
        assert!(
            started.elapsed().as_secs() < 15,
            "{name}: took {:?}",
            started.elapsed()
        );
        // The last good copy still answers.
        alice.sig(&["verify", lib]).expect(0);
        let list = alice.sig(&["remote", "list", "--json"]).expect(0).json();
        let error = list["remotes"][0]["last_error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(!error.is_empty(), "{name}: no last_error recorded");
        assert_eq!(
            list["remotes"][0]["key"]["fingerprint"],
            world_fpr.as_str(),
            "{name}: pin changed"
        );
        // Good again: the fetch succeeds and the error clears.
        server.route("repo.json", Serve::File(good_repo.clone()));
        server.route("key.asc", Serve::File(good_key.clone()));
        let run = alice.sig(&["fetch"]).expect(0);
        assert!(
            run.stdout.contains("world: unchanged") || run.stdout.contains("world: updated"),
            "{name}: {}",
            run.stdout
        );
        let list = alice.sig(&["remote", "list", "--json"]).expect(0).json();
        assert!(
            list["remotes"][0]["last_error"].is_null(),
            "{name}: error not cleared"
        );
    }
}

#[test]
fn rollback_and_equivocation_are_refused() {
    let (world, world_fpr) = world();
    // A twin of the world's home: same key, same serial, then each writes something different.
    let twin = Home::new();
    let copy = std::process::Command::new("cp")
        .arg("-a")
        .arg(&world.home)
        .arg(&twin.home)
        .status()
        .unwrap();
    assert!(copy.success());
    std::fs::remove_file(twin.home.join("signetd.lock")).ok();
    std::fs::remove_file(twin.home.join("signetd.sock")).ok();
    let old_repo = std::fs::read(world.repo_dir().join("repo.json")).unwrap();
    let a = world.file("a", b"a");
    world.attest(&a, true, "serial 3 in the world").expect(0);
    let b = twin.file("b", b"b");
    twin.attest(&b, true, "serial 3 in the twin").expect(0);

    let server = TestServer::start();
    server.serve_repo(&world.repo_dir());
    let alice = follower();
    alice
        .sig(&["remote", "add", "world", &server.url()])
        .expect(0);
    alice.sig(&["fetch"]).expect(0);
    alice.sig(&["trust", "add", &world_fpr]).expect(0);
    let a_here = alice.file("a", b"a");
    alice.sig(&["verify", a_here.to_str().unwrap()]).expect(0);

    server.route("repo.json", Serve::File(old_repo));
    let run = alice.sig(&["fetch"]).expect(2);
    assert!(
        run.stderr
            .contains("refused: rollback: serial 2 is lower than serial 3"),
        "{}",
        run.stderr
    );

    server.serve_repo(&twin.repo_dir());
    let run = alice.sig(&["fetch"]).expect(2);
    assert!(
        run.stderr.contains("refused: equivocation: serial 3"),
        "{}",
        run.stdout
    );
    alice.sig(&["verify", a_here.to_str().unwrap()]).expect(0);
    let b_here = alice.file("b", b"b");
    alice.sig(&["verify", b_here.to_str().unwrap()]).expect(1);
}

#[test]
fn a_daemon_publishes_and_another_fetches_with_304s() {
    let (world, world_fpr) = world();
    let url = world.publish_http();
    let alice = follower();
    alice.sig(&["remote", "add", "world", &url]).expect(0);
    let run = alice.sig(&["fetch"]).expect(0);
    assert!(run.stdout.contains("world: updated"), "{}", run.stdout);
    let run = alice.sig(&["fetch"]).expect(0);
    assert!(
        run.stdout
            .contains(&format!("GET {url}repo.json... not modified.")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("world: unchanged"));
    alice.sig(&["trust", "add", &world_fpr]).expect(0);
    let lib = alice.file("lib.c", b"int main(void) { return 0; }\n");
    alice.sig(&["verify", lib.to_str().unwrap()]).expect(0);

    // Nothing else is served: no listing, no path outside repo/.
    for path in [
        "/",
        "/keys/secret.asc",
        "/../keys/secret.asc",
        "/repo.json/../../trust.json",
        "/%2e%2e/keys/secret.asc",
    ] {
        let out = std::process::Command::new("python3")
            .args(["-c", "import sys,urllib.request\ntry:\n urllib.request.urlopen(sys.argv[1]); print(200)\nexcept Exception as e: print(getattr(e,'code','err'))"])
            .arg(format!("{}{}", url.trim_end_matches('/'), path))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "404", "{path}");
    }

    // Remembered across a restart of the publishing daemon.
    world.sig(&["daemon", "stop"]).expect(0);
    world.sig(&["daemon", "start"]).expect(0);
    let status = world.sig(&["status", "--json"]).expect(0).json();
    assert_eq!(status["publishing"], url.as_str());
    alice.sig(&["fetch"]).expect(0);

    // And to a directory (made first: a missing one is refused with a hint), atomically.
    let dir = world.root.join("www");
    std::fs::create_dir(&dir).unwrap();
    world
        .sig(&["publish", "--to", dir.to_str().unwrap()])
        .expect(0);
    assert_eq!(
        std::fs::read(dir.join("repo.json")).unwrap(),
        std::fs::read(world.repo_dir().join("repo.json")).unwrap()
    );
    assert!(dir.join("key.asc").exists());
}

/// The daemon fetches remotes on its own schedule; `sig status` says when each is due.
#[test]
fn scheduled_sync_fetches_without_being_asked() {
    let (world, _) = world();
    let server = TestServer::start();
    server.serve_repo(&world.repo_dir());
    let alice = Home::new();
    alice.config(json!({"sync": {"interval_secs": 1}, "fetch": {"timeout_secs": 3}}));
    alice.setup("Alice <alice@example.org>");
    alice
        .sig(&["remote", "add", "world", &server.url()])
        .expect(0);
    let serial = |alice: &Home| {
        alice.sig(&["remote", "list", "--json"]).expect(0).json()["remotes"][0]["serial"].clone()
    };
    signet_tests::wait_until(
        "the scheduled sync",
        std::time::Duration::from_secs(20),
        || (serial(&alice) == 2).then_some(()),
    );
    let status = alice.sig(&["status"]).expect(0);
    assert!(
        status.stdout.contains("  world: next sync in"),
        "{}",
        status.stdout
    );
    // Upstream changes arrive by themselves too.
    let other = world.file("other.c", b"other");
    world.attest(&other, true, "").expect(0);
    server.serve_repo(&world.repo_dir());
    signet_tests::wait_until(
        "the change to arrive by itself",
        std::time::Duration::from_secs(20),
        || (serial(&alice) == 3).then_some(()),
    );
}

/// A repository carrying bad attestations: each is dropped and counted, the good ones count.
#[test]
fn misfiled_forged_and_unknown_attestations_are_dropped_and_counted() {
    use signet_proto::formats::{ContentId, RepoContents, Statement};
    use signetd::keys;

    let owner = keys::generate("Owner <owner@example.org>").unwrap();
    let stranger = keys::generate("Stranger <s@example.org>").unwrap();
    let (owner_key, stranger_key) = (
        keys::EmbeddedKey::new(owner.clone()).unwrap(),
        keys::EmbeddedKey::new(stranger).unwrap(),
    );
    let id = |b: u8| ContentId::sha256(&[b; 32]);
    let mut contents = RepoContents {
        serial: 1,
        ..Default::default()
    };
    let mut file = |filed: &ContentId, att| {
        contents
            .attestations
            .entry(filed.to_string())
            .or_default()
            .push(att)
    };
    let good =
        keys::sign_value(&owner_key, Statement::to_data(&id(1), true, true, "good")).unwrap();
    file(&id(1), good);
    let misfiled = keys::sign_value(
        &owner_key,
        Statement::to_data(&id(2), true, true, "misfiled"),
    )
    .unwrap();
    file(&id(3), misfiled);
    let mut forged = keys::sign_value(
        &owner_key,
        Statement::to_data(&id(4), false, true, "forged"),
    )
    .unwrap();
    forged.data = Statement::to_data(&id(4), true, true, "forged");
    file(&id(4), forged);
    let unknown = keys::sign_value(
        &stranger_key,
        Statement::to_data(&id(5), true, true, "unknown key"),
    )
    .unwrap();
    file(&id(5), unknown);
    let repo = keys::sign_value(&owner_key, contents.to_data()).unwrap();

    let server = TestServer::start();
    server.route(
        "repo.json",
        Serve::File(signetd::home::own_repo::file_bytes(&repo)),
    );
    server.route("key.asc", Serve::File(keys::armored_public(&owner)));
    let alice = follower();
    alice
        .sig(&["remote", "add", "crafted", &server.url()])
        .expect(0);
    let run = alice.sig(&["fetch"]).expect(0);
    assert!(
        run.stdout
            .contains("crafted: updated (serial 1, 1 attestations, 3 rejected)"),
        "{}",
        run.stdout
    );
    alice
        .sig(&["trust", "add", &keys::fingerprint(&owner).to_string()])
        .expect(0);
    alice.sig(&["verify", "--id", id(1).as_str()]).expect(0);
    for n in [2, 3, 4, 5] {
        let run = alice
            .sig(&["verify", "--json", "--id", id(n).as_str()])
            .expect(1);
        assert_eq!(run.json()["attestations"], json!([]), "id {n}");
    }
    let list = alice.sig(&["remote", "list", "--json"]).expect(0).json();
    assert_eq!(list["remotes"][0]["rejected"], 3);
}

/// An update of a remote in the seed format downloads every attestation again, but verifies
/// only the envelopes whose exact bytes it has not found genuine before (`verified.bin`,
/// beside the copy, so across a restart too). An envelope whose data changed under the old
/// signature is not one of them: it is verified, and refused.
#[test]
fn an_update_in_the_seed_format_verifies_only_the_envelopes_it_has_not_seen() {
    use signet_proto::formats::{ContentId, RepoContents, Statement};
    use signetd::keys;

    let owner = keys::generate("Owner <owner@example.org>").unwrap();
    let owner_key = keys::EmbeddedKey::new(owner.clone()).unwrap();
    let id = |b: u8| ContentId::sha256(&[b; 32]);
    let word = |b: u8| {
        keys::sign_value(&owner_key, Statement::to_data(&id(b), true, true, "read")).unwrap()
    };
    let mut contents = RepoContents {
        serial: 1,
        ..Default::default()
    };
    for b in 1..=3 {
        contents
            .attestations
            .insert(id(b).to_string(), vec![word(b)]);
    }
    let server = TestServer::start();
    server.route("key.asc", Serve::File(keys::armored_public(&owner)));
    let publish = |contents: &RepoContents| {
        let repo = keys::sign_value(&owner_key, contents.to_data()).unwrap();
        server.route(
            "repo.json",
            Serve::File(signetd::home::own_repo::file_bytes(&repo)),
        );
    };
    // What each check of a copy found, as the daemon logs it.
    let checks = |home: &Home| -> Vec<String> {
        home.log()
            .lines()
            .filter(|l| l.contains("checked the copy"))
            .map(|l| l[l.find("genuine=").expect("counts logged")..].to_owned())
            .collect()
    };
    publish(&contents);
    let alice = follower();
    alice
        .sig(&["remote", "add", "seed", &server.url()])
        .expect(0);
    alice.sig(&["fetch"]).expect(0);
    assert_eq!(checks(&alice), ["genuine=3 verified_before=0"]);

    // One new word: three verdicts remembered, one signature verified.
    contents.serial = 2;
    contents
        .attestations
        .insert(id(4).to_string(), vec![word(4)]);
    publish(&contents);
    let run = alice.sig(&["fetch"]).expect(0);
    assert!(
        run.stdout
            .contains("seed: updated (serial 2, 4 attestations)"),
        "{}",
        run.stdout
    );
    assert_eq!(checks(&alice)[1], "genuine=4 verified_before=3");

    // A restart without the checked cache checks the stored copy again: from the memo.
    alice.sig(&["daemon", "stop"]).expect(0);
    std::fs::remove_file(alice.home.join("remotes/seed/checked.json")).unwrap();
    alice.sig(&["status"]).expect(0);
    assert_eq!(checks(&alice)[2], "genuine=4 verified_before=4");

    // A fifth word, and the first one's data changed under its signature.
    contents.serial = 3;
    contents
        .attestations
        .insert(id(5).to_string(), vec![word(5)]);
    let first = &mut contents.attestations.get_mut(&id(1).to_string()).unwrap()[0];
    first.data = Statement::to_data(&id(1), false, true, "read");
    publish(&contents);
    let run = alice.sig(&["fetch"]).expect(0);
    assert!(
        run.stdout
            .contains("seed: updated (serial 3, 4 attestations, 1 rejected)"),
        "{}",
        run.stdout
    );
    assert_eq!(
        checks(&alice).last().unwrap(),
        "genuine=4 verified_before=3"
    );
    alice
        .sig(&["trust", "add", &keys::fingerprint(&owner).to_string()])
        .expect(0);
    let run = alice
        .sig(&["verify", "--json", "--id", id(1).as_str()])
        .expect(1);
    assert_eq!(run.json()["attestations"], json!([]));
    alice.sig(&["verify", "--id", id(5).as_str()]).expect(0);
}

/// A remote's checked cache survives keys learnt elsewhere — another remote's key, here —
/// and the restart after it loads the copy without checking a signature (before: any key
/// learnt anywhere threw every remote's cache away, and a restart at a million attestations
/// checked them all again). A cache holds only while what is known of the keys whose words
/// could not enter is unchanged: once the stranger's key is known, its word is checked.
#[test]
fn a_checked_cache_survives_other_keys_and_yields_to_the_keys_it_waited_for() {
    use signet_tests::forge::{self, Forge};
    let owner = Forge::new("Owner <owner@example.org>");
    let stranger = Forge::new("Stranger <stranger@example.org>");
    let bob = Forge::new("Bob <bob@example.org>");
    let strangers_id = format!("sha256:{}", "5".repeat(64));
    let mut words: Vec<String> = (0..50u32)
        .map(|n| owner.attestation(&format!("sha256:{n:064x}"), true, "ok", forge::ago(60)))
        .collect();
    let owners = TestServer::start();
    owners.route("key.asc", Serve::File(owner.key_asc()));
    owners.route("repo.json", Serve::File(owner.repo(1, &words)));
    let bobs = TestServer::start();
    bobs.route("key.asc", Serve::File(bob.key_asc()));
    let bobs_word = bob.attestation(
        &format!("sha256:{}", "b".repeat(64)),
        true,
        "",
        forge::ago(60),
    );
    bobs.route("repo.json", Serve::File(bob.repo(1, &[bobs_word])));

    let home = follower();
    home.sig(&["remote", "add", "owner", &owners.url()])
        .expect(0);
    home.sig(&["fetch"]).expect(0);
    home.sig(&["remote", "add", "bob", &bobs.url()]).expect(0);
    home.sig(&["fetch"]).expect(0);
    let loaded_from_cache = |home: &Home| {
        home.sig(&["daemon", "stop"]).expect(0);
        let before = home.log().len();
        home.sig(&["status"]).expect(0);
        let log = home.log()[before..].to_owned();
        log.lines()
            .any(|l| l.contains("loaded from the checked cache") && l.contains("remote=owner"))
    };
    assert!(loaded_from_cache(&home), "{}", home.log());

    // The owner's next copy carries a word of a key nobody here knows.
    words.push(stranger.attestation(&strangers_id, false, "bad", forge::ago(60)));
    owners.route("repo.json", Serve::File(owner.repo(2, &words)));
    home.sig(&["fetch"]).expect(0);
    let id_json = |home: &Home| {
        home.sig(&["verify", "--json", "--id", &strangers_id])
            .json()
    };
    assert_eq!(id_json(&home)["unknown"], 1);

    // The stranger's key becomes known (as if learnt while the daemon was stopped): the
    // owner's copy is checked again, and the stranger's word is a checked one now.
    home.sig(&["daemon", "stop"]).expect(0);
    let certs = home.home.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::write(
        certs.join(format!("{}.asc", stranger.fingerprint())),
        stranger.key_asc(),
    )
    .unwrap();
    assert!(
        !loaded_from_cache(&home),
        "a cache kept past the key it waited for"
    );
    let result = id_json(&home);
    assert_eq!(result["unknown"], 0, "{result:#}");
    assert_eq!(
        result["attestations"][0]["key"],
        stranger.fingerprint().as_str(),
        "{result:#}"
    );
}

/// A stored copy changed on disk while the daemon was stopped is not answered for by its
/// checked cache: the cache is matched by the digest of `remotes/NAME/repo.json` as it is now
/// (hashed as it is read, without holding it), so a word altered there is
/// checked — and the copy refused, said by `sig status` — instead of taken; the next fetch
/// brings the good copy back.
#[test]
fn a_stored_copy_changed_on_disk_is_checked_again_not_taken_from_its_cache() {
    use signet_tests::forge::{self, Forge};
    let owner = Forge::new("Owner <owner@example.org>");
    let words: Vec<String> = (0..20u32)
        .map(|n| {
            let id = format!("sha256:{n:064x}");
            owner.attestation(&id, true, "checked by hand", forge::ago(60))
        })
        .collect();
    let server = TestServer::start();
    server.route("key.asc", Serve::File(owner.key_asc()));
    server.route("repo.json", Serve::File(owner.repo(1, &words)));
    let home = follower();
    home.sig(&["remote", "add", "owner", &server.url()])
        .expect(0);
    home.sig(&["fetch"]).expect(0);
    let first = format!("sha256:{:064x}", 0);
    let words_about_first = |home: &Home| {
        let result = home.sig(&["verify", "--json", "--id", &first]).json();
        result["attestations"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(words_about_first(&home), 1);
    let restart = |home: &Home| {
        home.sig(&["daemon", "stop"]).expect(0);
        let before = home.log().len();
        let status = home.sig(&["status"]);
        let log = home.log()[before..].to_owned();
        let from_cache = log
            .lines()
            .any(|l| l.contains("loaded from the checked cache") && l.contains("remote=owner"));
        (from_cache, status)
    };
    let (from_cache, status) = restart(&home);
    assert!(from_cache, "an unchanged copy is loaded from its cache");
    status.expect(0);

    // One byte of one word's comment changed in the stored copy, nothing else.
    home.sig(&["daemon", "stop"]).expect(0);
    let stored = home.home.join("remotes/owner/repo.json");
    let text = std::fs::read_to_string(&stored).unwrap();
    assert!(text.contains("checked by hand"), "{text}");
    std::fs::write(
        &stored,
        text.replacen("checked by hand", "checked by fand", 1),
    )
    .unwrap();
    let (from_cache, status) = restart(&home);
    assert!(
        !from_cache,
        "a changed copy answered for by the cache of another"
    );
    let status = status.expect(2);
    assert!(
        status.stdout.contains("does not pass the rules any more"),
        "the refused copy is said: {}",
        status.stdout
    );
    assert_eq!(
        words_about_first(&home),
        0,
        "nothing of the refused copy held"
    );

    home.sig(&["fetch"]).expect(0);
    assert_eq!(words_about_first(&home), 1, "the next fetch brings it back");
}
