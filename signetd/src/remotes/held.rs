//! What the daemon holds of each remote between fetches: the records loaded at start (every
//! certificate first, then each copy under the fetch rules), when each is next due, and what
//! `sig remote list` and the stale-copy warnings show.

use std::sync::Arc;
use std::time::{Duration, Instant};

use signet_proto::api::{KeyInfo, RemoteInfo};

use crate::config::Config;
use crate::core::accept::RemoteRecord;
use crate::core::check::CheckReport;
use crate::core::index::Source;
use crate::core::keyring::Keyring;
use crate::home::Home;
use crate::keys;
use crate::remotes::record::{self, Stored};
use crate::state::{RemoteState, State};

/// A pseudo-random fraction in [-1, 1), for jitter: no need for a CSPRNG here.
fn jitter_unit(salt: &str) -> f64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write(salt.as_bytes());
    (h.finish() % 2_000_000) as f64 / 1_000_000.0 - 1.0
}

/// When a remote is next due: the interval ±10% after a success; after failures, a backoff
/// doubling from 30 s up to the interval.
pub(crate) fn next_sync(config: &Config, name: &str, failures: u32) -> Option<Instant> {
    let interval = config.sync.interval_secs as f64;
    if interval == 0.0 {
        return None;
    }
    let base = if failures == 0 {
        interval
    } else {
        (30.0 * 2f64.powi(failures.min(20) as i32 - 1)).min(interval)
    };
    let secs = base * (1.0 + 0.1 * jitter_unit(name));
    Some(Instant::now() + Duration::from_secs_f64(secs.max(1.0)))
}

/// Loads every remote's stored copy at start-up: all certificates first, so attestations one
/// remote carries for another's key can be checked, then each copy under the fetch rules.
pub(crate) fn load_all(home: &Home, config: &Config, state: &mut State) {
    let (records, damaged) = record::load_records(home);
    state.damaged_records = damaged;
    for record in &records {
        // Only the key here: a copy's `repo.json` is read when its turn to be checked comes.
        let Ok(Some(key)) = record::load_copy_key(home, &record.name) else {
            continue;
        };
        let Ok(published) = keys::parse_published(&key) else {
            continue;
        };
        for cert in std::iter::once(published.key).chain(published.retired) {
            if let Some(grown) = state
                .keyring
                .insert(cert, Source::Remote(record.name.clone()))
                && let Err(e) = crate::home::certs::remember(home, &grown)
            {
                tracing::warn!(remote = %record.name, "could not remember its key: {e:#}");
            }
        }
    }
    let loaded = check_copies(home, config, &state.keyring, records);
    state
        .index
        .reserve_for(loaded.iter().filter_map(|(_, stored)| match stored {
            Stored::Checked(Ok(stored)) => Some(&stored.checked),
            _ => None,
        }));
    for (record, loaded) in loaded {
        let mut report = CheckReport::default();
        let mut parts = None;
        match loaded {
            Stored::None => {}
            Stored::Unreadable(e) => {
                state.copy_problems.insert(
                    record.name.clone(),
                    format!("remote {}: {e:#}", record.name),
                );
            }
            Stored::Checked(Ok(stored)) => {
                state
                    .index
                    .replace_source(&Source::Remote(record.name.clone()), stored.checked);
                report = stored.report;
                parts = stored.parts.map(Arc::new);
            }
            Stored::Checked(Err(refusal)) => {
                let problem = format!(
                    "the stored copy of remote {} does not pass the rules any more \
                     (the next fetch replaces it): {refusal}",
                    record.name
                );
                state.copy_problems.insert(record.name.clone(), problem);
            }
        }
        // Due at once if never fetched or overdue, else at its regular time.
        let next_sync = next_sync(config, &record.name, record.failures).map(|t| {
            if record.last_success.is_none() {
                Instant::now() + Duration::from_secs(5)
            } else {
                t
            }
        });
        state.remotes.insert(
            record.name.clone(),
            RemoteState {
                record,
                report,
                next_sync,
                checked_with: state.keyring.generation(),
                parts,
            },
        );
    }
}

/// How many stored copies are read and checked at once at start-up. Each holds its whole
/// `repo.json` and its checked cache while it is loaded (about 100 MB for 100,000
/// attestations); two use both cores of a small machine, where a restart's time goes, and
/// bound that peak whatever the number of remotes.
const LOADING_AT_ONCE: usize = 2;

/// Every record's stored copy read and checked (from its cache when valid), `LOADING_AT_ONCE`
/// at a time, each copy's bytes dropped as soon as it is checked; in the records' order.
fn check_copies(
    home: &Home,
    config: &Config,
    keyring: &Keyring,
    records: Vec<RemoteRecord>,
) -> Vec<(RemoteRecord, Stored)> {
    let load = |record: &RemoteRecord| {
        record::check_stored(home, record, config.fetch.max_repo_bytes, keyring)
    };
    let next = std::sync::Mutex::new(records.into_iter().enumerate());
    let mut loaded: Vec<(usize, RemoteRecord, Stored)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..LOADING_AT_ONCE)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let taken = next.lock().unwrap_or_else(|e| e.into_inner()).next();
                        let Some((at, record)) = taken else {
                            // What this thread freed goes back before it ends (a heap
                            // left by an ended thread keeps its free pages until another
                            // thread takes it over).
                            crate::memory::give_back_here();
                            return done;
                        };
                        let outcome = load(&record);
                        done.push((at, record, outcome));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    loaded.sort_by_key(|(at, ..)| *at);
    loaded.into_iter().map(|(_, r, l)| (r, l)).collect()
}

/// Whether a remote's owner is trusted and its copy was signed longer ago than `max_age`.
fn stale(state: &State, config: &Config, r: &RemoteState) -> bool {
    let max_age = config.sync.max_age_secs;
    let (Some(owner), Some(signed_at)) = (&r.record.pinned, r.record.signed_at) else {
        return false;
    };
    let now = crate::keys::signature::unix_secs(std::time::SystemTime::now());
    max_age > 0
        && state.is_trusted(owner, config.verify.rule().min_level)
        && now.saturating_sub(signed_at) > max_age
}

/// One warning per trusted remote whose copy looks frozen, for `sig status` and `sig verify`.
pub(crate) fn stale_warnings(state: &State, config: &Config) -> Vec<String> {
    let now = crate::keys::signature::unix_secs(std::time::SystemTime::now());
    state
        .remotes
        .values()
        .filter(|r| stale(state, config, r))
        .map(|r| {
            let days = now.saturating_sub(r.record.signed_at.unwrap_or(0)) / 86_400;
            format!(
                "remote {}: its newest copy was signed {days} days ago (over sync.max_age_secs); \
                 if its owner has attested since, the server is serving a frozen copy",
                r.record.name
            )
        })
        .collect()
}

fn rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

pub(super) fn info(state: &State, config: &Config, r: &RemoteState) -> RemoteInfo {
    let key = r.record.pinned.as_ref().map(|fpr| KeyInfo {
        fingerprint: fpr.clone(),
        user_id: state.keyring.user_id(fpr),
    });
    RemoteInfo {
        name: r.record.name.clone(),
        url: r.record.url.clone(),
        probe: None,
        key,
        serial: r.record.serial,
        attestations: r.report.valid,
        rejected: r.report.rejected(),
        last_success: r.record.last_success.clone(),
        last_attempt: r.record.last_attempt.clone(),
        last_error: r.record.last_error.clone(),
        next_sync_secs: r
            .next_sync
            .map(|t| t.saturating_duration_since(Instant::now()).as_secs()),
        signed: r.record.signed_at.map(rfc3339),
        stale: stale(state, config, r),
        discovered: r.record.discovered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs_until(t: Option<Instant>) -> f64 {
        t.unwrap()
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
    }

    #[test]
    fn schedule_jitters_and_backs_off() {
        let config = Config::default(); // 900 s
        let regular = secs_until(next_sync(&config, "r", 0));
        assert!((800.0..=990.0).contains(&regular), "{regular}");
        let backoff: Vec<f64> = (1..=7)
            .map(|f| secs_until(next_sync(&config, "r", f)))
            .collect();
        for (n, want) in [30.0, 60.0, 120.0, 240.0, 480.0, 900.0, 900.0]
            .iter()
            .enumerate()
        {
            assert!(
                (backoff[n] - want).abs() <= want * 0.11,
                "failure {}: {} vs {want}",
                n + 1,
                backoff[n]
            );
        }
        let off = Config {
            sync: crate::config::SyncConfig {
                interval_secs: 0,
                ..Default::default()
            },
            ..Config::default()
        };
        assert!(next_sync(&off, "r", 0).is_none());
    }
}
