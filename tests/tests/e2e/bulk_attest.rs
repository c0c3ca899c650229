//! Attesting many files at once: a directory (with the tree rules of `sig verify DIR`) or
//! several files with the verdict given, hashed several at a time and filed in one signed
//! write of the repository.

use signet_tests::Home;

fn serial(home: &Home) -> u64 {
    home.read_repo()["data"]["serial"].as_u64().unwrap()
}

#[test]
fn a_directory_is_attested_in_one_signed_write() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let tree = home.root.join("vendor");
    std::fs::create_dir_all(tree.join("lib/deep")).unwrap();
    for n in 0..40 {
        std::fs::write(tree.join(format!("f{n}.c")), format!("int f{n};\n")).unwrap();
    }
    for n in 0..19 {
        std::fs::write(
            tree.join(format!("lib/deep/g{n}.c")),
            format!("int g{n};\n"),
        )
        .unwrap();
    }
    // A symlink to a file counts (its bytes are the file's); a FIFO is never opened.
    std::os::unix::fs::symlink(tree.join("f0.c"), tree.join("link.c")).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        tree.join("pipe"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let before = serial(&home);
    let run = home
        .sig(&[
            "attest",
            tree.to_str().unwrap(),
            "--ok",
            "--reviewed",
            "--comment",
            "vendored, read",
        ])
        .expect(0);
    assert!(
        run.stdout.contains("Saved attestations for 60 files"),
        "{}",
        run.stdout
    );
    assert_eq!(serial(&home), before + 1, "one write for all of them");
    let run = home.sig(&["verify", tree.to_str().unwrap()]).expect(0);
    assert!(run.stdout.contains("60 ok"), "{}", run.stdout);
    // f0.c and link.c are one content id: one attestation; 59 distinct ids in all.
    let attestations = home.read_repo()["data"]["attestations"]
        .as_object()
        .unwrap()
        .len();
    assert_eq!(attestations, 59);

    // Several files with the verdict given: together too. Attesting again replaces.
    let a = tree.join("f1.c");
    let b = tree.join("lib/deep/g1.c");
    let json = home
        .sig(&[
            "attest",
            "--json",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--not-ok",
            "--reviewed",
            "--comment",
            "on second look",
        ])
        .expect(0)
        .json();
    assert_eq!(json["serial"], before + 2);
    assert_eq!(json["results"][0]["replaced"], true, "{json:#}");
    home.sig(&["verify", a.to_str().unwrap()]).expect(3);
}

#[test]
fn a_directory_without_flags_is_asked_about_once() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let tree = home.root.join("docs");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("a.md"), "a\n").unwrap();
    std::fs::write(tree.join("b.md"), "b\n").unwrap();
    let run = home
        .sig_with_input(&["attest", tree.to_str().unwrap()], "yes\nyes\nread both\n")
        .expect(0);
    assert_eq!(
        run.stderr.matches("I have reviewed this file").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("every file of"), "{}", run.stderr);
    assert!(
        run.stdout.contains("Saved attestations for 2 files"),
        "{}",
        run.stdout
    );
    home.sig(&["verify", tree.join("b.md").to_str().unwrap()])
        .expect(0);
}
