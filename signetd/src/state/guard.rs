//! The one way to change the state: [`Daemon::write`] hands out a [`StateWrite`], and when it
//! is dropped — after the lock is released, so the refresh never waits on the write that woke
//! it — the verdict refresh is woken if, and only if, an input of a verdict changed. Pure
//! bookkeeping (a remote's schedule, its last error) re-judges nothing.

use std::ops::{Deref, DerefMut};
use std::sync::RwLockWriteGuard;

use signet_proto::formats::Fingerprint;

use super::{Daemon, State};

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
    daemon: &'a Daemon,
}

impl Daemon {
    /// The state, to change it; subscribers hear of any verdict this changes once it is done.
    pub(crate) fn write(&self) -> StateWrite<'_> {
        // A panic while holding the lock leaves consistent data (writes replace whole values).
        let guard = self.state.write().unwrap_or_else(|e| e.into_inner());
        StateWrite {
            before: guard.verdict_inputs(),
            guard: Some(guard),
            daemon: self,
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
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        // The web follows its inputs before anyone reads it again; the scheduler then follows
        // the repositories it names.
        if guard.refresh_web(self.daemon.config().trust.max_depth) {
            self.daemon.sync_wake.notify_one();
        }
        let changed = guard.verdict_inputs() != self.before;
        drop(guard);
        if changed {
            self.daemon.verdicts_stale.notify_one();
        }
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

    /// Whether the refresh would wake now (a permit is waiting), taking the permit.
    async fn woken(daemon: &Daemon) -> bool {
        tokio::time::timeout(Duration::from_millis(50), daemon.verdicts_stale.notified())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn only_a_change_to_a_verdict_input_wakes_the_refresh() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().to_owned());
        let daemon = Daemon::load(home, dir.path().join("socket"), Config::default()).unwrap();

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
}
