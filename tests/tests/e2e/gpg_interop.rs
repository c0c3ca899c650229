//! Every signature `sig` writes verifies with the real gpg over Python's canonical bytes, and
//! `key.asc` imports into gpg.

use base64::Engine as _;
use signet_tests::{Gpg, Home, python_canonical};

#[test]
fn gpg_verifies_every_signature_sig_writes() {
    let home = Home::new();
    let fpr = home.setup("Erin <erin@example.org>");
    for (n, comment) in ["plain", "caf\u{e9} \u{1F600}", "line\nbreak \"q\" \\"]
        .iter()
        .enumerate()
    {
        let file = home.file(&format!("f{n}"), comment.as_bytes());
        home.attest(&file, n % 2 == 0, comment).expect(0);
    }
    let gpg = Gpg::new();
    gpg.import(&home.home.join("repo/key.asc"));

    let repo = home.read_repo();
    let mut checked = 0;
    let mut check = |signed: &serde_json::Value| {
        let sig = base64::engine::general_purpose::STANDARD
            .decode(signed["sig"].as_str().unwrap())
            .unwrap();
        let data = python_canonical(&signed["data"]);
        assert_eq!(gpg.verify(&sig, &data), Ok(fpr.clone()), "gpg --verify");
        // The same signature over other bytes does not verify.
        let mut tampered = data.clone();
        tampered.push(b' ');
        assert!(gpg.verify(&sig, &tampered).is_err());
        checked += 1;
    };
    check(&repo);
    for list in repo["data"]["attestations"].as_object().unwrap().values() {
        for att in list.as_array().unwrap() {
            check(att);
        }
    }
    assert_eq!(checked, 4, "the repository and three attestations");
}
