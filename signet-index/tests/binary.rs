//! The `signet-index` binary on its own: its help with examples, and refusing a database it
//! does not use with a clear error. (Its own package's test, so that `cargo test --workspace`
//! builds the binary the end-to-end tests run.)

use std::process::Command;

#[test]
fn help_shows_examples() {
    let out = Command::new(env!("CARGO_BIN_EXE_signet-index"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Examples:"), "{help}");
    assert!(help.contains("--db"), "{help}");
}

#[test]
fn refuses_a_database_it_does_not_use() {
    let out = Command::new(env!("CARGO_BIN_EXE_signet-index"))
        .args([
            "serve",
            "--db",
            "mysql://localhost/index",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sqlite:PATH or postgres://"), "{stderr}");
}
