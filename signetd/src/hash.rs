//! Hashing files into content ids, refusing what is not a regular file and noticing a file
//! that changes while it is read.

use std::fs::{File, Metadata, OpenOptions};
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

/// Hashes the file at `path`. The stamp returned is the file's before and after the read;
/// if they differ, or the bytes read are not the size stat gave, the file changed.
pub fn hash_file(path: &Path) -> Result<(ContentId, FileStamp), HashError> {
    let before = stamp(path)?;
    // O_NONBLOCK: if a FIFO is swapped in after the stat, opening it must not hang.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    let opened = file.metadata().map_err(|e| io_error(path, e))?;
    check_regular(path, &opened)?;
    if FileStamp::of(&opened) != before {
        return Err(HashError::Changed {
            path: path.display().to_string(),
        });
    }
    let (id, read) = hash_reader(file).map_err(|e| io_error(path, e))?;
    let after = stamp(path)?;
    if after != before || read != before.size {
        return Err(HashError::Changed {
            path: path.display().to_string(),
        });
    }
    Ok((id, before))
}

/// The sha256 content id of everything `file` yields, and how many bytes that was.
pub fn hash_reader(mut file: File) -> io::Result<(ContentId, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
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
    Ok((ContentId::sha256(&hasher.finalize().into()), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        let (id, stamp) = hash_file(&path).unwrap();
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
        let result = hash_file(&path);
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
            hash_file(dir.path()),
            Err(HashError::Directory { .. })
        ));
        assert!(matches!(
            hash_file(&dir.path().join("missing")),
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
            hash_file(&fifo),
            Err(HashError::NotRegular { kind: "a FIFO", .. })
        ));
    }
}
