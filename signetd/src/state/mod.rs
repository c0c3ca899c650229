//! The daemon's state and the operations on it. Reads take a shared lock for a hash lookup;
//! writes are serialized, made durable on disk, and only then made visible and acknowledged.

mod guard;
mod revoking;
mod rotation;
mod rules;
pub mod settings;
mod trusted;
mod trusting;
mod writes;

pub use rules::Rules;
pub use writes::{AttestError, WriteError};

use trusting::load_trust;
use writes::{load_embedded_key, load_retired_keys, publish_public_key};

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime};

use signet_proto::api::{AttestationView, KeyInfo};
use signet_proto::formats::{ContentId, Fingerprint, RepoContents};
use tokio::sync::watch;

use crate::config::Config;
use crate::core::check::{self, CheckReport};
use crate::core::index::{self, Entry, Index, Source};
use crate::core::keyring::Keyring;
use crate::core::trust::TrustFile;
use crate::errors::{Failure, FileError, TaskFailed, Unavailable};
use crate::home::Home;
use crate::home::damage::{Damage, Loaded};
use crate::home::own_repo;
use crate::keys::signature::Revoked;
use crate::keys::{self, SignWith};

/// Why a file could not be verified.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Task(#[from] TaskFailed),
    /// A directory whose files could not all be listed (nothing under it is attested), or
    /// that has no tree id (a link or a special file in it).
    #[error("{0}")]
    Tree(String),
}

impl Failure for VerifyError {
    fn code(&self) -> signet_proto::rpc::ErrorCode {
        match self {
            VerifyError::File(e) => e.code(),
            VerifyError::Task(e) => e.code(),
            VerifyError::Tree(_) => signet_proto::rpc::ErrorCode::File,
        }
    }
}

/// What the daemon holds of one remote between fetches (the remotes own the rules that
/// change it: `remotes/`).
#[derive(Debug, Clone)]
pub struct RemoteState {
    pub record: crate::core::accept::RemoteRecord,
    pub report: CheckReport,
    /// When the scheduler fetches it next; `None` while a fetch runs or when scheduling is off.
    pub next_sync: Option<Instant>,
    /// The keyring's generation its held copy was checked against: a check against an older
    /// keyring never replaces one against a newer (two checks of one copy can race).
    pub checked_with: u64,
    /// A copy in parts (docs/FORMATS.md, "Parts"): what each part's check found, by digest —
    /// the parts whose words the index holds, which an update need not read again.
    pub parts: Option<Arc<PartReports>>,
}

/// What each part of a remote's copy found, by digest.
pub type PartReports = std::collections::BTreeMap<String, CheckReport>;

/// Everything the daemon knows, behind one lock.
pub struct State {
    pub(crate) signer: Option<Arc<dyn SignWith>>,
    pub(crate) own: Option<KeyInfo>,
    /// Problems with the key files themselves.
    pub(crate) key_damage: Option<Damage>,
    /// Shared with a write being signed, which copies none of it: a commit changes the lists
    /// it replaces in place (`commit_own`).
    pub(crate) repo: Loaded<Arc<RepoContents>>,
    /// How many attestations `repo` holds, kept as it changes: counting a million lists at
    /// every write or status would cost more than the write.
    pub(crate) own_count: usize,
    /// What is known of `repo`'s parts on disk, kept as it is written.
    pub(crate) own_parts: Option<crate::home::own_repo::PartsOnDisk>,
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
        rules: &Rules,
        max_depth: u8,
    ) -> (
        signet_proto::api::Verdict,
        index::Tally,
        Vec<AttestationView>,
    ) {
        self.view_of(&self.index.get(id), rules, max_depth)
    }

    /// The verdict on these attestations (all about one id) and each of them as shown: what
    /// the index holds, or that and what a public index found (`sig lookup`).
    pub(crate) fn view_of(
        &self,
        entries: &[Entry],
        rules: &Rules,
        max_depth: u8,
    ) -> (
        signet_proto::api::Verdict,
        index::Tally,
        Vec<AttestationView>,
    ) {
        let standings = self.standings(entries);
        let tally = index::tally(
            entries,
            &standings,
            |k| self.reviewer_under(k, rules),
            &rules.criteria,
        );
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
                    && v.subject == e.about.subject
                    && v.criteria == e.about.criteria
            };
            if let Some((view, _)) = views.iter_mut().find(|v| same(v)) {
                view.also_from.push(e.source.clone());
                continue;
            }
            let standing = self.standing_under(&e.key, rules, max_depth);
            views.push((
                AttestationView {
                    key: e.key.clone(),
                    user_id: self.keyring.user_id(&e.key),
                    trusted: standing.counts,
                    ok: e.ok,
                    reviewed: e.reviewed,
                    comment: e.comment.clone(),
                    subject: e.about.subject.clone(),
                    criteria: e.about.criteria.clone(),
                    source: e.source.clone(),
                    revoked: *said == index::Standing::Revoked,
                    revocation: self
                        .keyring
                        .revocation(&e.key, &e.signer)
                        .map(Revoked::view),
                    superseded: *said == index::Standing::Superseded,
                    also_from: Vec::new(),
                    counts_as: match rules.listed {
                        None => self.counts_as(&e.key, rules.policy),
                        Some(_) => None,
                    },
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
        (tally.verdict(rules.policy), tally, views)
    }

    /// How each attestation stands: per key only the newest unrevoked word counts, revocations
    /// judged from what is known of each certificate now.
    pub(crate) fn standings(&self, entries: &[Entry]) -> Vec<index::Standing> {
        index::standings(entries, |e| {
            self.keyring.voids(&e.key, &e.signer, e.signed_at)
        })
    }

    /// The verdict on `id` alone, without the attestations behind it.
    pub(crate) fn verdict(&self, id: &ContentId, rules: &Rules) -> signet_proto::api::Verdict {
        let entries = self.index.get(id);
        let standings = self.standings(&entries);
        index::judge(
            &entries,
            &standings,
            |k| self.reviewer_under(k, rules),
            rules.policy,
            &rules.criteria,
        )
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

    /// Makes a signed and written change of the own repository in the held contents.
    /// `on_disk` is what is known of its parts on disk, now written.
    pub(crate) fn commit_own(
        &mut self,
        change: &crate::home::own_repo::Change,
        on_disk: Option<crate::home::own_repo::PartsOnDisk>,
    ) {
        if let Loaded::Ready(contents) = &mut self.repo {
            change.apply(Arc::make_mut(contents));
            self.own_count = change.count;
        }
        self.own_parts = on_disk;
    }

    /// Replaces the own repository as read from disk.
    pub(crate) fn set_own_repo(&mut self, repo: Loaded<Arc<RepoContents>>) {
        self.own_count = repo.ready_opt().map_or(0, |r| r.count());
        self.own_parts = None;
        self.repo = repo;
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

/// What every part of the daemon shares: the home, the settings, the one [`State`] (read
/// through [`Shared::read`], changed only through the writer guard, [`Shared::write`]), and the
/// events that wake the parts that follow it. The parts that own state of their own (remotes,
/// watches, the publisher, the subscribers) each hold an `Arc` of this; none holds another's.
pub struct Shared {
    pub home: Home,
    /// The settings: replaced whole by `config.set`, read as one snapshot per use.
    config: arc_swap::ArcSwap<Config>,
    state: RwLock<State>,
    /// Held across a whole write (sign, write to disk, publish in state): one writer at a time.
    pub(crate) writer: tokio::sync::Mutex<()>,
    /// Held while the web of trust is computed (off the state's lock): one computation at a
    /// time, each from inputs taken after the last one's (`state/guard.rs`).
    web_settling: Mutex<()>,
    /// Called between taking a web's inputs and computing it: how a test holds a computation.
    #[cfg(test)]
    pub(crate) web_hook: Mutex<Option<Box<dyn Fn() + Send>>>,
    pub(crate) events: Events,
    shutdown: watch::Sender<bool>,
}

/// How a change reaches the parts that follow it, without the writer knowing them.
pub struct Events {
    /// Signalled by every change to an input of a verdict (`StateWrite`'s drop): the verdict
    /// refresh judges watched files again.
    pub verdicts_stale: tokio::sync::Notify,
    /// Wakes the remotes' scheduler: the remotes, the web of trust or the sync settings changed.
    pub remotes_due: tokio::sync::Notify,
    /// Moves after every write of the published files (`repo.json`, `key.asc`): the publisher
    /// reads them again before it answers next.
    pub published_written: watch::Sender<u64>,
}

impl Events {
    /// The published files changed on disk.
    pub(crate) fn published_changed(&self) {
        self.published_written.send_modify(|n| *n += 1);
    }
}

impl Shared {
    /// The shared part over a loaded state.
    pub fn new(home: Home, config: Config, state: State) -> Arc<Self> {
        let (shutdown, _) = watch::channel(false);
        Arc::new(Shared {
            home,
            config: arc_swap::ArcSwap::from_pointee(config),
            state: RwLock::new(state),
            writer: tokio::sync::Mutex::new(()),
            web_settling: Mutex::new(()),
            #[cfg(test)]
            web_hook: Mutex::new(None),
            events: Events {
                verdicts_stale: tokio::sync::Notify::new(),
                remotes_due: tokio::sync::Notify::new(),
                published_written: watch::Sender::new(0),
            },
            shutdown,
        })
    }

    /// The settings now.
    pub fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    /// The state, to read: a hash lookup's worth, never across an await or a blocking call.
    pub(crate) fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (writes replace whole values).
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Learns the certificates `keep` accepts (merged into what is known: keys only grow) in
    /// one write, then remembers under `certs/` those that grew, off the async threads. `what`
    /// names them in the log when remembering fails (what was learnt stays learnt).
    pub(crate) async fn learn_keys(
        &self,
        certs: impl IntoIterator<Item = sequoia_openpgp::Cert>,
        keep: impl Fn(&Keyring, &sequoia_openpgp::Cert) -> bool,
        what: &str,
    ) {
        let grown: Vec<_> = {
            let mut s = self.write();
            let mut grown = Vec::new();
            for cert in certs {
                if keep(&s.keyring, &cert) {
                    grown.extend(s.keyring.learn(cert));
                }
            }
            grown
        };
        if grown.is_empty() {
            return;
        }
        let home = self.home.clone();
        let remembered = crate::errors::blocking("remembering keys", move || {
            grown
                .iter()
                .try_for_each(|c| crate::home::certs::remember(&home, c))
        })
        .await;
        if let Err(e) = remembered.map_err(anyhow::Error::from).and_then(|r| r) {
            tracing::error!("could not remember {what}: {e:#}");
        }
    }

    pub fn request_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn shutdown_requested(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}

impl State {
    /// Loads what the home holds of the own key, repository, trust list and every certificate
    /// learnt before. Damaged files do not stop the daemon: they are reported and left alone.
    /// The remotes' copies are the remotes' to load (`remotes::load_all`).
    pub fn load(home: &Home) -> anyhow::Result<State> {
        let mut keyring = Keyring::default();
        // What was learnt of every key before (revocations above all) comes first: the copies
        // read next can only add to it.
        for cert in crate::home::certs::load_saved(home) {
            keyring.learn(cert);
        }
        let (signer, key_damage) = match load_embedded_key(home) {
            Ok(signer) => (signer, None),
            Err(damage) => (None, Some(damage)),
        };
        let own = signer.as_ref().map(|s| keys::key_info(s.cert()));
        let retired: Vec<Fingerprint> = load_retired_keys(home)
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
            publish_public_key(home, signer.cert(), &retired)?;
        }
        let repo = match own_repo::load_own(home, &keyring, own.as_ref().map(|o| &o.fingerprint)) {
            Ok(Some(own_repo)) => {
                for s in &own_repo.skipped {
                    tracing::warn!(id = %s.filed_under, "skipping malformed attestation in own repository: {}", s.why);
                }
                Loaded::Ready(Arc::new(own_repo.contents))
            }
            Ok(None) => Loaded::Ready(Arc::default()),
            Err(why) => Loaded::Damaged(Damage {
                file: home.repo_file(),
                why,
            }),
        };
        Ok(State {
            signer,
            own,
            key_damage,
            own_count: repo.ready_opt().map_or(0, |r| r.count()),
            own_parts: None,
            repo,
            trust: load_trust(home),
            trust_generation: 0,
            web: Default::default(),
            keyring,
            index: Index::default(),
            remotes: Default::default(),
            damaged_records: Default::default(),
            copy_problems: Default::default(),
            publishing_problem: None,
            discovered_sizes: Default::default(),
        })
    }

    /// Indexes the own repository and computes the web once every source is in, reporting
    /// what does not count: the last step of loading.
    pub fn settle_loaded(&mut self, config: &Config) {
        let report = self.reindex_own();
        self.refresh_web(config.trust.max_depth);
        if report.rejected() > 0 {
            tracing::warn!(
                ?report,
                "some attestations of the own repository do not count"
            );
        }
        for problem in self.problems() {
            tracing::error!("{problem}");
        }
    }
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}
