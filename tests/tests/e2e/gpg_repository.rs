//! A repository made the way the reference implementation makes it — Python's
//! `json.dumps(data, sort_keys=True)`, `gpg --detach-sign`, base64 — read by Signet: awkward
//! data (non-ASCII, floats, big integers, nested extra fields), half the signatures armored,
//! and one forged attestation that must not count.

use signet_tests::http::{Serve, TestServer};
use signet_tests::{Gpg, Home};

#[test]
fn a_gpg_made_repository_is_read_and_counted() {
    for algo in ["ed25519", "rsa3072"] {
        let gpg = Gpg::new();
        let fpr = gpg.generate("Reference <ref@example.org>", algo, "");
        let key_asc = gpg.export(&fpr);
        let ids: Vec<String> = (0..6)
            .map(|n| format!("sha256:{}", format!("{n:x}").repeat(64)))
            .collect();
        let datas = [
            format!(
                r#"{{"comment": "caf\u00e9 \ud83d\ude00 \u2028 \"quoted\"", "id": "{}", "ok": true, "reviewed": true}}"#,
                ids[0]
            ),
            format!(
                r#"{{"comment": "floats", "id": "{}", "ok": true, "reviewed": true, "score": 0.1, "tiny": 1e-7, "huge": 1E16, "neg": -0.0, "third": 0.333333333333333333333}}"#,
                ids[1]
            ),
            format!(
                r#"{{"comment": "big", "id": "{}", "ok": true, "reviewed": false, "n": 123456789012345678901234567890, "m": -98765432109876543210}}"#,
                ids[2]
            ),
            format!(
                r#"{{"comment": "nested", "id": "{}", "ok": false, "reviewed": true, "extra": {{"tool": {{"name": "x", "versions": [1, 2, {{"z": null}}]}}}}}}"#,
                ids[3]
            ),
            format!(
                r#"{{"comment": "", "id": "{}", "ok": true, "reviewed": true}}"#,
                ids[4]
            ),
        ];
        let mut entries: Vec<String> = datas
            .iter()
            .enumerate()
            .map(|(n, data)| {
                format!(
                    r#""{}": [{}]"#,
                    ids[n],
                    gpg.signed_text(&fpr, data, n % 2 == 1)
                )
            })
            .collect();
        // A forged attestation: a real signature over other data, filed with `ok` flipped.
        let real = format!(
            r#"{{"comment": "x", "id": "{}", "ok": false, "reviewed": true}}"#,
            ids[5]
        );
        let forged = gpg
            .signed_text(&fpr, &real, false)
            .replace(r#""ok": false"#, r#""ok": true"#);
        entries.push(format!(r#""{}": [{forged}]"#, ids[5]));
        let data = format!(
            r#"{{"attestations": {{{}}}, "version": "0.0.1"}}"#,
            entries.join(", ")
        );
        let repo = gpg.signed_text(&fpr, &data, true);

        let server = TestServer::start();
        server.route("repo.json", Serve::File(repo.into_bytes()));
        server.route("key.asc", Serve::File(key_asc));
        let alice = Home::follower("ref", &server.url());
        let run = alice.sig(&["fetch"]).expect(0);
        assert!(
            run.stdout
                .contains("ref: updated (serial 0, 5 attestations, 1 rejected)"),
            "{algo}: {}",
            run.stdout
        );
        alice.sig(&["trust", "add", &fpr]).expect(0);
        // id 2's attestation says `reviewed: false`: shown, never counted (as in the reference).
        for (n, want) in [(0, 0), (1, 0), (2, 1), (3, 3), (4, 0), (5, 1)] {
            let run = alice
                .sig(&["verify", "--json", "--id", &ids[n]])
                .expect(want);
            if n < 5 {
                assert_eq!(
                    run.json()["attestations"][0]["key"],
                    fpr.as_str(),
                    "{algo}: id {n}"
                );
            }
        }
        let run = alice.sig(&["verify", "--json", "--id", &ids[0]]).expect(0);
        assert_eq!(
            run.json()["attestations"][0]["comment"],
            "caf\u{e9} \u{1F600} \u{2028} \"quoted\""
        );
    }
}
