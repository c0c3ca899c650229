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
    #[error(
        "another signetd (pid {pid}) is already serving this home{}: use its socket \
         (SIGNET_SOCKET or --socket), or stop it first (`sig daemon stop` with that socket)",
        socket.as_ref().map(|s| format!(", on {s}")).unwrap_or_default()
    )]
    Held { pid: String, socket: Option<String> },
    #[error(transparent)]
    Io(#[from] anyhow::Error),
}

/// Takes the home's lock at `path` and records in it this process's pid and the socket it
/// serves (`PID\nSOCKET\n`), for a daemon or a `sig` that finds the home taken to name them.
pub fn acquire(path: &Path, socket: &Path) -> Result<HomeLock, LockError> {
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
            let mut held = String::new();
            let _ = file.take(8192).read_to_string(&mut held);
            let (pid, socket) = signet_proto::paths::lock_holder(&held);
            return Err(LockError::Held {
                pid: pid.map_or_else(|| "unknown".into(), |p| p.to_string()),
                // Shown to the user: no control characters from a file anyone may have written.
                socket: socket.map(|s| s.chars().filter(|c| !c.is_control()).collect()),
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
        writeln!(file, "{}", std::process::id())?;
        writeln!(file, "{}", socket.display())
    })()
    .with_context(|| format!("writing {}", path.display()))?;
    Ok(HomeLock { _file: file })
}
