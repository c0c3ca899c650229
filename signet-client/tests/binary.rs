//! The `sig` binary on its own: help, and a clear error when no daemon can be started.

use std::process::Command;

#[test]
fn help_lists_the_commands() {
    let out = Command::new(env!("CARGO_BIN_EXE_sig"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for command in ["setup", "attest", "verify", "trust", "status", "daemon"] {
        assert!(text.contains(command), "{command} missing from:\n{text}");
    }
}

#[test]
fn daemon_status_without_a_daemon_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sig"))
        .args(["daemon", "status"])
        .env("SIGNET_HOME", dir.path())
        .env_remove("SIGNET_SOCKET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("signetd is not running"));
}
