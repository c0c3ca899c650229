//! What `sig` says about itself: completions that load in bash, manual pages for every
//! command with every section a manual page has, and an example in every `--help`.

use std::io::Write as _;
use std::process::{Command, Stdio};

use signet_tests::Home;

#[test]
fn completions_load_in_bash_and_the_man_page_renders() {
    let home = Home::new();
    let sig = signet_tests::bin("sig");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = home.sig(&["completions", shell]).expect(0);
        assert!(run.stdout.contains("sig"), "{shell}");
    }
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source <('{}' completions bash) && complete -p sig",
            sig.display()
        ))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("complete") && said.contains(" sig"), "{said}");

    let page = home.sig(&["man"]).expect(0).stdout;
    let mut man = Command::new("man")
        .args(["-l", "-"])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    man.stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let out = man.wait_with_output().unwrap();
    let rendered = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        rendered.contains("NAME") && rendered.contains("SYNOPSIS"),
        "{rendered}"
    );
    assert!(rendered.contains("verify"), "{rendered}");
}

/// `sig man --dir` writes a page per command; `man -l` renders every one with the sections a
/// manual page has, and every page a page points to exists. Before, one page pointed to
/// `sig-verify(1)` and others that did not exist, with no EXIT STATUS, EXAMPLES, FILES or
/// ENVIRONMENT.
#[test]
fn every_command_has_a_manual_page_with_every_section() {
    let home = Home::new();
    let dir = home.root.join("man1");
    let run = home.sig(&["man", "--dir", dir.to_str().unwrap()]).expect(0);
    let written: Vec<&str> = run.stdout.lines().collect();
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert_eq!(written.len(), pages.len(), "{run:?}");
    for page in [
        "sig.1",
        "sig-verify.1",
        "sig-trust-add.1",
        "sig-remote-add.1",
        "sig-revoke.1",
    ] {
        assert!(pages.iter().any(|p| p == page), "{page} missing: {pages:?}");
    }
    for page in &pages {
        let out = Command::new("man")
            .arg("-l")
            .arg(dir.join(page))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .env("MAN_KEEP_FORMATTING", "")
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{page}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Bold headings may come as overstrikes ("N\bN"): read the letters only.
        let raw = String::from_utf8_lossy(&out.stdout);
        let mut text = String::new();
        for c in raw.chars() {
            if c == '\u{8}' {
                text.pop();
            } else {
                text.push(c);
            }
        }
        for heading in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "EXAMPLES",
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "SEE ALSO",
        ] {
            assert!(
                text.lines().any(|l| l == heading),
                "{page} has no {heading}:\n{text}"
            );
        }
        let see_also = &text[text.find("SEE ALSO").unwrap()..];
        for named in see_also.split(|c: char| c.is_whitespace() || c == ',') {
            if let Some(name) = named.strip_suffix("(1)") {
                assert!(
                    pages.contains(&format!("{name}.1")),
                    "{page} points to {named}, which is not written"
                );
            }
        }
    }
    let verify = std::fs::read_to_string(dir.join("sig-verify.1")).unwrap();
    assert!(verify.contains("3 NOT ok"), "{verify}");
}

#[test]
fn every_help_gives_an_example() {
    let home = Home::new();
    for nested in [
        ["trust", "add"],
        ["trust", "remove"],
        ["trust", "list"],
        ["trust", "why"],
        ["remote", "add"],
        ["remote", "remove"],
        ["remote", "list"],
        ["watch", "add"],
        ["watch", "remove"],
        ["watch", "list"],
        ["daemon", "start"],
        ["daemon", "stop"],
        ["daemon", "status"],
    ] {
        let run = home.sig(&[nested[0], nested[1], "--help"]).expect(0);
        assert!(
            run.stdout.contains("Example"),
            "`sig {} --help` has no example:\n{}",
            nested.join(" "),
            run.stdout
        );
    }
    for command in [
        "setup",
        "attest",
        "verify",
        "trust",
        "remote",
        "fetch",
        "publish",
        "keys",
        "status",
        "watch",
        "lsp",
        "daemon",
        "config",
        "completions",
        "man",
    ] {
        let run = home.sig(&[command, "--help"]).expect(0);
        assert!(
            run.stdout.contains("Example"),
            "`sig {command} --help` has no example:\n{}",
            run.stdout
        );
    }
}
