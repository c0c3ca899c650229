//! The files of a tree as a command on a directory reads them (`attest.many` of a directory,
//! `verify.dir`; a tree's id is stricter, below): every regular file under it, and
//! symlinks to regular files; symlinked directories are not entered, FIFOs, sockets and
//! devices never opened. Sorted, with what could not be read.

use std::path::{Path, PathBuf};

/// The most files one directory may stand for in one request.
pub const MAX_FILES: usize = 1_000_000;

/// The files under `dir`, sorted, and each problem met (unreadable directories, too many
/// files), for `attest.many`.
pub fn files_under(dir: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let (files, problems) = walk(dir, "attest");
    (files.into_iter().map(|(f, _)| f).collect(), problems)
}

/// The files under `dir`, each with its stamp when the walk
/// could take it without another path lookup: a regular file's, from `fstatat` on the
/// directory being read (`DirEntry::metadata`); `None` for a symlink to a file, whose target's
/// stamp a stat of its path gives. Directories of one level are read on every core at once.
/// For `verify.dir`: a tree verified again costs the walk and this one stat per file.
pub fn stamped_files_under(
    dir: &Path,
) -> (Vec<(PathBuf, Option<crate::hash::FileStamp>)>, Vec<String>) {
    walk(dir, "verify")
}

/// The walk both share; `doing` names the command in the message past [`MAX_FILES`].
fn walk(dir: &Path, doing: &str) -> (Vec<(PathBuf, Option<crate::hash::FileStamp>)>, Vec<String>) {
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // Files found so far, over every directory read at once: no directory is read on past
    // the bound, however many files it holds.
    let seen = AtomicUsize::new(0);
    type Found = (
        Vec<(PathBuf, Option<crate::hash::FileStamp>)>,
        Vec<PathBuf>,
        Vec<String>,
    );
    let read = |dir: &PathBuf| -> Found {
        let (mut files, mut dirs, mut problems) = (Vec::new(), Vec::new(), Vec::new());
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                let shown = dir.display().to_string();
                problems.push(signet_proto::text::file_error(&shown, &e));
                return (files, dirs, problems);
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let before = files.len();
            match entry.file_type() {
                Ok(t) if t.is_dir() => dirs.push(path),
                Ok(t) if t.is_file() => {
                    let stamp = entry
                        .metadata()
                        .ok()
                        .map(|m| crate::hash::FileStamp::of(&m));
                    files.push((path, stamp));
                }
                Ok(t) if t.is_symlink() => {
                    if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                        files.push((path, None));
                    }
                }
                Ok(_) => {} // FIFOs, sockets, devices: not content
                Err(e) => {
                    let shown = path.display().to_string();
                    problems.push(signet_proto::text::file_error(&shown, &e));
                }
            }
            // Past the bound: the total is over it, which the caller says.
            if files.len() > before && seen.fetch_add(1, Ordering::Relaxed) >= MAX_FILES {
                break;
            }
        }
        (files, dirs, problems)
    };
    let (mut files, mut problems) = (Vec::new(), Vec::new());
    let mut level = vec![dir.to_path_buf()];
    while !level.is_empty() {
        let found: Vec<Found> = level.par_iter().map(read).collect();
        level = Vec::new();
        for (f, d, p) in found {
            files.extend(f);
            level.extend(d);
            problems.extend(p);
        }
        if files.len() > MAX_FILES {
            problems.push(format!(
                "{}: more than {MAX_FILES} files; {doing} its subdirectories one at a time",
                dir.display()
            ));
            return (Vec::new(), problems);
        }
    }
    // Every path starts with `dir` and a separator: compared from there on.
    let common = dir.as_os_str().len();
    files.par_sort_unstable_by(|a, b| component_order(&a.0, &b.0, common));
    (files, problems)
}

/// `Path`'s order (component by component) by the paths' bytes alone, as fast as comparing
/// strings: a fifth of a tree verify went to `Path::cmp`, which splits both paths into
/// components at each comparison. Right for the walk's paths, which are one directory's path
/// joined with names directories gave: the separator is the only byte needing care, and
/// ranking it below every byte a name can hold (names hold no NUL) is the component order.
/// Bytes before `common`, the same in both, are not compared.
fn component_order(a: &Path, b: &Path, common: usize) -> std::cmp::Ordering {
    use std::os::unix::ffi::OsStrExt as _;
    let (a, b) = (a.as_os_str().as_bytes(), b.as_os_str().as_bytes());
    let (a, b) = (&a[common.min(a.len())..], &b[common.min(b.len())..]);
    let rank = |byte: u8| if byte == b'/' { 0 } else { byte };
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(at) => rank(a[at]).cmp(&rank(b[at])),
        None => a.len().cmp(&b.len()),
    }
}

/// Why a directory has no tree id.
pub type TreeProblem = String;

/// The id of the tree at `dir` (docs/FORMATS.md, "Trees"): every regular file under it by its
/// path relative to `dir` and its sha256, in byte order of the paths, summed as Go's dirhash
/// sums a module. Strict where a file's verify is lenient: a symlink, a FIFO, a device, a name
/// that is not UTF-8 or holds a newline makes the tree one Signet cannot name, said with the
/// path — a tree's id must cover everything in it. A `.git` directory at the top is left
/// out: a checkout's tree is its files. Files are hashed on every core; a file that changes
/// while it is read fails the whole.
pub fn tree_id(
    dir: &Path,
    cancel: &crate::hash::Cancel,
) -> Result<(signet_proto::formats::ContentId, usize), TreeProblem> {
    use rayon::prelude::*;
    use sha2::Digest as _;
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let shown = |p: &Path| signet_proto::text::shown(&p.display().to_string()).to_string();
    while let Some(at) = stack.pop() {
        let entries =
            std::fs::read_dir(&at).map_err(|e| signet_proto::text::file_error(&shown(&at), &e))?;
        for entry in entries {
            let entry = entry.map_err(|e| signet_proto::text::file_error(&shown(&at), &e))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| signet_proto::text::file_error(&shown(&path), &e))?;
            if kind.is_dir() {
                if !(at == dir && entry.file_name() == ".git") {
                    stack.push(path);
                }
                continue;
            }
            if !kind.is_file() {
                let what = if kind.is_symlink() {
                    "a symbolic link"
                } else {
                    "not a regular file"
                };
                return Err(format!(
                    "{}: {what}; a tree's id covers regular files only",
                    shown(&path)
                ));
            }
            let name = path
                .strip_prefix(dir)
                .ok()
                .and_then(Path::to_str)
                .filter(|n| !n.contains('\n'))
                .ok_or_else(|| {
                    format!(
                        "{}: a name that is not UTF-8 or holds a newline has no place in a \
                         tree's id",
                        shown(&path)
                    )
                })?
                .to_owned();
            files.push((name, path));
            if files.len() > MAX_FILES {
                return Err(format!("{}: more than {MAX_FILES} files", shown(dir)));
            }
        }
    }
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let ids = files
        .par_iter()
        .map(|(_, path)| {
            crate::hash::hash_file_until(path, crate::hash::Follow::No, cancel)
                .map(|(id, _)| id)
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut summary = sha2::Sha256::new();
    for ((name, _), id) in files.iter().zip(&ids) {
        summary.update(signet_proto::formats::tree_summary_line(id, name).as_bytes());
    }
    let digest: [u8; 32] = summary.finalize().into();
    Ok((
        signet_proto::formats::ContentId::tree_sha256(&digest),
        files.len(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The walk's order is `Path`'s, where a separator and a byte below it ('-', '.') meet.
    #[test]
    fn the_walks_order_is_the_order_of_components() {
        let names = [
            "a", "a-b", "a.b", "a/b", "a/b/c", "a/b-c", "a0", "ab", "ab/c", "a b", "b", "Z", "é",
            "a/\u{7f}", "a\u{1}",
        ];
        let mut paths: Vec<PathBuf> = names.iter().map(|n| Path::new("/r/x").join(n)).collect();
        let mut expected = paths.clone();
        expected.sort();
        paths.sort_by(|a, b| component_order(a, b, 4));
        assert_eq!(paths, expected);
        for a in &expected {
            for b in &expected {
                for common in [0, 4] {
                    assert_eq!(component_order(a, b, common), a.cmp(b), "{a:?} vs {b:?}");
                }
            }
        }
    }

    /// The id is the sha256 of what `sha256sum` prints for the files, sorted: checked against
    /// a summary written out by hand here, and the rules that make a tree unnameable.
    #[test]
    fn a_trees_id_is_the_sha256_of_its_sorted_summary() {
        use sha2::Digest as _;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src/b")).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join("src/b/x.c"), b"x").unwrap();
        std::fs::write(dir.path().join("README"), b"hello\n").unwrap();
        std::fs::write(dir.path().join(".git/HEAD"), b"ref").unwrap();
        let cancel = crate::hash::Cancel::default();
        let (id, files) = tree_id(dir.path(), &cancel).unwrap();
        assert_eq!(files, 2, ".git is left out");
        let sum = |b: &[u8]| signet_proto::formats::hex_lower(&sha2::Sha256::digest(b));
        let summary = format!("{}  README\n{}  src/b/x.c\n", sum(b"hello\n"), sum(b"x"));
        assert_eq!(
            id.as_str(),
            format!("treesha256:{}", sum(summary.as_bytes()))
        );
        assert!(id.is_tree());

        // One byte changed, a file added or one removed: another id.
        std::fs::write(dir.path().join("src/b/x.c"), b"y").unwrap();
        assert_ne!(tree_id(dir.path(), &cancel).unwrap().0, id);
        std::fs::write(dir.path().join("src/b/x.c"), b"x").unwrap();
        std::fs::write(dir.path().join("extra"), b"").unwrap();
        assert_ne!(tree_id(dir.path(), &cancel).unwrap().0, id);
        std::fs::remove_file(dir.path().join("extra")).unwrap();
        assert_eq!(tree_id(dir.path(), &cancel).unwrap().0, id);

        std::os::unix::fs::symlink("README", dir.path().join("link")).unwrap();
        let err = tree_id(dir.path(), &cancel).unwrap_err();
        assert!(err.contains("link: a symbolic link"), "{err}");
    }
}
