//! The `signetd` binary on its own: version, and refusing a broken config with a clear error.

use std::process::Command;

#[test]
fn prints_version() {
    let out = Command::new(env!("CARGO_BIN_EXE_signetd"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("signetd "));
}

#[test]
fn refuses_a_malformed_config_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        b"{\"verify\": {\"threshold\": \"two\"}}",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_signetd"))
        .env("SIGNET_HOME", dir.path())
        .env_remove("SIGNET_SOCKET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("config.json is not a valid Signet config"),
        "{stderr}"
    );
}
