//! A remote's files under the home: `remotes/NAME/` holds `remote.json` (the record), the
//! accepted `key.asc` and `repo.json`, and `checked.json` (what checking them found).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::core::accept::{CacheOfCopy, CheckedCache, Refusal, RemoteRecord, accept, sha256_hex};
use crate::core::check::CheckReport;
use crate::core::index::Checked;
use crate::core::keyring::Keyring;
use crate::core::verified::Verified;
use crate::home::damage::Damage;
use crate::home::own_repo::PartDir;
use crate::home::{Home, store};
use crate::keys;
use crate::state::PartReports;

pub fn cache_path(home: &Home, name: &str) -> PathBuf {
    dir(home, name).join("checked.json")
}

/// Writes a copy's checked cache, as it is serialized.
pub fn save_cache(home: &Home, name: &str, cache: &CacheOfCopy<'_>) -> anyhow::Result<()> {
    store::write_atomic_with(&cache_path(home, name), 0o600, |file| {
        serde_json::to_writer(file, cache).map_err(std::io::Error::from)
    })
}

pub fn load_cache(home: &Home, name: &str) -> Option<CheckedCache> {
    let path = cache_path(home, name);
    let bytes = store::read_bounded(&path, 1 << 30)
        .inspect_err(|e| tracing::warn!("{e:#}"))
        .ok()??;
    serde_json::from_slice(&bytes)
        .inspect_err(|e| tracing::warn!("ignoring {}: {e}", path.display()))
        .ok()
}

/// The envelopes of the last copy in the seed format found genuine (`core::verified`): read
/// only when an update is checked, so that it verifies only the envelopes whose bytes are
/// new; never held between fetches.
fn verified_path(home: &Home, name: &str) -> PathBuf {
    dir(home, name).join("verified.bin")
}

/// Keeps the memo of a copy just checked, `(its genuine envelopes, how many the last memo had)`,
/// saying how much of the copy it spared; a copy checked without one (in parts) leaves none. A
/// memo not written only costs the next update its checks: warned, not an error.
pub fn keep_verified(home: &Home, name: &str, verified: Option<(Verified, usize)>) {
    let path = verified_path(home, name);
    let kept = match verified {
        Some((verified, reused)) => {
            tracing::info!(remote = %name, genuine = verified.len(), verified_before = reused, "checked the copy");
            store::write_atomic(&path, &verified.to_bytes(), 0o600)
        }
        None => store::remove_if_present(&path),
    };
    if let Err(e) = kept {
        tracing::warn!(remote = %name, "the memo of verified envelopes: {e:#}");
    }
}

/// The memo, or an empty one (every envelope is verified) when there is none or it is not
/// one this daemon wrote.
pub fn load_verified(home: &Home, name: &str) -> Verified {
    let path = verified_path(home, name);
    let Some(bytes) = store::read_bounded(&path, 1 << 30)
        .inspect_err(|e| tracing::warn!("{e:#}"))
        .ok()
        .flatten()
    else {
        return Verified::default();
    };
    Verified::from_bytes(&bytes).unwrap_or_else(|| {
        tracing::warn!(
            "ignoring {}: not a memo of verified envelopes",
            path.display()
        );
        Verified::default()
    })
}

/// What checking a stored copy found: its words, its report, and per part for a copy in parts.
pub struct StoredCheck {
    pub checked: Checked,
    pub report: CheckReport,
    pub parts: Option<PartReports>,
}

/// What loading a remote's stored copy found.
#[allow(clippy::large_enum_variant)] // one a remote, moved once into the state
pub enum Stored {
    /// No copy stored (never fetched, or a removal interrupted).
    None,
    /// The files could not be read: why, for `sig remote list`.
    Unreadable(anyhow::Error),
    Checked(Result<StoredCheck, Refusal>),
}

/// The checked attestations of a remote's stored copy, at start-up or when keys came in: from
/// its cache when that is valid (for a copy in parts, each part's), else by checking the
/// signatures again (refreshing the cache). A copy stored whole is read only in the second
/// case: its cache is matched by the digest of `repo.json` hashed as it is read, so that
/// loading a large copy does not hold it. The copy must still pass the rules: the pinned key,
/// its signer, its signature.
pub fn check_stored(
    home: &Home,
    record: &RemoteRecord,
    max_repo: u64,
    keyring: &Keyring,
) -> Stored {
    let dir = dir(home, &record.name);
    let repo_path = dir.join(signet_proto::paths::REPO_FILE);
    let key = match read_key(&dir) {
        Ok(Some(key)) => key,
        Ok(None) => return Stored::None,
        Err(e) => return Stored::Unreadable(e),
    };
    let cached = load_cache(home, &record.name).and_then(|cache| {
        let repo_sha256 = match store::sha256_bounded(&repo_path, max_repo) {
            Ok(Some(digest)) => digest,
            // Missing or unreadable: said below, where it is read.
            _ => return None,
        };
        cache.entries_for(&sha256_hex(&key), &repo_sha256, keyring, record)
    });
    if let Some((checked, report)) = cached {
        tracing::info!(remote = %record.name, attestations = checked.len(), "loaded from the checked cache");
        return Stored::Checked(Ok(StoredCheck {
            checked,
            report,
            parts: None,
        }));
    }
    match store::read_bounded(&repo_path, max_repo) {
        Ok(Some(repo)) => Stored::Checked(check_again(home, record, &key, &repo, keyring)),
        Ok(None) => Stored::None,
        Err(e) => Stored::Unreadable(e),
    }
}

/// A stored copy checked in full, and its cache written anew: the signatures of the envelopes
/// not in its memo of verified envelopes again (all of them when there is none).
fn check_again(
    home: &Home,
    record: &RemoteRecord,
    key_bytes: &[u8],
    repo_bytes: &[u8],
    keyring: &Keyring,
) -> Result<StoredCheck, Refusal> {
    let unserialed = RemoteRecord {
        serial: None,
        data_sha256: None,
        key_sha256: None,
        ..record.clone()
    };
    let mut parts = PartDir::of_remote(&dir(home, &record.name));
    let before = load_verified(home, &record.name);
    let mut accepted = accept(
        &unserialed,
        key_bytes,
        repo_bytes,
        keyring,
        &mut parts,
        Some(&before),
    )?;
    drop(before);
    keep_verified(home, &record.name, accepted.verified.take());
    let entries = accepted.entries.unwrap_or_default();
    let saved = match &accepted.parts {
        // A repository in parts: each part's check was kept beside it as it was made.
        Some(_) => Ok(()),
        None => save_cache(
            home,
            &record.name,
            &CacheOfCopy::new(
                key_bytes,
                repo_bytes,
                &accepted.keys_seen,
                record.discovered,
                &entries,
                &accepted.report,
            ),
        ),
    };
    if let Err(e) = saved {
        tracing::warn!(remote = %record.name, "could not cache the checked attestations: {e:#}");
    }
    Ok(StoredCheck {
        checked: entries,
        report: accepted.report,
        parts: accepted
            .parts
            .map(|outcome| outcome.reports.into_iter().collect()),
    })
}

/// Where a remote's files live: `remotes/NAME/`.
pub fn dir(home: &Home, name: &str) -> PathBuf {
    home.root.join("remotes").join(name)
}

pub fn record_path(home: &Home, name: &str) -> PathBuf {
    dir(home, name).join("remote.json")
}

pub fn save_record(home: &Home, record: &RemoteRecord) -> anyhow::Result<()> {
    let dir = dir(home, &record.name);
    store::private_dir(&dir)?;
    let mut bytes = serde_json::to_vec_pretty(record)?;
    bytes.push(b'\n');
    store::write_atomic(&record_path(home, &record.name), &bytes, 0o600)
}

/// What checking a stored copy found, kept beside it: for the whole copy, or for a repository
/// in parts each part's, kept as it was checked (docs/FORMATS.md, "Parts").
pub enum CopyCache<'a> {
    Whole(CacheOfCopy<'a>),
    Parts,
}

/// Stores an accepted copy: the files first, then the record that points at them, so that a
/// crash in between leaves a record whose copy is at least as new as it says.
pub fn save_copy(
    home: &Home,
    record: &RemoteRecord,
    key_bytes: &[u8],
    repo_bytes: &[u8],
    cache: &CopyCache<'_>,
) -> anyhow::Result<()> {
    let dir = dir(home, &record.name);
    store::private_dir(&dir)?;
    store::write_atomic(&dir.join(signet_proto::paths::KEY_FILE), key_bytes, 0o600)?;
    store::write_atomic(&dir.join(signet_proto::paths::REPO_FILE), repo_bytes, 0o600)?;
    match cache {
        CopyCache::Whole(cache) => save_cache(home, &record.name, cache)?,
        // A whole cache of an earlier copy must not answer for this one.
        CopyCache::Parts => store::remove_if_present(&cache_path(home, &record.name))?,
    }
    save_record(home, record)
}

/// The stored copy of a remote: `(key.asc, repo.json)`, when there is one.
pub fn load_copy(
    home: &Home,
    name: &str,
    max_repo: u64,
) -> anyhow::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let dir = dir(home, name);
    let key = read_key(&dir)?;
    let repo = store::read_bounded(&dir.join(signet_proto::paths::REPO_FILE), max_repo)?;
    Ok(key.zip(repo))
}

/// The stored `key.asc` of a remote with a stored copy (both files there), without reading
/// `repo.json`.
pub fn load_copy_key(home: &Home, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let dir = dir(home, name);
    if std::fs::symlink_metadata(dir.join(signet_proto::paths::REPO_FILE)).is_err() {
        return Ok(None);
    }
    read_key(&dir)
}

/// The `key.asc` stored in a remote's directory, bounded as a fetch bounds it.
fn read_key(dir: &std::path::Path) -> anyhow::Result<Option<Vec<u8>>> {
    store::read_bounded(
        &dir.join(signet_proto::paths::KEY_FILE),
        keys::MAX_CERT_LEN as u64,
    )
}

/// Every remote record under the home, and those that could not be read, by name (left as
/// they are for the user to repair).
pub fn load_records(home: &Home) -> (Vec<RemoteRecord>, BTreeMap<String, Damage>) {
    let mut records = Vec::new();
    let mut damaged = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(home.root.join("remotes")) else {
        return (records, damaged);
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = record_path(home, &name);
        let why = match store::read_bounded(&path, 1 << 20) {
            Ok(Some(bytes)) => match serde_json::from_slice::<RemoteRecord>(&bytes) {
                Ok(r) if r.name == name => {
                    records.push(r);
                    continue;
                }
                Ok(r) => format!("it names remote {:?}, not {name:?}", r.name),
                Err(e) => e.to_string(),
            },
            Ok(None) => continue, // a directory left by a removal interrupted halfway
            Err(e) => format!("{e:#}"),
        };
        damaged.insert(name, Damage { file: path, why });
    }
    records.sort_by(|a, b| a.name.cmp(&b.name));
    (records, damaged)
}

/// Removes a remote's directory.
pub fn delete(home: &Home, name: &str) -> anyhow::Result<()> {
    // Record first: a crash midway leaves a directory without a record, which loading skips.
    let _ = std::fs::remove_file(record_path(home, name));
    match std::fs::remove_dir_all(dir(home, name)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}
