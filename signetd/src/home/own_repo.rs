//! The user's own repository on disk: `repo/repo.json`, read and checked at start, written
//! atomically after every change. Past `publish.parts_above` attestations it is written in the
//! large-publisher layout (docs/FORMATS.md, "Parts"): `repo.json` signs the digests of
//! `repo/parts/SHA256.json`, each written before the `repo.json` that names it.

use std::collections::BTreeSet;
use std::path::Path;

use signet_proto::formats::{self, PartRef, RepoContents, Signed, Skipped};
use signet_proto::json::Value;

use crate::core::accept::{CheckedCache, PartStore};
use crate::core::parts::{self, PartFile, PartSource};

use crate::core::check::MAX_OWN_REPO_LEN;
use crate::core::keyring::Keyring;
use crate::core::signature;
use crate::home::{Home, store};

/// The user's repository as read from disk.
pub struct OwnRepo {
    pub contents: RepoContents,
    pub skipped: Vec<Skipped>,
}

/// Reads and checks `repo/repo.json` against the owner's certificate. `Ok(None)` when there is
/// none yet; `Err` says what is wrong with it, for a person to repair.
pub fn load_own(
    home: &Home,
    keyring: &Keyring,
    owner: Option<&signet_proto::formats::Fingerprint>,
) -> Result<Option<OwnRepo>, String> {
    let path = home.repo_file();
    let bytes = match store::read_bounded(&path, MAX_OWN_REPO_LEN) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(e) => return Err(format!("{e:#}")),
    };
    let signed = formats::parse_signed_repo(&bytes).map_err(|e| e.to_string())?;
    let owner = owner.ok_or_else(|| {
        format!(
            "it is signed by {} but this home has no key (keys/ is missing)",
            signed.key
        )
    })?;
    if &signed.key != owner {
        return Err(format!(
            "it is signed by {}, not by this home's key {owner}",
            signed.key
        ));
    }
    let cert = &keyring
        .get(owner)
        .ok_or_else(|| format!("the certificate of {owner} is missing"))?
        .cert;
    signature::check(&signed, cert).map_err(|e| format!("its signature does not verify: {e}"))?;
    let (mut contents, mut skipped) = RepoContents::read(signed.data).map_err(|e| e.to_string())?;
    parts::expand(
        &mut contents,
        &mut skipped,
        &mut PartDir::of(&home.repo_dir()),
    )
    .map_err(|e| e.to_string())?;
    Ok(Some(OwnRepo { contents, skipped }))
}

/// Most bytes one part file may hold, written or read: a part holds one bin's attestations,
/// about 130 KB at a million attestations.
pub const MAX_PART_BYTES: u64 = 16 << 20;

/// The part files stored in a directory (`repo/parts/`, a remote's `parts/`), read by digest,
/// and for a remote the caches of their checks (`checked/`) and the parts whose words the
/// daemon holds already.
pub struct PartDir {
    parts: std::path::PathBuf,
    checked: Option<std::path::PathBuf>,
    held: BTreeSet<String>,
}

/// Where a remote keeps the caches of its parts' checks, beside `parts/`.
pub const CHECKED_PARTS_DIR: &str = "checked";

impl PartDir {
    /// The parts beside a `repo.json` in `dir`.
    pub fn of(dir: &Path) -> Self {
        PartDir {
            parts: dir.join(formats::PARTS_DIR),
            checked: None,
            held: BTreeSet::new(),
        }
    }

    /// The parts of a remote stored in `dir`, with the caches of their checks.
    pub fn of_remote(dir: &Path) -> Self {
        PartDir {
            checked: Some(dir.join(CHECKED_PARTS_DIR)),
            ..PartDir::of(dir)
        }
    }

    /// These parts' words are held already: a check skips them ([`PartStore::held`]).
    pub fn holding(self, held: BTreeSet<String>) -> Self {
        PartDir { held, ..self }
    }

    /// The cache of the check of the part whose digest is `sha256`, when one was kept.
    pub fn checked_of(&self, sha256: &str) -> Option<CheckedCache> {
        serde_json::from_slice(&self.checked_bytes(sha256)?).ok()
    }

    /// The bytes of that cache.
    fn checked_bytes(&self, sha256: &str) -> Option<Vec<u8>> {
        let path = self.checked.as_ref()?.join(format!("{sha256}.json"));
        store::read_bounded(&path, 1 << 30).ok()?
    }

    /// Keeps the cache of a part checked now (a remote's only), never synced: a cache is read
    /// only when it parses, names this part's digest and the keys it rests on still hold, so
    /// one lost or torn by a crash costs its part's check again, nothing more.
    fn save_checked(&self, sha256: &str, cache: &CheckedCache) -> anyhow::Result<()> {
        let Some(dir) = &self.checked else {
            return Ok(());
        };
        store::private_dir(dir)?;
        let bytes = serde_json::to_vec(cache)?;
        store::write_cache(&dir.join(format!("{sha256}.json")), &bytes, 0o600)
    }

    /// The directory of the part files.
    pub fn dir(&self) -> &Path {
        &self.parts
    }

    /// The file of the part whose digest is `sha256`.
    pub fn path(&self, sha256: &str) -> std::path::PathBuf {
        self.parts.join(format!("{sha256}.json"))
    }

    pub fn holds(&self, sha256: &str) -> bool {
        self.path(sha256).is_file()
    }

    /// Writes the parts not held yet, each atomically, all durable once this returns (a
    /// part's name is its digest, so one already there is the same bytes): a few each with
    /// its own sync, many with one sync of the file system.
    pub fn write(&self, files: &[PartFile], mode: u32) -> anyhow::Result<()> {
        let new: Vec<&PartFile> = files
            .iter()
            .filter(|f| !self.holds(&f.part.sha256))
            .collect();
        if !new.is_empty() {
            std::fs::create_dir_all(&self.parts)?;
        }
        let batch = store::Batch::of(new.len());
        for file in &new {
            batch.write(&self.path(&file.part.sha256), &file.bytes, mode)?;
        }
        batch.sync(&self.parts)
    }

    /// Removes these part files (and their caches), when there.
    pub fn remove(&self, parts: &BTreeSet<String>) {
        for dir in std::iter::once(&self.parts).chain(&self.checked) {
            for part in parts.iter().filter(|p| PartRef::is_digest(p)) {
                let _ = std::fs::remove_file(dir.join(format!("{part}.json")));
            }
        }
    }

    /// Removes the part files (and their caches) not in `keep`; a file of any other name is
    /// left alone.
    pub fn keep_only(&self, keep: &BTreeSet<String>) {
        for dir in std::iter::once(&self.parts).chain(&self.checked) {
            keep_only_in(dir, keep);
        }
    }
}

fn keep_only_in(dir: &Path, keep: &BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(digest) = name.strip_suffix(".json") else {
            continue;
        };
        if PartRef::is_digest(digest) && !keep.contains(digest) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

impl PartSource for PartDir {
    fn bytes(&mut self, part: &PartRef) -> Result<Vec<u8>, String> {
        let path = self.path(&part.sha256);
        match store::read_bounded(&path, MAX_PART_BYTES) {
            Ok(Some(bytes)) if crate::core::accept::sha256_hex(&bytes) == part.sha256 => Ok(bytes),
            // Torn by a crash, or changed by hand: removed, so that the next fetch of a
            // remote downloads it again rather than refusing every copy that names it.
            Ok(Some(_)) => {
                let _ = std::fs::remove_file(&path);
                Err(
                    "the stored part is damaged (removed: the next fetch downloads it again)"
                        .into(),
                )
            }
            Ok(None) => Err("missing".into()),
            Err(e) => Err(format!("{e:#}")),
        }
    }
}

impl PartStore for PartDir {
    fn cached(&mut self, part: &PartRef) -> Option<Vec<u8>> {
        self.checked_bytes(&part.sha256)
    }

    fn held(&self, part: &PartRef) -> bool {
        self.held.contains(&part.sha256)
    }

    fn keep_checked(&mut self, part: &PartRef, cache: &CheckedCache) {
        if let Err(e) = self.save_checked(&part.sha256, cache) {
            tracing::warn!(part = %part.sha256, "could not keep the part's check: {e:#}");
        }
    }
}

/// The digests of the parts a stored `repo.json` names (none for the seed format, or when it
/// cannot be read).
pub fn parts_named(repo_file: &Path) -> BTreeSet<String> {
    parts_listed(repo_file)
        .unwrap_or_default()
        .into_iter()
        .map(|p| p.sha256)
        .collect()
}

/// The parts a stored `repo.json` lists (none for the seed format, or when it is not a
/// repository); `Err` when it cannot be read.
fn parts_listed(repo_file: &Path) -> anyhow::Result<Vec<PartRef>> {
    Ok(store::read_bounded(repo_file, MAX_OWN_REPO_LEN)?
        .and_then(|bytes| formats::parse_signed_repo(&bytes).ok())
        .and_then(|signed| RepoContents::read_top(&signed.data).ok())
        .map(|(_, parts)| parts)
        .unwrap_or_default())
}

/// The own repository's next files: the `data` to sign, and the part files when it is
/// written in parts (more than `parts_above` attestations).
pub fn layout(contents: &RepoContents, parts_above: usize) -> (Value, Vec<PartFile>) {
    let count = contents.count();
    if count <= parts_above {
        return (contents.to_data(), Vec::new());
    }
    let split = parts::split(contents, parts::digits_for(count));
    (split.top, split.files)
}

/// What the next version of the own repository changes: the lists replaced, by the id they
/// are filed under (each the whole list as it will be), its serial and when it was written.
pub struct Change {
    pub lists: std::collections::BTreeMap<String, Vec<Signed>>,
    /// The attestations the repository holds once changed.
    pub count: usize,
    pub serial: u64,
    pub updated: String,
}

impl Change {
    /// The change filing `words` in `base` (of `count` attestations) makes, written `updated`,
    /// each word replacing its key's earlier word under its id; and whether each replaced one.
    pub fn filing(
        base: &RepoContents,
        count: usize,
        words: &[(String, Signed)],
        updated: String,
    ) -> (Change, Vec<bool>) {
        let mut lists: std::collections::BTreeMap<String, Vec<Signed>> = Default::default();
        let mut replaced = Vec::with_capacity(words.len());
        for (under, word) in words {
            let list = lists
                .entry(under.clone())
                .or_insert_with(|| base.attestations.get(under).cloned().unwrap_or_default());
            let before = list.len();
            list.retain(|a| a.key != word.key);
            replaced.push(list.len() != before);
            list.push(word.clone());
        }
        let before: usize = lists
            .keys()
            .filter_map(|id| base.attestations.get(id))
            .map(Vec::len)
            .sum();
        let after: usize = lists.values().map(Vec::len).sum();
        let change = Change {
            count: count - before + after,
            lists,
            serial: base.serial + 1,
            updated,
        };
        (change, replaced)
    }

    /// `base` with the change made.
    pub fn apply(&self, base: &mut RepoContents) {
        for (id, list) in &self.lists {
            if list.is_empty() {
                base.attestations.remove(id);
            } else {
                base.attestations.insert(id.clone(), list.clone());
            }
        }
        base.serial = self.serial;
        base.updated = Some(self.updated.clone());
    }
}

/// What is known of the own repository's parts on disk, held beside its contents
/// (`State::own_parts`) so that a write neither reads `repo.json` back to learn the parts it
/// names (5 ms at a million) nor lists the parts directory to find those to remove (4 ms).
/// Not known after a start, a re-key or a repair: the next write reads and lists.
#[derive(Debug, Clone, Default)]
pub struct PartsOnDisk {
    /// The serial of the version on disk this describes.
    pub serial: u64,
    /// The parts its `repo.json` names (none for the seed format).
    pub named: std::sync::Arc<[PartRef]>,
    /// Part files still on disk that it no longer names: the version before named them, for
    /// a follower fetching that version meanwhile. The next write removes them.
    pub stale: BTreeSet<String>,
}

/// The next version's files: the `data` to sign and the new part files. In parts, made from
/// the version on disk, only the bins the change touches are made again; otherwise (the seed
/// format, or a repository taking another number of bin digits) from the whole. `known` is
/// what is known of the version on disk (else its `repo.json` is read).
pub fn layout_next(
    home: &Home,
    base: &RepoContents,
    known: Option<&PartsOnDisk>,
    change: &Change,
    parts_above: usize,
) -> anyhow::Result<Laid> {
    let known = known.filter(|k| k.serial == base.serial);
    let read;
    let previous: &[PartRef] = match known {
        Some(known) => &known.named,
        None => {
            read = parts_listed(&home.repo_file())?;
            &read
        }
    };
    let count = change.count;
    let mut split = None;
    if count > parts_above {
        let top = RepoContents {
            serial: change.serial,
            updated: Some(change.updated.clone()),
            extra: base.extra.clone(),
            ..Default::default()
        };
        let mut source = PartDir::of(&home.repo_dir());
        let digits = parts::digits_for(count);
        split = parts::split_changed(&top, previous, &change.lists, digits, &mut source)?;
    }
    let (data, files, named) = match split {
        Some(split) => (split.top, split.files, split.parts),
        None => {
            let mut whole = base.clone();
            change.apply(&mut whole);
            let (data, files) = layout(&whole, parts_above);
            let named = files.iter().map(|f| f.part.clone()).collect();
            (data, files, named)
        }
    };
    // The parts on disk once written: those named now, and those the version replaced named
    // (kept one version longer). What was stale before goes, unless named again.
    let named_now: BTreeSet<&str> = named.iter().map(|p| p.sha256.as_str()).collect();
    let no_longer = |digest: &&String| !named_now.contains(digest.as_str());
    let stale = previous
        .iter()
        .map(|p| &p.sha256)
        .filter(no_longer)
        .cloned()
        .collect();
    let remove = match known {
        Some(known) => Removal::Exactly(known.stale.iter().filter(no_longer).cloned().collect()),
        None => {
            let mut keep: BTreeSet<String> = previous.iter().map(|p| p.sha256.clone()).collect();
            keep.extend(named_now.iter().map(|d| d.to_string()));
            Removal::AllBut(keep)
        }
    };
    Ok(Laid {
        data,
        files: OwnFiles {
            repo: Vec::new(),
            parts: files,
            remove,
        },
        on_disk: PartsOnDisk {
            serial: change.serial,
            named: named.into(),
            stale,
        },
    })
}

/// The next version of the own repository before it is signed.
pub struct Laid {
    /// The `data` to sign.
    pub data: Value,
    /// Its files, `repo.json` still empty.
    pub files: OwnFiles,
    /// The parts on disk once it is written.
    pub on_disk: PartsOnDisk,
}

/// A signed next version of the own repository, as files.
#[derive(Clone)]
pub struct OwnFiles {
    /// `repo.json`.
    pub repo: Vec<u8>,
    pub parts: Vec<PartFile>,
    /// The part files to remove once it is written.
    pub remove: Removal,
}

/// Which part files a write removes once `repo.json` is installed.
#[derive(Clone)]
pub enum Removal {
    /// These, known to be on disk and named by neither this version nor the one before.
    Exactly(BTreeSet<String>),
    /// Every part file but these (what this version and the one before name), found by
    /// listing the directory: what is on disk is not known.
    AllBut(BTreeSet<String>),
}

/// Writes the own repository: the parts not yet there, then `repo.json` atomically, then
/// drops the parts neither it nor the version it replaced names (a follower fetching that
/// version meanwhile still finds its parts).
pub fn write_files(home: &Home, files: &OwnFiles) -> anyhow::Result<()> {
    std::fs::create_dir_all(home.repo_dir())?;
    let dir = PartDir::of(&home.repo_dir());
    dir.write(&files.parts, 0o644)?;
    store::write_atomic(&home.repo_file(), &files.repo, 0o644)?;
    match &files.remove {
        Removal::Exactly(stale) => dir.remove(stale),
        Removal::AllBut(keep) => dir.keep_only(keep),
    }
    Ok(())
}

/// The bytes of `repo.json` for a signed repository: its canonical form, one line.
pub fn file_bytes(signed: &Signed) -> Vec<u8> {
    let mut bytes = signed.to_value().canonical().into_bytes();
    bytes.push(b'\n');
    bytes
}
