//! `sig deps` on this project's own Cargo.lock, vouched for through the real `.crate` files in
//! cargo's registry cache: their sha256 is the lockfile's checksum, so a review of the file
//! anyone downloaded is found from any lockfile that pins it.

use std::path::{Path, PathBuf};

use signet_tests::Home;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Where cargo keeps downloaded `.crate` files: `$CARGO_HOME/registry/cache/*/`.
fn crate_file(name: &str, version: &str) -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    std::fs::read_dir(home.join("registry/cache"))
        .ok()?
        .flatten()
        .map(|registry| registry.path().join(format!("{name}-{version}.crate")))
        .find(|p| p.is_file())
}

#[test]
fn this_projects_cargo_lock_is_checked_by_its_real_crates() {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
    let deps = signet_client::lockfile::cargo_lock(&lock).unwrap();
    // Three registry dependencies whose .crate cargo downloaded to build this very suite.
    let mut crates = Vec::new();
    for name in ["serde", "sha2", "base64"] {
        let dep = deps
            .iter()
            .find(|d| d.name == name && !d.ids().is_empty())
            .unwrap();
        if let Some(file) = crate_file(&dep.name, &dep.version) {
            crates.push((dep.clone(), file));
        }
    }
    if crates.len() < 3 {
        signet_tests::skip(
            "this_projects_cargo_lock_is_checked_by_its_real_crates",
            "cargo's registry cache holds no .crate files",
        );
        return;
    }
    for (dep, file) in &crates {
        let bytes = std::fs::read(file).unwrap();
        assert_eq!(
            signet_tests::content_id(&bytes),
            dep.ids()[0].as_str(),
            "the .crate's sha256 is Cargo.lock's checksum"
        );
    }
    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join("Cargo.lock"), &lock).unwrap();
    let project = project.path().to_str().unwrap().to_owned();

    let home = Home::new();
    home.setup("Reviewer <r@example.org>");
    let attest = |file: &Path, verdict: &str, comment: &str| {
        home.sig(&[
            "attest",
            file.to_str().unwrap(),
            verdict,
            "--reviewed",
            "--comment",
            comment,
        ])
        .expect(0);
    };
    attest(&crates[0].1, "--ok", "read it");
    attest(&crates[1].1, "--ok", "read it");
    attest(&crates[2].1, "--not-ok", "a build script that phones home");
    // A .crate names itself from the Cargo.toml inside it.
    let run = home
        .sig(&["verify", crates[0].1.to_str().unwrap()])
        .expect(0);
    let subject = format!("[crates.io/{}@{}]", crates[0].0.name, crates[0].0.version);
    assert!(run.stdout.contains(&subject), "{subject}\n{}", run.stdout);
    let run = home.sig(&["deps", &project]).expect(3);
    let (serde, sha2, base64) = (&crates[0].0, &crates[1].0, &crates[2].0);
    for dep in [serde, sha2] {
        let line = format!("{:<10} {} {} — ", "ok", dep.name, dep.version);
        assert!(run.stdout.contains(&line), "{line}\n{}", run.stdout);
    }
    let line = format!("{:<10} {} {} — [", "NOT ok", base64.name, base64.version);
    assert!(run.stdout.contains(&line), "{}", run.stdout);
    assert!(
        run.stdout.contains("a build script that phones home"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("2 ok, "), "{}", run.stdout);
    assert!(run.stdout.contains(" 1 NOT ok, "), "{}", run.stdout);
    let unpinned = format!("{:<10} signet-proto", "unpinned");
    assert!(run.stdout.contains(&unpinned), "{}", run.stdout);

    // Replaced by a word that it is ok: nothing NOT ok is left, the rest is not reviewed.
    attest(&crates[2].1, "--ok", "on second look, fine");
    let json = home.sig(&["deps", "--json", &project]).expect(1).json();
    assert_eq!(json["summary"]["ok"], 3, "{json:#}");
    assert_eq!(json["summary"]["not_ok"], 0);
    let pinned = deps.iter().filter(|d| !d.ids().is_empty()).count();
    assert_eq!(json["summary"]["not_reviewed"], pinned - 3);

    // A package reviewed elsewhere is attested by the checksum alone (`--id`), no file here.
    let anyhow = deps.iter().find(|d| d.name == "anyhow").unwrap();
    let id = anyhow.ids()[0].to_string();
    home.sig(&[
        "attest",
        "--id",
        &id,
        "--ok",
        "--reviewed",
        "--comment",
        "read upstream",
    ])
    .expect(0);
    let json = home.sig(&["deps", "--json", &project]).expect(1).json();
    assert_eq!(json["summary"]["ok"], 4, "{json:#}");
}

#[test]
fn a_directory_without_a_lockfile_says_what_to_give() {
    let home = Home::new();
    let empty = tempfile::tempdir().unwrap();
    let run = home
        .sig(&["deps", empty.path().to_str().unwrap()])
        .expect(2);
    assert!(run.stderr.contains("no lockfile here"), "{}", run.stderr);
}
