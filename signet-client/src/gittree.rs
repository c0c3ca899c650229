//! A git commit's tree named as a checkout of it is (docs/FORMATS.md, "Trees"): every blob
//! of the commit by its path and sha256, summed as `sig attest --tree` sums a directory. Read
//! with git's own machine formats (`ls-tree -z`, `cat-file --batch`), bounded; the commit is
//! named by the user, so it is refused if it could be read as an option.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use sha2::Digest as _;
use signet_proto::formats::{self, ContentId};

/// The most files a commit may hold (as a directory's tree).
const MAX_FILES: usize = 1_000_000;
/// The most `ls-tree` may print: a million paths of 200 bytes.
const MAX_LISTING: u64 = 256 << 20;

/// The tree id of commit `rev` in the repository at `repo`, and how many files it holds.
pub fn tree_id(repo: &Path, rev: &str) -> anyhow::Result<(ContentId, usize)> {
    if rev.is_empty() || rev.starts_with('-') || rev.contains(['\0', '\n']) {
        anyhow::bail!(
            "{:?} is not a commit to name",
            signet_proto::text::shown(rev)
        );
    }
    let listing = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["ls-tree", "-r", "-z", "--full-tree"])
        .arg(format!("{rev}^{{commit}}"))
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::anyhow!("running git: {e} (is git installed?)"))?;
    let output = {
        let mut child = listing;
        let mut bytes = Vec::new();
        child
            .stdout
            .take()
            .expect("piped")
            .take(MAX_LISTING + 1)
            .read_to_end(&mut bytes)?;
        let mut err = String::new();
        child
            .stderr
            .take()
            .expect("piped")
            .take(64 << 10)
            .read_to_string(&mut err)?;
        let status = child.wait()?;
        if !status.success() {
            anyhow::bail!(
                "git ls-tree {}: {}",
                signet_proto::text::shown(rev),
                signet_proto::text::shown(err.trim())
            );
        }
        if bytes.len() as u64 > MAX_LISTING {
            anyhow::bail!(
                "{}: a listing larger than any tree",
                signet_proto::text::shown(rev)
            );
        }
        bytes
    };
    let mut files = parse_listing(&output)?;
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let ids = blob_ids(repo, files.iter().map(|(_, oid)| oid.as_str()))?;
    let mut summary = sha2::Sha256::new();
    for ((name, _), id) in files.iter().zip(&ids) {
        summary.update(formats::tree_summary_line(id, name).as_bytes());
    }
    Ok((
        ContentId::tree_sha256(&summary.finalize().into()),
        files.len(),
    ))
}

/// `(path, blob id)` of every file `ls-tree -r -z` lists; a link or a submodule makes the
/// tree one Signet cannot name, as in a directory.
fn parse_listing(output: &[u8]) -> anyhow::Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for entry in output.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let entry = std::str::from_utf8(entry)
            .map_err(|_| anyhow::anyhow!("a path that is not UTF-8 has no place in a tree's id"))?;
        let (meta, path) = entry
            .split_once('\t')
            .ok_or_else(|| anyhow::anyhow!("git ls-tree printed {entry:?}"))?;
        let mut meta = meta.split(' ');
        let (mode, kind, oid) = (meta.next(), meta.next(), meta.next());
        let shown = signet_proto::text::shown(path);
        match (mode, kind, oid) {
            (Some("100644" | "100755"), Some("blob"), Some(oid)) => {
                if path.contains('\n') {
                    anyhow::bail!("{shown}: a name with a newline has no place in a tree's id");
                }
                files.push((path.to_owned(), oid.to_owned()));
            }
            (Some("120000"), ..) => {
                anyhow::bail!("{shown}: a symbolic link; a tree's id covers regular files only")
            }
            (_, Some("commit"), _) => {
                anyhow::bail!("{shown}: a submodule; name its own commit's tree apart")
            }
            _ => anyhow::bail!("git ls-tree printed {entry:?}"),
        }
        if files.len() > MAX_FILES {
            anyhow::bail!("more than {MAX_FILES} files");
        }
    }
    Ok(files)
}

/// The `sha256:` id of each blob, in order, read through one `git cat-file --batch`.
fn blob_ids<'a>(
    repo: &Path,
    oids: impl Iterator<Item = &'a str>,
) -> anyhow::Result<Vec<ContentId>> {
    let oids: Vec<String> = oids.map(str::to_owned).collect();
    let mut child = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| anyhow::anyhow!("running git: {e}"))?;
    // Asked from a thread while the answers are read here: neither pipe can fill and stall.
    let mut stdin = child.stdin.take().expect("piped");
    let asked = oids.clone();
    let asking = std::thread::spawn(move || -> std::io::Result<()> {
        for oid in &asked {
            writeln!(stdin, "{oid}")?;
        }
        Ok(())
    });
    let mut answers = BufReader::new(child.stdout.take().expect("piped"));
    let mut ids = Vec::with_capacity(oids.len());
    let mut header = String::new();
    for oid in &oids {
        header.clear();
        answers.by_ref().take(512).read_line(&mut header)?;
        let mut parts = header.trim_end().split(' ');
        let (Some(got), Some("blob"), Some(size)) = (parts.next(), parts.next(), parts.next())
        else {
            anyhow::bail!("git cat-file answered {:?} for {oid}", header.trim_end());
        };
        let size: u64 = size.parse()?;
        if got != oid {
            anyhow::bail!("git cat-file answered {got} for {oid}");
        }
        let mut hasher = sha2::Sha256::new();
        let copied = std::io::copy(
            &mut answers.by_ref().take(size),
            &mut HashWriter(&mut hasher),
        )?;
        if copied != size {
            anyhow::bail!("git cat-file ended inside {oid}");
        }
        let mut newline = [0u8; 1];
        answers.read_exact(&mut newline)?;
        ids.push(ContentId::sha256(&hasher.finalize().into()));
    }
    drop(answers);
    asking
        .join()
        .map_err(|_| anyhow::anyhow!("asking git failed"))??;
    child.wait()?;
    Ok(ids)
}

struct HashWriter<'a>(&'a mut sha2::Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_with_links_or_submodules_name_no_tree() {
        let oid = "a".repeat(40);
        let ok = format!("100644 blob {oid}\tsrc/a.rs\0100755 blob {oid}\trun.sh\0");
        let files = parse_listing(ok.as_bytes()).unwrap();
        assert_eq!(files.len(), 2);
        let link = format!("120000 blob {oid}\tlink\0");
        assert!(
            parse_listing(link.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("symbolic link")
        );
        let sub = format!("160000 commit {oid}\tvendor/x\0");
        assert!(
            parse_listing(sub.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("submodule")
        );
        assert!(tree_id(Path::new("."), "--output=/tmp/x").is_err());
    }
}
