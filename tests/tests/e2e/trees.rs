//! A release or a vendored tree vouched for as one statement (issue 26): its id covers every
//! file, so a file added, removed or changed is another tree; the id is what `sha256sum`
//! prints for its files, summed; a git commit's tree has the same id as a checkout of it.

use std::path::Path;
use std::process::Command;

use signet_tests::Home;

/// The tree id by other tools alone: `sha256sum` of every file, sorted, then `sha256sum`.
fn by_coreutils(dir: &Path) -> String {
    let script = "find . -type f -not -path './.git/*' -printf '%P\\n' | LC_ALL=C sort \
                  | xargs -d '\\n' sha256sum | sha256sum";
    let out = Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    format!("treesha256:{}", text.split_whitespace().next().unwrap())
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=T", "-c", "user.email=t@example.org"])
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[test]
fn a_tree_is_vouched_for_whole_and_any_change_is_another_tree() {
    let home = Home::new();
    home.setup("Reviewer <r@example.org>");
    let release = tempfile::tempdir().unwrap();
    let dir = release.path();
    std::fs::create_dir_all(dir.join("src/util")).unwrap();
    std::fs::write(dir.join("README"), "hello\n").unwrap();
    std::fs::write(dir.join("src/main.c"), "int main() {}\n").unwrap();
    std::fs::write(dir.join("src/util/a b.c"), "/* a name with a space */\n").unwrap();
    let d = dir.to_str().unwrap();

    let run = home
        .sig(&[
            "attest",
            "--tree",
            d,
            "--ok",
            "--reviewed",
            "--comment",
            "release 1.0",
        ])
        .expect(0);
    assert!(
        run.stdout.contains("Saved attestation for tree"),
        "{}",
        run.stdout
    );
    let id = by_coreutils(dir);
    assert!(
        run.stdout.contains(&id),
        "{id} (by coreutils)\n{}",
        run.stdout
    );

    let verify = |code: i32| home.sig(&["verify", "--tree", d]).expect(code);
    let run = verify(0);
    assert!(run.stdout.contains("is ok"), "{}", run.stdout);
    // A file added, changed or removed: another tree, which nobody vouched for.
    std::fs::write(dir.join("src/extra.c"), "").unwrap();
    verify(1);
    std::fs::remove_file(dir.join("src/extra.c")).unwrap();
    verify(0);
    std::fs::write(dir.join("README"), "hello!\n").unwrap();
    verify(1);
    std::fs::write(dir.join("README"), "hello\n").unwrap();
    std::fs::remove_file(dir.join("src/main.c")).unwrap();
    verify(1);
    std::fs::write(dir.join("src/main.c"), "int main() {}\n").unwrap();
    verify(0);
    // The files one by one are another matter: the tree's word is about the tree.
    home.sig(&["verify", dir.join("README").to_str().unwrap()])
        .expect(1);

    // A link in it: the tree has no id here, said with the path.
    std::os::unix::fs::symlink("README", dir.join("link")).unwrap();
    let run = verify(2);
    assert!(run.stderr.contains("a symbolic link"), "{}", run.stderr);
    std::fs::remove_file(dir.join("link")).unwrap();

    // The same files committed: the commit's tree is the same id, found without a checkout.
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "release 1.0"]);
    verify(0); // `.git` at the top is not part of the tree
    let run = home.sig_in(dir, &["verify", "--git", "HEAD"]).expect(0);
    assert!(
        run.stdout.contains("the tree of commit HEAD"),
        "{}",
        run.stdout
    );
    std::fs::write(dir.join("README"), "changed\n").unwrap();
    git(dir, &["commit", "-q", "-am", "changed"]);
    home.sig_in(dir, &["verify", "--git", "HEAD"]).expect(1);
    home.sig_in(dir, &["verify", "--git", "HEAD~1"]).expect(0);
    let run = home
        .sig_in(dir, &["verify", "--git=--upload-pack=x"])
        .expect(2);
    assert!(run.stderr.contains("is not a commit"), "{}", run.stderr);
}
