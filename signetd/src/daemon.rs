//! The running daemon: the shared state and the parts that own state of their own, started
//! together. It keeps only what every request needs; each request goes to the part that
//! answers it (`serve/dispatch.rs`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use signet_proto::api::{
    AttestManyParams, AttestManyResult, AttestOutcome, AttestParams, AttestResult, LookupResult,
    StatusResult, Target,
};
use signet_proto::formats::ContentId;

use crate::config::Config;
use crate::home::Home;
use crate::lookup::{LookupError, Lookups};
use crate::publish::Publisher;
use crate::remotes::Remotes;
use crate::state::{AttestError, Shared, State};
use crate::subscribers::Subscribers;
use crate::watch::Watches;

pub struct Daemon {
    pub shared: Arc<Shared>,
    pub remotes: Arc<Remotes>,
    pub watches: Arc<Watches>,
    pub publisher: Publisher,
    pub lookups: Lookups,
    pub subscribers: Arc<Subscribers>,
    pub socket: PathBuf,
    started: Instant,
}

impl Daemon {
    /// Loads the home: the own key, repository and trust list, then every remote's stored
    /// copy, then the index and the web over them all. Damaged files do not stop the daemon:
    /// they are reported and left alone.
    pub fn load(home: Home, socket: PathBuf, config: Config) -> anyhow::Result<Arc<Self>> {
        let started = Instant::now();
        let mut state = State::load(&home)?;
        let own = started.elapsed();
        crate::remotes::load_all(&home, &config, &mut state);
        let remotes = started.elapsed();
        state.settle_loaded(&config);
        let settled = started.elapsed();
        crate::memory::give_back_freed();
        tracing::info!(
            own_ms = own.as_millis() as u64,
            remotes_ms = (remotes - own).as_millis() as u64,
            settle_ms = (settled - remotes).as_millis() as u64,
            memory_ms = (started.elapsed() - settled).as_millis() as u64,
            "the home loaded"
        );
        let shared = Shared::new(home, config, state);
        let subscribers = Arc::new(Subscribers::default());
        Ok(Arc::new(Daemon {
            remotes: Remotes::new(shared.clone())?,
            watches: Watches::new(shared.clone(), subscribers.clone()),
            publisher: Publisher::new(shared.clone())?,
            lookups: Lookups::new(shared.clone())?,
            subscribers,
            shared,
            socket,
            started: Instant::now(),
        }))
    }

    /// Starts the parts' own tasks: publishing as the settings remember it, the remotes'
    /// scheduler, the watches' event loop and verdict refresh, and the remembered watches.
    pub async fn start(&self) {
        self.publisher.resume_publishing().await;
        tokio::spawn(crate::remotes::schedule::run(self.remotes.clone()));
        tokio::spawn(self.watches.clone().run_watch_events());
        tokio::spawn(self.watches.clone().run_verdict_refresh());
        self.watches.resume_watches().await;
    }

    pub fn home(&self) -> &Home {
        &self.shared.home
    }

    pub fn config(&self) -> Arc<Config> {
        self.shared.config()
    }

    /// What verdicts may be missing right now, for answers to show beside them.
    pub fn warnings(&self) -> Vec<String> {
        let state = self.shared.read();
        let mut warnings = state.damaged_verdict_inputs();
        warnings.extend(crate::remotes::stale_warnings(&state, &self.config()));
        warnings
    }

    /// Hashes the target (or takes the id given) and files the word on it.
    pub async fn attest(&self, p: AttestParams) -> Result<AttestResult, AttestError> {
        p.word.about()?; // refused before any file is hashed
        let id = self.watches.resolve(&p.target).await?;
        self.shared.attest(id, p).await
    }

    /// One word on many files, ids or directories: every file hashed (several at a time),
    /// then one signed write for them all. A file that cannot be read is reported in its
    /// place and the others are attested; a directory that cannot be listed whole fails the
    /// request, with nothing attested.
    pub async fn attest_many(&self, p: AttestManyParams) -> Result<AttestManyResult, AttestError> {
        p.word.about()?; // refused before any file is hashed
        let targets = p.targets.clone();
        let resolved = self.watches.resolve_many(targets).await?;
        let ids: Vec<ContentId> = resolved
            .iter()
            .filter_map(|(_, id)| id.as_ref().ok().cloned())
            .collect();
        let (replaced, serial) = if ids.is_empty() {
            let serial = self.shared.read().repo.ready_opt().map_or(0, |r| r.serial);
            (Vec::new(), serial)
        } else {
            self.shared.attest_many(&ids, &p).await?
        };
        let mut replaced = replaced.into_iter();
        let results = resolved
            .into_iter()
            .map(|(path, id)| match id {
                Ok(id) => AttestOutcome::Attested {
                    id: id.to_string(),
                    path,
                    replaced: replaced.next().unwrap_or(false),
                },
                Err(e) => AttestOutcome::Failed {
                    error: crate::errors::Failure::to_rpc(&e),
                    path,
                },
            })
            .collect();
        Ok(AttestManyResult { results, serial })
    }

    /// Hashes the target (or takes the id given) and asks the public indexes about it.
    pub async fn lookup(&self, target: Target) -> Result<LookupResult, LookupFailed> {
        let id = self.watches.resolve(&target).await?;
        let path = target.path().map(|p| p.to_path_buf());
        Ok(self.lookups.lookup(id, path).await?)
    }

    pub fn status(&self) -> StatusResult {
        let config = self.config();
        let s = self.shared.read();
        StatusResult {
            pid: std::process::id(),
            version: signet_proto::VERSION.to_owned(),
            protocol: signet_proto::PROTOCOL_VERSION,
            home: self.home().root.clone(),
            socket: self.socket.clone(),
            key: s.own.clone(),
            own_attestations: s.own_count,
            serial: s.repo.ready_opt().map_or(0, |r| r.serial),
            known_ids: s.index.ids(),
            valid_attestations: s.index.entries(),
            trusted_keys: s.trust.ready_opt().map_or(0, |t| t.trusted.len()),
            trust: s.trust_summary(&config),
            problems: s
                .problems()
                .into_iter()
                .chain(self.watches.damage())
                .collect(),
            warnings: crate::remotes::stale_warnings(&s, &config),
            publishing: self.publisher.publishing_at(),
            remotes: s.remotes.len(),
            uptime_secs: self.started.elapsed().as_secs(),
        }
    }
}

/// Why `lookup` answered nothing: the target could not be read, or no index is configured.
#[derive(Debug, thiserror::Error)]
pub enum LookupFailed {
    #[error(transparent)]
    Target(#[from] crate::state::VerifyError),
    #[error(transparent)]
    Lookup(#[from] LookupError),
}

impl crate::errors::Failure for LookupFailed {
    fn code(&self) -> signet_proto::rpc::ErrorCode {
        match self {
            LookupFailed::Target(e) => e.code(),
            LookupFailed::Lookup(e) => e.code(),
        }
    }
    fn hint(&self) -> Option<String> {
        match self {
            LookupFailed::Target(e) => e.hint(),
            LookupFailed::Lookup(e) => e.hint(),
        }
    }
}
