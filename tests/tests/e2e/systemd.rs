//! Socket activation: signetd accepts the socket systemd passes (LISTEN_FDS) and never removes
//! a socket it did not create. Driven by `systemd-socket-activate`, which does what systemd's
//! socket units do.

use std::process::{Command, Stdio};
use std::time::Duration;

use signet_tests::{Home, bin, process_alive, signal, wait_until};

#[test]
fn signetd_runs_under_socket_activation() {
    if Command::new("systemd-socket-activate")
        .arg("--help")
        .output()
        .is_err()
    {
        signet_tests::skip(
            "signetd_runs_under_socket_activation",
            "systemd-socket-activate is not installed (Debian's systemd package)",
        );
        return;
    }
    let home = Home::new();
    let socket = home.root.join("activated.sock");
    let mut activator = Command::new("systemd-socket-activate")
        .arg("-l")
        .arg(&socket)
        .arg("-E")
        .arg(format!("SIGNET_HOME={}", home.home.display()))
        .arg(bin("signetd"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(
        "systemd-socket-activate to bind",
        Duration::from_secs(10),
        || socket.exists().then_some(()),
    );

    let status = home
        .sig_command(&["status", "--json"])
        .env("SIGNET_SOCKET", &socket)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["socket"], socket.to_str().unwrap());
    let pid = status["pid"].as_u64().unwrap() as i32;
    assert_eq!(
        Some(pid),
        home.daemon_pid(),
        "the activated daemon holds the home"
    );

    // Stopping the daemon leaves systemd's socket in place.
    let stop = home
        .sig_command(&["daemon", "stop"])
        .env("SIGNET_SOCKET", &socket)
        .output()
        .unwrap();
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    wait_until("signetd to stop", Duration::from_secs(10), || {
        (!process_alive(pid)).then_some(())
    });
    assert!(
        socket.exists(),
        "signetd removed a socket it did not create"
    );
    signal(activator.id() as i32, "TERM");
    let _ = activator.wait();
}
