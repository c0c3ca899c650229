//! Following the web of trust: the repository of each key within your trust depth, where a
//! trusted statement (or your own trust entry) says it is published, becomes a discovered
//! remote — pinned from the start to the fingerprint the statement names (no trust on first
//! use: a `key.asc` holding another key is refused), bounded by `trust.max_followed`, and
//! dropped when its key leaves the web.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use signet_proto::formats::Fingerprint;

use crate::core::accept::{self, RemoteRecord};
use crate::core::web::Level;
use crate::state::{Daemon, State, now_rfc3339};

/// What every discovered remote's name begins with.
pub const PREFIX: &str = "web-";

/// The name of the discovered remote of `key`: `web-` and its last 16 hex digits.
pub fn name_for(key: &Fingerprint) -> String {
    let hex = key.as_str();
    format!("{PREFIX}{}", &hex[hex.len() - 16..])
}

impl State {
    /// The repositories the web says to follow, strongest key first, then nearest, at most
    /// `max`: every key trusted above `none` with a URL said of it on its path's last hop (by
    /// you, for a key you trust directly).
    pub(crate) fn wanted_follows(&self, max: usize) -> Vec<(Fingerprint, String)> {
        let yours: HashMap<&Fingerprint, &String> = self
            .trust
            .ready_opt()
            .into_iter()
            .flat_map(|t| &t.trusted)
            .filter_map(|e| Some((&e.fingerprint, e.url.as_ref()?)))
            .collect();
        let mut wanted: Vec<(Level, usize, Fingerprint, String)> = Vec::new();
        let web = &self.web.web;
        for (key, level) in web.levels() {
            if level == Level::None || self.is_own_key(key) {
                continue;
            }
            let depth = web.depth(key).unwrap_or(usize::MAX);
            // Your trust list's URL for a key you trust directly; else the one said on the
            // last hop of its path.
            let url = (depth == 1)
                .then(|| yours.get(key).map(|u| (*u).clone()))
                .flatten()
                .or_else(|| self.web.urls.get(key).cloned());
            if let Some(url) = url.and_then(|u| accept::check_url(&u).ok()) {
                wanted.push((level, depth, key.clone(), url));
            }
        }
        wanted.sort_by(|a, b| (b.0, a.1, &a.2).cmp(&(a.0, b.1, &b.2)));
        wanted.truncate(max);
        wanted.into_iter().map(|(_, _, k, u)| (k, u)).collect()
    }
}

impl State {
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

impl Daemon {
    /// Brings the discovered remotes in line with the web: follows the new ones (their first
    /// fetch is due at once) and drops those whose key left it or whose URL changed (followed
    /// again at the new one). A key some remote you added already pins is not followed twice.
    /// Returns how many remotes were added.
    pub(crate) async fn follow_web(&self) -> usize {
        let max = self.config().trust.max_followed;
        let (to_add, to_remove) = {
            let s = self.read();
            let wanted: BTreeMap<String, (Fingerprint, String)> = s
                .wanted_follows(max)
                .into_iter()
                .map(|(key, url)| (name_for(&key), (key, url)))
                .collect();
            let yours: BTreeSet<&Fingerprint> = s
                .remotes
                .values()
                .filter(|r| !r.record.discovered)
                .filter_map(|r| r.record.pinned.as_ref())
                .collect();
            let held: BTreeMap<&String, &RemoteRecord> = s
                .remotes
                .iter()
                .filter(|(_, r)| r.record.discovered)
                .map(|(name, r)| (name, &r.record))
                .collect();
            // A remote that followed its key's rotation is pinned to the successor now, and
            // is kept with its serial and last good copy (a new remote for the successor
            // would start with neither).
            let keeps = |name: &String, r: &RemoteRecord| {
                wanted.get(name).is_some_and(|(key, url)| {
                    let pinned = r.pinned.as_ref();
                    (pinned == Some(key) || pinned.is_some_and(|p| s.succeeds(p, key)))
                        && &r.url == url
                        && !pinned.is_some_and(|p| yours.contains(p))
                })
            };
            let kept_keys: BTreeSet<&Fingerprint> = held
                .iter()
                .filter(|(name, r)| keeps(name, r))
                .filter_map(|(_, r)| r.pinned.as_ref())
                .collect();
            let to_remove: Vec<String> = held
                .iter()
                .filter(|(name, r)| !keeps(name, r))
                .map(|(name, _)| (*name).clone())
                .collect();
            let to_add: Vec<(String, Fingerprint, String)> = wanted
                .iter()
                .filter(|(name, (key, _))| {
                    !yours.contains(key)
                        && !kept_keys.contains(key)
                        && !held.get(name).is_some_and(|r| keeps(name, r))
                })
                .map(|(name, (key, url))| (name.clone(), key.clone(), url.clone()))
                .collect();
            (to_add, to_remove)
        };
        for name in to_remove {
            tracing::info!(remote = %name, "no longer in the web of trust: not followed");
            if let Err(e) = self.remote_remove(&name).await {
                tracing::warn!(remote = %name, "could not stop following: {e}");
            }
        }
        let mut added = 0;
        for (name, key, url) in to_add {
            let _writer = self.writer.lock().await;
            if self.read().remotes.contains_key(&name) {
                tracing::warn!(remote = %name, "a remote you added has this name: not followed");
                continue;
            }
            let mut record = RemoteRecord::new(name.clone(), url, now_rfc3339());
            record.pinned = Some(key);
            record.discovered = true;
            match self.add_record(record, Duration::ZERO).await {
                Ok(_) => {
                    tracing::info!(remote = %name, "following a key of your web of trust");
                    added += 1;
                }
                Err(e) => tracing::warn!(remote = %name, "could not follow: {e}"),
            }
        }
        added
    }
}
