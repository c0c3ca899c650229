//! The daemon's state and the operations on it. Reads take a shared lock for a hash lookup;
//! writes are serialized, made durable on disk, and only then made visible and acknowledged.

mod guard;
mod revoking;
mod rotation;
pub mod settings;
mod trusted;
mod trusting;
mod verifying;
mod writes;

use trusting::load_trust;
use writes::{load_embedded_key, load_retired_keys, publish_public_key};

pub use crate::remotes::RemoteState;

impl Daemon {
    /// What verdicts may be missing right now, for answers to show beside them.
    pub fn warnings(&self) -> Vec<String> {
        let state = self.read();
        let mut warnings = state.damaged_verdict_inputs();
        warnings.extend(crate::remotes::stale_warnings(&state, &self.config()));
        warnings
    }
}

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime};

use signet_proto::api::{AttestationView, KeyInfo, StatusResult};
use signet_proto::formats::{ContentId, Fingerprint, RepoContents};
use tokio::sync::watch;

use crate::config::Config;
use crate::core::check::{self, CheckReport};
use crate::core::index::{self, Entry, Index, Source};
use crate::core::keyring::Keyring;
use crate::core::trust::TrustFile;
use crate::errors::{Failure, FileError, TaskFailed, Unavailable};
use crate::hash::FileStamp;
use crate::home::Home;
use crate::home::damage::{Damage, Loaded};
use crate::home::own_repo;
use crate::keys::signature::Revoked;
use crate::keys::{self, SignWith};

/// Paths whose hash is remembered; past this the cache starts over.
const PATH_CACHE_LIMIT: usize = 200_000;

/// Why a file could not be verified.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

impl Failure for VerifyError {
    fn code(&self) -> signet_proto::rpc::ErrorCode {
        match self {
            VerifyError::File(e) => e.code(),
            VerifyError::Task(e) => e.code(),
        }
    }
}

/// Everything the daemon knows, behind one lock.
pub struct State {
    pub(crate) signer: Option<Arc<dyn SignWith>>,
    pub(crate) own: Option<KeyInfo>,
    /// Problems with the key files themselves.
    pub(crate) key_damage: Option<Damage>,
    pub(crate) repo: Loaded<RepoContents>,
    pub(crate) trust: Loaded<TrustFile>,
    /// Moves whenever `trust` is replaced (`set_trust`): a verdict input.
    trust_generation: u64,
    /// The web of trust, computed from the trust list, statements and keys (`trusted.rs`).
    pub(crate) web: trusted::CachedWeb,
    pub(crate) keyring: Keyring,
    pub(crate) index: Index,
    pub(crate) remotes: std::collections::BTreeMap<String, RemoteState>,
    /// Remote records that could not be read.
    pub(crate) damaged_records: std::collections::BTreeMap<String, Damage>,
    /// Stored copies of remotes that could not be read or no longer pass the rules, by
    /// remote: the next accepted fetch replaces them.
    pub(crate) copy_problems: std::collections::BTreeMap<String, String>,
    /// Publishing as `config.json` asks could not resume.
    pub(crate) publishing_problem: Option<String>,
    /// Attestations the repository of each key the web names held when it was last fetched,
    /// kept after it is dropped for `trust.max_discovered_attestations`, so that it is not
    /// followed again only to be dropped again (`remotes/discover.rs`).
    pub(crate) discovered_sizes: std::collections::HashMap<Fingerprint, usize>,
}

impl State {
    pub(crate) fn view(
        &self,
        id: &ContentId,
        policy: index::Policy,
        max_depth: u8,
    ) -> (
        signet_proto::api::Verdict,
        index::Tally,
        Vec<AttestationView>,
    ) {
        let entries = self.index.get(id);
        let standings = self.standings(entries);
        let tally = index::tally(entries, &standings, |k| self.reviewer(k, policy));
        let mut views: Vec<(AttestationView, (u64, &Fingerprint))> = Vec::new();
        for (e, said) in entries.iter().zip(&standings) {
            // The same signed word from several sources is one attestation, shown once.
            let same = |(v, (at, signer)): &(AttestationView, (u64, &Fingerprint))| {
                v.key == e.key
                    && *at == e.signed_at
                    && *signer == &e.signer
                    && v.ok == e.ok
                    && v.reviewed == e.reviewed
                    && v.comment == e.comment
            };
            if let Some((view, _)) = views.iter_mut().find(|v| same(v)) {
                view.also_from.push(e.source.clone());
                continue;
            }
            let standing = self.standing(&e.key, policy, max_depth);
            views.push((
                AttestationView {
                    key: e.key.clone(),
                    user_id: self.keyring.user_id(&e.key),
                    trusted: standing.counts,
                    ok: e.ok,
                    reviewed: e.reviewed,
                    comment: e.comment.clone(),
                    source: e.source.clone(),
                    revoked: *said == index::Standing::Revoked,
                    revocation: self
                        .keyring
                        .revocation(&e.key, &e.signer)
                        .map(Revoked::view),
                    superseded: *said == index::Standing::Superseded,
                    also_from: Vec::new(),
                    counts_as: self.counts_as(&e.key, policy),
                    standing: Some(standing),
                },
                (e.signed_at, &e.signer),
            ));
        }
        let mut views: Vec<AttestationView> = views.into_iter().map(|(v, _)| v).collect();
        // Sources in one order, whichever copy was read first: `own` first, then by name.
        for v in &mut views {
            if !v.also_from.is_empty() {
                let mut all = std::mem::take(&mut v.also_from);
                all.push(v.source.clone());
                all.sort(); // `Own` first, then remotes by name
                v.source = all.remove(0);
                v.also_from = all;
            }
        }
        views.sort_by(|a, b| {
            (!a.trusted, a.superseded, &a.source, &a.key).cmp(&(
                !b.trusted,
                b.superseded,
                &b.source,
                &b.key,
            ))
        });
        (tally.verdict(policy), tally, views)
    }

    /// How each attestation stands: per key only the newest unrevoked word counts, revocations
    /// judged from what is known of each certificate now.
    pub(crate) fn standings(&self, entries: &[Arc<Entry>]) -> Vec<index::Standing> {
        index::standings(entries, |e| {
            self.keyring.voids(&e.key, &e.signer, e.signed_at)
        })
    }

    /// The verdict on `id` alone, without the attestations behind it.
    pub(crate) fn verdict(
        &self,
        id: &ContentId,
        policy: index::Policy,
    ) -> signet_proto::api::Verdict {
        let entries = self.index.get(id);
        let standings = self.standings(entries);
        index::judge(entries, &standings, |k| self.reviewer(k, policy), policy)
    }

    pub(crate) fn signer(&self) -> Result<(Arc<dyn SignWith>, KeyInfo), Unavailable> {
        if let (Some(own), Some(revoked)) = (&self.own, self.own_revocation()) {
            return Err(Unavailable::Revoked {
                fingerprint: own.fingerprint.clone(),
                revocation: revoked.view(),
            });
        }
        match (&self.signer, &self.own, &self.key_damage) {
            (Some(s), Some(own), _) => Ok((s.clone(), own.clone())),
            (_, _, Some(d)) => Err(Unavailable::Damaged(d.clone())),
            _ => Err(Unavailable::NotSetUp),
        }
    }

    /// The own key's revocation, once `sig revoke` (or GnuPG) has revoked it.
    pub(crate) fn own_revocation(&self) -> Option<&Revoked> {
        let own = self.own.as_ref()?;
        self.keyring
            .get(&own.fingerprint)?
            .revocations
            .cert
            .as_ref()
    }

    /// Every file under the home that could not be read as it must be, with why: the key, the
    /// repository, trust, each remote's record or stored copy, and publishing that could not
    /// resume (`watches.json` is the file table's: `Watches::damage`).
    pub(crate) fn problems(&self) -> Vec<String> {
        [
            self.key_damage.as_ref(),
            self.repo.damage(),
            self.trust.damage(),
        ]
        .into_iter()
        .flatten()
        .map(ToString::to_string)
        .chain(self.damaged_records.values().map(ToString::to_string))
        .chain(self.copy_problems.values().cloned())
        .chain(self.publishing_problem.clone())
        .collect()
    }

    /// Damage to what verdicts are made from, said beside every verdict until it is repaired:
    /// with `trust.json` damaged, only your published statements count as your word; with the
    /// repository damaged, your own attestations are missing; with a remote's copy or record
    /// damaged, that remote's words.
    pub(crate) fn damaged_verdict_inputs(&self) -> Vec<String> {
        let trust = self.trust.damage().map(|d| {
            format!("{d}. Until then only the trust statements you published count as your trust")
        });
        [trust, self.repo.damage().map(ToString::to_string)]
            .into_iter()
            .flatten()
            .chain(self.damaged_records.values().map(ToString::to_string))
            .chain(self.copy_problems.values().cloned())
            .collect()
    }

    /// Replaces the trust list: every verdict is judged again.
    pub(crate) fn set_trust(&mut self, trust: Loaded<TrustFile>) {
        self.trust = trust;
        self.trust_generation += 1;
    }

    /// Re-checks the own repository's attestations into the index.
    pub(crate) fn reindex_own(&mut self) -> CheckReport {
        let Loaded::Ready(contents) = &self.repo else {
            self.index.remove_source(&Source::Own);
            return CheckReport::default();
        };
        let (entries, report) = check::check_all(
            contents,
            &[],
            &self.keyring,
            &Source::Own,
            &check::Held::All,
        );
        self.index.replace_source(&Source::Own, entries);
        report
    }
}

/// A file hashed by path: valid while its stamp is unchanged.
pub(crate) struct PathEntry {
    pub(crate) stamp: FileStamp,
    pub(crate) id: ContentId,
    /// The verdict last told to subscribers, for files under a subscription.
    pub(crate) verdict: Option<signet_proto::api::Verdict>,
}

/// The running daemon: its settings, its state, and its serialized writer.
pub struct Daemon {
    pub home: Home,
    pub socket: PathBuf,
    /// The settings: replaced whole by `config.set`, read as one snapshot per use.
    pub(crate) config: arc_swap::ArcSwap<Config>,
    pub(crate) state: RwLock<State>,
    /// Held across a whole write (sign, write to disk, publish in state): one writer at a time.
    pub(crate) writer: tokio::sync::Mutex<()>,
    /// Held while the web of trust is computed (off the state's lock): one computation at a
    /// time, each from inputs taken after the last one's (`state/guard.rs`).
    pub(crate) web_settling: Mutex<()>,
    /// Called between taking a web's inputs and computing it: how a test holds a computation.
    #[cfg(test)]
    pub(crate) web_hook: Mutex<Option<Box<dyn Fn() + Send>>>,
    /// Files verified by path outside watched directories.
    pub(crate) paths: Mutex<HashMap<PathBuf, PathEntry>>,
    pub(crate) watches: crate::watch::Watches,
    pub(crate) subscribers: crate::serve::subscribers::Subscribers,
    /// Signalled by every change to the state: verdicts may have changed.
    pub(crate) verdicts_stale: tokio::sync::Notify,
    pub(crate) started: Instant,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) http: reqwest::Client,
    /// For remotes the web found: public addresses only (`remotes::address`).
    pub(crate) http_web: reqwest::Client,
    /// One fetch at a time per remote (the scheduler and `sig fetch` share these), and the
    /// signal that cancels it when the remote is removed.
    pub(crate) fetch_slots: Mutex<HashMap<String, Arc<crate::remotes::FetchSlot>>>,
    /// Wakes the sync scheduler when remotes change.
    pub(crate) sync_wake: tokio::sync::Notify,
    /// The HTTP publisher, when running: its address and a way to stop it.
    pub(crate) publisher: Mutex<Option<crate::publish::http::Running>>,
}

impl Daemon {
    /// Loads the home. Damaged files do not stop the daemon: they are reported and left alone.
    pub fn load(home: Home, socket: PathBuf, config: Config) -> anyhow::Result<Arc<Self>> {
        let mut keyring = Keyring::default();
        // What was learnt of every key before (revocations above all) comes first: the copies
        // read next can only add to it.
        for cert in crate::home::certs::load_saved(&home) {
            keyring.learn(cert);
        }
        let (signer, key_damage) = match load_embedded_key(&home) {
            Ok(signer) => (signer, None),
            Err(damage) => (None, Some(damage)),
        };
        let own = signer.as_ref().map(|s| keys::key_info(s.cert()));
        let retired: Vec<Fingerprint> = load_retired_keys(&home)
            .into_iter()
            .map(|cert| {
                let fpr = keys::fingerprint(&cert);
                keyring.insert(cert, Source::Own);
                fpr
            })
            .collect();
        if let Some(signer) = &signer {
            keyring.insert(signer.cert().clone(), Source::Own);
            // The retired keys as known now: a revocation of one learnt since is published.
            let retired: Vec<_> = retired
                .iter()
                .filter_map(|fpr| Some(keyring.get(fpr)?.cert.clone()))
                .collect();
            publish_public_key(&home, signer.cert(), &retired)?;
        }
        let repo = match own_repo::load_own(&home, &keyring, own.as_ref().map(|o| &o.fingerprint)) {
            Ok(Some(own_repo)) => {
                for s in &own_repo.skipped {
                    tracing::warn!(id = %s.filed_under, "skipping malformed attestation in own repository: {}", s.why);
                }
                Loaded::Ready(own_repo.contents)
            }
            Ok(None) => Loaded::Ready(RepoContents::default()),
            Err(why) => Loaded::Damaged(Damage {
                file: home.repo_file(),
                why,
            }),
        };
        let trust = load_trust(&home);
        let mut state = State {
            signer,
            own,
            key_damage,
            repo,
            trust,
            trust_generation: 0,
            web: Default::default(),
            keyring,
            index: Index::default(),
            remotes: Default::default(),
            damaged_records: Default::default(),
            copy_problems: Default::default(),
            publishing_problem: None,
            discovered_sizes: Default::default(),
        };
        crate::remotes::load_all(&home, &config, &mut state);
        let report = state.reindex_own();
        state.refresh_web(config.trust.max_depth);
        if report.rejected() > 0 {
            tracing::warn!(
                ?report,
                "some attestations of the own repository do not count"
            );
        }
        for problem in state.problems() {
            tracing::error!("{problem}");
        }
        let (shutdown, _) = watch::channel(false);
        let http = crate::remotes::http::client(&config.http_limits())?;
        let http_web = crate::remotes::address::client(&config.http_limits())?;
        Ok(Arc::new(Daemon {
            home,
            socket,
            config: arc_swap::ArcSwap::from_pointee(config),
            state: RwLock::new(state),
            writer: tokio::sync::Mutex::new(()),
            web_settling: Mutex::new(()),
            #[cfg(test)]
            web_hook: Mutex::new(None),
            paths: Mutex::new(HashMap::new()),
            watches: Default::default(),
            subscribers: Default::default(),
            verdicts_stale: tokio::sync::Notify::new(),
            started: Instant::now(),
            shutdown,
            http,
            http_web,
            fetch_slots: Mutex::new(HashMap::new()),
            sync_wake: tokio::sync::Notify::new(),
            publisher: Mutex::new(None),
        }))
    }

    /// The settings now.
    pub fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    pub(crate) fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (writes replace whole values).
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn path_cache(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, PathEntry>> {
        self.paths.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn request_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn shutdown_requested(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub fn status(&self) -> StatusResult {
        let s = self.read();
        StatusResult {
            pid: std::process::id(),
            version: signet_proto::VERSION.to_owned(),
            protocol: signet_proto::PROTOCOL_VERSION,
            home: self.home.root.clone(),
            socket: self.socket.clone(),
            key: s.own.clone(),
            own_attestations: s.repo.ready_opt().map_or(0, RepoContents::count),
            serial: s.repo.ready_opt().map_or(0, |r| r.serial),
            known_ids: s.index.ids(),
            valid_attestations: s.index.entries(),
            trusted_keys: s.trust.ready_opt().map_or(0, |t| t.trusted.len()),
            trust: s.trust_summary(&self.config()),
            problems: s
                .problems()
                .into_iter()
                .chain(self.watches.damage())
                .collect(),
            warnings: crate::remotes::stale_warnings(&s, &self.config()),
            publishing: self.publishing_at(),
            remotes: s.remotes.len(),
            uptime_secs: self.started.elapsed().as_secs(),
        }
    }
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}
