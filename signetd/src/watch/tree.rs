//! The files of a tree as a command on a directory reads them (`attest.many` of a directory;
//! `sig verify DIR` walks the same way in the client): every regular file under it, and
//! symlinks to regular files; symlinked directories are not entered, FIFOs, sockets and
//! devices never opened. Sorted, with what could not be read.

use std::path::{Path, PathBuf};

/// The most files one directory may stand for in one request.
pub const MAX_FILES: usize = 1_000_000;

/// The files under `dir`, sorted, and each problem met (unreadable directories, too many files).
pub fn files_under(dir: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                let shown = dir.display().to_string();
                problems.push(signet_proto::text::file_error(&shown, &e));
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => files.push(path),
                Ok(t) if t.is_symlink() => {
                    if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                        files.push(path);
                    }
                }
                Ok(_) => {} // FIFOs, sockets, devices: not content
                Err(e) => {
                    let shown = path.display().to_string();
                    problems.push(signet_proto::text::file_error(&shown, &e));
                }
            }
            if files.len() > MAX_FILES {
                problems.push(format!(
                    "{}: more than {MAX_FILES} files; attest its subdirectories one at a time",
                    dir.display()
                ));
                return (Vec::new(), problems);
            }
        }
    }
    files.sort();
    (files, problems)
}
