//! One daemon per home: an exclusive lock on `signetd.lock`, held for the daemon's life.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use anyhow::Context as _;

/// The held lock; released when dropped or when the process dies, however it dies.
#[derive(Debug)]
pub struct HomeLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another signetd (pid {pid}) is already serving this home")]
    Held { pid: String },
    #[error(transparent)]
    Io(#[from] anyhow::Error),
}

pub fn acquire(path: &Path) -> Result<HomeLock, LockError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim().to_owned();
            return Err(LockError::Held {
                pid: if pid.is_empty() {
                    "unknown".into()
                } else {
                    pid
                },
            });
        }
        Err(TryLockError::Error(e)) => {
            return Err(LockError::Io(
                anyhow::Error::from(e).context(format!("locking {}", path.display())),
            ));
        }
    }
    (|| {
        file.set_len(0)?;
        file.rewind()?;
        writeln!(file, "{}", std::process::id())
    })()
    .with_context(|| format!("writing {}", path.display()))?;
    Ok(HomeLock { _file: file })
}
