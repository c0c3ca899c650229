//! What the daemon holds of each remote between fetches: the records loaded at start (every
//! certificate first, then each copy under the fetch rules), when each is next due, and what
//! `sig remote list` and the stale-copy warnings show.

use std::sync::Arc;
use std::time::{Duration, Instant};

use signet_proto::api::{KeyInfo, RemoteInfo};

use crate::config::Config;
use crate::core::check::CheckReport;
use crate::core::index::Source;
use crate::home::Home;
use crate::keys;
use crate::remotes::record;
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
    let mut copies = Vec::new();
    for record in records {
        let copy = match record::load_copy(home, &record.name, config.fetch.max_repo_bytes) {
            Ok(copy) => copy,
            Err(e) => {
                state.copy_problems.insert(
                    record.name.clone(),
                    format!("remote {}: {e:#}", record.name),
                );
                None
            }
        };
        let published = copy
            .as_ref()
            .and_then(|(key, _)| keys::parse_published(key).ok());
        for cert in published
            .into_iter()
            .flat_map(|p| std::iter::once(p.key).chain(p.retired))
        {
            if let Some(grown) = state
                .keyring
                .insert(cert, Source::Remote(record.name.clone()))
                && let Err(e) = crate::home::certs::remember(home, &grown)
            {
                tracing::warn!(remote = %record.name, "could not remember its key: {e:#}");
            }
        }
        copies.push((record, copy));
    }
    for (record, copy) in copies {
        let mut report = CheckReport::default();
        let mut parts = None;
        if let Some((key, repo)) = copy {
            match record::check_stored(home, &record, &key, &repo, &state.keyring) {
                Ok(stored) => {
                    state
                        .index
                        .replace_source(&Source::Remote(record.name.clone()), stored.checked);
                    report = stored.report;
                    parts = stored.parts.map(Arc::new);
                }
                Err(refusal) => {
                    let problem = format!(
                        "the stored copy of remote {} does not pass the rules any more \
                         (the next fetch replaces it): {refusal}",
                        record.name
                    );
                    state.copy_problems.insert(record.name.clone(), problem);
                }
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
