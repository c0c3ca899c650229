//! How watching fails: `WatchError` for `watch.*` and `subscribe`, and inotify's errors in
//! words a person can act on (the kernel limit reached names the sysctl to raise).

use super::*;

/// Why `watch.add`, `watch.remove` or `subscribe` did nothing.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// A kernel limit on inotify: `hint` names the setting to raise.
    #[error("{what}")]
    Limit { what: String, hint: String },
    #[error("cannot watch: {0}")]
    Inotify(String),
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error("{0}")]
    Unreachable(String),
    #[error("refusing to watch / : it would hash every file on the system")]
    Everything,
    #[error("{}: not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("{} is already watched, as part of {}", .root.display(), .outer.display())]
    Inside { root: PathBuf, outer: PathBuf },
    #[error("config.json: {0}")]
    Ignore(String),
    #[error("{} is not watched", .0.display())]
    NotWatched(PathBuf),
    #[error("this connection fell too far behind its notifications and is being closed")]
    FellBehind,
    #[error("{0}")]
    Damaged(Damage),
    #[error(transparent)]
    NotSaved(#[from] NotSaved),
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

impl Failure for WatchError {
    fn code(&self) -> ErrorCode {
        match self {
            WatchError::FellBehind => ErrorCode::Busy,
            WatchError::Damaged(_) => ErrorCode::Damaged,
            WatchError::NotSaved(e) => e.code(),
            WatchError::Task(e) => e.code(),
            _ => ErrorCode::Watch,
        }
    }
    fn hint(&self) -> Option<String> {
        Some(match self {
            WatchError::Limit { hint, .. } => hint.clone(),
            WatchError::Everything => "watch the directories you work in".into(),
            WatchError::NotADirectory(_) => "`sig verify` checks single files".into(),
            WatchError::NotWatched(_) => "`sig watch list` shows what is".into(),
            WatchError::FellBehind => "reconnect and subscribe again".into(),
            WatchError::NotSaved(e) => return e.hint(),
            _ => return None,
        })
    }
}

/// An inotify failure in words a person can act on, naming the setting to raise.
pub(super) fn watch_error(e: &notify::Error, dirs: usize) -> WatchError {
    let sysctl = |name: &str| {
        let value = std::fs::read_to_string(format!("/proc/sys/fs/inotify/{name}"))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|_| "?".into());
        (format!("fs.inotify.{name}"), value)
    };
    match &e.kind {
        notify::ErrorKind::MaxFilesWatch => {
            let (name, value) = sysctl("max_user_watches");
            WatchError::Limit {
                what: format!(
                    "the kernel's inotify watch limit is reached ({name} = {value}; this \
                     directory needs one watch per directory, {dirs} here)"
                ),
                hint: format!(
                    "raise it, e.g. `sudo sysctl {name}=524288`, or watch a smaller directory"
                ),
            }
        }
        notify::ErrorKind::Io(io) if io.raw_os_error() == Some(libc_emfile()) => {
            let (name, value) = sysctl("max_user_instances");
            WatchError::Limit {
                what: format!("the kernel's inotify instance limit is reached ({name} = {value})"),
                hint: format!(
                    "raise it, e.g. `sudo sysctl {name}=1024`, or stop other programs watching \
                     files"
                ),
            }
        }
        _ => WatchError::Inotify(e.to_string()),
    }
}

/// Whether an inotify failure is a kernel limit (which leaves every further watch failing too)
/// rather than a problem of one directory.
pub(super) fn is_limit(e: &notify::Error) -> bool {
    match &e.kind {
        notify::ErrorKind::MaxFilesWatch => true,
        notify::ErrorKind::Io(io) => [
            libc_emfile(),
            rustix::io::Errno::NOSPC.raw_os_error(),
            rustix::io::Errno::NOMEM.raw_os_error(),
        ]
        .contains(&io.raw_os_error().unwrap_or(0)),
        _ => false,
    }
}

fn libc_emfile() -> i32 {
    rustix::io::Errno::MFILE.raw_os_error()
}
