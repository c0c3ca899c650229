//! Watched directories, the daemon half: `watch.add|remove|list`, turning inotify events into
//! fresh content ids and verdicts, and telling subscribers what changed.
//!
//! One task applies changes (scans, event batches) at a time, under `Table::applying`; verify
//! only takes short read locks on the file table, so it is never held up by a scan.

mod events;
mod failure;
mod refresh;
mod remembered;
pub mod scan;
mod tree;
mod verifying;

pub use failure::WatchError;
use failure::{is_limit, watch_error};

use events::{ScanFailure, is_read};

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecursiveMode, Watcher as _};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use signet_proto::api::{
    ChangeCause, PathParams, SubscribeResult, Target, Verdict, VerdictChanged, WatchInfo,
    WatchListResult,
};
use signet_proto::formats::ContentId;
use signet_proto::rpc::ErrorCode;
use signet_proto::wire_path::AbsPath;
use tokio::sync::mpsc;

use crate::errors::{Failure, NotSaved, TaskFailed, blocking};
use crate::hash::{self, FileStamp};
use crate::home::damage::Damage;
use crate::state::Shared;
use crate::subscribers::{Inbox, Subscribers};
use scan::{IGNORE_FILES, Rules, Scan, ScanError};

/// Events waiting to be applied; past this the daemon rescans instead of queueing more.
const EVENT_QUEUE: usize = 65_536;
/// A batch of events ends after this long without a new one…
const QUIET: Duration = Duration::from_millis(2);
/// …or after this long in all, so a steady stream of writes still gets answered.
const MAX_BATCH_WAIT: Duration = Duration::from_millis(50);
/// A batch with this many events is a burst: it is gathered while events keep coming…
const BURST_EVENTS: usize = 256;
/// …until they pause this long…
const BURST_QUIET: Duration = Duration::from_millis(20);
/// …or for this long at most.
const BURST_WAIT: Duration = Duration::from_secs(2);
/// More changed paths than this in one batch (a `git checkout`) is one rescan, not many hashes.
const RESCAN_AT: usize = 1000;
/// Largest `watches.json` read.
const MAX_WATCHES_FILE: u64 = 4 << 20;

/// Which directory a path names: (device, inode).
type DirId = (u64, u64);

fn dir_id(path: &Path) -> Option<DirId> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::symlink_metadata(path)
        .ok()
        .filter(|m| m.is_dir())
        .map(|m| (m.dev(), m.ino()))
}

/// A watched file: what it was when last hashed, and the verdict last announced for it.
#[derive(Debug, Clone)]
struct Tracked {
    stamp: FileStamp,
    id: ContentId,
    verdict: Verdict,
}

struct Root {
    rules: Arc<Rules>,
    skipped: usize,
    error: Option<String>,
    scan_ms: u64,
}

pub(crate) struct Table {
    roots: Mutex<BTreeMap<PathBuf, Root>>,
    files: RwLock<HashMap<PathBuf, Tracked>>,
    /// Directories with an inotify watch, with the identity of the directory watched: a
    /// kernel watch follows its directory when it is renamed, so a path whose directory is now
    /// another one (`mv d d.old && mv d.new d`) must be watched again.
    dirs: Mutex<HashMap<PathBuf, DirId>>,
    watcher: Mutex<Option<notify::RecommendedWatcher>>,
    events: mpsc::Sender<notify::Result<notify::Event>>,
    incoming: Mutex<Option<mpsc::Receiver<notify::Result<notify::Event>>>>,
    /// Events were lost (our queue or the kernel's overflowed): rescan everything.
    overflowed: Arc<AtomicBool>,
    /// Held while a scan or an event batch is applied, and while the remembered watches are
    /// resumed at start (shared, for that task to hold it).
    applying: Arc<tokio::sync::Mutex<()>>,
    /// `watches.json` could not be read at start: it is not written until repaired.
    file_damage: Mutex<Option<Damage>>,
}

impl Default for Table {
    fn default() -> Self {
        let (events, incoming) = mpsc::channel(EVENT_QUEUE);
        Table {
            roots: Mutex::default(),
            files: RwLock::default(),
            dirs: Mutex::default(),
            watcher: Mutex::default(),
            events,
            incoming: Mutex::new(Some(incoming)),
            file_damage: Mutex::default(),
            overflowed: Arc::default(),
            applying: Arc::default(),
        }
    }
}

/// Paths whose hash is remembered outside watched directories; past this the cache starts
/// over.
const PATH_CACHE_LIMIT: usize = 200_000;

/// A file hashed by path: valid while its stamp is unchanged.
pub(crate) struct PathEntry {
    pub(crate) stamp: FileStamp,
    pub(crate) id: ContentId,
    /// The verdict last told to subscribers, for files under a subscription.
    pub(crate) verdict: Option<signet_proto::api::Verdict>,
}

/// The files whose content ids the daemon keeps: every file of a watched directory (the
/// table, kept fresh by the kernel's events) and every file verified by path outside them (the
/// path cache, valid while a stat shows the same file). It hashes, answers verify by path from
/// them, and tells subscribers when a verdict on one of them changes.
pub struct Watches {
    shared: Arc<Shared>,
    subscribers: Arc<Subscribers>,
    table: Table,
    /// Files verified by path outside watched directories.
    paths: Mutex<HashMap<PathBuf, PathEntry>>,
}

impl Watches {
    pub fn new(shared: Arc<Shared>, subscribers: Arc<Subscribers>) -> Arc<Self> {
        Arc::new(Watches {
            shared,
            subscribers,
            table: Table::default(),
            paths: Mutex::default(),
        })
    }

    /// What `watches.json` could not be read as, for `sig status`.
    pub(crate) fn damage(&self) -> Option<String> {
        self.table.damage()
    }

    fn path_cache(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, PathEntry>> {
        lock(&self.paths)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Table {
    fn files(&self) -> std::sync::RwLockReadGuard<'_, HashMap<PathBuf, Tracked>> {
        self.files.read().unwrap_or_else(|e| e.into_inner())
    }

    fn files_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<PathBuf, Tracked>> {
        self.files.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The watched root `path` lies under, with its rules.
    fn root_of(&self, path: &Path) -> Option<(PathBuf, Arc<Rules>)> {
        lock(&self.roots)
            .iter()
            .find(|(root, _)| path.starts_with(root))
            .map(|(root, r)| (root.clone(), r.rules.clone()))
    }

    /// What is wrong with `watches.json`, if it could not be read.
    pub(crate) fn damage(&self) -> Option<String> {
        lock(&self.file_damage).as_ref().map(ToString::to_string)
    }

    fn known(&self, path: &Path) -> Option<(FileStamp, ContentId)> {
        self.files().get(path).map(|t| (t.stamp, t.id.clone()))
    }

    /// Adds inotify watches on `dirs`; returns those added, or the error that stopped it.
    fn watch_dirs(&self, dirs: &[PathBuf]) -> Result<Vec<PathBuf>, WatchError> {
        let mut watcher = lock(&self.watcher);
        if watcher.is_none() {
            let events = self.events.clone();
            let overflowed = self.overflowed.clone();
            let created = notify::recommended_watcher(move |event: notify::Result<_>| {
                // Reads (every open by any program, our own hashing included) change nothing:
                // drop them here rather than queue them.
                if event.as_ref().is_ok_and(is_read) {
                    return;
                }
                if events.try_send(event).is_err() {
                    overflowed.store(true, Ordering::Relaxed);
                }
            })
            .map_err(|e| watch_error(&e, dirs.len()))?;
            *watcher = Some(created);
        }
        let watcher = watcher.as_mut().expect("created above");
        let mut watched = lock(&self.dirs);
        let mut added = Vec::new();
        for dir in dirs {
            let Some(id) = dir_id(dir) else {
                continue; // gone since the scan saw it: its parent's event says so
            };
            if watched.get(dir) == Some(&id) {
                continue;
            }
            match watcher.watch(dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    watched.insert(dir.clone(), id);
                    added.push(dir.clone());
                }
                // A limit reached: the watch cannot be complete, and the user must hear it.
                Err(e) if is_limit(&e) => {
                    for dir in &added {
                        let _ = watcher.unwatch(dir);
                        watched.remove(dir);
                    }
                    return Err(watch_error(&e, dirs.len()));
                }
                // This one directory cannot be watched (gone, unreadable, a path longer than
                // PATH_MAX): the rest of the tree still is, and its files are still scanned.
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), "not watched: {e}");
                }
            }
        }
        Ok(added)
    }

    /// Drops the inotify watches on `dir` and every directory under it.
    fn unwatch_under(&self, dir: &Path) {
        let mut watched = lock(&self.dirs);
        let gone: Vec<(PathBuf, DirId)> = watched
            .iter()
            .filter(|(d, _)| d.starts_with(dir))
            .map(|(d, id)| (d.clone(), *id))
            .collect();
        let mut watcher = lock(&self.watcher);
        for (d, id) in gone {
            watched.remove(&d);
            // The kernel has one watch per directory: when that directory was renamed and is
            // watched under its new name, the watch stays.
            if watched.values().any(|other| *other == id) {
                continue;
            }
            if let Some(w) = watcher.as_mut() {
                let _ = w.unwatch(&d);
            }
        }
    }
}

impl Watches {
    /// The content id of a watched file from the table events keep fresh, when one `lstat`
    /// shows the path still holds the very file that was hashed. Events can come late (a busy
    /// tree), or never (a write through a hard link from outside the tree, a mount over a
    /// directory): a table entry is a cache, never the answer by itself. `None` sends the
    /// caller to hash the file now.
    pub(crate) fn watched_id(&self, path: &Path) -> Option<ContentId> {
        let tracked = self
            .table
            .files()
            .get(path)
            .map(|t| (t.stamp, t.id.clone()))?;
        let now = std::fs::symlink_metadata(path).ok()?;
        (now.is_file() && FileStamp::of(&now) == tracked.0).then_some(tracked.1)
    }

    fn verdicts(&self, ids: impl Iterator<Item = ContentId>) -> Vec<Verdict> {
        // One copy of the rules for all of them, as `verify_dir` does.
        let rules = crate::state::Rules::user(&self.shared.config().verify);
        let state = self.shared.read();
        ids.map(|id| state.verdict(&id, &rules)).collect()
    }

    /// The ignore rules of a tree (its ignore files read off the async threads).
    async fn rules_for(&self, root: &Path) -> Result<Rules, WatchError> {
        let (root, ignore) = (root.to_owned(), self.shared.config().watch.ignore.clone());
        blocking("reading ignore files", move || Rules::new(&root, &ignore))
            .await?
            .map_err(WatchError::Ignore)
    }

    pub async fn watch_add(self: &Arc<Self>, p: PathParams) -> Result<WatchInfo, WatchError> {
        let root = watchable(&p.path).await?;
        let _applying = self.table.applying.lock().await;
        if lock(&self.table.roots).contains_key(&root) {
            return Ok(self.watch_info(&root).expect("present"));
        }
        if let Some((outer, _)) = self.table.root_of(&root) {
            return Err(WatchError::Inside { root, outer });
        }
        let rules = self.rules_for(&root).await?;
        self.start_watching(root.clone(), Arc::new(rules)).await?;
        self.save_watches().await?;
        Ok(self.watch_info(&root).expect("just added"))
    }

    /// Scans a new root, watches its directories, and publishes its files.
    async fn start_watching(
        self: &Arc<Self>,
        root: PathBuf,
        rules: Arc<Rules>,
    ) -> Result<(), WatchError> {
        let daemon = self.clone();
        let refused_root = root.clone();
        let (scanned, rules) = blocking("a scan", move || {
            let scanned = daemon.scan_and_watch(&root, &rules);
            (scanned.map(|scan| (root, scan)), rules)
        })
        .await?;
        let (root, scan) = match scanned {
            Ok(scanned) => scanned,
            Err(failure) => {
                // Leave no inotify watch behind for a refused root (unless it would take in
                // watched roots, whose watches stay).
                let root = &refused_root;
                if !lock(&self.table.roots).keys().any(|r| r.starts_with(root)) {
                    self.table.unwatch_under(root);
                }
                return Err(match failure {
                    ScanFailure::Scan(e) => WatchError::Scan(e),
                    ScanFailure::Watch(e, _) => e,
                });
            }
        };
        let verdicts = self.verdicts(scan.files.iter().map(|f| f.id.clone()));
        {
            let mut files = self.table.files_mut();
            for (found, verdict) in scan.files.into_iter().zip(verdicts) {
                files.insert(
                    found.path,
                    Tracked {
                        stamp: found.stamp,
                        id: found.id,
                        verdict,
                    },
                );
            }
        }
        for problem in &scan.problems {
            tracing::warn!(root = %root.display(), "while scanning: {problem}");
        }
        tracing::info!(
            root = %root.display(),
            dirs = scan.dirs.len(),
            skipped = scan.skipped,
            ms = scan.millis,
            "watching"
        );
        // A new root takes in any watched root under it.
        let mut roots = lock(&self.table.roots);
        roots.retain(|r, _| !r.starts_with(&root));
        roots.insert(
            root,
            Root {
                rules,
                skipped: scan.skipped,
                error: None,
                scan_ms: scan.millis,
            },
        );
        Ok(())
    }

    pub async fn watch_remove(&self, p: PathParams) -> Result<WatchInfo, WatchError> {
        let root = tokio::fs::canonicalize(&p.path)
            .await
            .unwrap_or_else(|_| p.path.to_path_buf());
        let _applying = self.table.applying.lock().await;
        let info = self
            .watch_info(&root)
            .ok_or_else(|| WatchError::NotWatched(p.path.to_path_buf()))?;
        lock(&self.table.roots).remove(&root);
        self.table.unwatch_under(&root);
        self.table.files_mut().retain(|p, _| !p.starts_with(&root));
        self.save_watches().await?;
        Ok(info)
    }

    pub fn watch_list(&self) -> WatchListResult {
        let roots: Vec<PathBuf> = lock(&self.table.roots).keys().cloned().collect();
        WatchListResult {
            watches: roots.iter().filter_map(|r| self.watch_info(r)).collect(),
        }
    }

    fn watch_info(&self, root: &Path) -> Option<WatchInfo> {
        let (skipped, error, scan_ms) = {
            let roots = lock(&self.table.roots);
            let r = roots.get(root)?;
            (r.skipped, r.error.clone(), r.scan_ms)
        };
        let mut info = WatchInfo {
            path: root.to_owned(),
            files: 0,
            skipped,
            ok: 0,
            unverified: 0,
            not_ok: 0,
            error,
            scan_ms,
        };
        for (_, t) in self
            .table
            .files()
            .iter()
            .filter(|(p, _)| p.starts_with(root))
        {
            info.files += 1;
            match t.verdict {
                Verdict::Ok => info.ok += 1,
                Verdict::Unverified => info.unverified += 1,
                Verdict::NotOk => info.not_ok += 1,
            }
        }
        Some(info)
    }

    pub async fn subscribe(
        &self,
        inbox: &mut Option<Inbox>,
        p: PathParams,
    ) -> Result<SubscribeResult, WatchError> {
        let watched = self.table.root_of(&p.path).is_some();
        if !self.subscribers.add(
            inbox,
            p.path.to_path_buf(),
            self.shared.config().watch.max_queued_notifications,
        ) {
            return Err(WatchError::FellBehind);
        }
        // An unwatched file: note its verdict now, so a change to it can be told.
        let path = p.path.to_path_buf();
        let is_file = blocking("looking at the file", move || path.is_file()).await?;
        if !watched && is_file {
            let _ = self.verify(&Target::Path(p.path.clone())).await;
        }
        Ok(SubscribeResult {
            path: p.path.into_path_buf(),
            watched,
        })
    }
}

/// The directory `path` names, made canonical, if it may be watched.
async fn watchable(path: &AbsPath) -> Result<PathBuf, WatchError> {
    let root = tokio::fs::canonicalize(path).await.map_err(|e| {
        WatchError::Unreachable(signet_proto::text::file_error(
            &path.display().to_string(),
            &e,
        ))
    })?;
    if root == Path::new("/") {
        return Err(WatchError::Everything);
    }
    if !tokio::fs::metadata(&root).await.is_ok_and(|m| m.is_dir()) {
        return Err(WatchError::NotADirectory(path.to_path_buf()));
    }
    Ok(root)
}
