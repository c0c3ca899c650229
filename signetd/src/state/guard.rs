//! The one way to change the state: [`Shared::write`] hands out a [`StateWrite`], and when it
//! is dropped — after the lock is released, so the refresh never waits on the write that woke
//! it — the verdict refresh is woken if, and only if, an input of a verdict changed. Pure
//! bookkeeping (a remote's schedule, its last error) re-judges nothing.

use std::ops::{Deref, DerefMut};
use std::sync::RwLockWriteGuard;

use signet_proto::formats::Fingerprint;

use super::{Shared, State};

/// Everything a verdict depends on in the state, as counters that move on every change (the
/// settings' part, `verify.*`, is watched by `config.set`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerdictInputs {
    index: u64,
    keyring: u64,
    trust: u64,
    web: u64,
    own: Option<Fingerprint>,
}

impl State {
    pub(crate) fn verdict_inputs(&self) -> VerdictInputs {
        VerdictInputs {
            index: self.index.generation(),
            keyring: self.keyring.generation(),
            trust: self.trust_generation,
            web: self.web.generation,
            own: self.own.as_ref().map(|o| o.fingerprint.clone()),
        }
    }
}

/// The state, held for writing. See the module's comment.
pub(crate) struct StateWrite<'a> {
    guard: Option<RwLockWriteGuard<'a, State>>,
    before: VerdictInputs,
    shared: &'a Shared,
}

impl Shared {
    /// The state, to change it; subscribers hear of any verdict this changes once it is done.
    pub(crate) fn write(&self) -> StateWrite<'_> {
        // A panic while holding the lock leaves consistent data (writes replace whole values).
        let guard = self.state.write().unwrap_or_else(|e| e.into_inner());
        StateWrite {
            before: guard.verdict_inputs(),
            guard: Some(guard),
            shared: self,
        }
    }
}

impl Deref for StateWrite<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl DerefMut for StateWrite<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.guard.as_mut().expect("held until dropped")
    }
}

impl Drop for StateWrite<'_> {
    fn drop(&mut self) {
        let Some(guard) = self.guard.take() else {
            return;
        };
        let changed = guard.verdict_inputs() != self.before;
        // Most writes (a remote's schedule, an attest) leave the web's inputs alone: only one
        // that left the web behind them settles it, so the others take no second lock.
        let behind = !guard.web_current(self.shared.config().trust.max_depth);
        drop(guard);
        // The web follows its inputs before the writer goes on (its answer reflects its own
        // change), computed off the lock; the scheduler then follows the repositories it names.
        let web_moved = behind && self.shared.settle_web();
        let events = &self.shared.events;
        if web_moved {
            events.remotes_due.notify_one();
        }
        if changed || web_moved {
            events.verdicts_stale.notify_one();
        }
    }
}

impl Shared {
    /// Computes the web of trust again if what it is made from moved (trust statements, the
    /// keyring's revocations, the trust list, `trust.max_depth`), with the state's lock
    /// released: readers go on meanwhile with the web of a moment ago, and a web of a million
    /// statements stalls no verify. Returns whether a new web was put in place.
    ///
    /// Every writer calls this after its change, so when it returns the web reflects that
    /// change: computations are one at a time, and one that starts after a change takes it in.
    pub(crate) fn settle_web(&self) -> bool {
        let _one = self.web_settling.lock().unwrap_or_else(|e| e.into_inner());
        let max_depth = self.config().trust.max_depth;
        // Not `self.write()`: dropping that guard would settle the web again.
        let job = self
            .state
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .web_job(max_depth);
        let Some(job) = job else {
            return false;
        };
        #[cfg(test)]
        if let Some(hook) = &*self.web_hook.lock().unwrap() {
            hook();
        }
        let computed = job.compute();
        self.state
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .install_web(computed);
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use signet_proto::formats::{ContentId, Fingerprint};

    use super::*;
    use crate::config::Config;
    use crate::core::index::{Entry, Source};
    use crate::core::trust::TrustFile;
    use crate::home::Home;
    use crate::home::damage::Loaded;

    /// The shared state over an empty home, loaded as the daemon loads it.
    fn loaded(dir: &std::path::Path) -> std::sync::Arc<Shared> {
        let home = Home::new(dir.to_owned());
        let mut state = State::load(&home).unwrap();
        state.settle_loaded(&Config::default());
        Shared::new(home, Config::default(), state)
    }

    /// Whether the refresh would wake now (a permit is waiting), taking the permit.
    async fn woken(shared: &Shared) -> bool {
        tokio::time::timeout(
            Duration::from_millis(50),
            shared.events.verdicts_stale.notified(),
        )
        .await
        .is_ok()
    }

    #[tokio::test]
    async fn only_a_change_to_a_verdict_input_wakes_the_refresh() {
        let dir = tempfile::tempdir().unwrap();
        let daemon = loaded(dir.path());

        drop(daemon.write());
        daemon.write().remotes.clear();
        daemon
            .write()
            .copy_problems
            .insert("r".into(), "bookkeeping".into());
        assert!(!woken(&daemon).await, "bookkeeping re-judged every file");

        let id = ContentId::parse(&format!("sha256:{}", "a".repeat(64))).unwrap();
        let key = Fingerprint::parse(&"B".repeat(40)).unwrap();
        daemon.write().index.upsert(
            id,
            Entry {
                key: key.clone(),
                signer: key,
                signed_at: 1,
                ok: true,
                reviewed: true,
                comment: String::new(),
                about: Default::default(),
                source: Source::Own,
            },
        );
        assert!(woken(&daemon).await, "a new attestation told nobody");

        daemon
            .write()
            .set_trust(Loaded::Ready(TrustFile::default()));
        assert!(woken(&daemon).await, "a new trust list told nobody");
        assert!(!woken(&daemon).await, "one change, one wake-up");
    }

    /// The web is computed with the state's lock released, and the writer whose change moved
    /// it goes on only once the web reflects that change.
    #[test]
    fn the_web_is_computed_off_the_lock_before_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let daemon = loaded(dir.path());
        let (started, computing) = std::sync::mpsc::channel();
        let (release, go) = std::sync::mpsc::channel::<()>();
        let go = std::sync::Mutex::new(go);
        *daemon.web_hook.lock().unwrap() = Some(Box::new(move || {
            started.send(()).unwrap();
            go.lock().unwrap().recv().unwrap();
        }));
        let trusted = Fingerprint::parse(&"C".repeat(40)).unwrap();
        let trust = TrustFile {
            trusted: vec![signet_proto::api::TrustEntry {
                fingerprint: trusted.clone(),
                user_id: String::new(),
                added: String::new(),
                reason: None,
                level: signet_proto::statements::Trust::High,
                url: None,
                published: false,
            }],
            ..TrustFile::default()
        };
        let before = daemon.read().web.generation;
        std::thread::scope(|s| {
            let writer = s.spawn(|| daemon.write().set_trust(Loaded::Ready(trust)));
            computing
                .recv_timeout(Duration::from_secs(10))
                .expect("the web was not computed again");
            let readable = daemon.state.try_read().is_ok();
            let writer_went_on = writer.is_finished();
            // Released before asserting: a failed test must not leave the writer waiting.
            release.send(()).unwrap();
            writer.join().unwrap();
            assert!(readable, "readers wait while the web is computed");
            assert!(!writer_went_on, "the writer went on before the web");
        });
        let state = daemon.read();
        assert_eq!(state.web.generation, before + 1);
        assert!(state.is_trusted(&trusted, crate::core::web::Level::Low));
    }
}
