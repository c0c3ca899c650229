//! What a hostile remote can make Signet spend (issue: verdict integrity, amplification), each
//! case against the plain case it amplifies, in the same run:
//!
//! - a ~60 MB `repo.json` of junk attestations (signatures that do not verify; 150,000 with
//!   sequoia's signatures, which are larger than the 250,000 of the issue's gpg-made report):
//!   fetch time and the daemon's peak memory against the body's size;
//! - a `key.asc` padded to just under its 1 MiB cap with self-signed user ids (binary, as
//!   `key.asc` may be): fetching 5,000 attestations signed by it, and a restart, against the
//!   same with the plain key;
//! - one attestation with a 1 MB comment about the empty file's id: `sig verify DIR` over 512
//!   empty files, time and the daemon's memory.
//!
//! Run: `cargo bench -p signet-tests --bench hostile_bench`. Figures go to stdout as Markdown.

use std::time::{Duration, Instant};

use serde_json::json;
use signet_tests::Home;
use signet_tests::forge::{Forge, ago};
use signet_tests::http::{Serve, TestServer};

use signet_tests::proc_status_kib as status_kib;

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn follower(name: &str, url: &str) -> Home {
    let home = Home::new();
    home.config(json!({"sync": {"interval_secs": 0},
        "fetch": {"timeout_secs": 120, "max_repo_bytes": 256u64 << 20}}));
    home.setup("Alice <alice@example.org>");
    home.sig(&["remote", "add", name, url]).expect(0);
    home
}

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

const JUNK: u32 = 150_000;

fn junk_repository(rows: &mut Vec<[String; 3]>) {
    let mallory = Forge::new("Mallory <m@example.org>");
    // One real signature, reused under other data: it never verifies, but costs a full check.
    let sig = mallory.sign(b"something else", ago(60));
    let key = mallory.fingerprint();
    let attestations: Vec<String> = (0..JUNK)
        .map(|n| {
            let id = signet_tests::content_id(&n.to_le_bytes());
            format!(
                r#"{{"data": {{"comment": "junk {n}", "id": "{id}", "ok": true, "reviewed": true}}, "key": "{key}", "sig": "{sig}"}}"#
            )
        })
        .collect();
    let body = mallory.repo(1, &attestations);
    let server = TestServer::start();
    server.route("repo.json", Serve::File(body.clone()));
    server.route("key.asc", Serve::File(mallory.key_asc()));
    let alice = follower("junk", &server.url());
    alice.sig(&["status"]).expect(0);
    let pid = alice.daemon_pid().unwrap();
    let before = status_kib(pid, "VmRSS:");
    let took = timed(|| {
        alice.sig(&["fetch"]).expect(0);
    });
    let peak = status_kib(pid, "VmHWM:");
    rows.push([
        format!(
            "junk repo.json, {} MB, {JUNK} bad signatures: fetch",
            body.len() / 1_000_000
        ),
        secs(took),
        format!(
            "peak {} over {} at rest = {:.1}x the body",
            mib(peak - before),
            mib(before),
            (peak - before) as f64 * 1024.0 / body.len() as f64
        ),
    ]);
}

/// User ids to pad with (the issue's figure), before cutting down to what fits under 1 MiB.
const PADDING: usize = 6_815;

fn binary(cert: &sequoia_openpgp::Cert) -> Vec<u8> {
    use sequoia_openpgp::serialize::SerializeInto as _;
    cert.clone().strip_secret_key_material().to_vec().unwrap()
}

fn padded_key(rows: &mut Vec<[String; 3]>) {
    let plain = Forge::new("Bob <bob@example.org>");
    // As many user ids as fit under key.asc's 1 MiB cap (sequoia's signatures are larger
    // than gpg's, so fewer than the issue's 6,815).
    let mut count = PADDING;
    let padded = loop {
        let mut padded = Forge::new("Bob <bob@example.org>");
        padded.pad_with_user_ids(count);
        let size = binary(&padded.cert).len();
        if size <= 1_040_000 {
            break padded;
        }
        count = count * 1_000_000 / size;
    };
    let padded_what = format!(
        "key.asc padded with {} user ids (binary)",
        padded.cert.userids().count()
    );
    for (forge, what) in [(&plain, "plain key.asc"), (&padded, padded_what.as_str())] {
        let key = binary(&forge.cert);
        let attestations: Vec<String> = (0..5_000u32)
            .map(|n| {
                let id = signet_tests::content_id(&n.to_le_bytes());
                forge.attestation(&id, true, "fine", ago(60))
            })
            .collect();
        let server = TestServer::start();
        server.route("repo.json", Serve::File(forge.repo(1, &attestations)));
        server.route("key.asc", Serve::File(key.clone()));
        let alice = follower("bob", &server.url());
        alice.sig(&["status"]).expect(0);
        let fetch = timed(|| {
            alice.sig(&["fetch"]).expect(0);
        });
        alice.sig(&["daemon", "stop"]).expect(0);
        // A keyring change invalidates the checked cache: the restart checks everything again.
        let _ = std::fs::remove_file(alice.home.join("remotes/bob/checked.json"));
        let restart = timed(|| {
            alice.sig(&["status"]).expect(0);
        });
        rows.push([
            format!(
                "{what} ({} KB), 5,000 attestations: fetch",
                key.len() / 1000
            ),
            secs(fetch),
            format!(
                "restart with every signature checked again: {}",
                secs(restart)
            ),
        ]);
    }
}

fn huge_comment(rows: &mut Vec<[String; 3]>) {
    let mallory = Forge::new("Mallory <m@example.org>");
    let empty = signet_tests::content_id(b"");
    let huge = mallory.attestation(&empty, true, &"x".repeat(1 << 20), ago(60));
    let server = TestServer::start();
    server.route("repo.json", Serve::File(mallory.repo(1, &[huge])));
    server.route("key.asc", Serve::File(mallory.key_asc()));
    let alice = follower("mallory", &server.url());
    alice.sig(&["fetch"]).expect(0);
    let tree = alice.root.join("empties");
    std::fs::create_dir(&tree).unwrap();
    for n in 0..512 {
        std::fs::write(tree.join(format!("f{n}")), b"").unwrap();
    }
    let took = timed(|| {
        alice.sig(&["verify", tree.to_str().unwrap()]).expect(1);
    });
    let pid = alice.daemon_pid().unwrap();
    rows.push([
        "1 MB comment on the empty file's id: `sig verify DIR` of 512 empty files".into(),
        secs(took),
        format!("daemon peak {}", mib(status_kib(pid, "VmHWM:"))),
    ]);
}

fn main() {
    println!("| hostile input | time | memory / notes |");
    println!("|---|---|---|");
    // Each row printed as soon as it is measured.
    for case in [junk_repository, padded_key, huge_comment] {
        let mut rows = Vec::new();
        case(&mut rows);
        for [a, b, c] in rows {
            println!("| {a} | {b} | {c} |");
        }
    }
}
