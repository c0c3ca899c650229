//! The daemon's state and the operations on it. Reads take a shared lock for a hash lookup;
//! writes are serialized, made durable on disk, and only then made visible and acknowledged.

mod remotes;
mod watches;

pub use remotes::RemoteState;

impl Daemon {
    /// What verdicts may be missing right now, for answers to show beside them.
    pub fn warnings(&self) -> Vec<String> {
        remotes::stale_warnings(&self.read(), &self.config())
    }
}

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime};

use signet_proto::api::{
    AttestParams, AttestResult, AttestationView, Candidates, KeyInfo, KeysListResult, KnownKey,
    SetupParams, SetupResult, StatusResult, Target, TrustChange, TrustEntry, TrustListResult,
    TrustParams, VerifyResult,
};
use signet_proto::formats::{ContentId, Fingerprint, KeyQuery, RepoContents, Statement};
use signet_proto::rpc::{ErrorCode, RpcError};
use tokio::sync::watch;

use crate::config::Config;
use crate::hash::{self, FileStamp, HashError};
use crate::index::{self, Entry, Index, Source};
use crate::keyring::Keyring;
use crate::keys::{self, EmbeddedKey, SignWith};
use crate::repo::{self, CheckReport};
use crate::store::{self, Home};
use crate::trust::TrustFile;

/// Largest `trust.json` read.
const MAX_TRUST_LEN: u64 = 16 << 20;
/// Paths whose hash is remembered; past this the cache starts over.
const PATH_CACHE_LIMIT: usize = 200_000;

pub(crate) fn err(code: ErrorCode, message: impl Into<String>) -> RpcError {
    RpcError::new(code, message)
}

/// A file under the home that could not be read: what Signet keeps answering without.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub file: PathBuf,
    pub why: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is damaged: {}. Signet answers from what it could read and will not write this \
             file until you repair it or move it aside",
            self.file.display(),
            self.why
        )
    }
}

/// A file loaded from the home, or what was wrong with it.
#[derive(Debug, Clone)]
pub enum Loaded<T> {
    Ready(T),
    Damaged(Damage),
}

impl<T> Loaded<T> {
    fn ready(&self) -> Result<&T, RpcError> {
        match self {
            Loaded::Ready(t) => Ok(t),
            Loaded::Damaged(d) => Err(err(ErrorCode::Damaged, d.to_string())),
        }
    }
    fn ready_opt(&self) -> Option<&T> {
        match self {
            Loaded::Ready(t) => Some(t),
            Loaded::Damaged(_) => None,
        }
    }
    fn damage(&self) -> Option<&Damage> {
        match self {
            Loaded::Ready(_) => None,
            Loaded::Damaged(d) => Some(d),
        }
    }
}

/// Everything the daemon knows, behind one lock.
pub struct State {
    signer: Option<Arc<dyn SignWith>>,
    own: Option<KeyInfo>,
    /// Problems with the key files themselves.
    key_damage: Option<Damage>,
    repo: Loaded<RepoContents>,
    trust: Loaded<TrustFile>,
    keyring: Keyring,
    index: Index,
    remotes: std::collections::BTreeMap<String, RemoteState>,
    /// Remote records that could not be read.
    remote_damage: Vec<String>,
}

impl State {
    /// Own keys (current and retired) are always trusted; others when trust.json lists them.
    /// With trust.json damaged only own keys count: failing closed never makes a file ok.
    fn is_trusted(&self, fpr: &Fingerprint) -> bool {
        self.keyring.get(fpr).is_some_and(|c| c.is_own())
            || self.trust.ready_opt().is_some_and(|t| t.contains(fpr))
    }

    /// Who a trusted key's word counts for: the user for any own key (current or retired: one
    /// person, one reviewer toward `verify.threshold`), else the key itself; `None` when the
    /// key is not trusted.
    fn reviewer(&self, fpr: &Fingerprint) -> Option<Fingerprint> {
        if self.keyring.get(fpr).is_some_and(|c| c.is_own()) {
            return Some(self.own.as_ref().map_or(fpr, |o| &o.fingerprint).clone());
        }
        self.is_trusted(fpr).then(|| fpr.clone())
    }

    fn view(
        &self,
        id: &ContentId,
        policy: index::Policy,
    ) -> (
        signet_proto::api::Verdict,
        index::Tally,
        Vec<AttestationView>,
    ) {
        let entries = self.index.get(id);
        let standings = self.standings(entries);
        let tally = index::tally(entries, &standings, |k| self.reviewer(k));
        let mut views: Vec<(AttestationView, (u64, &Fingerprint))> = Vec::new();
        for (e, standing) in entries.iter().zip(&standings) {
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
                view.also_from.push(e.source.to_string());
                continue;
            }
            views.push((
                AttestationView {
                    key: e.key.clone(),
                    user_id: self.keyring.user_id(&e.key),
                    trusted: self.is_trusted(&e.key),
                    ok: e.ok,
                    reviewed: e.reviewed,
                    comment: e.comment.clone(),
                    source: e.source.to_string(),
                    revoked: *standing == index::Standing::Revoked,
                    superseded: *standing == index::Standing::Superseded,
                    also_from: Vec::new(),
                },
                (e.signed_at, &e.signer),
            ));
        }
        let mut views: Vec<AttestationView> = views.into_iter().map(|(v, _)| v).collect();
        // Sources in one order, whichever copy was read first: `own` first, then by name.
        for v in &mut views {
            if !v.also_from.is_empty() {
                let mut all = std::mem::take(&mut v.also_from);
                all.push(std::mem::take(&mut v.source));
                all.sort_by_key(|s| (s.as_str() != "own", s.clone()));
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
    fn standings(&self, entries: &[Arc<Entry>]) -> Vec<index::Standing> {
        index::standings(entries, |e| self.keyring.voids(&e.key, &e.signer))
    }

    /// The verdict on `id` alone, without the attestations behind it.
    fn verdict(&self, id: &ContentId, policy: index::Policy) -> signet_proto::api::Verdict {
        let entries = self.index.get(id);
        let standings = self.standings(entries);
        index::judge(entries, &standings, |k| self.reviewer(k), policy)
    }

    fn signer(&self) -> Result<(Arc<dyn SignWith>, KeyInfo), RpcError> {
        match (&self.signer, &self.own, &self.key_damage) {
            (Some(s), Some(own), _) => Ok((s.clone(), own.clone())),
            (_, _, Some(d)) => Err(err(ErrorCode::Damaged, d.to_string())),
            _ => Err(err(
                ErrorCode::NotSetUp,
                "this home has no key yet: run `sig setup --generate \"Your Name <you@example.org>\"`",
            )),
        }
    }

    /// Every file under the home that could not be read as it must be, with why: the key, the
    /// repository, trust, and each remote's stored copy or record.
    fn problems(&self) -> Vec<String> {
        [
            self.key_damage.as_ref(),
            self.repo.damage(),
            self.trust.damage(),
        ]
        .into_iter()
        .flatten()
        .map(ToString::to_string)
        .chain(self.remote_damage.iter().cloned())
        .collect()
    }

    /// Re-checks the own repository's attestations into the index.
    fn reindex_own(&mut self) -> CheckReport {
        let Loaded::Ready(contents) = &self.repo else {
            self.index.remove_source(&Source::Own);
            return CheckReport::default();
        };
        let (entries, report) = repo::check_all(contents, &[], &self.keyring, &Source::Own);
        self.index.replace_source(&Source::Own, entries);
        report
    }
}

/// A file hashed by path: valid while its stamp is unchanged.
struct PathEntry {
    stamp: FileStamp,
    id: ContentId,
    /// The verdict last told to subscribers, for files under a subscription.
    verdict: Option<signet_proto::api::Verdict>,
}

/// The running daemon: its settings, its state, and its serialized writer.
pub struct Daemon {
    pub home: Home,
    pub socket: PathBuf,
    /// The settings: replaced whole by `config.set`, read as one snapshot per use.
    config: arc_swap::ArcSwap<Config>,
    state: RwLock<State>,
    /// Held across a whole write (sign, write to disk, publish in state): one writer at a time.
    writer: tokio::sync::Mutex<()>,
    /// Files verified by path outside watched directories.
    paths: Mutex<HashMap<PathBuf, PathEntry>>,
    pub(crate) watches: watches::Watches,
    pub(crate) subscribers: crate::subscribers::Subscribers,
    /// Signalled by every change to the state: verdicts may have changed.
    verdicts_stale: tokio::sync::Notify,
    started: Instant,
    shutdown: watch::Sender<bool>,
    http: reqwest::Client,
    /// One fetch at a time per remote (the scheduler and `sig fetch` share these), and the
    /// signal that cancels it when the remote is removed.
    fetch_slots: Mutex<HashMap<String, Arc<remotes::FetchSlot>>>,
    /// Wakes the sync scheduler when remotes change.
    pub(crate) sync_wake: tokio::sync::Notify,
    /// The HTTP publisher, when running: its address and a way to stop it.
    pub(crate) publisher: Mutex<Option<crate::publish::Running>>,
}

impl Daemon {
    /// Loads the home. Damaged files do not stop the daemon: they are reported and left alone.
    pub fn load(home: Home, socket: PathBuf, config: Config) -> anyhow::Result<Arc<Self>> {
        let mut keyring = Keyring::default();
        // What was learnt of every key before (revocations above all) comes first: the copies
        // read next can only add to it.
        for cert in crate::keyring::load_saved(&home) {
            keyring.learn(cert);
        }
        let (signer, key_damage) = match load_embedded_key(&home) {
            Ok(signer) => (signer, None),
            Err(damage) => (None, Some(damage)),
        };
        let own = signer.as_ref().map(|s| keys::key_info(s.cert()));
        if let Some(signer) = &signer {
            keyring.insert(signer.cert().clone(), Source::Own);
            publish_public_key(&home, signer.cert())?;
        }
        for cert in load_retired_keys(&home) {
            keyring.insert(cert, Source::Own);
        }
        let repo = match repo::load_own(&home, &keyring, own.as_ref().map(|o| &o.fingerprint)) {
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
            keyring,
            index: Index::default(),
            remotes: Default::default(),
            remote_damage: Vec::new(),
        };
        remotes::load_all(&home, &config, &mut state);
        let report = state.reindex_own();
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
        let http = crate::fetch::client(&config.http_limits())?;
        Ok(Arc::new(Daemon {
            home,
            socket,
            config: arc_swap::ArcSwap::from_pointee(config),
            state: RwLock::new(state),
            writer: tokio::sync::Mutex::new(()),
            paths: Mutex::new(HashMap::new()),
            watches: Default::default(),
            subscribers: Default::default(),
            verdicts_stale: tokio::sync::Notify::new(),
            started: Instant::now(),
            shutdown,
            http,
            fetch_slots: Mutex::new(HashMap::new()),
            sync_wake: tokio::sync::Notify::new(),
            publisher: Mutex::new(None),
        }))
    }

    /// The settings now.
    pub fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    pub fn config_get(
        &self,
        p: signet_proto::api::ConfigGetParams,
    ) -> Result<signet_proto::api::ConfigValue, RpcError> {
        let all = self.config().to_json();
        let value = match &p.key {
            None => all,
            Some(key) => crate::config::setting(&all, key).cloned().ok_or_else(|| {
                err(
                    ErrorCode::InvalidParams,
                    format!("there is no setting {key:?}: `sig config` lists them"),
                )
            })?,
        };
        Ok(signet_proto::api::ConfigValue { key: p.key, value })
    }

    /// Changes one setting: checked, written to `config.json`, and in effect at once (a
    /// verdict policy re-judges every watched file; a sync interval reschedules).
    pub async fn config_set(
        &self,
        p: signet_proto::api::ConfigSetParams,
    ) -> Result<signet_proto::api::ConfigValue, RpcError> {
        let _writer = self.writer.lock().await;
        let config = self
            .config()
            .with(&p.key, p.value)
            .map_err(|why| err(ErrorCode::InvalidParams, why))?;
        self.save_config(config).await?;
        self.config_get(signet_proto::api::ConfigGetParams { key: Some(p.key) })
    }

    /// Writes `config.json` and puts the settings in effect.
    pub(crate) async fn save_config(&self, config: Config) -> Result<(), RpcError> {
        let path = self.home.config_file();
        let saved = config.clone();
        blocking("saving the config", move || saved.save(&path))
            .await?
            .map_err(|e| {
                err(
                    ErrorCode::Storage,
                    format!("{e:#}; the settings are unchanged"),
                )
            })?;
        self.config.store(Arc::new(config));
        self.verdicts_stale.notify_one();
        self.sync_wake.notify_one();
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (writes replace whole values).
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The state, to change it. Whatever changes may change verdicts: watched files and
    /// subscribers are brought up to date once the write is done.
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.verdicts_stale.notify_one();
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    fn path_cache(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, PathEntry>> {
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
            problems: s.problems(),
            warnings: remotes::stale_warnings(&s, &self.config()),
            publishing: self.publishing_at(),
            remotes: s.remotes.len(),
            uptime_secs: self.started.elapsed().as_secs(),
        }
    }

    /// The content id of a target, hashing a file when given a path.
    async fn resolve(&self, target: &Target) -> Result<ContentId, RpcError> {
        match (&target.path, &target.id) {
            (Some(path), None) => self.hash_path(path.clone()).await,
            (None, Some(id)) => {
                ContentId::parse(id).map_err(|e| err(ErrorCode::InvalidParams, e.to_string()))
            }
            _ => Err(err(
                ErrorCode::InvalidParams,
                "give exactly one of `path` and `id`",
            )),
        }
    }

    /// Hashes a file, or answers from the path cache when its stamp is unchanged.
    async fn hash_path(&self, path: PathBuf) -> Result<ContentId, RpcError> {
        if !path.is_absolute() {
            return Err(err(
                ErrorCode::InvalidParams,
                format!("{}: paths must be absolute", path.display()),
            ));
        }
        let stamp = hash::stamp(&path).map_err(hash_error)?;
        if let Some(entry) = self.path_cache().get(&path)
            && entry.stamp == stamp
        {
            return Ok(entry.id.clone());
        }
        let hashed = path.clone();
        // Dropped with this future when the client goes: the hashing stops with it.
        let cancel = hash::Cancel::default();
        let _stop = cancel.stop_on_drop();
        let (id, stamp) = blocking("hashing", move || {
            hash::hash_file_until(&hashed, hash::Follow::Yes, &cancel)
        })
        .await?
        .map_err(hash_error)?;
        let mut paths = self.path_cache();
        if paths.len() >= PATH_CACHE_LIMIT {
            paths.clear();
        }
        paths.insert(
            path,
            PathEntry {
                stamp,
                id: id.clone(),
                verdict: None,
            },
        );
        Ok(id)
    }

    pub async fn verify(&self, target: &Target) -> Result<VerifyResult, RpcError> {
        if let Some(result) = self.verify_watched(target) {
            return Ok(result);
        }
        let id = self.resolve(target).await?;
        let result = self.verdict_on(&id, target.path.clone());
        if let Some(path) = &target.path
            && self.subscribers.covers(path)
            && let Some(entry) = self.path_cache().get_mut(path)
            && entry.id == id
        {
            entry.verdict = Some(result.verdict);
        }
        Ok(result)
    }

    /// Answers a path under a watched directory from memory alone: no I/O, no task.
    pub fn verify_watched(&self, target: &Target) -> Option<VerifyResult> {
        let path = target.path.as_ref().filter(|_| target.id.is_none())?;
        let id = self.watched_id(path)?;
        Some(self.verdict_on(&id, Some(path.clone())))
    }

    /// The verdict on `id` with the attestations behind it.
    fn verdict_on(&self, id: &ContentId, path: Option<PathBuf>) -> VerifyResult {
        let policy = self.config().verify.rule();
        let s = self.read();
        let (verdict, tally, attestations) = s.view(id, policy);
        let (unknown, invalid) = s
            .remotes
            .values()
            .filter_map(|r| r.report.unchecked.get(id.as_str()))
            .fold((0, 0), |(u, i), c| {
                (u + c.unknown as usize, i + c.invalid as usize)
            });
        drop(s);
        VerifyResult {
            id: id.to_string(),
            verdict,
            attestations,
            reviewers: tally.ok,
            threshold: policy.threshold,
            unknown,
            invalid,
            path,
        }
    }

    /// The repository's current contents, to build its next version; a damaged one is re-read
    /// first, in case it was repaired.
    fn repo_contents(&self) -> Result<RepoContents, RpcError> {
        // Each read guard dropped before the write lock is taken (std's RwLock is not
        // reentrant: a read guard alive in an `if let` scrutinee deadlocks the write below).
        let own = self.read().own.clone();
        let damaged = self.read().repo.damage().is_some();
        if let (true, Some(own)) = (damaged, own) {
            let mut s = self.write();
            match repo::load_own(&self.home, &s.keyring, Some(&own.fingerprint)) {
                Ok(repaired) => {
                    tracing::info!("{} reads correctly again", self.home.repo_file().display());
                    s.repo = Loaded::Ready(repaired.map(|r| r.contents).unwrap_or_default());
                    s.reindex_own();
                }
                Err(why) => {
                    s.repo = Loaded::Damaged(Damage {
                        file: self.home.repo_file(),
                        why,
                    })
                }
            }
        }
        Ok(self.read().repo.ready()?.clone())
    }

    /// Signs the next version of the repository (the current one with `change` made, its
    /// serial bumped) and returns it with the writer lock held, once no other write has
    /// landed since it was read. Signing happens outside the lock: a passphrase prompt can
    /// take minutes, and no other write waits for it. When another write landed meanwhile,
    /// the new contents are signed again, this time under the lock.
    async fn sign_next(
        &self,
        signer: &Arc<dyn SignWith>,
        change: impl Fn(&mut RepoContents),
    ) -> Result<SignedNext<'_>, RpcError> {
        // First outside the lock (where a prompt may wait); if another write landed meanwhile,
        // once more under it, which cannot be overtaken (gpg-agent has the passphrase by then,
        // and every gpg call has its deadline).
        for locked in [false, true] {
            let held = if locked {
                Some(self.writer.lock().await)
            } else {
                None
            };
            let own = self.read().own.as_ref().map(|o| o.fingerprint.clone());
            let mut contents = self.repo_contents()?;
            let read_at = contents.serial;
            change(&mut contents);
            bump(&mut contents);
            let data = contents.to_data();
            let signing = signer.clone();
            let signed = blocking("signing", move || keys::sign_value(&*signing, data))
                .await?
                .map_err(|e| err(ErrorCode::Signing, format!("signing the repository: {e:#}")))?;
            let writer = match held {
                Some(writer) => writer,
                None => self.writer.lock().await,
            };
            let unchanged = {
                let s = self.read();
                s.own.as_ref().map(|o| &o.fingerprint) == own.as_ref()
                    && s.repo.ready_opt().map(|r| r.serial) == Some(read_at)
            };
            if unchanged {
                return Ok(SignedNext {
                    _writer: writer,
                    contents,
                    bytes: repo::file_bytes(&signed),
                });
            }
        }
        Err(err(
            ErrorCode::Internal,
            "the repository changed under the writer lock; nothing was saved: try again",
        ))
    }

    pub async fn attest(&self, p: AttestParams) -> Result<AttestResult, RpcError> {
        let id = self.resolve(&p.target).await?;
        let (signer, own) = self.read().signer()?;
        let signer = signer.for_request(p.tty.clone(), self.config().gpg_deadline());
        let data = Statement::to_data(&id, p.ok, p.reviewed, &p.comment);
        let size = data.canonical().len();
        if size > signet_proto::formats::MAX_ATTESTATION_DATA {
            return Err(err(
                ErrorCode::InvalidParams,
                format!(
                    "the attestation would be {size} bytes, over the {} bytes others accept: \
                     shorten the comment",
                    signet_proto::formats::MAX_ATTESTATION_DATA
                ),
            ));
        }
        // The attestation first, where a passphrase prompt waits: no lock is held.
        let signing = signer.clone();
        let (attestation, genuine) =
            blocking("signing", move || keys::sign_checked(&*signing, data))
                .await?
                .map_err(|e| {
                    err(
                        ErrorCode::Signing,
                        format!("signing the attestation: {e:#}"),
                    )
                })?;
        let filed_under = id.to_string();
        let replaced = std::sync::atomic::AtomicBool::new(false);
        let next = self
            .sign_next(&signer, |contents| {
                let list = contents
                    .attestations
                    .entry(filed_under.clone())
                    .or_default();
                let before = list.len();
                list.retain(|a| a.key != own.fingerprint);
                replaced.store(list.len() != before, std::sync::atomic::Ordering::Relaxed);
                list.push(attestation.clone());
            })
            .await?;
        self.commit_repo(&next.bytes).await?;
        let serial = next.contents.serial;
        {
            let mut s = self.write();
            s.repo = Loaded::Ready(next.contents);
            s.index.upsert(
                id.clone(),
                Entry {
                    key: attestation.key.clone(),
                    signer: genuine.signer,
                    signed_at: genuine.signed_at,
                    ok: p.ok,
                    reviewed: p.reviewed,
                    comment: p.comment,
                    source: Source::Own,
                },
            );
        }
        drop(next._writer);
        self.refresh_published().await;
        let raw = serde_json::value::RawValue::from_string(attestation.to_value().canonical())
            .expect("canonical JSON is JSON");
        Ok(AttestResult {
            id: id.to_string(),
            attestation: raw,
            serial,
            replaced: replaced.into_inner(),
        })
    }

    /// Writes the own repository's next version durably.
    async fn commit_repo(&self, bytes: &[u8]) -> Result<(), RpcError> {
        let home = self.home.clone();
        let bytes = bytes.to_vec();
        blocking("saving the repository", move || {
            std::fs::create_dir_all(home.repo_dir())?;
            store::write_atomic(&home.repo_file(), &bytes, 0o644)
        })
        .await?
        .map_err(|e| {
            err(
                ErrorCode::Storage,
                format!("could not save the repository: {e:#}; it is unchanged on disk"),
            )
        })
    }

    pub async fn setup(&self, p: SetupParams) -> Result<SetupResult, RpcError> {
        let choice = match (&p.generate, &p.gpg_key, &p.import) {
            (Some(user_id), None, None) => {
                let user_id = user_id.trim().to_owned();
                if user_id.is_empty() || user_id.contains(['\n', '\r']) {
                    return Err(err(
                        ErrorCode::InvalidParams,
                        "give a user id on one line, like \"Your Name <you@example.org>\"",
                    ));
                }
                KeyChoice::Generate(user_id)
            }
            (None, Some(keyid), None) => KeyChoice::Gpg(keyid.clone(), p.gnupghome.clone()),
            (None, None, Some(path)) if path.is_absolute() => KeyChoice::Import(path.clone()),
            _ => {
                return Err(err(
                    ErrorCode::InvalidParams,
                    "give exactly one of `generate`, `gpg_key` and `import` (an absolute path)",
                ));
            }
        };
        let refuse_if_set_up = |s: &State| match (&s.own, p.force) {
            (Some(own), false) => Err(err(
                ErrorCode::AlreadySetUp,
                format!(
                    "this home already has key {} ({}); `sig setup --force` replaces it and \
                     re-signs the repository",
                    own.fingerprint, own.user_id
                ),
            )),
            _ => Ok(()),
        };
        refuse_if_set_up(&self.read())?;
        let signer = blocking("reading the key", move || {
            choice.signer().map(|s| (choice, s))
        })
        .await??;
        let (choice, signer) = signer;
        let deadline = self.config().gpg_deadline();
        // The new key proves it signs before anything on disk changes: it signs the re-signed
        // repository here, outside the writer lock.
        let next = self
            .sign_next(&signer.for_request(p.tty.clone(), deadline), |_| {})
            .await?;
        let previous = {
            let s = self.read();
            refuse_if_set_up(&s)?;
            s.signer.as_ref().map(|k| k.cert().clone())
        };
        let home = self.home.clone();
        let files = choice
            .key_files(&*signer)
            .map_err(|e| err(ErrorCode::Internal, format!("{e:#}")))?;
        let public = keys::armored_public(signer.cert());
        let repo_bytes = next.bytes.clone();
        blocking("replacing the key", move || {
            crate::rekey::replace(&home, previous.as_ref(), files, &public, &repo_bytes)
        })
        .await?
        .map_err(|e| {
            err(
                ErrorCode::Storage,
                format!(
                    "{e:#}; the previous key stays in place (or is restored at the next start)"
                ),
            )
        })?;

        let info = keys::key_info(signer.cert());
        {
            let mut s = self.write();
            if let Some(old) = s.signer.take() {
                let old = old.cert().clone();
                s.keyring.remove_source(&Source::Own);
                for cert in load_retired_keys(&self.home).into_iter().chain([old]) {
                    s.keyring.insert(cert, Source::Own);
                }
            }
            s.keyring.insert(signer.cert().clone(), Source::Own);
            s.signer = Some(signer);
            s.own = Some(info.clone());
            s.key_damage = None;
            s.repo = Loaded::Ready(next.contents);
            s.reindex_own();
        }
        drop(next._writer);
        self.refresh_published().await;
        Ok(SetupResult {
            key: info,
            home: self.home.root.clone(),
            repo: self.home.repo_dir(),
        })
    }

    pub async fn trust_add(&self, p: TrustParams) -> Result<TrustChange, RpcError> {
        let query =
            KeyQuery::parse(&p.key).map_err(|e| err(ErrorCode::InvalidParams, e.to_string()))?;
        let _writer = self.writer.lock().await;
        let (key, mut file) = {
            let s = self.read();
            let mut found: Vec<KeyInfo> = s
                .keyring
                .find(&query)
                .into_iter()
                .map(|c| c.info.clone())
                .collect();
            if found.is_empty()
                && let Some(fpr) = query.as_fingerprint()
            {
                // A full fingerprint may be trusted before its key is fetched.
                found.push(KeyInfo {
                    fingerprint: fpr,
                    user_id: String::new(),
                });
            }
            (pick_one(&query, found)?, s.trust.ready()?.clone())
        };
        if let Some(existing) = file
            .trusted
            .iter()
            .find(|e| e.fingerprint == key.fingerprint)
        {
            return Ok(TrustChange {
                entry: existing.clone(),
                changed: false,
            });
        }
        let entry = TrustEntry {
            fingerprint: key.fingerprint,
            user_id: key.user_id,
            added: now_rfc3339(),
            reason: p.reason,
        };
        file.trusted.push(entry.clone());
        self.save_trust(file).await?;
        Ok(TrustChange {
            entry,
            changed: true,
        })
    }

    pub async fn trust_remove(&self, p: TrustParams) -> Result<TrustChange, RpcError> {
        let query =
            KeyQuery::parse(&p.key).map_err(|e| err(ErrorCode::InvalidParams, e.to_string()))?;
        let _writer = self.writer.lock().await;
        let mut file = self.read().trust.ready()?.clone();
        let matching: Vec<KeyInfo> = file
            .trusted
            .iter()
            .filter(|e| query.matches(&e.fingerprint))
            .map(|e| KeyInfo {
                fingerprint: e.fingerprint.clone(),
                user_id: e.user_id.clone(),
            })
            .collect();
        if matching.is_empty() {
            let own = self.read().own.clone();
            if let Some(own) = own.filter(|o| query.matches(&o.fingerprint)) {
                return Err(err(
                    ErrorCode::InvalidParams,
                    format!(
                        "{} is your own key ({}): it stays trusted, since your own attestations \
                         always count; to stop using it, replace it with `sig setup --force`",
                        own.fingerprint, own.user_id
                    ),
                ));
            }
            return Err(err(
                ErrorCode::UnknownKey,
                format!(
                    "no trusted key matches {}: `sig trust list` shows them",
                    query.as_str()
                ),
            ));
        }
        let key = pick_one(&query, matching)?;
        let index = file
            .trusted
            .iter()
            .position(|e| e.fingerprint == key.fingerprint)
            .expect("found above");
        let entry = file.trusted.remove(index);
        self.save_trust(file).await?;
        Ok(TrustChange {
            entry,
            changed: true,
        })
    }

    async fn save_trust(&self, file: TrustFile) -> Result<(), RpcError> {
        let path = self.home.trust_file();
        let bytes = file.to_bytes();
        blocking("saving trust", move || {
            store::write_atomic(&path, &bytes, 0o600)
        })
        .await?
        .map_err(|e| err(ErrorCode::Storage, format!("{e:#}; trust is unchanged")))?;
        self.write().trust = Loaded::Ready(file);
        Ok(())
    }

    pub fn trust_list(&self) -> Result<TrustListResult, RpcError> {
        let s = self.read();
        let mut trusted = s.trust.ready()?.trusted.clone();
        for entry in &mut trusted {
            if let Some(known) = s.keyring.get(&entry.fingerprint) {
                entry.user_id = known.info.user_id.clone();
            }
        }
        Ok(TrustListResult { trusted })
    }

    pub fn keys_list(&self) -> KeysListResult {
        let s = self.read();
        let own = s.own.as_ref().map(|o| &o.fingerprint);
        KeysListResult {
            keys: s
                .keyring
                .iter()
                .map(|c| KnownKey {
                    fingerprint: c.info.fingerprint.clone(),
                    user_id: c.info.user_id.clone(),
                    own: Some(&c.info.fingerprint) == own,
                    trusted: s.is_trusted(&c.info.fingerprint),
                    source: sources_text(&c.sources),
                })
                .collect(),
        }
    }
}

/// Who served a certificate, for `sig keys`: `own`, `remote:NAME`, or `remembered` for a key
/// no current source serves (kept because what is known of a key is never unlearnt).
fn sources_text(sources: &std::collections::BTreeSet<Source>) -> String {
    if sources.is_empty() {
        return "remembered".to_owned();
    }
    sources
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The one key among `among` that a query names, or an error listing the candidates.
fn pick_one(query: &KeyQuery, among: Vec<KeyInfo>) -> Result<KeyInfo, RpcError> {
    match among.len() {
        1 => Ok(among.into_iter().next().expect("one")),
        0 => Err(err(
            ErrorCode::UnknownKey,
            format!(
                "no known key matches {}: fetch a remote that publishes it (`sig fetch`), or \
                 give its full fingerprint",
                query.as_str()
            ),
        )),
        _ => {
            let list: Vec<String> = among
                .iter()
                .map(|k| format!("  {} {}", k.fingerprint, k.user_id))
                .collect();
            Err(err(
                ErrorCode::AmbiguousKey,
                format!(
                    "{} matches several keys; give more digits:\n{}",
                    query.as_str(),
                    list.join("\n")
                ),
            )
            .with_data(serde_json::to_value(Candidates { candidates: among }).expect("serializes")))
        }
    }
}

fn hash_error(e: HashError) -> RpcError {
    let code = match e {
        HashError::Changed { .. } => ErrorCode::FileChanged,
        _ => ErrorCode::File,
    };
    err(code, e.to_string())
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// Marks a new version of the repository: a higher serial and the time of writing.
fn bump(contents: &mut RepoContents) {
    contents.serial += 1;
    contents.updated = Some(now_rfc3339());
}

/// The next version of the own repository, signed, with the writer lock held until it is
/// committed and visible.
struct SignedNext<'a> {
    _writer: tokio::sync::MutexGuard<'a, ()>,
    contents: RepoContents,
    /// `repo.json` as it will be written.
    bytes: Vec<u8>,
}

/// Runs blocking work (files, hashing, gpg) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RpcError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| err(ErrorCode::Internal, format!("{what} failed: {e}")))
}

/// How `setup` gets the user's key.
enum KeyChoice {
    Generate(String),
    Gpg(String, Option<PathBuf>),
    Import(PathBuf),
}

fn gpg_setup_file(home: &Home) -> PathBuf {
    home.keys_dir().join(crate::rekey::GPG_SETUP_FILE)
}

fn gpg_public_file(home: &Home) -> PathBuf {
    home.keys_dir().join(crate::rekey::GPG_PUBLIC_FILE)
}

impl KeyChoice {
    fn signer(&self) -> Result<Arc<dyn SignWith>, RpcError> {
        let refused = |e: anyhow::Error| err(ErrorCode::Signing, format!("{e:#}"));
        Ok(match self {
            KeyChoice::Generate(user_id) => Arc::new(
                EmbeddedKey::new(keys::generate(user_id).map_err(refused)?).map_err(refused)?,
            ),
            KeyChoice::Import(path) => {
                let bytes = store::read_bounded(path, keys::MAX_CERT_LEN as u64)
                    .map_err(refused)?
                    .ok_or_else(|| {
                        err(ErrorCode::File, format!("{}: no such file", path.display()))
                    })?;
                let cert = crate::gpg::import_secret(&bytes).map_err(refused)?;
                Arc::new(EmbeddedKey::new(cert).map_err(refused)?)
            }
            KeyChoice::Gpg(keyid, gnupghome) => {
                let cert = crate::gpg::find_cert(keyid, gnupghome.as_ref()).map_err(refused)?;
                let setup = crate::gpg::GpgSetup {
                    fingerprint: cert.fingerprint().to_hex(),
                    gnupghome: gnupghome.clone(),
                };
                Arc::new(crate::gpg::GpgKey::new(cert, setup))
            }
        })
    }

    /// What the key keeps under `keys/`: the secret for an embedded key; for a GnuPG key,
    /// only which key and its public certificate.
    fn key_files(&self, signer: &dyn SignWith) -> anyhow::Result<crate::rekey::KeyFiles> {
        use crate::rekey::{GPG_PUBLIC_FILE, GPG_SETUP_FILE, SECRET_FILE};
        Ok(match self {
            KeyChoice::Generate(_) | KeyChoice::Import(_) => {
                vec![(SECRET_FILE, keys::armored_secret(signer.cert()))]
            }
            KeyChoice::Gpg(_, gnupghome) => {
                let setup = crate::gpg::GpgSetup {
                    fingerprint: signer.cert().fingerprint().to_hex(),
                    gnupghome: gnupghome.clone(),
                };
                vec![
                    (GPG_PUBLIC_FILE, keys::armored_public(signer.cert())),
                    (GPG_SETUP_FILE, serde_json::to_vec_pretty(&setup)?),
                ]
            }
        })
    }
}

fn load_gpg_key(home: &Home) -> Result<Option<Arc<dyn SignWith>>, Damage> {
    let path = gpg_setup_file(home);
    let damage = |why: String| Damage {
        file: path.clone(),
        why,
    };
    let Some(bytes) = store::read_private(&path, 1 << 20).map_err(|e| damage(format!("{e:#}")))?
    else {
        return Ok(None);
    };
    let setup: crate::gpg::GpgSetup =
        serde_json::from_slice(&bytes).map_err(|e| damage(e.to_string()))?;
    let public = store::read_private(&gpg_public_file(home), keys::MAX_CERT_LEN as u64)
        .map_err(|e| damage(format!("{e:#}")))?
        .ok_or_else(|| damage("keys/gpg-public.asc is missing".into()))?;
    let cert = keys::parse_cert(&public).map_err(|e| damage(format!("{e:#}")))?;
    Ok(Some(Arc::new(crate::gpg::GpgKey::new(cert, setup))))
}

fn load_embedded_key(home: &Home) -> Result<Option<Arc<dyn SignWith>>, Damage> {
    if !home.secret_key_file().exists() {
        return load_gpg_key(home);
    }
    let path = home.secret_key_file();
    let damage = |why: String| Damage {
        file: path.clone(),
        why,
    };
    let Some(bytes) = store::read_private(&path, keys::MAX_CERT_LEN as u64)
        .map_err(|e| damage(format!("{e:#}")))?
    else {
        return Ok(None);
    };
    let cert = keys::parse_cert(&bytes).map_err(|e| damage(format!("{e:#}")))?;
    let key = EmbeddedKey::new(cert).map_err(|e| damage(format!("{e:#}")))?;
    Ok(Some(Arc::new(key)))
}

/// Writes `repo/key.asc` when it is missing or is not the current key's certificate, so that a
/// crash between writing a new key and publishing it heals at the next start.
fn publish_public_key(home: &Home, cert: &sequoia_openpgp::Cert) -> anyhow::Result<()> {
    let armored = keys::armored_public(cert);
    let path = home.public_key_file();
    if std::fs::read(&path).ok().as_deref() != Some(armored.as_slice()) {
        std::fs::create_dir_all(home.repo_dir())?;
        store::write_atomic(&path, &armored, 0o644)?;
    }
    Ok(())
}

fn load_retired_keys(home: &Home) -> Vec<sequoia_openpgp::Cert> {
    keys::read_cert_dir(&crate::rekey::retired_dir(home))
}

fn load_trust(home: &Home) -> Loaded<TrustFile> {
    let path = home.trust_file();
    match store::read_private(&path, MAX_TRUST_LEN) {
        Ok(None) => Loaded::Ready(TrustFile::default()),
        Ok(Some(bytes)) => match TrustFile::parse(&bytes) {
            Ok(file) => Loaded::Ready(file),
            Err(why) => Loaded::Damaged(Damage { file: path, why }),
        },
        Err(e) => Loaded::Damaged(Damage {
            file: path,
            why: format!("{e:#}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(hex: &str, user_id: &str) -> KeyInfo {
        KeyInfo {
            fingerprint: Fingerprint::parse(hex).unwrap(),
            user_id: user_id.into(),
        }
    }

    /// Two real keys sharing a short id are too rare to make in a test; the rule is tested here.
    #[test]
    fn an_ambiguous_short_id_lists_the_candidates() {
        let a = key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB32780D9", "A <a@x>");
        let b = key("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB32780D9", "B <b@x>");
        let query = KeyQuery::parse("B32780D9").unwrap();
        let e = pick_one(&query, vec![a.clone(), b.clone()]).unwrap_err();
        assert_eq!(e.kind(), Some(ErrorCode::AmbiguousKey));
        assert!(
            e.message.contains(a.fingerprint.as_str()) && e.message.contains("B <b@x>"),
            "{}",
            e.message
        );
        let candidates: Candidates = serde_json::from_value(e.data.unwrap()).unwrap();
        assert_eq!(candidates.candidates, vec![a.clone(), b]);
        assert_eq!(pick_one(&query, vec![a.clone()]).unwrap(), a);
        assert_eq!(
            pick_one(&query, vec![]).unwrap_err().kind(),
            Some(ErrorCode::UnknownKey)
        );
    }
}
