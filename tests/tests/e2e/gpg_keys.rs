//! `sig setup KEYID`: keys that stay in GnuPG, signing through the real gpg; `--import`; and
//! keys unfit to sign refused with the reason.

use base64::Engine as _;
use signet_tests::{Gpg, Home, python_canonical};

/// Every signature in the home's repository verifies with gpg, made by `fpr`.
fn gpg_verifies_all(home: &Home, gpg: &Gpg, fpr: &str) -> usize {
    let repo = home.read_repo();
    let mut all = vec![repo.clone()];
    for list in repo["data"]["attestations"].as_object().unwrap().values() {
        all.extend(list.as_array().unwrap().iter().cloned());
    }
    for signed in &all {
        let sig = base64::engine::general_purpose::STANDARD
            .decode(signed["sig"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            gpg.verify(&sig, &python_canonical(&signed["data"]))
                .as_deref(),
            Ok(fpr)
        );
    }
    all.len()
}

#[test]
fn setup_with_a_gnupg_key_signs_through_gpg() {
    for algo in ["ed25519", "rsa3072"] {
        let gpg = Gpg::new();
        let fpr = gpg.generate("Seed User <seed@example.org>", algo, "");
        let home = Home::new();
        let run = home
            .sig_with_gpg(&gpg, &[], &["setup", &fpr[32..]])
            .expect(0);
        assert_eq!(
            run.stdout,
            format!(
                "Initialized config directory at: {}\nWith public key fingerprint: {fpr}\nWelcome to Signet! :)\n",
                home.home.display()
            ),
            "{algo}"
        );
        let file = home.file("f", b"reviewed by a gpg user");
        home.attest(&file, true, "signed by gpg").expect(0);
        home.sig(&["verify", "f"]).expect(0);
        assert_eq!(
            gpg_verifies_all(&home, &gpg, &fpr),
            2,
            "{algo}: repository and attestation"
        );

        // Nothing secret under the home.
        assert!(!home.home.join("keys/secret.asc").exists());
        let mut stack = vec![home.home.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(text) = std::fs::read(&path) {
                    assert!(
                        !String::from_utf8_lossy(&text).contains("PRIVATE KEY"),
                        "{}",
                        path.display()
                    );
                }
            }
        }
        // The choice survives a restart.
        home.sig(&["daemon", "stop"]).expect(0);
        home.attest(&file, false, "changed my mind").expect(0);
        gpg_verifies_all(&home, &gpg, &fpr);
    }
}

#[test]
fn keys_unfit_to_sign_are_refused_with_the_reason() {
    let gpg = Gpg::new();
    let home = Home::new();
    let run = home
        .sig_with_gpg(&gpg, &[], &["setup", "0x0123456789ABCDEF"])
        .expect(2);
    assert!(
        run.stderr.contains("no key matching 0123456789ABCDEF"),
        "{}",
        run.stderr
    );
    let run = home.sig_with_gpg(&gpg, &[], &["setup", "xyz"]).expect(2);
    assert!(run.stderr.contains("not a key id"), "{}", run.stderr);

    // Revoked: import the revocation certificate gpg made when it made the key.
    let revoked = gpg.generate("Revoked <r@example.org>", "ed25519", "");
    gpg.revoke(&revoked);
    let run = home.sig_with_gpg(&gpg, &[], &["setup", &revoked]).expect(2);
    assert!(run.stderr.contains("is revoked"), "{}", run.stderr);

    // Expired: made an hour ago with a second to live.
    gpg.set_clock(-3600);
    let expiring = gpg.generate("Expiring <e@example.org>", "rsa3072", "");
    gpg.set_clock(-3500); // each gpg run starts on the clock set for it
    gpg.run(&["--quick-set-expire", &expiring, "seconds=1"]);
    gpg.set_clock(0);
    let run = home
        .sig_with_gpg(&gpg, &[], &["setup", &expiring])
        .expect(2);
    assert!(run.stderr.contains("expired"), "{}", run.stderr);

    // A passphrase and no terminal: a clear error, not a prompt nobody sees.
    let locked = gpg.generate("Locked <l@example.org>", "ed25519", "correct horse");
    let _ = std::process::Command::new("gpgconf")
        .env("GNUPGHOME", gpg.dir.path())
        .args(["--kill", "gpg-agent"])
        .status();
    let run = home.sig_with_gpg(&gpg, &[], &["setup", &locked]).expect(2);
    assert!(
        run.stderr.contains("run sig from a terminal"),
        "{}",
        run.stderr
    );
    assert!(
        !home.home.join("repo/repo.json").exists(),
        "nothing was set up"
    );
}

#[test]
fn import_a_secret_key_and_rekey_without_losing_the_repository() {
    let gpg = Gpg::new();
    let fpr = gpg.generate("Importer <i@example.org>", "ed25519", "");
    let exported = gpg.export_secret(&fpr); // gpg's success is asserted
    let home = Home::new();
    let key_file = home.file("secret.asc", &exported);
    let run = home
        .sig(&["setup", "--import", key_file.to_str().unwrap()])
        .expect(0);
    assert!(run.stdout.contains(&fpr), "{}", run.stdout);
    assert!(home.home.join("keys/secret.asc").exists());
    let file = home.file("f", b"imported");
    home.attest(&file, true, "by the imported key").expect(0);
    gpg_verifies_all(&home, &gpg, &fpr);

    // A public key is not a secret key.
    let public = home.file(
        "public.asc",
        &std::fs::read(home.home.join("repo/key.asc")).unwrap(),
    );
    let other = Home::new();
    let run = other
        .sig(&["setup", "--import", public.to_str().unwrap()])
        .expect(2);
    assert!(run.stderr.contains("public key only"), "{}", run.stderr);

    // Re-keying to a gpg key keeps the repository: old attestations keep their signatures and
    // still count (the old key is retired, not forgotten); the repository is re-signed.
    let new_fpr = gpg.generate("New Key <n@example.org>", "rsa3072", "");
    home.sig_with_gpg(&gpg, &[], &["setup", &new_fpr]).expect(2);
    home.sig_with_gpg(&gpg, &[], &["setup", "--force", &new_fpr])
        .expect(0);
    let repo = home.read_repo();
    assert_eq!(repo["key"], new_fpr.as_str());
    // The file's attestation (the repository also holds the rotation's two statements).
    let att = &repo["data"]["attestations"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(id, _)| id.starts_with("sha256:"))
        .unwrap()
        .1[0];
    assert_eq!(att["key"], fpr.as_str());
    home.sig(&["verify", "f"]).expect(0);
    home.sig(&["daemon", "stop"]).expect(0);
    home.sig(&["verify", "f"]).expect(0);
    assert!(
        !home.home.join("keys/secret.asc").exists(),
        "the replaced secret is gone"
    );
}
