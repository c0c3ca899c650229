//! Packages no one here wrote, checked from the lockfiles that pin them (issue 26): a real npm
//! tarball found from package-lock.json and pnpm-lock.yaml by its sha512, a real wheel from
//! requirements.txt, uv.lock and poetry.lock by one of its sha256s; each attestation names
//! the package its file says it is; review criteria a policy can require.

use std::path::Path;

use signet_tests::{Home, fixture};

/// The line `sig deps` prints for a dependency judged `verdict`.
fn line(verdict: &str, name: &str, version: &str) -> String {
    format!("{verdict:<10} {name} {version}")
}

#[test]
fn an_npm_tarball_reviewed_is_found_from_package_lock_and_pnpm_lock_by_its_sha512() {
    let home = Home::new();
    home.setup("Reviewer <r@example.org>");
    let tarball = fixture("packages/is-number-7.0.0.tgz");
    let run = home
        .sig(&[
            "attest",
            &tarball,
            "--ok",
            "--reviewed",
            "--comment",
            "read it",
        ])
        .expect(0);
    assert!(run.stdout.contains("by its sha512"), "{}", run.stdout);
    assert!(
        run.stdout.contains("\"subject\": \"npm/is-number@7.0.0\""),
        "{}",
        run.stdout
    );
    // Verified as a file, by its sha256, the word names the package.
    let run = home.sig(&["verify", &tarball]).expect(0);
    assert!(
        run.stdout.contains("[npm/is-number@7.0.0]"),
        "{}",
        run.stdout
    );

    for lock in [
        "lockfiles/npm/package-lock.json",
        "lockfiles/pnpm/pnpm-lock.yaml",
    ] {
        let run = home.sig(&["deps", &fixture(lock)]).expect(1);
        let ok = line("ok", "is-number", "7.0.0");
        assert!(run.stdout.contains(&ok), "{lock}:\n{}", run.stdout);
        assert!(
            run.stdout
                .contains(&line("unverified", "@types/node", "20.11.0")),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout
                .contains("3 dependencies: 1 ok, 2 not reviewed, 0 NOT ok"),
            "{}",
            run.stdout
        );
    }
    // The same bytes attested under another name: shown beside the word.
    let sha512 = signet_client::lockfile::package_lock(
        &std::fs::read_to_string(fixture("lockfiles/npm/package-lock.json")).unwrap(),
    )
    .unwrap()
    .into_iter()
    .find(|d| d.name == "undici-types")
    .unwrap()
    .ids()[0]
        .to_string();
    home.sig(&[
        "attest",
        "--id",
        &sha512,
        "--ok",
        "--reviewed",
        "--subject",
        "npm/undici@9.9.9",
    ])
    .expect(0);
    let run = home
        .sig(&["deps", &fixture("lockfiles/npm/package-lock.json")])
        .expect(1);
    assert!(
        run.stdout.contains("undici-types 5.26.5 — [")
            && run.stdout.contains("(as npm/undici@9.9.9)"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("(as npm/is-number@7.0.0)"),
        "{}",
        run.stdout
    );
    home.sig(&["attest", "--id", &sha512, "--not-reviewed", "--ok"])
        .expect(0);

    // A project directory with both: each lockfile, then the sum.
    let project = tempfile::tempdir().unwrap();
    for lock in ["npm/package-lock.json", "pnpm/pnpm-lock.yaml"] {
        let from = fixture(&format!("lockfiles/{lock}"));
        let name = Path::new(&from).file_name().unwrap().to_owned();
        std::fs::copy(&from, project.path().join(name)).unwrap();
    }
    let json = home
        .sig(&["deps", "--json", project.path().to_str().unwrap()])
        .expect(1)
        .json();
    assert_eq!(json["lockfiles"].as_array().unwrap().len(), 2, "{json:#}");
    assert_eq!(json["summary"]["ok"], 2, "{json:#}");
    let dep = &json["lockfiles"][0]["dependencies"][1];
    assert_eq!(dep["name"], "is-number");
    assert!(
        dep["ids"][0].as_str().unwrap().starts_with("sha512:"),
        "{dep:#}"
    );
}

#[test]
fn a_wheel_reviewed_is_found_from_requirements_uv_and_poetry_locks_and_criteria_count() {
    let home = Home::new();
    home.setup("Reviewer <r@example.org>");
    let wheel = fixture("packages/six-1.16.0-py2.py3-none-any.whl");
    let run = home
        .sig(&[
            "attest",
            &wheel,
            "--ok",
            "--reviewed",
            "--comment",
            "read it",
        ])
        .expect(0);
    assert!(
        run.stdout.contains("\"subject\": \"pypi/six@1.16.0\""),
        "{}",
        run.stdout
    );
    let locks = [
        "lockfiles/uv/requirements.txt",
        "lockfiles/uv/uv.lock",
        "lockfiles/poetry/poetry.lock",
    ];
    // The wheel is one of the two files each lockfile allows for six: ok, and said so.
    let six = format!("{} — [", line("ok", "six", "1.16.0"));
    for lock in locks {
        let run = home.sig(&["deps", &fixture(lock)]).expect(1);
        assert!(run.stdout.contains(&six), "{lock}:\n{}", run.stdout);
        assert!(run.stdout.contains("(1 of its 2 files)"), "{}", run.stdout);
        assert!(
            run.stdout.contains(&line("unverified", "idna", "3.7")),
            "{}",
            run.stdout
        );
    }

    // A policy that wants safe-to-deploy: a word that does not say so no longer counts.
    home.sig(&["config", "verify.criteria", "[\"safe-to-deploy\"]"])
        .expect(0);
    let requirements = fixture(locks[0]);
    let run = home.sig(&["deps", &requirements]).expect(1);
    assert!(
        run.stdout.contains(&line("unverified", "six", "1.16.0")),
        "{}",
        run.stdout
    );
    home.sig(&[
        "attest",
        &wheel,
        "--ok",
        "--reviewed",
        "--criteria",
        "safe-to-deploy",
    ])
    .expect(0);
    let run = home.sig(&["deps", &requirements]).expect(1);
    assert!(run.stdout.contains(&six), "{}", run.stdout);
    let run = home.sig(&["verify", &wheel]).expect(0);
    assert!(
        run.stdout
            .contains("[pypi/six@1.16.0, meets safe-to-deploy]"),
        "{}",
        run.stdout
    );
    // A NOT ok counts whatever it was reviewed for.
    home.sig(&[
        "attest",
        &wheel,
        "--not-ok",
        "--reviewed",
        "--comment",
        "no",
    ])
    .expect(0);
    home.sig(&["deps", &requirements]).expect(3);
}

#[test]
fn subjects_and_criteria_that_cannot_be_signed_are_refused_before_anything_is() {
    let home = Home::new();
    home.setup("Reviewer <r@example.org>");
    let file = home.file("f", b"f");
    let f = file.to_str().unwrap();
    let repo = || std::fs::read(home.repo_dir().join("repo.json")).unwrap();
    let before = repo();
    for (flag, value, says) in [
        ("--subject", "a b", "is not a subject"),
        ("--subject", "x\u{1b}[31m", "is not a subject"),
        ("--criteria", "Safe To Run", "is not a criterion"),
    ] {
        let run = home
            .sig(&["attest", f, "--ok", "--reviewed", flag, value])
            .expect(2);
        assert!(run.stderr.contains(says), "{value:?}: {}", run.stderr);
        assert!(!run.stderr.contains('\u{1b}'), "{}", run.stderr);
    }
    assert_eq!(repo(), before, "nothing was written");
    let bad = home
        .sig(&["config", "verify.criteria", "[\"NO\"]"])
        .expect(2);
    assert!(bad.stderr.contains("verify.criteria"), "{}", bad.stderr);
}

/// A word given about an npm tarball by its sha512 alone (`--id`, from a lockfile) is found
/// when the tarball itself is verified: the same bytes by another name.
#[test]
fn a_tarball_verified_is_judged_by_its_sha512_words_too() {
    let home = Home::new();
    home.setup("Reviewer <r@example.org>");
    let tarball = fixture("packages/is-number-7.0.0.tgz");
    home.sig(&["verify", &tarball]).expect(1);
    let lock = std::fs::read_to_string(fixture("lockfiles/npm/package-lock.json")).unwrap();
    let deps = signet_client::lockfile::package_lock(&lock).unwrap();
    let sha512 = deps.iter().find(|d| d.name == "is-number").unwrap().ids()[0].to_string();
    home.sig(&[
        "attest",
        "--id",
        &sha512,
        "--not-ok",
        "--reviewed",
        "--comment",
        "read on npm",
    ])
    .expect(0);
    let run = home.sig(&["verify", &tarball]).expect(3);
    assert!(run.stdout.contains("read on npm"), "{}", run.stdout);
    // Attested as a file now (by both its names, as `sig attest` does a tarball): ok.
    home.sig(&["attest", &tarball, "--ok", "--reviewed"])
        .expect(0);
    home.sig(&["verify", &tarball]).expect(0);
}
