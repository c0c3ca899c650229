//! Files under the home: atomic writes, private directories, bounded reads.
//!
//! Every write goes to a temp file in the same directory, is fsynced, renamed over the target,
//! and the directory fsynced: a kill -9 or power loss at any instant leaves the old file or the
//! new one, never a torn one. A failed write removes its temp file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{
    DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::Path;

use anyhow::{Context as _, bail};

/// Writes `bytes` to `path` atomically and durably, with the given permission bits.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    write_renamed(path, mode, true, |file| file.write_all(bytes))
}

/// [`write_atomic`] of what `write` writes, through a buffer: a large file (a checked cache of
/// hundreds of thousands of words) is never held whole in memory.
pub fn write_atomic_with(
    path: &Path,
    mode: u32,
    write: impl FnOnce(&mut dyn io::Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    write_renamed(path, mode, true, |file| {
        let mut buffered = io::BufWriter::with_capacity(1 << 16, file);
        write(&mut buffered)?;
        buffered.flush()
    })
}

/// New files (the parts of a repository) written atomically and made durable before anything
/// names them: a few each synced as written ([`write_atomic`]), many written
/// without waiting for the disk and made durable together by one `syncfs` of their file system
/// in [`Batch::sync`] — which flushes everything on it, cheaper only for many. Until then a
/// power loss may leave one torn, which its reader detects by its digest.
#[derive(Debug, Clone, Copy)]
pub struct Batch {
    one_by_one: bool,
}

impl Batch {
    /// Up to this many files are each synced as written.
    const ONE_BY_ONE: usize = 8;

    /// A batch of `files` new files.
    pub fn of(files: usize) -> Batch {
        Batch {
            one_by_one: files <= Self::ONE_BY_ONE,
        }
    }

    /// Writes one file of the batch, atomically.
    pub fn write(self, path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
        write_renamed(path, mode, self.one_by_one, |file| file.write_all(bytes))
    }

    /// Makes the batch's files, written in `dir`, durable (nothing to do for a few, each
    /// synced as written).
    pub fn sync(self, dir: &Path) -> anyhow::Result<()> {
        if self.one_by_one {
            return Ok(());
        }
        let dir_file = File::open(dir).with_context(|| format!("opening {}", dir.display()))?;
        rustix::fs::syncfs(&dir_file).with_context(|| format!("syncing {}", dir.display()))
    }
}

/// [`write_atomic`] without waiting for the disk, ever: for a cache its reader checks before
/// using it, which a crash costs only the work of making again.
pub fn write_cache(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    write_renamed(path, mode, false, |file| file.write_all(bytes))
}

fn write_renamed(
    path: &Path,
    mode: u32,
    durable: bool,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .with_context(|| format!("{} has no parent directory", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    // An unpredictable name, created new and never through a symlink: in a directory another
    // user can write (`sig publish --to`), a name planted in advance is never written through.
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{:016x}",
        std::process::id(),
        unpredictable()
    ));
    let result = (|| {
        let mut file = create_new(&tmp, mode)?;
        write(&mut file)?;
        if durable {
            file.sync_all()?;
        }
        drop(file);
        fs::rename(&tmp, path)?;
        if durable { sync_dir(dir) } else { Ok(()) }
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Creates a file that did not exist, never through a symlink: `O_CREAT | O_EXCL |
/// O_NOFOLLOW`. A name planted in advance (a symlink, dangling or not) makes it fail.
fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .mode(mode)
        .open(path)
}

/// 64 bits no other process can guess: std's hasher keys are drawn from the OS's randomness.
pub fn unpredictable() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.finish()
}

/// Removes temp files that a killed writer left in `dir` (the caller holds the home's lock, so
/// no live writer owns them). Returns how many were removed.
pub fn remove_stale_temps(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with('.') && name.contains(".tmp-")
        })
        .filter(|e| fs::remove_file(e.path()).is_ok())
        .count()
}

/// Removes the file at `path`; one already gone is not an error.
pub fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Makes a rename or a new file in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Reads a whole regular file of at most `max` bytes. `Ok(None)` when it does not exist. It
/// is opened without blocking and typed by `fstat` of what was opened: a FIFO or a device
/// planted under the name is refused, never waited on.
pub fn read_bounded(path: &Path, max: u64) -> anyhow::Result<Option<Vec<u8>>> {
    open_regular(path)?
        .map(|(file, meta)| read_capped(file, meta.len(), path, max))
        .transpose()
}

/// The SHA-256 (hex) of a regular file (none: there is none) of at most `max` bytes, hashed as
/// it is read (`hash::hash_reader`): a large stored copy checked against its cache need not be
/// held.
pub fn sha256_bounded(path: &Path, max: u64) -> anyhow::Result<Option<String>> {
    let Some((file, _)) = open_regular(path)? else {
        return Ok(None);
    };
    let (id, total, _) = crate::hash::hash_reader(file.take(max + 1), &Default::default())
        .with_context(|| format!("reading {}", path.display()))?;
    if total > max {
        bail!("{} is larger than {max} bytes", path.display());
    }
    let hex = id.as_str().strip_prefix("sha256:").expect("a sha256 id");
    Ok(Some(hex.to_owned()))
}

/// [`read_bounded`] for a file whose contents steer the daemon (`config.json`, `trust.json`):
/// refused unless it belongs to this user and nobody else can write it, so another user who
/// can write in a shared directory cannot plant a policy or a list of trusted keys.
pub fn read_private(path: &Path, max: u64) -> anyhow::Result<Option<Vec<u8>>> {
    let Some((file, meta)) = open_regular(path)? else {
        return Ok(None);
    };
    check_owned(path, &meta)?;
    Ok(Some(read_capped(file, meta.len(), path, max)?))
}

/// Refuses what another user owns or can write.
pub fn check_owned(path: &Path, meta: &fs::Metadata) -> anyhow::Result<()> {
    let me = rustix::process::getuid().as_raw();
    if meta.uid() != me {
        bail!(
            "{} belongs to uid {}, not to you (uid {me}): Signet only reads its own files; \
             remove it or choose another SIGNET_HOME",
            path.display(),
            meta.uid()
        );
    }
    if writable_by_others(meta) {
        bail!(
            "{} can be changed by other users (mode {:o}): make it yours alone (chmod go-w) \
             and check what it holds",
            path.display(),
            meta.mode() & 0o7777
        );
    }
    Ok(())
}

/// See [`signet_proto::paths::writable_by_others`].
fn writable_by_others(meta: &fs::Metadata) -> bool {
    signet_proto::paths::writable_by_others(
        meta.mode(),
        meta.gid(),
        rustix::process::getgid().as_raw(),
    )
}

fn open_regular(path: &Path) -> anyhow::Result<Option<(File, fs::Metadata)>> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    let meta = file
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    Ok(Some((file, meta)))
}

fn read_capped(file: File, len: u64, path: &Path, max: u64) -> anyhow::Result<Vec<u8>> {
    // Sized once from the length the file had when opened (no doubling and copying of a large
    // copy); a file that grew since still reads, to the cap.
    let mut bytes = Vec::with_capacity(len.min(max) as usize + 1);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 > max {
        bail!("{} is larger than {max} bytes", path.display());
    }
    Ok(bytes)
}

/// Creates `dir` (and its parents) if needed and makes sure it is private to this user:
/// owned by us, mode 0700. An existing directory that others can enter is tightened.
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let meta = fs::metadata(dir).with_context(|| format!("reading {}", dir.display()))?;
    let me = rustix::process::getuid().as_raw();
    if meta.uid() != me {
        bail!(
            "{} belongs to uid {}, not to you (uid {me}): choose another directory",
            dir.display(),
            meta.uid()
        );
    }
    // Writable by others: anything in it may have been planted; refuse rather than tighten
    // and then trust what is there. Only readable by others: tighten.
    if writable_by_others(&meta) {
        bail!(
            "{} can be changed by other users (mode {:o}): files in it may have been planted; \
             check them, then `chmod 700` it",
            dir.display(),
            meta.mode() & 0o7777
        );
    }
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("making {} private (chmod 700)", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_name_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let planted = dir.path().join("planted");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        assert!(create_new(&planted, 0o600).is_err());
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(create_new(&dangling, 0o600).is_err());
        assert!(!dir.path().join("nowhere").exists());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        // A write of the real name replaces the link itself, never its target.
        write_atomic(&planted, b"new", 0o600).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(&planted).unwrap(), b"new");
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        write_atomic(&path, b"one", 0o600).unwrap();
        write_atomic(&path, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f.json")]);
    }

    #[test]
    fn failed_write_keeps_old_file_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        write_atomic(&path, b"old", 0o600).unwrap();
        // A directory where the file should be makes the rename fail.
        let blocked = dir.path().join("d");
        fs::create_dir_all(blocked.join("x")).unwrap();
        assert!(write_atomic(&blocked, b"new", 0o600).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert!(
            !dir.path()
                .join(".d.tmp-".to_string() + &std::process::id().to_string())
                .exists()
        );
    }

    #[test]
    fn bounded_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert!(read_bounded(&path, 10).unwrap().is_none());
        fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_bounded(&path, 10).unwrap().unwrap().len(), 10);
        assert!(read_bounded(&path, 9).is_err());
    }
}
