//! Hashing files into content ids, refusing what is not a regular file and noticing a file
//! that changes while it is read.

use std::fs::{Metadata, OpenOptions};
use std::io::{self, Read as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::Path;

use sha2::{Digest as _, Sha256};
use signet_proto::formats::ContentId;

/// What identifies one version of a file without reading it: if any of these change, the
/// content may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileStamp {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
}

impl FileStamp {
    pub fn of(meta: &Metadata) -> Self {
        FileStamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    #[error("{path}: no such file")]
    NotFound { path: String },
    #[error("{path}: is a directory (give files, or a directory to `sig verify`)")]
    Directory { path: String },
    #[error("{path}: not a regular file ({kind}); only regular files are hashed")]
    NotRegular { path: String, kind: &'static str },
    #[error("{path}: permission denied")]
    PermissionDenied { path: String },
    #[error("{path}: changed while it was being hashed; try again when it is complete")]
    Changed { path: String },
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: hashing stopped: nobody waits for the answer any more")]
    Cancelled { path: String },
}

/// Stops a hashing pass when whoever asked for it has gone (a client that disconnected, a
/// request dropped): set by [`StopOnDrop`], checked between reads.
#[derive(Debug, Clone, Default)]
pub struct Cancel(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Cancel {
    /// A guard that cancels this pass when dropped: hold it in the future that awaits the
    /// hash, and dropping that future stops the blocking work too.
    pub fn stop_on_drop(&self) -> StopOnDrop {
        StopOnDrop(self.clone())
    }

    fn cancelled(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

pub struct StopOnDrop(Cancel);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        (self.0).0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn kind_of(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let t = meta.file_type();
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "a special file"
    }
}

fn io_error(path: &Path, e: io::Error) -> HashError {
    let path = path.display().to_string();
    match e.kind() {
        io::ErrorKind::NotFound => HashError::NotFound { path },
        io::ErrorKind::PermissionDenied => HashError::PermissionDenied { path },
        _ => HashError::Io { path, source: e },
    }
}

fn check_regular(path: &Path, meta: &Metadata) -> Result<(), HashError> {
    if meta.is_dir() {
        Err(HashError::Directory {
            path: path.display().to_string(),
        })
    } else if !meta.is_file() {
        Err(HashError::NotRegular {
            path: path.display().to_string(),
            kind: kind_of(meta),
        })
    } else {
        Ok(())
    }
}

/// The stamp of the file at `path` now (following symlinks), checking it is a regular file.
pub fn stamp(path: &Path) -> Result<FileStamp, HashError> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    check_regular(path, &meta)?;
    Ok(FileStamp::of(&meta))
}

/// Whether a symlink at the path itself is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// A path the user named (`sig verify link`): its target is what they mean.
    Yes,
    /// A path found in a tree (a watch, `sig verify DIR`): a link there is never followed,
    /// even one swapped in after the tree was listed.
    No,
}

/// Hashes the file at `path`. What is read is decided by the opened descriptor alone: it is
/// opened without blocking (a FIFO swapped in must not hang) and, for [`Follow::No`], without
/// following a symlink; its type and stamp come from `fstat` of that descriptor, and at most
/// its size and one byte more are read (a `/proc` file claims size 0 and yields without end).
/// If the stamp changes during the read, or the bytes read are not the size, the file changed.
pub fn hash_file(path: &Path, follow: Follow) -> Result<(ContentId, FileStamp), HashError> {
    hash_file_until(path, follow, &Cancel::default())
}

/// [`hash_file`], stopping with [`HashError::Cancelled`] once `cancel` is set.
pub fn hash_file_until(
    path: &Path,
    follow: Follow,
    cancel: &Cancel,
) -> Result<(ContentId, FileStamp), HashError> {
    let mut flags = rustix::fs::OFlags::NONBLOCK;
    if follow == Follow::No {
        flags |= rustix::fs::OFlags::NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(code) if code == rustix::io::Errno::LOOP.raw_os_error() => HashError::NotRegular {
                path: path.display().to_string(),
                kind: "a symbolic link",
            },
            _ => io_error(path, e),
        })?;
    let opened = file.metadata().map_err(|e| io_error(path, e))?;
    check_regular(path, &opened)?;
    let before = FileStamp::of(&opened);
    let file = file.take(before.size.saturating_add(1));
    let (id, read, file) = hash_reader(file, cancel).map_err(|e| match e.kind() {
        io::ErrorKind::Interrupted => HashError::Cancelled {
            path: path.display().to_string(),
        },
        _ => io_error(path, e),
    })?;
    let after = file
        .into_inner()
        .metadata()
        .map(|m| FileStamp::of(&m))
        .map_err(|e| io_error(path, e))?;
    if after != before || read != before.size {
        return Err(HashError::Changed {
            path: path.display().to_string(),
        });
    }
    Ok((id, before))
}

/// The sha256 content id of everything `file` yields, and how many bytes that was.
/// Stops with `ErrorKind::Interrupted` once `cancel` is set.
pub fn hash_reader<R: io::Read>(mut file: R, cancel: &Cancel) -> io::Result<(ContentId, u64, R)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        if cancel.cancelled() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "cancelled"));
        }
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok((ContentId::sha256(&hasher.finalize().into()), total, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        let (id, stamp) = hash_file(&path, Follow::No).unwrap();
        assert_eq!(
            id.as_str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(stamp.size, 3);
    }

    #[test]
    fn notices_a_file_that_changes_while_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("growing");
        std::fs::write(&path, vec![0u8; 64 << 20]).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (path, stop) = (path.clone(), stop.clone());
            std::thread::spawn(move || {
                use std::io::Write as _;
                let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    f.write_all(b"more").unwrap();
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
            })
        };
        let result = hash_file(&path, Follow::No);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
        assert!(
            matches!(result, Err(HashError::Changed { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            hash_file(dir.path(), Follow::No),
            Err(HashError::Directory { .. })
        ));
        assert!(matches!(
            hash_file(&dir.path().join("missing"), Follow::No),
            Err(HashError::NotFound { .. })
        ));
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        assert!(matches!(
            hash_file(&fifo, Follow::No),
            Err(HashError::NotRegular { kind: "a FIFO", .. })
        ));
        // A symlink in a tree is never followed; one the user names is.
        let target = dir.path().join("target");
        std::fs::write(&target, b"abc").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(
            hash_file(&link, Follow::No),
            Err(HashError::NotRegular {
                kind: "a symbolic link",
                ..
            })
        ));
        assert!(hash_file(&link, Follow::Yes).is_ok());
        // A file that yields more than its size (procfs) is not read to its end.
        let pagemap = std::path::Path::new("/proc/self/pagemap");
        if pagemap.exists() {
            // (Changed, or the kernel's refusal of a read shorter than 8 bytes.)
            assert!(hash_file(pagemap, Follow::Yes).is_err());
        }
    }
}
