//! The sync scheduler: fetches each remote when it is due, a bounded number at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::state::Daemon;

/// Longest sleep between looks at the schedule.
const MAX_NAP: Duration = Duration::from_secs(60);

pub async fn run(daemon: Arc<Daemon>) {
    if daemon.config().sync.interval_secs == 0 {
        return;
    }
    let slots = Arc::new(tokio::sync::Semaphore::new(
        daemon.config().sync.parallel.max(1),
    ));
    let mut shutdown = daemon.shutdown_requested();
    let mut web_followed = None;
    loop {
        // The web changed (a statement fetched, your trust): follow what it now names.
        let web = daemon.read().web.generation;
        if web_followed != Some(web) {
            web_followed = Some(web);
            daemon.follow_web().await;
        }
        let (due, next) = daemon.take_due_remotes();
        for name in due {
            let daemon = daemon.clone();
            let slots = slots.clone();
            tokio::spawn(async move {
                let _slot = slots.acquire_owned().await;
                let report = daemon.fetch_one(&name).await;
                tracing::info!(remote = %name, outcome = ?report.outcome, "scheduled fetch");
            });
        }
        let nap = next.map_or(MAX_NAP, |t| {
            t.saturating_duration_since(Instant::now()).min(MAX_NAP)
        });
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = daemon.sync_wake.notified() => {}
            _ = shutdown.changed() => return,
        }
    }
}
