//! The daemon's remotes: adding, removing, listing, fetching, and when each is next due.

mod held;
pub mod http;
pub mod record;
pub mod schedule;

pub use held::RemoteState;
use held::info;
pub(crate) use held::next_sync;
pub(crate) use held::{load_all, stale_warnings};

use std::sync::Arc;
use std::time::{Duration, Instant};

use signet_proto::api::{
    FetchOutcome, FetchParams, FetchReport, FetchResult, RemoteAddParams, RemoteInfo,
    RemoteListResult,
};
use signet_proto::rpc::ErrorCode;

use crate::core::accept::{self, RemoteRecord, Validators};
use crate::core::check::CheckReport;
use crate::core::index::Source;
use crate::errors::{Failure, NotSaved, TaskFailed, blocking};
use crate::home::Home;
use crate::home::damage::Damage;
use crate::keys;
use crate::state::{Daemon, now_rfc3339};
use http::Got;

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
    }
}

/// Both files of a fetch as bytes, with the validators of those that came as bodies.
struct Bodies {
    key: Vec<u8>,
    key_validators: Option<Validators>,
    repo: Vec<u8>,
    repo_validators: Option<Validators>,
}

/// A fetch's answers as bytes: a file answered 304 is read from the stored copy (blocking I/O).
fn with_stored(
    home: &Home,
    name: &str,
    max_repo: u64,
    key_got: Got,
    repo_got: Got,
) -> Result<Bodies, String> {
    let stored = record::load_copy(home, name, max_repo)
        .map_err(|e| format!("reading the stored copy: {e:#}"))?;
    let body = |got: Got, stored: Option<Vec<u8>>| match got {
        Got::Body { bytes, validators } => Some((bytes, Some(validators))),
        Got::NotModified => stored.map(|b| (b, None)),
    };
    let (stored_key, stored_repo) = stored.unzip();
    match (body(key_got, stored_key), body(repo_got, stored_repo)) {
        (Some((key, key_validators)), Some((repo, repo_validators))) => Ok(Bodies {
            key,
            key_validators,
            repo,
            repo_validators,
        }),
        _ => Err("the server answered 304 for a copy Signet does not hold".into()),
    }
}

impl Daemon {
    pub async fn remote_add(&self, p: RemoteAddParams) -> Result<RemoteInfo, RemoteError> {
        accept::check_name(&p.name).map_err(RemoteError::BadName)?;
        let url = accept::check_url(&p.url).map_err(RemoteError::BadUrl)?;
        let _writer = self.writer.lock().await;
        if let Some(damage) = self.read().damaged_records.get(&p.name) {
            return Err(RemoteError::Damaged(damage.clone()));
        }
        if let Some(existing) = self.read().remotes.get(&p.name) {
            return Err(RemoteError::Exists {
                name: p.name,
                url: existing.record.url.clone(),
            });
        }
        let record = RemoteRecord {
            name: p.name.clone(),
            url,
            added: now_rfc3339(),
            pinned: None,
            serial: None,
            signed_at: None,
            data_sha256: None,
            key_sha256: None,
            repo_validators: Validators::default(),
            key_validators: Validators::default(),
            last_success: None,
            last_attempt: None,
            last_error: None,
            failures: 0,
        };
        let home = self.home.clone();
        let saved = record.clone();
        blocking("saving the remote", move || {
            record::save_record(&home, &saved)
        })
        .await?
        .map_err(|e| NotSaved::new("the remote", e, "no remote was added"))?;
        // `sig fetch` usually follows at once: the scheduler's first fetch waits a little.
        let first = Duration::from_secs(self.config().sync.interval_secs.min(60));
        let next_sync = next_sync(&self.config(), &p.name, 0).map(|_| Instant::now() + first);
        let mut s = self.write();
        let state = RemoteState {
            record,
            report: CheckReport::default(),
            next_sync,
        };
        let shown = info(&s, &self.config(), &state);
        s.remotes.insert(p.name, state);
        drop(s);
        self.sync_wake.notify_one();
        Ok(shown)
    }

    pub async fn remote_remove(&self, name: &str) -> Result<RemoteInfo, RemoteError> {
        // A fetch of this remote in flight is cancelled, never waited for: a write does not
        // wait on the network.
        let slot = self.fetch_slot(name);
        slot.removed.send_replace(true);
        let _fetching = slot.lock.lock().await;
        let _writer = self.writer.lock().await;
        let shown = {
            let s = self.read();
            match (s.remotes.get(name), s.damaged_records.get(name)) {
                (Some(r), _) => info(&s, &self.config(), r),
                // A record that cannot be read: removing it is how the user drops it.
                (None, Some(damage)) => damaged_info(name, damage),
                (None, None) => {
                    slot.removed.send_replace(false);
                    return Err(RemoteError::NoSuchRemote(name.to_owned()));
                }
            }
        };
        let home = self.home.clone();
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
        self.fetch_slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        let source = Source::Remote(name.to_owned());
        let mut s = self.write();
        s.remotes.remove(name);
        s.damaged_records.remove(name);
        s.copy_problems.remove(name);
        s.index.remove_source(&source);
        s.keyring.remove_source(&source);
        Ok(shown)
    }

    pub fn remote_list(&self) -> RemoteListResult {
        let s = self.read();
        RemoteListResult {
            remotes: s
                .remotes
                .values()
                .map(|r| info(&s, &self.config(), r))
                .collect(),
        }
    }

    fn fetch_slot(&self, name: &str) -> Arc<FetchSlot> {
        self.fetch_slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    /// Fetches the named remotes (all when none are named), several at once.
    pub async fn fetch(self: &Arc<Self>, p: FetchParams) -> Result<FetchResult, RemoteError> {
        let names: Vec<String> = {
            let s = self.read();
            if p.names.is_empty() {
                s.remotes.keys().cloned().collect()
            } else {
                for name in &p.names {
                    if !s.remotes.contains_key(name) {
                        return Err(RemoteError::NoSuchRemote(name.clone()));
                    }
                }
                p.names.clone()
            }
        };
        let slots = Arc::new(tokio::sync::Semaphore::new(
            self.config().sync.parallel.max(1),
        ));
        let mut tasks = tokio::task::JoinSet::new();
        for (n, name) in names.into_iter().enumerate() {
            let daemon = self.clone();
            let slots = slots.clone();
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

    /// Fetches one remote and applies the rules; the last good copy stays unless a new one is
    /// accepted.
    /// Step one of a fetch: `key.asc`, then `repo.json` (with the validators of the copy held,
    /// when one is), each line of progress added to `requests`. `Err(None)` when the remote was
    /// removed meanwhile (the requests are dropped), `Err(Some(why))` when a request failed.
    async fn download(
        &self,
        record: &RemoteRecord,
        has_copy: bool,
        removed: &mut tokio::sync::watch::Receiver<bool>,
        requests: &mut Vec<String>,
    ) -> Result<(Got, Got), Option<String>> {
        let limits = self.config().http_limits();
        let key_url = format!("{}{}", record.url, signet_proto::paths::KEY_FILE);
        let repo_url = format!("{}{}", record.url, signet_proto::paths::REPO_FILE);
        let validators = |held: &Validators| {
            if has_copy {
                held.clone()
            } else {
                Validators::default()
            }
        };
        let key_limit = http::BodyLimit {
            max: keys::MAX_CERT_LEN as u64,
            what_to_do: "the most a key.asc may hold; the owner must publish a smaller certificate",
        };
        let repo_limit = http::BodyLimit {
            max: self.config().fetch.max_repo_bytes,
            what_to_do: "raise fetch.max_repo_bytes in config.json if this is expected",
        };
        let network = async {
            let key_got = http::get(
                &self.http,
                &limits,
                &key_url,
                &validators(&record.key_validators),
                key_limit,
            )
            .await;
            let repo_got = match &key_got {
                Ok(_) => Some(
                    http::get(
                        &self.http,
                        &limits,
                        &repo_url,
                        &validators(&record.repo_validators),
                        repo_limit,
                    )
                    .await,
                ),
                Err(_) => None,
            };
            (key_got, repo_got)
        };
        let (key_got, repo_got) = tokio::select! {
            got = network => got,
            _ = removed.wait_for(|removed| *removed) => return Err(None),
        };
        for (url, got) in [(&key_url, Some(&key_got)), (&repo_url, repo_got.as_ref())] {
            if let Some(got) = got {
                requests.push(match got {
                    Ok(Got::NotModified) => format!("GET {url}... not modified."),
                    Ok(Got::Body { .. }) => format!("GET {url}... done."),
                    Err(_) => format!("GET {url}... failed."),
                });
            }
        }
        match (key_got, repo_got) {
            (Ok(k), Some(Ok(r))) => Ok((k, r)),
            (Err(e), _) | (_, Some(Err(e))) => Err(Some(e.to_string())),
            (Ok(_), None) => unreachable!("the repository is fetched whenever the key was"),
        }
    }

    pub async fn fetch_one(&self, name: &str) -> FetchReport {
        let slot = self.fetch_slot(name);
        let _fetching = slot.lock.lock().await;
        let mut removed = slot.removed.subscribe();
        let state = self.read().remotes.get(name).cloned();
        let Some(state) = state.filter(|_| !*removed.borrow()) else {
            return FetchReport {
                name: name.to_owned(),
                url: String::new(),
                outcome: FetchOutcome::Failed,
                message: Some("the remote was removed".into()),
                requests: Vec::new(),
                imported: None,
                serial: None,
                attestations: 0,
                rejected: 0,
            };
        };
        let mut record = state.record.clone();
        record.last_attempt = Some(now_rfc3339());
        let mut report = FetchReport {
            name: name.to_owned(),
            url: record.url.clone(),
            outcome: FetchOutcome::Failed,
            message: None,
            requests: Vec::new(),
            imported: None,
            serial: record.serial,
            attestations: state.report.valid,
            rejected: state.report.rejected(),
        };
        let max_repo = self.config().fetch.max_repo_bytes;
        // Without a stored copy a 304 would leave nothing to answer from: ask for the bodies.
        let stored_dir = record::dir(&self.home, name);
        let has_copy = tokio::fs::metadata(stored_dir.join(signet_proto::paths::KEY_FILE))
            .await
            .is_ok()
            && tokio::fs::metadata(stored_dir.join(signet_proto::paths::REPO_FILE))
                .await
                .is_ok();
        let (key_got, repo_got) = match self
            .download(&record, has_copy, &mut removed, &mut report.requests)
            .await
        {
            Ok(got) => got,
            Err(None) => {
                report.message = Some("the remote was removed".into());
                return report;
            }
            Err(Some(e)) => return self.fetch_failed(record, report, e).await,
        };
        if let (Got::NotModified, Got::NotModified) = (&key_got, &repo_got) {
            report.outcome = FetchOutcome::Unchanged;
            return self.fetch_succeeded(record, report).await;
        }
        // One file changed: the other comes from the stored copy.
        let (home, owned) = (self.home.clone(), name.to_owned());
        let bodies = blocking("reading the stored copy", move || {
            with_stored(&home, &owned, max_repo, key_got, repo_got)
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        let Bodies {
            key: key_bytes,
            key_validators,
            repo: repo_bytes,
            repo_validators,
        } = match bodies {
            Ok(bodies) => bodies,
            Err(why) => return self.fetch_failed(record, report, why).await,
        };

        let keyring = self.read().keyring.clone();
        let mut checked_record = record.clone();
        if !has_copy {
            // The copy the record describes is gone: check and store this one in full, even if
            // it is the same (its serial still guards against a rollback).
            checked_record.key_sha256 = None;
        }
        let (accepted, key_bytes, repo_bytes) = match blocking("checking the copy", move || {
            let accepted = accept::accept(&checked_record, &key_bytes, &repo_bytes, &keyring);
            (accepted, key_bytes, repo_bytes)
        })
        .await
        {
            Ok(done) => done,
            Err(e) => return self.fetch_failed(record, report, e.to_string()).await,
        };
        let mut accepted = match accepted {
            Ok(a) => a,
            Err(refusal) => {
                report.outcome = FetchOutcome::Refused;
                return self.fetch_failed(record, report, refusal.to_string()).await;
            }
        };
        let same_copy = accepted.entries.is_none();
        report.outcome = if same_copy {
            FetchOutcome::Unchanged
        } else {
            FetchOutcome::Updated
        };
        if accepted.newly_pinned {
            report.imported = Some(keys::key_info(&accepted.cert));
        }
        report.serial = Some(accepted.serial);
        if !same_copy {
            report.attestations = accepted.report.valid;
            report.rejected = accepted.report.rejected();
        }
        if accepted.report.rejected() > 0 {
            tracing::warn!(remote = name, report = ?accepted.report, "some attestations do not count");
        }
        record.pinned = Some(keys::fingerprint(&accepted.cert));
        record.serial = Some(accepted.serial);
        record.signed_at = Some(accepted.signed_at);
        record.data_sha256 = Some(accepted.data_sha256.clone());
        record.key_sha256 = Some(accept::sha256_hex(&key_bytes));
        if let Some(v) = key_validators {
            record.key_validators = v;
        }
        if let Some(v) = repo_validators {
            record.repo_validators = v;
        }
        let Some(entries) = accepted.entries.take() else {
            // The copy held, served again without a 304: nothing to check or store but the record.
            return self.fetch_succeeded(record, report).await;
        };
        record.last_success = record.last_attempt.clone();
        record.last_error = None;
        record.failures = 0;
        // What is known of the key first: a crash after it loses nothing learnt.
        let cache = accept::CheckedCache::new(
            &key_bytes,
            &repo_bytes,
            accepted.keyring_digest.clone(),
            &entries,
            &accepted.report,
        );
        let (home, saved, cert) = (self.home.clone(), record.clone(), accepted.cert.clone());
        let stored = blocking("storing the copy", move || {
            crate::home::certs::remember(&home, &cert)?;
            record::save_copy(&home, &saved, &key_bytes, &repo_bytes, &cache)
        })
        .await;
        if let Err(e) = stored.map_err(anyhow::Error::from).and_then(|r| r) {
            // Keep the old record's pins and serial: the new copy is not on disk.
            let mut old = state.record.clone();
            old.last_attempt = record.last_attempt;
            return self
                .fetch_failed(old, report, format!("storing the copy: {e:#}"))
                .await;
        }
        if self.install_copy(name, record, accepted, entries) {
            self.recheck_unknown_keys(name).await;
        }
        report
    }

    /// The last step of a fetch: the stored copy takes effect (its key, its attestations, its
    /// record). Returns whether its key was seen for the first time.
    fn install_copy(
        &self,
        name: &str,
        record: RemoteRecord,
        accepted: accept::Accepted,
        entries: Vec<(signet_proto::formats::ContentId, crate::core::index::Entry)>,
    ) -> bool {
        let source = Source::Remote(name.to_owned());
        let mut s = self.write();
        let newly_known = s
            .keyring
            .get(&record.pinned.clone().expect("pinned when accepted"))
            .is_none();
        if let Some(entry) = s.remotes.get_mut(name) {
            entry.record = record;
            entry.report = accepted.report;
            entry.next_sync = next_sync(&self.config(), name, 0);
            self.sync_wake.notify_one(); // the scheduler sleeps without a due time while we fetch
            s.keyring.remove_source(&source);
            s.keyring.insert(accepted.cert, source.clone());
            s.index.replace_source(&source, entries);
            s.copy_problems.remove(name);
        }
        newly_known
    }

    /// Checks again, against the keyring as it is now, the stored copies of other remotes that
    /// carry attestations by keys unknown when they were checked: a key first fetched from
    /// another remote makes them checkable, and a trusted "not ok" among them must not stay
    /// unseen until a restart. Only on a key seen for the first time, so a remote cannot make
    /// others be checked again at will.
    async fn recheck_unknown_keys(&self, except: &str) {
        let waiting: Vec<RemoteRecord> = self
            .read()
            .remotes
            .values()
            .filter(|r| r.report.unknown_key > 0 && r.record.name != except)
            .map(|r| r.record.clone())
            .collect();
        for record in waiting {
            let keyring = self.read().keyring.clone();
            let (home, max) = (self.home.clone(), self.config().fetch.max_repo_bytes);
            let checked_record = record.clone();
            let checked = blocking("checking a stored copy again", move || {
                let (key, repo) = record::load_copy(&home, &checked_record.name, max).ok()??;
                record::check_stored(&home, &checked_record, &key, &repo, &keyring).ok()
            })
            .await
            .ok()
            .flatten();
            let Some((entries, report)) = checked else {
                continue;
            };
            let mut guard = self.write();
            let s = &mut *guard;
            // A fetch of that remote may have replaced its copy meanwhile: then it stands.
            if let Some(r) = s.remotes.get_mut(&record.name)
                && r.record.data_sha256 == record.data_sha256
                && r.record.key_sha256 == record.key_sha256
            {
                tracing::info!(remote = %record.name, "checked again with a newly known key");
                r.report = report;
                s.index
                    .replace_source(&Source::Remote(record.name.clone()), entries);
            }
        }
    }

    /// Records a successful fetch that changed nothing but the bookkeeping.
    async fn fetch_succeeded(&self, mut record: RemoteRecord, report: FetchReport) -> FetchReport {
        record.last_success = record.last_attempt.clone();
        record.last_error = None;
        record.failures = 0;
        self.save_remote_record(record, 0).await;
        report
    }

    /// Records a failed or refused fetch: the last good copy stays, the error is kept for
    /// `sig remote list`, and the next attempt backs off.
    async fn fetch_failed(
        &self,
        mut record: RemoteRecord,
        mut report: FetchReport,
        why: String,
    ) -> FetchReport {
        tracing::warn!(remote = %record.name, "fetch {:?}: {why}", report.outcome);
        if report.outcome != FetchOutcome::Refused {
            report.outcome = FetchOutcome::Failed;
        }
        record.last_error = Some(why.clone());
        record.failures = record.failures.saturating_add(1);
        let failures = record.failures;
        self.save_remote_record(record, failures).await;
        report.message = Some(why);
        report
    }

    async fn save_remote_record(&self, record: RemoteRecord, failures: u32) {
        let home = self.home.clone();
        let saved = record.clone();
        let written = blocking("saving the remote's record", move || {
            record::save_record(&home, &saved)
        })
        .await;
        if let Err(e) = written.map_err(anyhow::Error::from).and_then(|r| r) {
            tracing::error!(remote = %record.name, "could not save the remote's record: {e:#}");
        }
        let mut s = self.write();
        if let Some(entry) = s.remotes.get_mut(&record.name) {
            entry.next_sync = next_sync(&self.config(), &record.name, failures);
            entry.record = record;
            self.sync_wake.notify_one(); // the scheduler sleeps without a due time while we fetch
        }
    }

    /// Remotes due for a scheduled fetch (marked as in flight), and when the next one is due.
    pub(crate) fn take_due_remotes(&self) -> (Vec<String>, Option<Instant>) {
        let now = Instant::now();
        let mut s = self.write();
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
