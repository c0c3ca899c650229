//! Checking a repository in parts one part at a time (docs/FORMATS.md, "Parts"), for a reader
//! that keeps what it checked rather than the contents: a part whose check is cached (for its
//! digest, and the keys it depended on unchanged) costs no signature work, so an update of a
//! large repository costs the parts that changed. The bins a key rotation's rules read are
//! loaded first, and only those.

use std::collections::BTreeSet;

use signet_proto::formats::{Fingerprint, PartRef, RepoContents};
use signet_proto::statements::TrustStatement;

use super::{CheckedCache, KeysSeen, rotation};
use crate::check::{self, CheckReport};
use crate::index::{Checked, Source};
use crate::keyring::Keyring;
use crate::parts::{self, PartError, PartSource};

/// Where a reader gets a repository's parts and what checking them found before.
pub trait PartStore: PartSource {
    /// The bytes of the cache of a part's check (a [`CheckedCache`] as JSON), when one was
    /// kept: read here, on every core, and checked before it is used.
    fn cached(&mut self, _part: &PartRef) -> Option<Vec<u8>> {
        None
    }

    /// Whether the reader holds this part's checked words already, from the copy it accepted
    /// last: then the part is not read at all, and its words are not in what the check
    /// returns (an update of a large repository costs the parts that changed).
    fn held(&self, _part: &PartRef) -> bool {
        false
    }

    /// Keeps the cache of a part just checked, as soon as it is made rather than once the
    /// whole copy is: at a million words the caches are as large as the words. A cache is
    /// named by its part's digest and says what checking those bytes found, so one kept for
    /// a copy refused later is still true.
    fn keep_checked(&mut self, _part: &PartRef, _cache: &CheckedCache) {}
}

impl PartStore for parts::NoParts {}
impl PartStore for std::collections::BTreeMap<String, Vec<u8>> {}

/// Reads the parts named in `refs` whose bins are `bins` into `contents`.
fn load_bins(
    contents: &mut RepoContents,
    refs: &[PartRef],
    bins: &BTreeSet<String>,
    source: &mut dyn PartSource,
) -> Result<(), PartError> {
    let mut some = RepoContents {
        parts: refs
            .iter()
            .filter(|p| bins.contains(&p.bin))
            .cloned()
            .collect(),
        ..Default::default()
    };
    let mut skipped = Vec::new();
    parts::expand(&mut some, &mut skipped, source)?;
    contents.attestations.append(&mut some.attestations);
    Ok(())
}

/// `contents` (the top document's own attestations) with the bins holding the trust
/// statements about `keys` read in, and about every key they prove `key` succeeded, until no
/// more are named: what [`rotation::check`] and [`rotation::owners`] read.
pub(super) fn with_statement_bins(
    mut contents: RepoContents,
    refs: &[PartRef],
    keys: &[&Fingerprint],
    key: &Fingerprint,
    keyring: &Keyring,
    source: &mut dyn PartSource,
) -> Result<RepoContents, PartError> {
    let Some(digits) = refs.first().map(|p| p.bin.len()) else {
        return Ok(contents);
    };
    let bin = |k: &Fingerprint| parts::bin_of(&TrustStatement::id_of(k), digits);
    let mut loaded = BTreeSet::new();
    let mut wanted: BTreeSet<String> = keys.iter().map(|k| bin(k)).collect();
    loop {
        let new: BTreeSet<String> = wanted.difference(&loaded).cloned().collect();
        if new.is_empty() {
            return Ok(contents);
        }
        load_bins(&mut contents, refs, &new, source)?;
        loaded.extend(new);
        let owners = rotation::owners(&contents, key, keyring);
        wanted.extend(owners.iter().map(bin));
    }
}

/// What checking a repository's parts found: the words that entered, and per part.
pub struct PartsChecked {
    pub checked: Checked,
    pub report: CheckReport,
    pub outcome: PartsOutcome,
}

/// Per part of a repository in parts, what its check found.
#[derive(Debug, Default)]
pub struct PartsOutcome {
    /// What each part read (checked now or from its cache) found, by digest.
    pub reports: Vec<(String, CheckReport)>,
    /// The parts checked now, by digest (their caches given to [`PartStore::keep_checked`]).
    pub fresh: Vec<String>,
    /// The parts not read because the reader holds their words ([`PartStore::held`]).
    pub held: Vec<String>,
}

/// Checks each part in `refs`, from its cache when that still holds, `owners` being the keys
/// whose words a discovered remote holds (`None`: every key's). Parts the reader holds are
/// skipped when `may_skip` (not when a rotation changed whose words are held).
pub(super) fn check_parts(
    refs: &[PartRef],
    store: &mut dyn PartStore,
    keyring: &Keyring,
    source: &Source,
    owners: Option<&BTreeSet<Fingerprint>>,
    may_skip: bool,
) -> Result<PartsChecked, PartError> {
    let held = match owners {
        Some(owners) => check::Held::ByOwner(owners.clone()),
        None => check::Held::All,
    };
    let mut all = PartsChecked {
        checked: Checked::default(),
        report: CheckReport::default(),
        outcome: PartsOutcome::default(),
    };
    // Caches are read a batch at a time and their JSON parsed on every core: at a million
    // words a restart reads thousands of them.
    const BATCH: usize = 256;
    let mut read = Vec::new();
    for part in refs {
        if may_skip && store.held(part) {
            all.outcome.held.push(part.sha256.clone());
        } else {
            read.push(part);
        }
    }
    let against = Against {
        keyring,
        source,
        owners,
        held: &held,
    };
    for batch in read.chunks(BATCH) {
        use rayon::prelude::*;
        let caches: Vec<Option<Vec<u8>>> = batch.iter().map(|part| store.cached(part)).collect();
        let reused: Vec<Option<(Checked, CheckReport)>> = batch
            .par_iter()
            .zip(caches.into_par_iter())
            .map(|(part, bytes)| {
                let cache: CheckedCache = serde_json::from_slice(&bytes?).ok()?;
                cache.part_entries(&part.sha256, owners, keyring, source)
            })
            .collect();
        // The parts to check are read here, one at a time, and checked on every core: each
        // is small (a few hundred words), so a part per core keeps both busy.
        let bytes: Vec<Option<Result<Vec<u8>, String>>> = batch
            .iter()
            .zip(&reused)
            .map(|(part, reused)| reused.is_none().then(|| store.bytes(part)))
            .collect();
        let taken: Vec<Result<Taken, PartError>> = batch
            .par_iter()
            .zip(reused.into_par_iter().zip(bytes.into_par_iter()))
            .map(|(part, (reused, bytes))| match (reused, bytes) {
                (Some(reused), _) => Ok(Taken::Reused(Box::new(reused))),
                (None, Some(bytes)) => check_part(part, bytes, &against)
                    .map(|checked| Taken::Checked(Box::new(checked))),
                (None, None) => unreachable!("a part not reused is read"),
            })
            .collect();
        for (part, taken) in batch.iter().zip(taken) {
            take(part, taken?, &mut all, store);
        }
    }
    Ok(all)
}

/// One part's words: from its cache, or checked now (with the cache to keep).
enum Taken {
    Reused(Box<(Checked, CheckReport)>),
    Checked(Box<(Checked, CheckReport, CheckedCache)>),
}

/// What a part is checked against.
struct Against<'a> {
    keyring: &'a Keyring,
    source: &'a Source,
    owners: Option<&'a BTreeSet<Fingerprint>>,
    held: &'a check::Held,
}

/// Checks one part, read as `bytes`, against its digest, bin and count, then its words.
fn check_part(
    part: &PartRef,
    bytes: Result<Vec<u8>, String>,
    against: &Against<'_>,
) -> Result<(Checked, CheckReport, CheckedCache), PartError> {
    let mut one = RepoContents {
        parts: vec![part.clone()],
        ..Default::default()
    };
    let mut skipped = Vec::new();
    let bytes = bytes.map_err(|why| PartError {
        path: part.path(),
        why,
    })?;
    let mut source = std::collections::BTreeMap::from([(part.sha256.clone(), bytes)]);
    parts::expand(&mut one, &mut skipped, &mut source)?;
    let (checked, report) = check::check_all(
        &one,
        &skipped,
        against.keyring,
        against.source,
        against.held,
    );
    let keys_seen = KeysSeen::of(against.keyring, &report);
    let cache = CheckedCache::of_part(&part.sha256, keys_seen, against.owners, &checked, &report);
    Ok((checked, report, cache))
}

/// Takes one part's words into `all`.
fn take(part: &PartRef, taken: Taken, all: &mut PartsChecked, store: &mut dyn PartStore) {
    let (mut checked, report) = match taken {
        Taken::Reused(reused) => *reused,
        Taken::Checked(checked) => {
            let (checked, report, cache) = *checked;
            store.keep_checked(part, &cache);
            all.outcome.fresh.push(part.sha256.clone());
            (checked, report)
        }
    };
    all.checked.files.append(std::mem::take(&mut checked.files));
    all.checked.vouches.append(&mut checked.vouches);
    all.outcome
        .reports
        .push((part.sha256.clone(), report.clone()));
    all.report.absorb(report);
}
