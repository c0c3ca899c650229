//! The socket as a misbehaving client would use it: garbage, huge lines, invalid UTF-8,
//! unknown methods, no hello, and a client of another user.

use serde_json::json;
use signet_tests::{Home, RawClient, Run, error_code};

fn started() -> Home {
    let home = Home::new();
    home.sig(&["daemon", "start"]).expect(0);
    home
}

#[test]
fn hello_first_and_version_checked() {
    let home = started();
    let mut c = RawClient::connect(&home.socket).unwrap();
    let r = c.call(1, "status", json!({}));
    assert_eq!(error_code(&r), Some(-32000), "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("hello"));
    let r = c.call(2, "hello", json!({"protocol": 99, "client": "future/9"}));
    assert_eq!(error_code(&r), Some(-32000));
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("protocol 99"),
        "{r}"
    );
    let r = c.hello();
    assert_eq!(r["result"]["protocol"], 1);
    assert!(
        r["result"]["capabilities"]
            .as_array()
            .unwrap()
            .contains(&json!("verify"))
    );
    let r = c.call(3, "status", json!({}));
    assert_eq!(r["id"], 3);
    assert!(r["result"]["pid"].is_u64());
}

#[test]
fn malformed_messages_get_errors_and_the_connection_goes_on() {
    let home = started();
    let mut c = RawClient::connect(&home.socket).unwrap();
    c.hello();

    c.send_raw(b"this is not json\n").unwrap();
    assert_eq!(error_code(&c.read()), Some(-32700));

    c.send_raw(b"{\"jsonrpc\": \"2.0\", \"id\": 5, \"method\": \"status\"\xff}\n")
        .unwrap();
    let r = c.read();
    assert_eq!(error_code(&r), Some(-32700));
    assert!(
        r["error"]["message"].as_str().unwrap().contains("UTF-8"),
        "{r}"
    );

    c.send_raw(b"{\"id\": 6, \"method\": \"status\"}\n")
        .unwrap();
    let r = c.read();
    assert_eq!(error_code(&r), Some(-32600));
    assert_eq!(r["id"], 6);

    let r = c.call(7, "no.such.method", json!({}));
    assert_eq!(error_code(&r), Some(-32601));
    assert!(
        r["error"]["message"].as_str().unwrap().contains("verify"),
        "lists what exists: {r}"
    );

    let r = c.call(8, "verify", json!({"path": "relative/path"}));
    assert_eq!(error_code(&r), Some(-32602));
    let r = c.call(9, "verify", json!({"id": "sha256:nothex"}));
    assert_eq!(error_code(&r), Some(-32602));
    let r = c.call(10, "verify", json!({"what": 1}));
    assert_eq!(error_code(&r), Some(-32602));

    // A 10 MB line is refused as a whole; the next message is answered.
    let mut big =
        b"{\"jsonrpc\": \"2.0\", \"id\": 11, \"method\": \"status\", \"params\": {\"pad\": \""
            .to_vec();
    big.extend(std::iter::repeat_n(b'a', 10 << 20));
    big.extend(b"\"}}\n");
    c.send_raw(&big).unwrap();
    let r = c.read();
    assert_eq!(error_code(&r), Some(-32600));
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("larger than"),
        "{r}"
    );

    // Pipelined requests are all answered, with their ids.
    c.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"status\"}\n{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"method\":\"keys.list\"}\n").unwrap();
    assert_eq!(c.read()["id"], "a");
    assert_eq!(c.read()["id"], "b");

    // Deep nesting is refused, not a crash.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    c.send_raw(
        format!("{{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"status\",\"params\":{deep}}}\n")
            .as_bytes(),
    )
    .unwrap();
    assert!(error_code(&c.read()).is_some());

    // And the daemon still serves everyone.
    let r = c.call(13, "status", json!({}));
    assert!(r["result"].is_object(), "{r}");
    home.sig(&["status"]).expect(0);
}

/// A process of another user is refused by the daemon's peer-uid check even when file
/// permissions would let it in; and `sig` run as that user refuses a socket in a directory not
/// its own before it sends a byte. Needs root (to run as `nobody`): skipped elsewhere, but a
/// failure under `CI=true`.
#[test]
fn another_user_is_refused() {
    if rustix::process::getuid().as_raw() != 0 {
        signet_tests::skip(
            "another_user_is_refused",
            "needs root (to run a client as nobody)",
        );
        return;
    }
    let home = started();
    // Open the doors on purpose, so that only the uid check stands in the way.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&home.root, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&home.home, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&home.socket, std::fs::Permissions::from_mode(0o777)).unwrap();
    // `sig` itself as the other user's client: it reports the daemon's refusal. A copy, since
    // the build directory may be out of that user's reach.
    let sig = home.root.join("sig-for-nobody");
    signet_tests::copy_program(&signet_tests::bin("sig"), &sig);
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(&sig)
        .args(["daemon", "status"])
        .env("SIGNET_HOME", &home.home)
        .env("SIGNET_SOCKET", &home.socket)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("is not private to you"), "{said}");
    // Through a directory private to that user (a link to the socket in it), `sig` connects,
    // and then refuses a daemon that is not its user's.
    let theirs = home.root.join("nobodys");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&home.socket, theirs.join("signetd.sock")).unwrap();
    let nobody = std::process::Command::new("id")
        .args(["-u", "nobody"])
        .output()
        .unwrap();
    let nobody: u32 = String::from_utf8_lossy(&nobody.stdout)
        .trim()
        .parse()
        .unwrap();
    rustix::fs::chown(&theirs, Some(rustix::process::Uid::from_raw(nobody)), None).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(&sig)
        .args(["daemon", "status"])
        .env("SIGNET_HOME", &home.home)
        .env("SIGNET_SOCKET", theirs.join("signetd.sock"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("is served by uid 0, not by you"), "{said}");
    // A raw client of that user gets past every file permission and meets the daemon's check.
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .args([
            "perl",
            "-MIO::Socket::UNIX",
            "-e",
            r#"$s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!"; print $s qq({"jsonrpc":"2.0","id":1,"method":"hello","params":{"protocol":1,"client":"x"}}\n); print scalar <$s>"#,
        ])
        .arg(&home.socket)
        .output()
        .unwrap();
    let answer = String::from_utf8_lossy(&out.stdout);
    assert!(
        answer.contains("serves only its own user"),
        "{answer}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        home.log()
            .contains("refused a connection from another user")
    );
}

/// The message deadline runs from a message's first byte: a client sending a byte every half
/// second is cut off when it passes, not kept forever by a timer that each byte restarts. Only
/// a close by the daemon passes this test (its own reads time out quickly and keep sending).
#[test]
fn a_trickled_message_is_cut_off_at_its_deadline() {
    let _alone = signet_tests::exclusive();
    use std::io::{Read as _, Write as _};
    use std::time::{Duration, Instant};
    let home = Home::new();
    home.config(json!({"message_timeout_secs": 2, "sync": {"interval_secs": 0}}));
    home.sig(&["status"]).expect(0);
    let mut stream = std::os::unix::net::UnixStream::connect(&home.socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let started = Instant::now();
    let message = br#"{"jsonrpc": "2.0", "id": 1, "method": "status", "params": {}, "padding": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#;
    let mut closed_after = None;
    for byte in message.iter().take(12 * 2) {
        if stream.write_all(&[*byte]).is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        let mut buf = [0u8; 64];
        match stream.read(&mut buf) {
            Ok(0) => {
                closed_after = Some(started.elapsed());
                break;
            }
            Ok(_) => panic!("an answer to half a message"),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                closed_after = Some(started.elapsed());
                break;
            }
            Err(_) => {} // nothing yet: keep trickling
        }
        std::thread::sleep(Duration::from_millis(400));
    }
    let closed_after = closed_after.expect("still open after 12 s of trickling");
    assert!(
        closed_after < Duration::from_secs(5),
        "closed only after {closed_after:?}"
    );
}

/// `"id": null` is a request (JSON-RPC 2.0: only a missing `id` makes a notification): it is
/// answered, with `null`; a notification is not.
#[test]
fn a_null_id_is_answered_and_a_missing_one_is_not() {
    let home = started();
    let mut c = RawClient::connect(&home.socket).unwrap();
    c.hello();
    c.send_raw(b"{\"jsonrpc\": \"2.0\", \"id\": null, \"method\": \"status\"}\n")
        .unwrap();
    let answer = c
        .read_within(std::time::Duration::from_secs(5))
        .expect("an answer to id null");
    assert!(answer["id"].is_null(), "{answer}");
    assert!(answer["result"]["pid"].is_number(), "{answer}");
    c.send_raw(b"{\"jsonrpc\": \"2.0\", \"method\": \"status\"}\n")
        .unwrap();
    assert!(
        c.read_within(std::time::Duration::from_millis(500))
            .is_none(),
        "a notification gets no answer"
    );
}

/// Another user binds `SIGNET_SOCKET` in a shared directory (`/tmp`, or a shared
/// `XDG_RUNTIME_DIR`) before the daemon, and answers every verify with "ok". `sig` must not
/// believe it. Before: `sig verify` printed the impostor's "is ok." and exited 0. Needs root
/// (to run the impostor as `nobody`): skipped elsewhere, but a failure under `CI=true`.
#[test]
fn a_socket_another_user_serves_is_not_believed() {
    if rustix::process::getuid().as_raw() != 0 {
        signet_tests::skip(
            "a_socket_another_user_serves_is_not_believed",
            "needs root (to run the impostor as nobody)",
        );
        return;
    }
    use std::os::unix::fs::PermissionsExt as _;
    let home = Home::new();
    let shared = home.root.join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&home.root, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let socket = shared.join("signetd.sock");
    // The impostor: answers hello, then every call with an "ok" verdict.
    let impostor = r#"
        use IO::Socket::UNIX;
        my $l = IO::Socket::UNIX->new(Local => $ARGV[0], Listen => 5) or die "bind: $!";
        chmod 0777, $ARGV[0];
        while (my $c = $l->accept) {
            while (my $line = <$c>) {
                my ($id) = $line =~ /"id":\s*(\d+)/;
                my $r = $line =~ /"hello"/
                    ? '{"protocol":1,"server":"signetd/0.1.0","capabilities":[]}'
                    : '{"results":[{"id":"sha256:' . ('0' x 64) . '","verdict":"ok","attestations":[]}],"warnings":[]}';
                print $c qq({"jsonrpc":"2.0","id":$id,"result":$r}\n);
            }
        }"#;
    let mut server = std::process::Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .args(["perl", "-e", impostor])
        .arg(&socket)
        .spawn()
        .unwrap();
    signet_tests::wait_until(
        "the impostor's socket",
        std::time::Duration::from_secs(10),
        || socket.exists().then_some(()),
    );
    let run = Run::from(
        home.sig_command(&["verify", "--id", &format!("sha256:{}", "0".repeat(64))])
            .env("SIGNET_SOCKET", &socket)
            .output()
            .unwrap(),
    );
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("is ok"), "{}", run.stdout);
    assert!(
        run.stderr.contains("is not private to you"),
        "{}",
        run.stderr
    );
}
