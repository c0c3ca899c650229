//! The signature-checking floor the scale issues measure against: every repository's JSON
//! parsed, each attestation's canonical JSON made and its signature verified once with
//! sequoia (`signet_core::check::check_one`, one signature at a time), on every core. No
//! database, no network, no batch verification, no index: what any checker of these files
//! must at least do, done plainly.

use rayon::prelude::*;
use signet_core::index::Source;
use signet_core::keyring::Keyring;
use signet_proto::formats::{self, RepoContents, Signed};

/// Checks every attestation of one seed-format repository (`key.asc`, `repo.json`) and
/// returns how many verified; panics on a repository that is not well formed.
pub fn check_each(key_asc: &[u8], repo_json: &[u8]) -> usize {
    let cert = signet_core::cert::parse_cert(key_asc).expect("a certificate");
    let signed = formats::parse_signed_repo(repo_json).expect("a signed repository");
    signet_core::signature::check(&signed, &cert).expect("the repository's own signature");
    let (contents, _) = RepoContents::read(signed.data).expect("a repository's data");
    let mut keyring = Keyring::default();
    keyring.learn(cert);
    let all: Vec<(&String, &Signed)> = contents
        .attestations
        .iter()
        .flat_map(|(id, list)| list.iter().map(move |a| (id, a)))
        .collect();
    all.par_iter()
        .filter(|(id, a)| signet_core::check::check_one(id, a, &keyring, &Source::Own).is_ok())
        .count()
}

/// How a child process checks the repositories it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checker {
    /// [`check_each`]: the floor.
    Floor,
    /// `signet_core::accept`, as the daemon and the index check a fetched copy.
    Accept,
}

const CHILD_ENV: &str = "SIGNET_BENCH_CHECK_CHILD";

/// The time `checker` takes over `repos` (`key.asc`, `repo.json` each), in a fresh process.
/// A benchmark that signed the repositories itself must not time their checks in its own
/// process: sequoia keeps every signature it verified in a process-wide cache, and signing
/// verifies each new signature, so the checks would be answered from that cache. The bench's
/// `main` must call [`run_if_child`] first.
pub fn time_in_child(checker: Checker, repos: &[(&[u8], &[u8])]) -> std::time::Duration {
    let dir = tempfile::tempdir().unwrap();
    for (n, (key, repo)) in repos.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{n}.asc")), key).unwrap();
        std::fs::write(dir.path().join(format!("{n}.json")), repo).unwrap();
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env(
            CHILD_ENV,
            format!("{checker:?}:{}:{}", repos.len(), dir.path().display()),
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let nanos = text
        .lines()
        .find_map(|l| l.strip_prefix("checked-in-ns "))
        .unwrap_or_else(|| {
            panic!(
                "the checking child said {text:?}; {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    std::time::Duration::from_nanos(nanos.trim().parse().unwrap())
}

/// In a child started by [`time_in_child`]: checks, prints the time and exits.
pub fn run_if_child() {
    let Ok(asked) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut fields = asked.splitn(3, ':');
    let (checker, count, dir) = (
        fields.next().unwrap(),
        fields.next().unwrap().parse::<usize>().unwrap(),
        std::path::PathBuf::from(fields.next().unwrap()),
    );
    let repos: Vec<(Vec<u8>, Vec<u8>)> = (0..count)
        .map(|n| {
            (
                std::fs::read(dir.join(format!("{n}.asc"))).unwrap(),
                std::fs::read(dir.join(format!("{n}.json"))).unwrap(),
            )
        })
        .collect();
    let started = std::time::Instant::now();
    let checker = match checker {
        "Floor" => Checker::Floor,
        "Accept" => Checker::Accept,
        other => panic!("{CHILD_ENV} names no checker: {other:?}"),
    };
    for (n, (key, repo)) in repos.iter().enumerate() {
        match checker {
            Checker::Floor => {
                check_each(key, repo);
            }
            Checker::Accept => {
                let record = signet_core::accept::RemoteRecord::new(
                    "bench".into(),
                    format!("http://r{n}/"),
                    String::new(),
                );
                signet_core::accept::accept(
                    &record,
                    key,
                    repo,
                    &Keyring::default(),
                    &mut signet_core::parts::NoParts,
                    None,
                )
                .expect("the repository is accepted");
            }
        }
    }
    println!("checked-in-ns {}", started.elapsed().as_nanos());
    std::process::exit(0);
}
