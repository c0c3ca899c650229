//! One fetch of a remote, in steps: `download` (both files, with the held copy's
//! validators) → `with_stored` (a 304 answered from the stored copy) → `check` (the rules of
//! `core::accept`) → `store` (the key's certificate, the files, the record) → `install_copy`
//! (the new attestations take effect). A refused or failed step keeps the last good copy and
//! records why; the remote's removal cancels a fetch in flight.

use signet_proto::api::{FetchOutcome, FetchReport};

use super::Remotes;
use super::http::{self, Got};
use super::parts::PartsUpdate;
use super::{next_sync, record};
use crate::core::accept::{self, RemoteRecord, Validators};
use crate::core::index::{Checked, Source};
use crate::errors::blocking;
use crate::home::Home;
use crate::home::own_repo::PartDir;
use crate::keys;
use crate::state::PartReports;
use crate::state::now_rfc3339;

/// The most a remote's `key.asc` may hold, for a fetch and for `remote add`'s look at it.
pub(super) const KEY_LIMIT: http::BodyLimit = http::BodyLimit {
    max: keys::MAX_CERT_LEN as u64,
    what_to_do: "the most a key.asc may hold; the owner must publish a smaller certificate",
};

/// What installing a copy found: its key was seen for the first time (others' copies waiting
/// for it are checked again), or keys came in while it was being checked (it is).
struct Installed {
    newly_known: bool,
    waiting: bool,
}

/// Both files of a fetch as bytes, with the validators of those that came as bodies.
struct Bodies {
    key: Vec<u8>,
    key_validators: Option<Validators>,
    repo: Vec<u8>,
    repo_validators: Option<Validators>,
    /// `repo` certainly names no parts (`formats::names_no_parts`): nothing to download before
    /// its check, and no need to parse it whole to learn so.
    whole: bool,
}

impl Bodies {
    /// A whole `repo.json` of [`LARGE_COPY`] or more: checked and stored in its turn, and the
    /// threads that parse and store it give back what they freed.
    fn is_large(&self) -> bool {
        self.repo.len() >= LARGE_COPY
    }
}

/// `bytes` in an unnamed file under the home (`root`), gone when the file is closed.
fn set_aside(root: &std::path::Path, bytes: &[u8]) -> anyhow::Result<std::fs::File> {
    use std::io::Write as _;
    let mut file = tempfile::tempfile_in(root)?;
    file.write_all(bytes)?;
    Ok(file)
}

/// The `len` bytes [`set_aside`] wrote.
fn take_back(mut file: std::fs::File, len: usize) -> anyhow::Result<Vec<u8>> {
    use std::io::{Read as _, Seek as _};
    file.rewind()?;
    let mut bytes = Vec::with_capacity(len);
    file.read_to_end(&mut bytes)?;
    anyhow::ensure!(bytes.len() == len, "the copy set aside changed size");
    Ok(bytes)
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
            whole: signet_proto::formats::names_no_parts(&repo),
            repo,
            repo_validators,
        }),
        _ => Err("the server answered 304 for a copy Signet does not hold".into()),
    }
}

/// The report of a fetch of a remote removed before it began.
fn removed_report(name: &str) -> FetchReport {
    FetchReport {
        name: name.to_owned(),
        url: String::new(),
        outcome: FetchOutcome::Failed,
        message: Some("the remote was removed".into()),
        requests: Vec::new(),
        imported: None,
        rotated_from: None,
        serial: None,
        attestations: 0,
        rejected: 0,
    }
}

/// What an accepted copy changes in the record and the report.
fn note_accepted(
    record: &mut RemoteRecord,
    report: &mut FetchReport,
    accepted: &accept::Accepted,
    bodies: &Bodies,
) {
    let same_copy = accepted.entries.is_none();
    report.outcome = if same_copy {
        FetchOutcome::Unchanged
    } else {
        FetchOutcome::Updated
    };
    if accepted.newly_pinned {
        report.imported = Some(keys::key_info(&accepted.cert));
    }
    if let Some(old) = &accepted.rotated_from {
        let new = keys::fingerprint(&accepted.cert);
        tracing::info!(remote = %record.name, %old, %new, "following the owner's key rotation");
        report.imported = Some(keys::key_info(&accepted.cert));
        report.rotated_from = Some(old.clone());
    }
    report.serial = Some(accepted.serial);
    if !same_copy {
        report.attestations = accepted.report.valid;
        report.rejected = accepted.report.rejected();
        record.last_success = record.last_attempt.clone();
        record.last_error = None;
        record.failures = 0;
    }
    record.pinned = Some(keys::fingerprint(&accepted.cert));
    record.serial = Some(accepted.serial);
    record.signed_at = Some(accepted.signed_at);
    record.data_sha256 = Some(accepted.data_sha256.clone());
    record.key_sha256 = Some(accept::sha256_hex(&bodies.key));
    if let Some(v) = &bodies.key_validators {
        record.key_validators = v.clone();
    }
    if let Some(v) = &bodies.repo_validators {
        record.repo_validators = v.clone();
    }
}

/// A `repo.json` this large (about 15,000 attestations in the seed format) is checked in its
/// turn: see `Remotes::large_checks`.
const LARGE_COPY: usize = 8 << 20;

impl Remotes {
    /// The client a remote is fetched with: a remote the web found from public addresses
    /// only, unless allowed.
    pub(super) fn client_for(&self, record: &RemoteRecord) -> &reqwest::Client {
        if record.discovered && !self.shared.config().trust.follow_private_urls {
            &self.http_web
        } else {
            &self.http
        }
    }

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
        let limits = self.shared.config().http_limits();
        let private = self.shared.config().trust.follow_private_urls;
        let client = self.client_for(record);
        if record.discovered
            && let Some(why) = reqwest::Url::parse(&record.url)
                .ok()
                .and_then(|url| super::address::refusal(&url, private))
        {
            return Err(Some(why));
        }
        let key_url = format!("{}{}", record.url, signet_proto::paths::KEY_FILE);
        let repo_url = format!("{}{}", record.url, signet_proto::paths::REPO_FILE);
        let validators = |held: &Validators| {
            if has_copy {
                held.clone()
            } else {
                Validators::default()
            }
        };
        let repo_limit = http::BodyLimit {
            max: self.shared.config().fetch.max_repo_bytes,
            what_to_do: "raise fetch.max_repo_bytes in config.json if this is expected",
        };
        let network = async {
            let key_got = http::get(
                client,
                &limits,
                &key_url,
                &validators(&record.key_validators),
                KEY_LIMIT,
            )
            .await;
            let repo_got = match &key_got {
                Ok(_) => Some(
                    http::get(
                        client,
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

    /// Fetches one remote and applies the rules; the last good copy stays unless a new one is
    /// accepted. In steps: `download` → `with_stored` → `check` → `note_accepted` → `store`
    /// → `install_copy`.
    pub async fn fetch_one(&self, name: &str) -> FetchReport {
        let slot = self.fetch_slot(name);
        let _fetching = slot.lock.lock().await;
        let mut removed = slot.removed.subscribe();
        let state = self.shared.read().remotes.get(name).cloned();
        let Some(state) = state.filter(|_| !*removed.borrow()) else {
            return removed_report(name);
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
            rotated_from: None,
            serial: record.serial,
            attestations: state.report.valid,
            rejected: state.report.rejected(),
        };
        // Without a stored copy a 304 would leave nothing to answer from: ask for the bodies.
        // A stored copy that did not pass the rules at start (or could not be read) answers for
        // nothing either: without this, the server's 304 kept the remote empty until its
        // owner published again.
        let refused_at_start = self.shared.read().copy_problems.contains_key(name);
        let has_copy = !refused_at_start && self.has_stored_copy(name).await;
        let got = self
            .download(&record, has_copy, &mut removed, &mut report.requests)
            .await;
        let (key_got, repo_got) = match got {
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
        let (home, owned) = (self.shared.home.clone(), name.to_owned());
        let max_repo = self.shared.config().fetch.max_repo_bytes;
        let bodies = blocking("reading the stored copy", move || {
            with_stored(&home, &owned, max_repo, key_got, repo_got)
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        let bodies = match bodies {
            Ok(bodies) => bodies,
            Err(why) => return self.fetch_failed(record, report, why).await,
        };
        // In the large-publisher layout, the parts not held yet (a refused top document costs
        // no downloads).
        if !bodies.whole
            && let Err(why) = self
                .fetch_parts(&record, &bodies.key, &bodies.repo, &mut report.requests)
                .await
        {
            report.outcome = FetchOutcome::Refused;
            return self.fetch_failed(record, report, why).await;
        }
        // Whole files of this size or more are checked and stored in turn (a copy in parts is
        // checked a part at a time, and its top document is small).
        let (turn, bodies) = if bodies.is_large() {
            match self.large_turn(bodies).await {
                Ok((turn, bodies)) => (Some(turn), bodies),
                Err(e) => return self.fetch_failed(record, report, format!("{e:#}")).await,
            }
        } else {
            (None, bodies)
        };
        // Keys learnt from other remotes while this copy is checked (they fetch in parallel)
        // make its attestations waiting for them checkable: see `recheck_unknown_keys`.
        let keyring_checked = self.shared.read().keyring.generation();
        let (mut accepted, bodies, update) = match self.check(&record, has_copy, bodies).await {
            Ok(checked) => checked,
            Err((outcome, why)) => {
                report.outcome = outcome;
                return self.fetch_failed(record, report, why).await;
            }
        };
        note_accepted(&mut record, &mut report, &accepted, &bodies);
        let Some(entries) = accepted.entries.take() else {
            // The copy held, served again without a 304: nothing to check or store but the record.
            return self.fetch_succeeded(record, report).await;
        };
        let verified = accepted.verified.take();
        let stored = self
            .store(&record, &accepted, entries, bodies, verified)
            .await;
        drop(turn);
        let entries = match stored {
            Ok(entries) => entries,
            Err(e) => {
                // Keep the old record's pins and serial: the new copy is not on disk.
                let mut old = state.record.clone();
                old.last_attempt = record.last_attempt;
                return self
                    .fetch_failed(old, report, format!("storing the copy: {e:#}"))
                    .await;
            }
        };
        let words = entries.len();
        let installed =
            self.install_copy(name, record, accepted, (entries, update), keyring_checked);
        // A large copy's words were checked on other threads than those that took them in.
        if words >= 10_000 {
            tokio::task::spawn_blocking(crate::memory::give_back_freed);
        }
        if installed.newly_known {
            self.recheck_unknown_keys(|other| other != name).await;
        }
        if installed.waiting {
            self.recheck_unknown_keys(|other| other == name).await;
        }
        report
    }

    /// Whether both files of a copy are stored for `name`.
    async fn has_stored_copy(&self, name: &str) -> bool {
        let dir = record::dir(&self.shared.home, name);
        tokio::fs::metadata(dir.join(signet_proto::paths::KEY_FILE))
            .await
            .is_ok()
            && tokio::fs::metadata(dir.join(signet_proto::paths::REPO_FILE))
                .await
                .is_ok()
    }

    /// The rules applied to a fetched copy, off the async threads. On refusal, the outcome to
    /// report and why.
    async fn check(
        &self,
        record: &RemoteRecord,
        has_copy: bool,
        bodies: Bodies,
    ) -> Result<(accept::Accepted, Bodies, Option<PartsUpdate>), (FetchOutcome, String)> {
        let keyring = self.shared.read().keyring.clone();
        let mut checked_record = record.clone();
        if !has_copy {
            // The copy the record describes is gone: check and store this one in full, even if
            // it is the same (its serial still guards against a rollback).
            checked_record.key_sha256 = None;
        }
        let dir = record::dir(&self.shared.home, &record.name);
        // A copy in parts: the parts whose words the index holds are not read again.
        let held = self
            .shared
            .read()
            .remotes
            .get(&record.name)
            .and_then(|r| r.parts.clone());
        let (home, name) = (self.shared.home.clone(), record.name.clone());
        let checked = blocking("checking the copy", move || {
            let mut bodies = bodies;
            // What the last copy in the seed format found genuine (none for parts).
            let before = match bodies.whole {
                true => record::load_verified(&home, &name),
                false => Default::default(),
            };
            let large = bodies.is_large();
            // A large copy in the seed format is parsed first, and its bytes wait on disk while
            // the parse is checked: at its end the daemon held the bytes, their parse and the
            // words checked at once (746 MiB for 300,000; docs/PERFORMANCE.md, stop 29). Not
            // for a remote whose last copy was in parts, which may be checked twice.
            let mut parsed = None;
            let mut aside = None;
            if large && bodies.whole && held.is_none() {
                let signed = match accept::parse_repo(&bodies.repo) {
                    Ok(signed) => signed,
                    Err(refusal) => return Ok((Err(refusal), bodies)),
                };
                match set_aside(&home.root, &bodies.repo) {
                    Ok(file) => {
                        aside = Some((file, bodies.repo.len()));
                        bodies.repo = Vec::new();
                    }
                    Err(e) => {
                        tracing::warn!("checking a large copy in memory, not set aside: {e:#}")
                    }
                }
                parsed = Some(signed);
            }
            let mut check = |held: Option<&PartReports>| {
                let holding = held
                    .map(|h| h.keys().cloned().collect())
                    .unwrap_or_default();
                let mut parts = PartDir::of_remote(&dir).holding(holding);
                let mut accepted = match parsed.take() {
                    Some(signed) => accept::accept_signed(
                        &checked_record,
                        &bodies.key,
                        signed,
                        &keyring,
                        &mut parts,
                        Some(&before),
                    )?,
                    None => accept::accept(
                        &checked_record,
                        &bodies.key,
                        &bodies.repo,
                        &keyring,
                        &mut parts,
                        Some(&before),
                    )?,
                };
                let update = super::parts::settle(&dir, held, &mut accepted);
                Ok::<_, accept::Refusal>(update.map(|update| (accepted, update)))
            };
            let accepted = match check(held.as_deref()) {
                Ok(None) => check(None).map(|settled| settled.expect("nothing held to settle")),
                other => other.map(|settled| settled.expect("settled")),
            };
            if large {
                // The parse of a large copy was freed on this thread.
                crate::memory::give_back_here();
            }
            if let Some((file, len)) = aside {
                bodies.repo = take_back(file, len)?;
            }
            anyhow::Ok((accepted, bodies))
        })
        .await
        .map_err(|e| (FetchOutcome::Failed, e.to_string()))?;
        let (accepted, bodies) = checked.map_err(|e| (FetchOutcome::Failed, format!("{e:#}")))?;
        match accepted {
            Ok((accepted, update)) => {
                if let Some(parts) = &accepted.parts {
                    tracing::info!(remote = %record.name, "checked {} parts, {} from their caches, {} held", parts.fresh.len(), parts.reports.len() - parts.fresh.len(), parts.held.len());
                }
                if accepted.report.rejected() > 0 {
                    tracing::warn!(remote = %record.name, report = ?accepted.report, "some attestations do not count");
                }
                Ok((accepted, bodies, update))
            }
            Err(refusal) => {
                if let accept::Refusal::KeyChanged { .. } = refusal {
                    self.learn_known_keys(&bodies.key).await;
                }
                Err((FetchOutcome::Refused, refusal.to_string()))
            }
        }
    }

    /// The turn of a large copy to be checked and stored (`Remotes::large_checks`). While
    /// others' run, the copy waits in an unnamed file under the home rather than in memory: with
    /// `sync.parallel` fetches at once, each waiting `repo.json` (about 47 MB for 100,000
    /// attestations) held in memory added to the daemon's peak.
    async fn large_turn(
        &self,
        mut bodies: Bodies,
    ) -> anyhow::Result<(tokio::sync::SemaphorePermit<'_>, Bodies)> {
        if let Ok(turn) = self.large_checks.try_acquire() {
            return Ok((turn, bodies));
        }
        let root = self.shared.home.root.clone();
        let repo = std::mem::take(&mut bodies.repo);
        let len = repo.len();
        let spooled = blocking("setting a large copy aside", move || {
            set_aside(&root, &repo)
        })
        .await??;
        let turn = self.large_checks.acquire().await?;
        bodies.repo =
            blocking("taking a large copy back", move || take_back(spooled, len)).await??;
        Ok((turn, bodies))
    }

    /// What a refused `key.asc` says of keys already known — above all the pinned key's
    /// revocation, which an owner whose key was stolen publishes beside the new key that no
    /// transition can vouch for — is learnt anyway: a revocation is signed by the key itself,
    /// whoever serves it, and what is known of keys only grows. Keys not known are not taken
    /// from a refused copy.
    async fn learn_known_keys(&self, key_bytes: &[u8]) {
        let Ok(published) = keys::parse_published(key_bytes) else {
            return;
        };
        let known = |keyring: &crate::core::keyring::Keyring, cert: &_| {
            keyring.get(&keys::fingerprint(cert)).is_some()
        };
        self.shared
            .learn_keys(
                std::iter::once(published.key).chain(published.retired),
                known,
                "what a refused key.asc says of known keys",
            )
            .await;
    }

    /// Writes an accepted copy under the home: what is known of the key first (a crash after
    /// it loses nothing learnt), then the files, the checked cache and the record. The
    /// checked words are written into the cache as they are read, and handed back.
    async fn store(
        &self,
        record: &RemoteRecord,
        accepted: &accept::Accepted,
        entries: Checked,
        bodies: Bodies,
        verified: Option<(crate::core::verified::Verified, usize)>,
    ) -> anyhow::Result<Checked> {
        let whole = accepted.parts.is_none();
        let (keys_seen, check_report) = (accepted.keys_seen.clone(), accepted.report.clone());
        let (home, saved) = (self.shared.home.clone(), record.clone());
        // The parts the copy names (none in the seed format): every other is dropped.
        let named: std::collections::BTreeSet<String> = accepted
            .parts
            .iter()
            .flat_map(|p| p.reports.iter().map(|(sha, _)| sha).chain(&p.held))
            .cloned()
            .collect();
        let certs: Vec<_> = std::iter::once(&accepted.cert)
            .chain(&accepted.retired)
            .cloned()
            .collect();
        blocking("storing the copy", move || {
            for cert in &certs {
                crate::home::certs::remember(&home, cert)?;
            }
            let cache = if whole {
                record::CopyCache::Whole(accept::CacheOfCopy::new(
                    &bodies.key,
                    &bodies.repo,
                    &keys_seen,
                    saved.discovered,
                    &entries,
                    &check_report,
                ))
            } else {
                record::CopyCache::Parts
            };
            record::save_copy(&home, &saved, &bodies.key, &bodies.repo, &cache)?;
            Remotes::drop_unnamed_parts(&home, &saved.name, &named);
            record::keep_verified(&home, &saved.name, verified);
            let large = bodies.is_large();
            drop(bodies);
            if large {
                crate::memory::give_back_here();
            }
            Ok(entries)
        })
        .await?
    }

    /// The last step of a fetch: the stored copy takes effect (its key, its attestations, its
    /// record). Returns whether its key was seen for the first time.
    fn install_copy(
        &self,
        name: &str,
        record: RemoteRecord,
        accepted: accept::Accepted,
        (entries, update): (Checked, Option<PartsUpdate>),
        keyring_checked: u64,
    ) -> Installed {
        let source = Source::Remote(name.to_owned());
        let mut s = self.shared.write();
        let newly_known = s
            .keyring
            .get(&record.pinned.clone().expect("pinned when accepted"))
            .is_none();
        // Decided under the lock other installs take: either a key this copy waits for came
        // in before this line (then it is checked again now), or it comes after, and that
        // install finds this copy waiting.
        let waiting = accepted.report.unknown_key > 0 && s.keyring.generation() != keyring_checked;
        if let Some(entry) = s.remotes.get_mut(name) {
            entry.record = record;
            entry.report = accepted.report;
            entry.next_sync = next_sync(&self.shared.config(), name, 0);
            entry.checked_with = keyring_checked;
            let (reports, dropped) = match update {
                Some(update) => (Some(update.reports), update.dropped),
                None => (None, None),
            };
            entry.parts = reports.map(std::sync::Arc::new);
            self.shared.events.remotes_due.notify_one(); // the scheduler sleeps without a due time while we fetch
            s.keyring.remove_source(&source);
            for cert in std::iter::once(accepted.cert).chain(accepted.retired) {
                s.keyring.insert(cert, source.clone());
            }
            match dropped {
                Some(dropped) => {
                    s.index
                        .update_source(&source, &dropped.ids, &dropped.statements, entries)
                }
                None => s.index.replace_source(&source, entries),
            }
            s.copy_problems.remove(name);
        }
        Installed {
            newly_known,
            waiting,
        }
    }

    /// Checks again, against the keyring as it is now, the stored copies of the remotes `which`
    /// picks that carry attestations by keys unknown when they were checked: a key first
    /// fetched from another remote makes them checkable, and a trusted "not ok" among them must
    /// not stay unseen until a restart. Only on a key seen for the first time (others' copies),
    /// or when keys were learnt while a copy was being checked (that copy), so that a remote
    /// cannot make others be checked again at will.
    async fn recheck_unknown_keys(&self, which: impl Fn(&str) -> bool) {
        let waiting: Vec<RemoteRecord> = self
            .shared
            .read()
            .remotes
            .values()
            .filter(|r| r.report.unknown_key > 0 && which(&r.record.name))
            .map(|r| r.record.clone())
            .collect();
        for record in waiting {
            let (keyring, generation) = {
                let s = self.shared.read();
                (s.keyring.clone(), s.keyring.generation())
            };
            let (home, max) = (
                self.shared.home.clone(),
                self.shared.config().fetch.max_repo_bytes,
            );
            let checked_record = record.clone();
            let checked =
                blocking(
                    "checking a stored copy again",
                    move || match record::check_stored(&home, &checked_record, max, &keyring) {
                        record::Stored::Checked(Ok(stored)) => Some(stored),
                        _ => None,
                    },
                )
                .await
                .ok()
                .flatten();
            let Some(stored) = checked else {
                continue;
            };
            let mut guard = self.shared.write();
            let s = &mut *guard;
            // A fetch of that remote may have replaced its copy meanwhile, or another check
            // against a newer keyring landed first: then that stands.
            if let Some(r) = s.remotes.get_mut(&record.name)
                && r.record.data_sha256 == record.data_sha256
                && r.record.key_sha256 == record.key_sha256
                && r.checked_with < generation
            {
                tracing::info!(remote = %record.name, "checked again with a newly known key");
                r.report = stored.report;
                r.parts = stored.parts.map(std::sync::Arc::new);
                r.checked_with = generation;
                s.index
                    .replace_source(&Source::Remote(record.name.clone()), stored.checked);
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
        let home = self.shared.home.clone();
        let saved = record.clone();
        let written = blocking("saving the remote's record", move || {
            record::save_record(&home, &saved)
        })
        .await;
        if let Err(e) = written.map_err(anyhow::Error::from).and_then(|r| r) {
            tracing::error!(remote = %record.name, "could not save the remote's record: {e:#}");
        }
        let mut s = self.shared.write();
        if let Some(entry) = s.remotes.get_mut(&record.name) {
            entry.next_sync = next_sync(&self.shared.config(), &record.name, failures);
            entry.record = record;
            self.shared.events.remotes_due.notify_one(); // the scheduler sleeps without a due time while we fetch
        }
    }
}
