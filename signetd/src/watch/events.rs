//! From inotify events to the file table: events gathered into batches (a lone edit at
//! once, a burst as one rescan), each batch applied off the async threads, and what changed
//! told to subscribers.

use super::*;

/// What one batch of events asks for.
#[derive(Default)]
struct Batch {
    paths: BTreeSet<PathBuf>,
    events: usize,
    rescan_all: bool,
    errors: Vec<notify::Error>,
}

impl Batch {
    fn add(&mut self, event: notify::Result<notify::Event>) {
        match event {
            Err(e) => self.errors.push(e),
            Ok(event) => {
                self.events += 1;
                if event.need_rescan() {
                    self.rescan_all = true;
                }
                if is_read(&event) || event.kind == EventKind::Other {
                    return;
                }
                if self.paths.len() <= RESCAN_AT {
                    self.paths.extend(event.paths);
                }
            }
        }
    }

    fn overflowing(&self) -> bool {
        self.rescan_all || self.paths.len() > RESCAN_AT
    }
}

/// An event that only says a file was opened or read.
pub(super) fn is_read(event: &notify::Event) -> bool {
    matches!(event.kind, EventKind::Access(kind)
        if kind != AccessKind::Close(AccessMode::Write))
}

/// Why a directory could not be scanned and watched.
pub(super) enum ScanFailure {
    Scan(ScanError),
    /// A kernel limit left directories unwatched; the files the scan found are still current.
    Watch(WatchError, Box<Scan>),
}

/// How a path in a batch is brought up to date.
enum Work {
    Hash(PathBuf),
    Scan(PathBuf),
    Remove(PathBuf),
}

impl Watches {
    /// Applies file-system events as they come, in batches.
    pub async fn run_watch_events(self: Arc<Self>) {
        let Some(mut incoming) = lock(&self.table.incoming).take() else {
            return;
        };
        let mut shutdown = self.shared.shutdown_requested();
        // The last batch ended because it was long, not because the events stopped: a stream
        // is still coming, however slowly each event arrives.
        let mut streaming = false;
        loop {
            let first = tokio::select! {
                event = incoming.recv() => event,
                _ = shutdown.changed() => return,
            };
            let Some(first) = first else { return };
            let mut batch = Batch::default();
            batch.add(first);
            let started = Instant::now();
            // Gather the rest of a burst: a lone edit is applied after QUIET; a stream of
            // events (a checkout, a build) is gathered while it lasts, up to BURST_WAIT, so
            // that it becomes one rescan rather than many small batches.
            // A burst is many events in one batch, events left waiting by a writer that outran
            // the last batch, or a stream that outlasted the last batch (a checkout on a slow
            // disk writes slowly, and is a burst all the same).
            streaming = loop {
                let burst =
                    streaming || batch.events >= BURST_EVENTS || incoming.len() >= BURST_EVENTS;
                let (quiet, limit) = if burst {
                    (BURST_QUIET, BURST_WAIT)
                } else {
                    (QUIET, MAX_BATCH_WAIT)
                };
                if started.elapsed() >= limit {
                    break true;
                }
                match tokio::time::timeout(quiet, incoming.recv()).await {
                    Ok(Some(event)) => batch.add(event),
                    _ => break false,
                }
            };
            if self.table.overflowed.swap(false, Ordering::Relaxed) {
                batch.rescan_all = true;
            }
            tracing::debug!(
                events = batch.events,
                paths = batch.paths.len(),
                waiting = incoming.len(),
                ms = started.elapsed().as_millis() as u64,
                "a batch of file events"
            );
            let _applying = self.table.applying.lock().await;
            let daemon = self.clone();
            if let Err(e) =
                crate::errors::blocking("applying file changes", move || daemon.apply(batch)).await
            {
                tracing::error!("{e}");
            }
        }
    }

    /// Brings the file table up to date with one batch of events, then tells subscribers.
    fn apply(&self, batch: Batch) {
        self.note_watch_errors(&batch.errors);
        let (rescan, work) = self.plan(&batch);
        let mut updates = self.hash_changed(&work);
        let mut removed_dirs = Vec::new();
        for w in &work {
            match w {
                Work::Hash(_) => {}
                Work::Remove(path) => {
                    updates.push((path.clone(), None));
                    self.note_root_gone(path);
                    if lock(&self.table.dirs).contains_key(path) {
                        removed_dirs.push(path.clone());
                    }
                }
                Work::Scan(dir) => self.rescan(dir, &mut updates, &mut removed_dirs),
            }
        }
        for root in &rescan {
            self.rescan(root, &mut updates, &mut removed_dirs);
        }
        for dir in &removed_dirs {
            self.table.unwatch_under(dir);
            let gone: Vec<PathBuf> = self
                .table
                .files()
                .keys()
                .filter(|p| p.starts_with(dir))
                .cloned()
                .collect();
            updates.extend(gone.into_iter().map(|p| (p, None)));
        }
        let changes = self.record(updates);
        self.subscribers.deliver(&changes);
    }

    /// New directories could not be watched: the watch is incomplete; said where the user
    /// looks (`sig watch list`).
    fn note_watch_errors(&self, errors: &[notify::Error]) {
        for e in errors {
            // New directories could not be watched: the watch is incomplete; say so where the
            // user looks (`sig watch list`).
            let message = watch_error(e, 1).to_rpc().message;
            tracing::warn!("{message}");
            for path in &e.paths {
                if let Some((root, _)) = self.table.root_of(path)
                    && let Some(r) = lock(&self.table.roots).get_mut(&root)
                {
                    r.error = Some(message.clone());
                }
            }
        }
    }

    /// What a batch asks for: whole roots to rescan (the batch overflowed, or an ignore file
    /// changed), and per path a hash, a scan or a removal.
    fn plan(&self, batch: &Batch) -> (BTreeSet<PathBuf>, Vec<Work>) {
        let mut rescan: BTreeSet<PathBuf> = BTreeSet::new();
        if batch.overflowing() {
            // Events were dropped or too many to apply one by one: a rescan reads again only
            // the files whose stamp changed.
            rescan.extend(lock(&self.table.roots).keys().cloned());
            tracing::info!(
                events = batch.events,
                lost = batch.rescan_all,
                "a burst of changes: rescanning {} watched directories",
                rescan.len()
            );
        }
        let mut work = Vec::new();
        for path in &batch.paths {
            let Some((root, rules)) = self.table.root_of(path) else {
                continue;
            };
            if rescan.contains(&root) {
                continue;
            }
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if IGNORE_FILES.contains(&name) {
                rules.reload();
                rescan.insert(root);
                continue;
            }
            work.push(match std::fs::symlink_metadata(path) {
                Err(_) => Work::Remove(path.clone()),
                Ok(meta) if meta.is_dir() && !rules.is_ignored(path, true) => {
                    Work::Scan(path.clone())
                }
                Ok(meta)
                    if meta.is_file()
                        && meta.len() <= self.shared.config().watch.max_file_bytes
                        && !rules.is_ignored(path, false) =>
                {
                    Work::Hash(path.clone())
                }
                Ok(_) => Work::Remove(path.clone()),
            });
        }
        (rescan, work)
    }

    /// The files of `work` to hash, hashed in parallel: those whose stamp changed.
    fn hash_changed(&self, work: &[Work]) -> Vec<(PathBuf, Option<(FileStamp, ContentId)>)> {
        let hashes: Vec<&PathBuf> = work
            .iter()
            .filter_map(|w| match w {
                Work::Hash(p) => Some(p),
                _ => None,
            })
            .collect();
        let hashed: Vec<_> = hashes
            .par_iter()
            .filter_map(|path| {
                let known = self.table.known(path);
                match hash::stamp(path) {
                    Ok(stamp) if known.as_ref().is_some_and(|(s, _)| *s == stamp) => None,
                    _ => match hash::hash_file(path, hash::Follow::No) {
                        Ok((id, stamp)) => Some(((*path).clone(), Some((stamp, id)))),
                        // Still being written: the next event brings it.
                        Err(hash::HashError::Changed { .. }) => None,
                        Err(_) => Some(((*path).clone(), None)),
                    },
                }
            })
            .collect();
        hashed
    }

    /// A watched root itself is gone (or no longer a directory): `sig watch list` says so.
    fn note_root_gone(&self, path: &Path) {
        if let Some(root) = lock(&self.table.roots).get_mut(path) {
            let shown = path.display().to_string();
            let why = std::fs::symlink_metadata(path).err().map_or_else(
                || format!("{shown}: no longer a directory"),
                |e| signet_proto::text::file_error(&shown, &e),
            );
            tracing::warn!("watched directory: {why}");
            root.error = Some(format!("{why}; `sig watch add` it again when it is back"));
        }
    }

    /// Scans `dir` and puts an inotify watch on every directory in it. A directory that
    /// appears during the scan may gain files before its watch is in place, so the scan is
    /// repeated (a stat per file; only changed files are read) until it finds no new directory.
    pub(super) fn scan_and_watch(&self, dir: &Path, rules: &Rules) -> Result<Scan, ScanFailure> {
        let mut known: HashMap<PathBuf, (FileStamp, ContentId)> = HashMap::new();
        let mut millis = 0;
        for _ in 0..10 {
            let lookup = |p: &Path| known.get(p).cloned().or_else(|| self.table.known(p));
            let mut scan = scan::scan(dir, rules, &self.shared.config().watch, &lookup)
                .map_err(ScanFailure::Scan)?;
            millis += scan.millis;
            scan.millis = millis;
            let added = match self.table.watch_dirs(&scan.dirs) {
                Ok(added) => added,
                Err(e) => return Err(ScanFailure::Watch(e, Box::new(scan))),
            };
            if added.is_empty() {
                return Ok(scan);
            }
            known = scan
                .files
                .into_iter()
                .map(|f| (f.path, (f.stamp, f.id)))
                .collect();
        }
        // Directories keep appearing faster than they are scanned: take what is there; their
        // own creation events bring the rest.
        let lookup = |p: &Path| known.get(p).cloned();
        scan::scan(dir, rules, &self.shared.config().watch, &lookup).map_err(ScanFailure::Scan)
    }

    /// Rescans `dir`: files whose stamp changed are hashed again, files no longer there are
    /// removed, new directories are watched.
    fn rescan(
        &self,
        dir: &Path,
        updates: &mut Vec<(PathBuf, Option<(FileStamp, ContentId)>)>,
        removed_dirs: &mut Vec<PathBuf>,
    ) {
        let Some((root, rules)) = self.table.root_of(dir) else {
            return;
        };
        let scan = match self.scan_and_watch(dir, &rules) {
            Ok(scan) => scan,
            Err(ScanFailure::Watch(e, scan)) => {
                if let Some(r) = lock(&self.table.roots).get_mut(&root) {
                    r.error = Some(e.to_rpc().message);
                }
                *scan
            }
            Err(ScanFailure::Scan(e)) => {
                if dir == root {
                    tracing::warn!(root = %root.display(), "watched directory: {e}");
                    if let Some(r) = lock(&self.table.roots).get_mut(&root) {
                        r.error = Some(format!("{e}; `sig watch add` it again when it is back"));
                    }
                }
                removed_dirs.push(dir.to_owned());
                return;
            }
        };
        let Scan { files, .. } = scan;
        let present: HashSet<&Path> = files.iter().map(|f| f.path.as_path()).collect();
        let gone: Vec<PathBuf> = self
            .table
            .files()
            .keys()
            .filter(|p| p.starts_with(dir) && !present.contains(p.as_path()))
            .cloned()
            .collect();
        updates.extend(gone.into_iter().map(|p| (p, None)));
        if dir == root
            && let Some(r) = lock(&self.table.roots).get_mut(&root)
        {
            r.scan_ms = scan.millis;
            r.skipped = scan.skipped;
        }
        updates.extend(files.into_iter().map(|f| (f.path, Some((f.stamp, f.id)))));
    }

    /// Writes changes into the file table; returns those a subscriber would care about.
    fn record(
        &self,
        updates: Vec<(PathBuf, Option<(FileStamp, ContentId)>)>,
    ) -> Vec<VerdictChanged> {
        if updates.is_empty() {
            return Vec::new();
        }
        let state = self.shared.read();
        let mut files = self.table.files_mut();
        let mut changes = Vec::new();
        for (path, update) in updates {
            match update {
                Some((stamp, id)) => {
                    let verdict = state.verdict(
                        &id,
                        &crate::state::Rules::user(&self.shared.config().verify),
                    );
                    let before = files.insert(
                        path.clone(),
                        Tracked {
                            stamp,
                            id: id.clone(),
                            verdict,
                        },
                    );
                    if before.is_none_or(|b| b.id != id || b.verdict != verdict) {
                        changes.push(VerdictChanged {
                            path,
                            id: Some(id.to_string()),
                            verdict: Some(verdict),
                            cause: ChangeCause::File,
                        });
                    }
                }
                None => {
                    if files.remove(&path).is_some() {
                        changes.push(VerdictChanged {
                            path,
                            id: None,
                            verdict: None,
                            cause: ChangeCause::Removed,
                        });
                    }
                }
            }
        }
        changes
    }
}
