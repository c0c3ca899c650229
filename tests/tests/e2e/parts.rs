//! The large-publisher layout (docs/FORMATS.md, "Parts") end to end: a repository past
//! `publish.parts_above` is written as a signed top document over part files; a follower
//! downloads only the parts it does not hold, through three updates, counted in the bytes a
//! real HTTP server sent; a part of another version and a rolled-back top document are
//! refused while the copy held keeps answering; the daemon's own publisher and `sig publish
//! --to` serve the parts; below the line the seed format stays, which the reference reads.

use std::path::PathBuf;

use serde_json::json;
use signet_tests::Home;
use signet_tests::http::{Serve, TestServer};

/// A publisher that writes parts past 50 attestations.
fn publisher() -> (Home, String) {
    let home = Home::new();
    home.config(json!({"sync": {"interval_secs": 0}, "publish": {"parts_above": 50}}));
    let fpr = home.setup("Big Registry <registry@example.org>");
    (home, fpr)
}

/// Writes `n` files of distinct contents named `TAG-N` and attests them in one write.
fn attest_files(home: &Home, tag: &str, n: usize) -> Vec<PathBuf> {
    let files: Vec<PathBuf> = (0..n)
        .map(|i| {
            home.file(
                &format!("{tag}-{i}"),
                format!("{tag} file {i}\n").as_bytes(),
            )
        })
        .collect();
    let mut args = vec!["attest"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    args.extend(["--ok", "--reviewed", "--comment", "built from source"]);
    home.sig(&args).expect(0);
    files
}

fn parts_listed(home: &Home) -> Vec<String> {
    home.read_repo()["data"]["parts"]
        .as_array()
        .map(|parts| {
            parts
                .iter()
                .map(|p| p["sha256"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn files_in(dir: PathBuf) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

/// A follower of `url` who trusts `fpr`.
fn follower_trusting(url: &str, fpr: &str) -> Home {
    let alice = Home::follower("registry", url);
    alice.sig(&["trust", "add", fpr]).expect(0);
    alice
}

fn verify_ok(home: &Home, file: &std::path::Path) {
    let run = home.sig(&["verify", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn a_large_publisher_is_followed_through_three_updates_downloading_only_what_changed() {
    // Hundreds of words signed and checked by two daemons: it loads the machine.
    let _alone = signet_tests::exclusive();
    let (registry, fpr) = publisher();
    let first = attest_files(&registry, "v1", 400);
    let repo = registry.read_repo();
    assert_eq!(
        repo["data"]["attestations"],
        json!({}),
        "past parts_above, the attestations are in parts"
    );
    let parts = parts_listed(&registry);
    assert!(parts.len() >= 8, "{} parts", parts.len());
    assert_eq!(files_in(registry.repo_dir().join("parts")), parts.len());

    let server = TestServer::start();
    server.serve_repo(&registry.repo_dir());
    let alice = follower_trusting(&server.url(), &fpr);
    let run = alice.sig(&["fetch"]).expect(0);
    assert!(
        run.stdout.contains("registry: updated") && run.stdout.contains("400 attestations"),
        "{}",
        run.stdout
    );
    let whole = server.take_bytes_sent();
    verify_ok(&alice, &first[0]);
    verify_ok(&alice, &first[399]);

    for update in 1..=3 {
        let new = attest_files(&registry, &format!("update{update}"), 1);
        server.serve_repo(&registry.repo_dir());
        server.take_log();
        let run = alice.sig(&["fetch"]).expect(0);
        assert!(
            run.stdout
                .contains(&format!("{} attestations", 400 + update)),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout.contains("1 of the"),
            "one new part: {}",
            run.stdout
        );
        let sent = server.take_bytes_sent();
        let parts_sent = server
            .take_log()
            .iter()
            .filter(|(path, status)| path.contains("/parts/") && *status == 200)
            .count();
        assert_eq!(parts_sent, 1, "update {update}");
        let top = std::fs::metadata(registry.repo_dir().join("repo.json"))
            .unwrap()
            .len();
        assert!(
            sent < top + whole / 4,
            "update {update}: {sent} bytes sent for one attestation (the top document is \
             {top}, the whole first fetch {whole})"
        );
        verify_ok(&alice, &new[0]);
        // Only the new part was read and its signatures checked; the others' words stood.
        let checked = alice
            .log()
            .lines()
            .filter_map(|l| l.split_once("checked ").map(|(_, rest)| rest.to_owned()))
            .next_back()
            .unwrap_or_default();
        assert!(
            checked.starts_with("1 parts, 0 from their caches"),
            "update {update}: {checked}"
        );
        // The follower keeps the parts named now, and no others.
        let held = alice.home.join("remotes/registry/parts");
        assert_eq!(files_in(held), parts_listed(&registry).len());
        let caches = alice.home.join("remotes/registry/checked");
        assert_eq!(files_in(caches), parts_listed(&registry).len());
    }

    // Every word of the first version stands, in the bins that changed as in the others.
    let mut all = vec!["verify"];
    all.extend(first.iter().map(|f| f.to_str().unwrap()));
    let run = alice.sig(&all);
    assert_eq!(run.code, 0, "{}", run.stdout);

    // A restart answers from the stored parts and their caches; so does one whose caches are
    // gone, which checks every part again and keeps their caches anew.
    alice.sig(&["daemon", "stop"]).expect(0);
    verify_ok(&alice, &first[7]);
    alice.sig(&["daemon", "stop"]).expect(0);
    let caches = alice.home.join("remotes/registry/checked");
    std::fs::remove_dir_all(&caches).unwrap();
    verify_ok(&alice, &first[8]);
    assert_eq!(files_in(caches), parts_listed(&registry).len());
}

#[test]
fn a_part_of_another_version_and_a_rolled_back_top_document_are_refused() {
    // Hundreds of words signed and checked by two daemons: it loads the machine.
    let _alone = signet_tests::exclusive();
    let (registry, fpr) = publisher();
    let first = attest_files(&registry, "v1", 120);
    let server = TestServer::start();
    server.serve_repo(&registry.repo_dir());
    let alice = follower_trusting(&server.url(), &fpr);
    alice.sig(&["fetch"]).expect(0);
    let old_top = std::fs::read(registry.repo_dir().join("repo.json")).unwrap();
    let old_parts = parts_listed(&registry);

    // The next version, its changed part answered with the bytes of the part it replaced.
    let new = attest_files(&registry, "v2", 1);
    server.serve_repo(&registry.repo_dir());
    let changed: Vec<String> = parts_listed(&registry)
        .into_iter()
        .filter(|p| !old_parts.contains(p))
        .collect();
    assert_eq!(changed.len(), 1);
    let replaced = old_parts
        .iter()
        .find(|p| !parts_listed(&registry).contains(p))
        .expect("one part replaced");
    let stale = std::fs::read(
        alice
            .home
            .join(format!("remotes/registry/parts/{replaced}.json")),
    )
    .unwrap();
    server.route(&format!("parts/{}.json", changed[0]), Serve::File(stale));
    let run = alice.sig(&["fetch"]).expect(2);
    assert!(
        run.stderr.contains("not the part repo.json names"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    verify_ok(&alice, &first[0]);
    assert_ne!(alice.sig(&["verify", new[0].to_str().unwrap()]).code, 0);

    // Served as published, it is taken.
    server.serve_repo(&registry.repo_dir());
    alice.sig(&["fetch"]).expect(0);
    verify_ok(&alice, &new[0]);

    // The older top document, with every part it names still served: a rollback.
    server.route("repo.json", Serve::File(old_top));
    let run = alice.sig(&["fetch"]).expect(2);
    assert!(run.stderr.contains("rollback"), "{}", run.stderr);
    verify_ok(&alice, &new[0]);
}

#[test]
fn the_daemons_publisher_and_a_copy_serve_the_parts() {
    // Hundreds of words signed and checked by two daemons: it loads the machine.
    let _alone = signet_tests::exclusive();
    let (registry, fpr) = publisher();
    let files = attest_files(&registry, "v1", 80);
    let url = registry.publish_http();
    let alice = follower_trusting(&url, &fpr);
    let run = alice.sig(&["fetch"]).expect(0);
    assert!(run.stdout.contains("80 attestations"), "{}", run.stdout);
    verify_ok(&alice, &files[79]);

    // A copy for a static web server carries the parts, and drops those no longer named.
    let web = tempfile::tempdir().unwrap();
    let to = web.path().join("signet");
    std::fs::create_dir(&to).unwrap();
    registry
        .sig(&["publish", "--to", to.to_str().unwrap()])
        .expect(0);
    assert_eq!(files_in(to.join("parts")), parts_listed(&registry).len());
    attest_files(&registry, "v2", 1);
    attest_files(&registry, "v3", 1);
    registry
        .sig(&["publish", "--to", to.to_str().unwrap()])
        .expect(0);
    let kept = files_in(to.join("parts"));
    let named = parts_listed(&registry).len();
    assert!(
        kept >= named && kept <= named + 2,
        "{kept} part files for {named} parts named"
    );
}

/// The publisher's `parts/` holds the parts `repo.json` names and those the version before it
/// named (a follower fetching that one meanwhile still finds them), and nothing older: through
/// writes of one daemon, which knows what it wrote; after a restart, which has to look; after
/// a re-key, which re-signs the top document; and after a word replaced by a newer one.
#[test]
fn the_publisher_keeps_the_parts_of_this_version_and_the_one_before_and_no_others() {
    let _alone = signet_tests::exclusive();
    let (registry, _) = publisher();
    let first = attest_files(&registry, "v1", 120);
    let on_disk = || -> std::collections::BTreeSet<String> {
        std::fs::read_dir(registry.repo_dir().join("parts"))
            .unwrap()
            .map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".json").unwrap().to_owned()
            })
            .collect()
    };
    let mut before = parts_listed(&registry);
    for round in 0..6 {
        match round {
            2 => {
                registry.sig(&["daemon", "stop"]).expect(0);
            }
            4 => {
                // The re-signed version is the one before the next.
                registry.replace_key("Big Registry <registry@example.org>");
                before = parts_listed(&registry);
            }
            _ => {}
        }
        if round == 5 {
            // The key's word about the first file, replaced: its bin is made again.
            let file = first[0].to_str().unwrap();
            let args = [
                "attest",
                file,
                "--ok",
                "--reviewed",
                "--comment",
                "read again",
            ];
            registry.sig(&args).expect(0);
        } else {
            attest_files(&registry, &format!("u{round}"), 1);
        }
        let now = parts_listed(&registry);
        let expected = before.iter().chain(&now).cloned().collect();
        assert_eq!(on_disk(), expected, "round {round}");
        before = now;
    }
}

#[test]
fn a_small_repository_stays_in_the_seed_format() {
    let home = Home::new();
    home.setup("Small <small@example.org>");
    attest_files(&home, "f", 3);
    let repo = home.read_repo();
    assert!(repo["data"].get("parts").is_none(), "{repo:#}");
    assert_eq!(repo["data"]["attestations"].as_object().unwrap().len(), 3);
    assert!(!home.repo_dir().join("parts").exists());
}

/// A large publisher replaces its key: the re-signed top document names the same parts and
/// the two halves of the rotation are filed in theirs; a follower reads only the bins of those
/// statements to follow the rotation, and every word stands.
#[test]
fn a_key_rotation_of_a_large_publisher_is_followed() {
    // Hundreds of words signed and checked by two daemons: it loads the machine.
    let _alone = signet_tests::exclusive();
    let (registry, fpr) = publisher();
    let files = attest_files(&registry, "v1", 120);
    let server = TestServer::start();
    server.serve_repo(&registry.repo_dir());
    let alice = follower_trusting(&server.url(), &fpr);
    alice.sig(&["fetch"]).expect(0);
    let (_, new_fpr) = registry.replace_key("Big Registry <registry@example.org>");
    assert!(registry.read_repo()["data"]["parts"].is_array());
    server.serve_repo(&registry.repo_dir());
    let run = alice.sig(&["fetch"]).expect(0);
    assert!(
        run.stdout.contains(&new_fpr[32..]) && run.stdout.contains("122 attestations"),
        "{}",
        run.stdout
    );
    verify_ok(&alice, &files[0]);
    verify_ok(&alice, &files[119]);
}
