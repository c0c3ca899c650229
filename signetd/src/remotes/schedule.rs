//! The sync scheduler: fetches each remote when it is due, a bounded number at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Remotes;

/// Longest sleep between looks at the schedule.
const MAX_NAP: Duration = Duration::from_secs(60);

pub async fn run(daemon: Arc<Remotes>) {
    let mut shutdown = daemon.shared.shutdown_requested();
    let mut web_followed = None;
    // Fetch slots, made again when `sync.parallel` changes.
    let mut slots = (0, FetchSlots::new(0));
    let mut interval = daemon.shared.config().sync.interval_secs;
    loop {
        let config = daemon.shared.config();
        if config.sync.interval_secs != interval {
            // Due times were counted from the old interval (none at all while it was 0).
            interval = config.sync.interval_secs;
            daemon.reschedule_remotes();
        }
        // With `sync.interval_secs` 0 scheduling is off: the scheduler waits for the settings
        // to change (`config.set` wakes it) rather than ending, so turning it on works at once.
        let nap = if config.sync.interval_secs == 0 {
            None
        } else {
            if slots.0 != config.sync.parallel {
                slots = (config.sync.parallel, FetchSlots::new(config.sync.parallel));
            }
            // The web changed (a statement fetched, your trust), or what its repositories hold
            // (`trust.max_discovered_attestations`): follow what it now names.
            let web = {
                let state = daemon.shared.read();
                (state.web.generation, state.index.generation())
            };
            if web_followed != Some(web) {
                web_followed = Some(web);
                daemon.follow_web().await;
            }
            let (due, next) = daemon.take_due_remotes();
            for name in due {
                let slots = slots.1.for_remote(&daemon, &name);
                let daemon = daemon.clone();
                tokio::spawn(async move {
                    let _slot = slots.acquire_owned().await;
                    let report = daemon.fetch_one(&name).await;
                    tracing::info!(remote = %name, outcome = ?report.outcome, "scheduled fetch");
                    // What it holds now may change what the web's repositories may hold.
                    daemon.shared.events.remotes_due.notify_one();
                });
            }
            Some(next.map_or(MAX_NAP, |t| {
                t.saturating_duration_since(Instant::now()).min(MAX_NAP)
            }))
        };
        let nap = async {
            match nap {
                Some(nap) => tokio::time::sleep(nap).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = nap => {}
            _ = daemon.shared.events.remotes_due.notified() => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// `sync.parallel` fetches at once for your own remotes and as many again for discovered ones:
/// remotes the web found (which anyone in it can point at a server that never answers) never
/// hold the slots your own remotes wait for.
#[derive(Clone)]
pub(crate) struct FetchSlots {
    own: Arc<tokio::sync::Semaphore>,
    discovered: Arc<tokio::sync::Semaphore>,
}

impl FetchSlots {
    pub(crate) fn new(parallel: usize) -> Self {
        FetchSlots {
            own: Arc::new(tokio::sync::Semaphore::new(parallel)),
            discovered: Arc::new(tokio::sync::Semaphore::new(parallel)),
        }
    }

    /// The slots `name` waits for.
    pub(crate) fn for_remote(&self, daemon: &Remotes, name: &str) -> Arc<tokio::sync::Semaphore> {
        let discovered = daemon
            .shared
            .read()
            .remotes
            .get(name)
            .is_some_and(|r| r.record.discovered);
        if discovered {
            self.discovered.clone()
        } else {
            self.own.clone()
        }
    }
}
