//! The daemon's remotes: adding, removing, listing, fetching, and when each is next due.

mod discover;
mod fetch;
mod held;
mod parts;
pub mod record;
pub mod schedule;

use held::info;
pub(crate) use held::next_sync;
pub(crate) use held::{load_all, stale_warnings};
/// The bounded GET and the public-addresses-only client, from `signet-fetch` (shared with
/// the public index).
pub use signet_fetch::{address, http};

use std::sync::Arc;
use std::time::{Duration, Instant};

use signet_proto::api::{
    FetchParams, FetchReport, FetchResult, RemoteAddParams, RemoteInfo, RemoteListResult,
};
use signet_proto::rpc::ErrorCode;

use crate::core::accept::{self, RemoteRecord};
use crate::core::check::CheckReport;
use crate::core::index::Source;
use crate::errors::{Failure, NotSaved, TaskFailed, blocking};
use crate::home::damage::Damage;
use crate::state::{RemoteState, Shared, now_rfc3339};

/// The remotes, as a part of the daemon: their records live in the one `State` (verdicts are
/// made from what they hold), and this owns the rest — the HTTP clients, one fetch slot per
/// remote, and the scheduler (`schedule::run`), woken by `Events::remotes_due`.
pub struct Remotes {
    shared: Arc<Shared>,
    http: reqwest::Client,
    /// For remotes the web found: public addresses only (`address`).
    http_web: reqwest::Client,
    /// One fetch at a time per remote (the scheduler and `sig fetch` share these), and the
    /// signal that cancels it when the remote is removed.
    slots: std::sync::Mutex<std::collections::HashMap<String, Arc<FetchSlot>>>,
    /// Large copies take turns to be checked and stored (`fetch::LARGE_COPY`): a check uses
    /// every core already, and a copy being parsed, checked and cached holds several times its
    /// size — ten seed-format remotes of 100,000 fetched four at a time peaked at 957 MiB.
    large_checks: tokio::sync::Semaphore,
}

impl Remotes {
    pub fn new(shared: Arc<Shared>) -> anyhow::Result<Arc<Self>> {
        let limits = shared.config().http_limits();
        Ok(Arc::new(Remotes {
            http: http::client(&limits)?,
            http_web: address::client(&limits)?,
            shared,
            slots: Default::default(),
            large_checks: tokio::sync::Semaphore::new(1),
        }))
    }
}

/// One remote's fetch slot: fetches of it take turns on `lock`; `removed` turns true when
/// the remote is removed, cancelling a fetch in flight.
pub struct FetchSlot {
    lock: tokio::sync::Mutex<()>,
    removed: tokio::sync::watch::Sender<bool>,
}

impl Default for FetchSlot {
    fn default() -> Self {
        FetchSlot {
            lock: tokio::sync::Mutex::new(()),
            removed: tokio::sync::watch::Sender::new(false),
        }
    }
}

/// Why `remote.add`, `remote.remove` or `fetch` did nothing.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{0}")]
    BadName(String),
    #[error("{0}")]
    BadUrl(String),
    #[error("a remote named {name:?} exists already ({url})")]
    Exists { name: String, url: String },
    #[error("no remote named {0:?}")]
    NoSuchRemote(String),
    #[error("{0}")]
    Damaged(Damage),
    #[error(transparent)]
    NotSaved(#[from] NotSaved),
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

impl Failure for RemoteError {
    fn code(&self) -> ErrorCode {
        match self {
            RemoteError::BadName(_) | RemoteError::BadUrl(_) => ErrorCode::InvalidParams,
            RemoteError::Exists { .. } | RemoteError::NoSuchRemote(_) => ErrorCode::Remote,
            RemoteError::Damaged(_) => ErrorCode::Damaged,
            RemoteError::NotSaved(e) => e.code(),
            RemoteError::Task(e) => e.code(),
        }
    }
    fn hint(&self) -> Option<String> {
        match self {
            RemoteError::Exists { .. } => Some("remove it first to change it".into()),
            RemoteError::NoSuchRemote(_) => Some("`sig remote list` shows them".into()),
            RemoteError::Damaged(_) => {
                Some("or drop it and its copy with `sig remote remove NAME`".into())
            }
            RemoteError::NotSaved(e) => e.hint(),
            _ => None,
        }
    }
}

/// A remote whose record cannot be read, as `remote remove` answers it.
fn damaged_info(name: &str, damage: &Damage) -> RemoteInfo {
    RemoteInfo {
        name: name.to_owned(),
        url: String::new(),
        probe: None,
        key: None,
        serial: None,
        attestations: 0,
        rejected: 0,
        last_success: None,
        last_attempt: None,
        last_error: Some(damage.to_string()),
        next_sync_secs: None,
        signed: None,
        stale: false,
        discovered: false,
    }
}

impl Remotes {
    pub async fn remote_add(&self, p: RemoteAddParams) -> Result<RemoteInfo, RemoteError> {
        accept::check_name(&p.name).map_err(RemoteError::BadName)?;
        let url = accept::check_url(&p.url).map_err(RemoteError::BadUrl)?;
        let _writer = self.shared.writer.lock().await;
        if let Some(damage) = self.shared.read().damaged_records.get(&p.name) {
            return Err(RemoteError::Damaged(damage.clone()));
        }
        if let Some(existing) = self.shared.read().remotes.get(&p.name) {
            return Err(RemoteError::Exists {
                name: p.name,
                url: existing.record.url.clone(),
            });
        }
        let mut record = RemoteRecord::new(p.name.clone(), url.clone(), now_rfc3339());
        record.pinned = p.key;
        // `sig fetch` usually follows at once: the scheduler's first fetch waits a little.
        let first = Duration::from_secs(self.shared.config().sync.interval_secs.min(60));
        let mut info = self.add_record(record, first).await?;
        drop(_writer);
        info.probe = Some(self.probe(&url).await);
        Ok(info)
    }

    /// A look at what `url` publishes, taking nothing from it (the first fetch pins the key):
    /// its key, for the user to check with its owner, or why no Signet repository is there —
    /// a mistyped URL is said at once rather than at the first fetch.
    async fn probe(&self, url: &str) -> signet_proto::api::Probe {
        // Bounded well below a fetch's own deadline: `remote add` answers promptly.
        const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
        let key_url = format!("{url}{}", signet_proto::paths::KEY_FILE);
        let limits = self.shared.config().http_limits();
        let got = tokio::time::timeout(
            PROBE_TIMEOUT,
            http::get(
                &self.http,
                &limits,
                &key_url,
                &Default::default(),
                fetch::KEY_LIMIT,
            ),
        )
        .await;
        let not_signet = |why: String| {
            signet_proto::api::Probe::Problem(format!(
                "no Signet repository at {url} ({why}): the URL names the directory that holds \
                 repo.json and key.asc"
            ))
        };
        match got {
            Ok(Ok(http::Got::Body { bytes, .. })) => match crate::keys::parse_published(&bytes) {
                Ok(published) => {
                    signet_proto::api::Probe::Key(crate::keys::key_info(&published.key))
                }
                Err(e) => not_signet(format!("its key.asc is no OpenPGP key: {e:#}")),
            },
            Ok(Ok(http::Got::NotModified)) => not_signet("key.asc answered 304".into()),
            Ok(Err(http::FetchError::Status { status, .. })) => {
                not_signet(format!("key.asc answered {status}"))
            }
            Ok(Err(e)) => signet_proto::api::Probe::Problem(format!("could not reach it yet: {e}")),
            Err(_) => signet_proto::api::Probe::Problem(format!(
                "could not reach it yet: no answer from {key_url} within {}s",
                PROBE_TIMEOUT.as_secs()
            )),
        }
    }

    /// Saves a new remote's record and starts following it, its first scheduled fetch after
    /// `first`. The caller holds the writer and checked that the name is free.
    pub(crate) async fn add_record(
        &self,
        record: RemoteRecord,
        first: Duration,
    ) -> Result<RemoteInfo, RemoteError> {
        let home = self.shared.home.clone();
        let saved = record.clone();
        blocking("saving the remote", move || {
            record::save_record(&home, &saved)
        })
        .await?
        .map_err(|e| NotSaved::new("the remote", e, "no remote was added"))?;
        let name = record.name.clone();
        let next_sync = next_sync(&self.shared.config(), &name, 0).map(|_| Instant::now() + first);
        let mut s = self.shared.write();
        let state = RemoteState {
            record,
            report: CheckReport::default(),
            next_sync,
            checked_with: 0,
            parts: None,
        };
        let shown = info(&s, &self.shared.config(), &state);
        s.remotes.insert(name, state);
        drop(s);
        self.shared.events.remotes_due.notify_one();
        Ok(shown)
    }

    /// Points a remote at a new URL, keeping its record: pin, serial, validators and the last
    /// good copy (a rotation of hosts, not a new remote). A fetch in flight from the old URL is
    /// cancelled first, so that it cannot write the old URL back; the next fetch is due now.
    pub(crate) async fn move_remote(&self, name: &str, url: String) -> Result<(), RemoteError> {
        let slot = self.fetch_slot(name);
        slot.removed.send_replace(true);
        let _fetching = slot.lock.lock().await;
        slot.removed.send_replace(false);
        let _writer = self.shared.writer.lock().await;
        let Some(mut record) = self
            .shared
            .read()
            .remotes
            .get(name)
            .map(|r| r.record.clone())
        else {
            return Err(RemoteError::NoSuchRemote(name.to_owned()));
        };
        record.url = url;
        let (home, saved) = (self.shared.home.clone(), record.clone());
        blocking("saving the remote", move || {
            record::save_record(&home, &saved)
        })
        .await?
        .map_err(|e| NotSaved::new("the remote's new URL", e, "it is followed where it was"))?;
        if let Some(r) = self.shared.write().remotes.get_mut(name) {
            r.record = record;
            r.next_sync = Some(Instant::now());
        }
        self.shared.events.remotes_due.notify_one();
        Ok(())
    }

    pub async fn remote_remove(&self, name: &str) -> Result<RemoteInfo, RemoteError> {
        // A fetch of this remote in flight is cancelled, never waited for: a write does not
        // wait on the network.
        let slot = self.fetch_slot(name);
        slot.removed.send_replace(true);
        let _fetching = slot.lock.lock().await;
        let _writer = self.shared.writer.lock().await;
        let shown = {
            let s = self.shared.read();
            match (s.remotes.get(name), s.damaged_records.get(name)) {
                (Some(r), _) => info(&s, &self.shared.config(), r),
                // A record that cannot be read: removing it is how the user drops it.
                (None, Some(damage)) => damaged_info(name, damage),
                (None, None) => {
                    slot.removed.send_replace(false);
                    return Err(RemoteError::NoSuchRemote(name.to_owned()));
                }
            }
        };
        let home = self.shared.home.clone();
        let doomed = name.to_owned();
        let deleted = blocking("removing the remote", move || {
            record::delete(&home, &doomed)
        })
        .await?;
        if let Err(e) = deleted {
            slot.removed.send_replace(false);
            return Err(NotSaved::new(
                format!("the removal of remote {name}"),
                e,
                "run `sig remote remove` again",
            )
            .into());
        }
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        let source = Source::Remote(name.to_owned());
        let mut s = self.shared.write();
        s.remotes.remove(name);
        s.damaged_records.remove(name);
        s.copy_problems.remove(name);
        s.index.remove_source(&source);
        s.keyring.remove_source(&source);
        Ok(shown)
    }

    pub fn remote_list(&self) -> RemoteListResult {
        let s = self.shared.read();
        RemoteListResult {
            remotes: s
                .remotes
                .values()
                .map(|r| info(&s, &self.shared.config(), r))
                .collect(),
        }
    }

    fn fetch_slot(&self, name: &str) -> Arc<FetchSlot> {
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    /// Fetches the named remotes (all when none are named), several at once.
    /// Fetches the remotes named, or all of them. All of them includes the web: after each
    /// round, the repositories that the statements just fetched name are followed and fetched
    /// too, one round per hop of `trust.max_depth`.
    pub async fn fetch(self: &Arc<Self>, p: FetchParams) -> Result<FetchResult, RemoteError> {
        if !p.names.is_empty() {
            {
                let s = self.shared.read();
                if let Some(name) = p.names.iter().find(|n| !s.remotes.contains_key(*n)) {
                    return Err(RemoteError::NoSuchRemote(name.clone()));
                }
            }
            return self.fetch_names(p.names.clone()).await;
        }
        let mut results = Vec::new();
        let mut fetched = std::collections::BTreeSet::new();
        for _round in 0..=self.shared.config().trust.max_depth {
            // A remote moved to a new URL is fetched again there, in this round.
            for moved in self.follow_web().await {
                fetched.remove(&moved);
            }
            let names: Vec<String> = self
                .shared
                .read()
                .remotes
                .keys()
                .filter(|n| !fetched.contains(*n))
                .cloned()
                .collect();
            if names.is_empty() {
                break;
            }
            fetched.extend(names.iter().cloned());
            results.extend(self.fetch_names(names).await?.results);
        }
        // What was fetched last may be over `trust.max_discovered_attestations`.
        self.follow_web().await;
        Ok(FetchResult { results })
    }

    async fn fetch_names(self: &Arc<Self>, names: Vec<String>) -> Result<FetchResult, RemoteError> {
        let slots = schedule::FetchSlots::new(self.shared.config().sync.parallel);
        let mut tasks = tokio::task::JoinSet::new();
        for (n, name) in names.into_iter().enumerate() {
            let daemon = self.clone();
            let slots = slots.for_remote(self, &name);
            tasks.spawn(async move {
                let _slot = slots.acquire_owned().await;
                (n, daemon.fetch_one(&name).await)
            });
        }
        let mut results: Vec<(usize, FetchReport)> = Vec::new();
        while let Some(done) = tasks.join_next().await {
            results.push(done.map_err(|e| TaskFailed {
                what: "a fetch".into(),
                why: e.to_string(),
            })?);
        }
        results.sort_by_key(|(n, _)| *n);
        Ok(FetchResult {
            results: results.into_iter().map(|(_, r)| r).collect(),
        })
    }

    /// Every remote's next fetch counted again from now, under the current interval: the
    /// scheduler's, when it sees `sync.interval_secs` changed.
    pub(crate) fn reschedule_remotes(&self) {
        let config = self.shared.config();
        let mut s = self.shared.write();
        for (name, r) in s.remotes.iter_mut() {
            r.next_sync = next_sync(&config, name, r.record.failures);
        }
    }

    /// Remotes due for a scheduled fetch (marked as in flight), and when the next one is due.
    pub(crate) fn take_due_remotes(&self) -> (Vec<String>, Option<Instant>) {
        let now = Instant::now();
        let mut s = self.shared.write();
        let mut due = Vec::new();
        let mut next: Option<Instant> = None;
        for (name, r) in s.remotes.iter_mut() {
            match r.next_sync {
                Some(t) if t <= now => {
                    due.push(name.clone());
                    r.next_sync = None;
                }
                Some(t) => next = Some(next.map_or(t, |n| n.min(t))),
                None => {}
            }
        }
        (due, next)
    }
}
