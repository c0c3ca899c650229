//! Following the web of trust: the repository of each key within your trust depth, where a
//! trusted statement (or your own trust entry) says it is published, becomes a discovered
//! remote — pinned from the start to the fingerprint the statement names (no trust on first
//! use: a `key.asc` holding another key is refused), bounded by `trust.max_followed`, and
//! dropped when its key leaves the web.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use signet_proto::formats::Fingerprint;

use super::Remotes;
use crate::core::accept::{self, RemoteRecord};
use crate::core::web::Level;
use crate::state::{State, now_rfc3339};

/// What every discovered remote's name begins with.
pub const PREFIX: &str = "web-";

/// The name of the discovered remote of `key`: `web-` and its last 16 hex digits.
pub fn name_for(key: &Fingerprint) -> String {
    let hex = key.as_str();
    format!("{PREFIX}{}", &hex[hex.len() - 16..])
}

impl State {
    /// The repositories the web says to follow: every key trusted above `none` before any
    /// distrust is applied (`Web::followed`), with a URL said of it on its path's last hop (by
    /// you, for a key you trust directly). Keys you trust
    /// directly are always followed — your own word is never crowded out by keys others
    /// introduce; of the others at most `limits.max`, strongest first, then nearest, while the
    /// attestations their repositories held at their last fetch fit in `limits.attestations`
    /// (one not fetched yet counts as empty, and is followed to learn what it holds). The
    /// order is the web's, so what is held does not depend on which repository came first.
    pub(crate) fn wanted_follows(&self, limits: FollowLimits) -> Vec<(Fingerprint, String)> {
        let FollowLimits {
            max,
            attestations: budget,
            private,
        } = limits;
        let yours: HashMap<&Fingerprint, &String> = self
            .trust
            .ready_opt()
            .into_iter()
            .flat_map(|t| &t.trusted)
            .filter_map(|e| Some((&e.fingerprint, e.url.as_ref()?)))
            .collect();
        let mut direct = Vec::new();
        let mut introduced: Vec<(Level, usize, Fingerprint, String)> = Vec::new();
        // Before distrust: a key's distrusts weigh whether or not it is cut itself.
        for (key, level, depth) in self.web.web.followed() {
            if level == Level::None || self.is_own_key(key) {
                continue;
            }
            // Your trust list's URL for a key you trust directly; else the one said on the
            // last hop of its path.
            let url = (depth == 1)
                .then(|| yours.get(key).map(|u| (*u).clone()))
                .flatten()
                .or_else(|| self.web.urls.get(key).cloned());
            let Some(url) = url.and_then(|u| accept::check_url(&u).ok()) else {
                continue;
            };
            // Never followed where a statement cannot send the daemon: credentials, or a
            // private address named literally (names are judged when resolved).
            if let Some(why) = reqwest::Url::parse(&url)
                .ok()
                .and_then(|u| super::address::refusal(&u, private))
            {
                tracing::debug!(key = %key, "not followed: {why}");
                continue;
            }
            if yours.contains_key(key) {
                direct.push((key.clone(), url));
            } else {
                introduced.push((level, depth, key.clone(), url));
            }
        }
        introduced.sort_by(|a, b| (b.0, a.1, &a.2).cmp(&(a.0, b.1, &b.2)));
        introduced.truncate(max);
        let mut held = 0usize;
        introduced.retain(|(_, _, key, _)| {
            let size = self.discovered_size(key);
            let fits = held.saturating_add(size) <= budget;
            if fits {
                held += size;
            } else {
                tracing::debug!(key = %key, size, "not followed: over trust.max_discovered_attestations");
            }
            fits
        });
        direct.sort();
        direct
            .into_iter()
            .chain(introduced.into_iter().map(|(_, _, k, u)| (k, u)))
            .collect()
    }
}

/// What following the web may take (`trust.*`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FollowLimits {
    /// `trust.max_followed`
    pub(crate) max: usize,
    /// `trust.max_discovered_attestations`
    pub(crate) attestations: usize,
    /// `trust.follow_private_urls`
    pub(crate) private: bool,
}

impl FollowLimits {
    pub(crate) fn of(config: &crate::config::Config) -> Self {
        FollowLimits {
            max: config.trust.max_followed,
            attestations: config.trust.max_discovered_attestations,
            private: config.trust.follow_private_urls,
        }
    }
}

impl State {
    /// The attestations `key`'s discovered repository holds, or held when it was last fetched
    /// before it was dropped; 0 when it was never fetched.
    fn discovered_size(&self, key: &Fingerprint) -> usize {
        match self.remotes.get(&name_for(key)) {
            Some(r) if r.record.discovered && r.record.pinned.as_ref() == Some(key) => {
                r.report.valid
            }
            _ => self.discovered_sizes.get(key).copied().unwrap_or(0),
        }
    }

    /// Whether `key` succeeds `old`, through one rotation or a chain of them.
    fn succeeds(&self, key: &Fingerprint, old: &Fingerprint) -> bool {
        let mut at = old;
        // A chain is as long as the keys known; a cycle of rotations ends here too.
        for _ in 0..self.web.successors.len() {
            match self.web.successors.get(at) {
                Some(next) if next == key => return true,
                Some(next) => at = next,
                None => return false,
            }
        }
        false
    }
}

impl Remotes {
    /// Brings the discovered remotes in line with the web: follows the new ones (their first
    /// fetch is due at once), moves those whose key's stated URL changed (their record — pin,
    /// serial, last good copy — stays, so a host serving an old copy is refused as a rollback
    /// and one that fails leaves the copy answering), and drops those whose key left the web.
    /// A key some remote you added already pins is not followed twice. Returns the remotes
    /// added or moved: they have a fetch to make.
    pub(crate) async fn follow_web(&self) -> Vec<String> {
        let plan = {
            let mut state = self.shared.write();
            let plan = state.follow_plan(FollowLimits::of(&self.shared.config()));
            // What each repository dropped held is remembered while its key stays in the web
            // (and forgotten once it leaves: this map is bounded by the web).
            let dropped: Vec<(Fingerprint, usize)> = plan
                .remove
                .iter()
                .filter_map(|name| {
                    let r = state.remotes.get(name)?;
                    Some((r.record.pinned.clone()?, r.report.valid))
                })
                .collect();
            let in_web: BTreeSet<Fingerprint> = state
                .web
                .web
                .followed()
                .map(|(k, _, _)| k.clone())
                .collect();
            state.discovered_sizes.retain(|k, _| in_web.contains(k));
            state
                .discovered_sizes
                .extend(dropped.into_iter().filter(|(k, _)| in_web.contains(k)));
            plan
        };
        for name in plan.remove {
            tracing::info!(remote = %name, "no longer in the web of trust: not followed");
            if let Err(e) = self.remote_remove(&name).await {
                tracing::warn!(remote = %name, "could not stop following: {e}");
            }
        }
        let mut changed = Vec::new();
        for (name, url) in plan.moves {
            tracing::info!(remote = %name, %url, "its key's repository moved: following it there");
            match self.move_remote(&name, url).await {
                Ok(()) => changed.push(name),
                Err(e) => tracing::warn!(remote = %name, "could not follow it to its new URL: {e}"),
            }
        }
        for (name, key, url) in plan.add {
            let _writer = self.shared.writer.lock().await;
            if self.shared.read().remotes.contains_key(&name) {
                tracing::warn!(remote = %name, "a remote you added has this name: not followed");
                continue;
            }
            let mut record = RemoteRecord::new(name.clone(), url, now_rfc3339());
            record.pinned = Some(key);
            record.discovered = true;
            match self.add_record(record, Duration::ZERO).await {
                Ok(_) => {
                    tracing::info!(remote = %name, "following a key of your web of trust");
                    changed.push(name);
                }
                Err(e) => tracing::warn!(remote = %name, "could not follow: {e}"),
            }
        }
        changed
    }
}

/// What following the web changes in the discovered remotes.
struct FollowPlan {
    remove: Vec<String>,
    /// Remotes kept whose key is now said to publish elsewhere: `(name, new URL)`.
    moves: Vec<(String, String)>,
    add: Vec<(String, Fingerprint, String)>,
}

impl State {
    fn follow_plan(&self, limits: FollowLimits) -> FollowPlan {
        let wanted: BTreeMap<String, (Fingerprint, String)> = self
            .wanted_follows(limits)
            .into_iter()
            .map(|(key, url)| (name_for(&key), (key, url)))
            .collect();
        let yours: BTreeSet<&Fingerprint> = self
            .remotes
            .values()
            .filter(|r| !r.record.discovered)
            .filter_map(|r| r.record.pinned.as_ref())
            .collect();
        let held: BTreeMap<&String, &RemoteRecord> = self
            .remotes
            .iter()
            .filter(|(_, r)| r.record.discovered)
            .map(|(name, r)| (name, &r.record))
            .collect();
        // A held remote stays while its key is wanted: pinned to that key, or to its successor
        // (it followed the key's rotation), and not pinned by a remote you added yourself.
        let keeps = |name: &String, r: &RemoteRecord| {
            wanted.get(name).is_some_and(|(key, _)| {
                let pinned = r.pinned.as_ref();
                (pinned == Some(key) || pinned.is_some_and(|p| self.succeeds(p, key)))
                    && !pinned.is_some_and(|p| yours.contains(p))
            })
        };
        let mut plan = FollowPlan {
            remove: Vec::new(),
            moves: Vec::new(),
            add: Vec::new(),
        };
        let mut kept_keys: BTreeSet<&Fingerprint> = BTreeSet::new();
        for (name, r) in &held {
            if !keeps(name, r) {
                plan.remove.push((*name).clone());
                continue;
            }
            kept_keys.extend(r.pinned.as_ref());
            let (_, url) = &wanted[*name];
            if &r.url != url {
                plan.moves.push(((*name).clone(), url.clone()));
            }
        }
        for (name, (key, url)) in &wanted {
            let followed = yours.contains(key)
                || kept_keys.contains(key)
                || held.get(name).is_some_and(|r| keeps(name, r));
            if !followed {
                plan.add.push((name.clone(), key.clone(), url.clone()));
            }
        }
        plan
    }
}
