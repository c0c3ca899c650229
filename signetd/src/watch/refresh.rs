//! Verdicts judged again when an input of a verdict changed (`StateWrite`'s drop wakes this):
//! every watched file, and every file a subscriber verified by path.

use super::*;

impl Watches {
    /// Recomputes verdicts after the attestations or trust changed, telling subscribers.
    pub async fn run_verdict_refresh(self: Arc<Self>) {
        let mut shutdown = self.shared.shutdown_requested();
        loop {
            tokio::select! {
                _ = self.shared.events.verdicts_stale.notified() => {},
                _ = shutdown.changed() => return,
            }
            // Woken after the write that changed a verdict input has landed (`StateWrite`'s
            // drop): nothing to wait for. Writes meanwhile leave one wake-up, not one each.
            let daemon = self.clone();
            let refreshed = blocking("refreshing verdicts", move || {
                let changes = daemon.refresh_verdicts();
                daemon.subscribers.deliver(&changes);
            });
            if let Err(e) = refreshed.await {
                tracing::error!("{e}");
            }
        }
    }

    /// Judges every watched file (and every file a subscriber verified) again. The state's
    /// read lock is taken per chunk of files, never across all of them: a write waits for one
    /// chunk at most, and a write that lands between chunks wakes the refresh again.
    fn refresh_verdicts(&self) -> Vec<VerdictChanged> {
        const CHUNK: usize = 4096;
        let rules = crate::state::Rules::user(&self.shared.config().verify);
        let mut changes = Vec::new();
        let judge = |held: Vec<(PathBuf, ContentId, Option<Verdict>)>| {
            let mut now = Vec::with_capacity(held.len());
            for chunk in held.chunks(CHUNK) {
                let state = self.shared.read();
                now.extend(chunk.iter().map(|(_, id, _)| state.verdict(id, &rules)));
            }
            held.into_iter()
                .zip(now)
                .filter_map(|((path, id, before), verdict)| {
                    (before != Some(verdict)).then_some((path, id, verdict))
                })
                .collect::<Vec<_>>()
        };
        let watched: Vec<_> = self
            .table
            .files()
            .iter()
            .map(|(p, t)| (p.clone(), t.id.clone(), Some(t.verdict)))
            .collect();
        let watched = judge(watched);
        let told: Vec<_> = self
            .path_cache()
            .iter()
            .filter_map(|(p, e)| Some((p.clone(), e.id.clone(), Some(e.verdict?))))
            .collect();
        let told = judge(told);
        // Applied only where the file still holds the id that was judged: a rescan may have
        // changed it meanwhile, and then its own notice stands.
        let mut files = self.table.files_mut();
        for (path, id, verdict) in watched {
            if let Some(t) = files.get_mut(&path)
                && t.id == id
                && t.verdict != verdict
            {
                t.verdict = verdict;
                changes.push(attestations_changed(path, &id, verdict));
            }
        }
        drop(files);
        let mut paths = self.path_cache();
        for (path, id, verdict) in told {
            if let Some(e) = paths.get_mut(&path)
                && e.id == id
                && e.verdict != Some(verdict)
            {
                e.verdict = Some(verdict);
                changes.push(attestations_changed(path, &id, verdict));
            }
        }
        changes
    }
}

/// A file's verdict changed because attestations, keys or trust did.
fn attestations_changed(path: PathBuf, id: &ContentId, verdict: Verdict) -> VerdictChanged {
    VerdictChanged {
        path,
        id: Some(id.to_string()),
        verdict: Some(verdict),
        cause: ChangeCause::Attestations,
    }
}
