//! The large-publisher layout (docs/FORMATS.md, "Parts"): a repository's attestations split
//! into bins by the sha256 of the id they are filed under, each bin a static file named by the
//! digest of its bytes, every digest listed in the signed `repo.json`. One signature still
//! covers the whole state, so the seed format's rules (pinning, rollback, equivocation,
//! freeze, revocation) carry over unchanged; a follower downloads only the parts whose digest
//! it does not hold, and a part of another version cannot pass for one of this version.

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};
use signet_proto::formats::{self, PartRef, RepoContents, Signed, Skipped};
use signet_proto::json::Value;

/// The bin of an id: the first `digits` hex digits of the sha256 of the string it is filed
/// under. Hashed rather than read off the id, so that bins are even whatever the ids are
/// (trust statements are filed under fingerprints, some ids under other algorithms).
pub fn bin_of(filed_under: &str, digits: usize) -> String {
    let digest = Sha256::digest(filed_under.as_bytes());
    let mut hex = formats::hex_lower(&digest[..digits.div_ceil(2)]);
    hex.truncate(digits);
    hex
}

/// Bin digits for a repository of `count` attestations: those that make one new attestation
/// cheapest to follow — the signed top document grows with the number of bins (about 100
/// bytes each), a part with the attestations per bin (about 550 bytes each). A million
/// attestations take 3 digits: a 400 KB top document and parts of about 130 KB.
pub fn digits_for(count: usize) -> usize {
    const PER_BIN_ENTRY: f64 = 100.0;
    const PER_ATTESTATION: f64 = 550.0;
    (1..=PartRef::MAX_BIN_DIGITS)
        .min_by(|a, b| {
            let cost = |d: &usize| {
                let bins = (1u64 << (4 * d)) as f64;
                bins * PER_BIN_ENTRY + count as f64 / bins * PER_ATTESTATION
            };
            cost(a).total_cmp(&cost(b))
        })
        .unwrap_or(1)
}

/// One part file of a repository being written.
#[derive(Debug, Clone)]
pub struct PartFile {
    pub part: PartRef,
    pub bytes: Vec<u8>,
}

/// A repository in the large-publisher layout: the `data` to sign (the contents without their
/// attestations, the parts listed) and the part files.
pub struct Split {
    pub top: Value,
    pub files: Vec<PartFile>,
    /// The parts `top` lists, in its order.
    pub parts: Vec<PartRef>,
}

/// Splits `contents` into parts of `digits` bin digits.
pub fn split(contents: &RepoContents, digits: usize) -> Split {
    let mut bins: BTreeMap<String, Vec<(&String, &Vec<Signed>)>> = BTreeMap::new();
    for (id, list) in &contents.attestations {
        bins.entry(bin_of(id, digits)).or_default().push((id, list));
    }
    let files: Vec<PartFile> = bins
        .into_iter()
        .map(|(bin, lists)| part_file(bin, lists))
        .collect();
    let top = RepoContents {
        attestations: BTreeMap::new(),
        serial: contents.serial,
        updated: contents.updated.clone(),
        parts: files.iter().map(|f| f.part.clone()).collect(),
        extra: contents.extra.clone(),
    };
    Split {
        top: top.to_data(),
        files,
        parts: top.parts,
    }
}

/// The part file of `bin` holding `lists`.
fn part_file(bin: String, lists: Vec<(&String, &Vec<Signed>)>) -> PartFile {
    let count = lists.iter().map(|(_, l)| l.len() as u64).sum();
    let mut bytes = formats::part_value(&bin, lists.into_iter())
        .canonical()
        .into_bytes();
    bytes.push(b'\n');
    let sha256 = formats::hex_lower(&Sha256::digest(&bytes));
    PartFile {
        part: PartRef { bin, sha256, count },
        bytes,
    }
}

/// The next version of a repository in parts, made from the version before: `previous` its
/// parts, `changed` the lists replaced (an empty list: the id's words removed). Only the bins
/// the changed ids fall in are made again, each from its previous part (read through `source`)
/// with the changed lists put in; `top` gives the rest of the data (serial, time, fields).
/// `None` when the repository now takes another number of bin digits than `previous` has:
/// then it is split whole. One new word in a million costs one part, not the million.
pub fn split_changed(
    top: &RepoContents,
    previous: &[PartRef],
    changed: &BTreeMap<String, Vec<Signed>>,
    digits: usize,
    source: &mut dyn PartSource,
) -> Result<Option<Split>, PartError> {
    if previous.first().map(|p| p.bin.len()) != Some(digits) {
        return Ok(None);
    }
    let mut by_bin: BTreeMap<String, PartRef> = previous
        .iter()
        .map(|p| (p.bin.clone(), p.clone()))
        .collect();
    let mut touched: BTreeMap<String, Vec<(&String, &Vec<Signed>)>> = BTreeMap::new();
    for (id, list) in changed {
        touched
            .entry(bin_of(id, digits))
            .or_default()
            .push((id, list));
    }
    let mut files = Vec::new();
    for (bin, lists) in touched {
        let mut held = RepoContents {
            parts: by_bin.get(&bin).cloned().into_iter().collect(),
            ..Default::default()
        };
        expand(&mut held, &mut Vec::new(), source)?;
        for (id, list) in lists {
            if list.is_empty() {
                held.attestations.remove(id);
            } else {
                held.attestations.insert(id.clone(), list.clone());
            }
        }
        if held.attestations.is_empty() {
            by_bin.remove(&bin);
            continue;
        }
        let file = part_file(bin.clone(), held.attestations.iter().collect());
        by_bin.insert(bin, file.part.clone());
        files.push(file);
    }
    let top = RepoContents {
        attestations: BTreeMap::new(),
        parts: by_bin.into_values().collect(),
        serial: top.serial,
        updated: top.updated.clone(),
        extra: top.extra.clone(),
    };
    Ok(Some(Split {
        top: top.to_data(),
        files,
        parts: top.parts,
    }))
}

/// Why a repository's parts could not be read into it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {why}")]
pub struct PartError {
    /// `parts/SHA256.json`.
    pub path: String,
    pub why: String,
}

/// Where a reader gets the bytes of a part `repo.json` names: a follower's stored parts, a
/// crawler's downloads. Whatever it returns is checked against the digest.
pub trait PartSource {
    fn bytes(&mut self, part: &PartRef) -> Result<Vec<u8>, String>;
}

/// A seed-format reader's source: it holds no parts.
pub struct NoParts;

impl PartSource for NoParts {
    fn bytes(&mut self, _: &PartRef) -> Result<Vec<u8>, String> {
        Err("not fetched: this reader takes repositories in the seed format only".into())
    }
}

impl PartSource for BTreeMap<String, Vec<u8>> {
    fn bytes(&mut self, part: &PartRef) -> Result<Vec<u8>, String> {
        self.remove(&part.sha256)
            .ok_or_else(|| "not fetched".to_owned())
    }
}

/// Reads every part `contents` names into its `attestations` (malformed attestations into
/// `skipped`, as in a whole `repo.json`), checking that each is exactly the part named — its
/// digest, its bin, every id in that bin, its count — so that a part of another version, or
/// one edited, is refused with the whole copy (mix-and-match).
pub fn expand(
    contents: &mut RepoContents,
    skipped: &mut Vec<Skipped>,
    source: &mut dyn PartSource,
) -> Result<(), PartError> {
    if !contents.parts.is_empty() && !contents.attestations.is_empty() {
        return Err(PartError {
            path: "repo.json".into(),
            why: "a repository in parts files every attestation in a part, none in repo.json"
                .into(),
        });
    }
    for part in std::mem::take(&mut contents.parts) {
        let fail = |why: String| PartError {
            path: part.path(),
            why,
        };
        let bytes = source.bytes(&part).map_err(fail)?;
        let digest = formats::hex_lower(&Sha256::digest(&bytes));
        if digest != part.sha256 {
            return Err(fail(format!(
                "its bytes have sha256 {digest}, not the digest repo.json names: a part of \
                 another version of the repository, or a damaged one"
            )));
        }
        let mut part_skipped = Vec::new();
        let (bin, lists) =
            formats::parse_part(&bytes, &mut part_skipped).map_err(|e| fail(e.to_string()))?;
        if bin != part.bin {
            return Err(fail(format!(
                "it is bin {:?}, not bin {} as repo.json says",
                signet_proto::text::shown(&bin.chars().take(20).collect::<String>()),
                part.bin
            )));
        }
        let count = lists.values().map(|l| l.len() as u64).sum::<u64>() + part_skipped.len() as u64;
        if count != part.count {
            return Err(fail(format!(
                "it holds {count} attestations, not {} as repo.json says",
                part.count
            )));
        }
        for (id, list) in lists {
            if bin_of(&id, part.bin.len()) != part.bin {
                return Err(fail(format!(
                    "{:?} is filed in bin {}, where it does not belong",
                    signet_proto::text::shown(&id.chars().take(100).collect::<String>()),
                    part.bin
                )));
            }
            if contents.attestations.contains_key(&id) {
                return Err(fail(format!(
                    "{:?} is filed twice",
                    signet_proto::text::shown(&id.chars().take(100).collect::<String>())
                )));
            }
            contents.attestations.insert(id, list);
        }
        skipped.extend(part_skipped);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_proto::formats::Fingerprint;

    fn contents(n: usize) -> RepoContents {
        let key = Fingerprint::parse(&"A".repeat(40)).unwrap();
        let mut contents = RepoContents {
            serial: 7,
            ..Default::default()
        };
        for i in 0..n {
            let id = format!("sha256:{:064x}", i);
            let data = formats::Statement::to_data(
                &formats::ContentId::parse(&id).unwrap(),
                true,
                true,
                "",
            );
            contents.attestations.insert(
                id,
                vec![
                    Signed {
                        data,
                        key: key.clone(),
                        sig: "AA==".into(),
                    }
                    .compact(),
                ],
            );
        }
        contents
    }

    fn source(split: &Split) -> BTreeMap<String, Vec<u8>> {
        split
            .files
            .iter()
            .map(|f| (f.part.sha256.clone(), f.bytes.clone()))
            .collect()
    }

    fn reread(split: &Split, parts: &mut dyn PartSource) -> Result<RepoContents, PartError> {
        let (mut back, mut skipped) = RepoContents::read(split.top.clone()).unwrap();
        expand(&mut back, &mut skipped, parts)?;
        assert!(skipped.is_empty());
        Ok(back)
    }

    #[test]
    fn a_split_repository_reads_back_as_it_was() {
        let whole = contents(300);
        let split = split(&whole, 2);
        assert!(split.files.len() > 150, "300 ids spread over 256 bins");
        assert!(
            split.top.as_object().unwrap()["attestations"]
                .as_object()
                .unwrap()
                .is_empty()
        );
        let back = reread(&split, &mut source(&split)).unwrap();
        assert!(back.attestations == whole.attestations);
        assert_eq!((back.serial, back.parts.len()), (7, 0));
        // Splitting is deterministic: the same contents, the same digests.
        assert_eq!(
            super::split(&whole, 2).top.canonical(),
            split.top.canonical()
        );
    }

    #[test]
    fn a_part_not_the_one_named_is_refused() {
        let old = split(&contents(50), 1);
        let mut grown = contents(50);
        grown.attestations.insert(
            format!("sha256:{:064x}", 999),
            grown.attestations.values().next().unwrap().clone(),
        );
        let new = split(&grown, 1);
        // The new top document with the old version's part of the bin that changed, served
        // under the new part's name.
        let changed = new
            .files
            .iter()
            .find(|f| !old.files.iter().any(|o| o.part.sha256 == f.part.sha256))
            .unwrap();
        let stale = old
            .files
            .iter()
            .find(|o| o.part.bin == changed.part.bin)
            .unwrap();
        let mut mixed = source(&new);
        mixed.insert(changed.part.sha256.clone(), stale.bytes.clone());
        let err = reread(&new, &mut mixed).unwrap_err();
        assert!(err.why.contains("another version"), "{err}");
        // A part moved to another bin's place, with its digest named there.
        let mut top = RepoContents::read(new.top.clone()).unwrap().0;
        let (a, b) = (top.parts[0].clone(), top.parts[1].clone());
        top.parts[0] = PartRef { bin: a.bin, ..b };
        let (mut back, mut skipped) = RepoContents::read(top.to_data()).unwrap();
        let err = expand(&mut back, &mut skipped, &mut source(&new)).unwrap_err();
        assert!(err.why.contains("not bin"), "{err}");
        // A missing part.
        let err = reread(&new, &mut NoParts).unwrap_err();
        assert!(err.path.starts_with("parts/"), "{err}");
    }

    /// The next version made from the one before is the version split whole: the same top
    /// document, byte for byte, with only the changed bins' parts new.
    #[test]
    fn a_version_made_from_the_one_before_is_the_whole_split() {
        let before = contents(300);
        let old = split(&before, 2);
        let mut after = before.clone();
        let new_id = format!("sha256:{:064x}", 1000);
        let word = before.attestations.values().next().unwrap().clone();
        let gone = before.attestations.keys().nth(5).unwrap().clone();
        let changed: BTreeMap<String, Vec<Signed>> =
            [(new_id.clone(), word.clone()), (gone.clone(), Vec::new())].into();
        after.attestations.insert(new_id, word);
        after.attestations.remove(&gone);
        after.serial += 1;
        let previous = RepoContents::read(old.top.clone()).unwrap().0.parts;
        let next = split_changed(&after, &previous, &changed, 2, &mut source(&old))
            .unwrap()
            .expect("the same digits");
        let whole = split(&after, 2);
        assert_eq!(next.top.canonical(), whole.top.canonical());
        assert!(
            next.files.len() <= 2,
            "{} parts made again",
            next.files.len()
        );
        for file in &next.files {
            assert!(whole.files.iter().any(|w| w.bytes == file.bytes));
        }
        assert!(
            split_changed(&after, &previous, &changed, 3, &mut source(&old))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn bins_and_digits() {
        assert_eq!(bin_of("sha256:00", 3).len(), 3);
        assert_eq!(bin_of("sha256:00", 4)[..3], bin_of("sha256:00", 3));
        assert_eq!(digits_for(1_000_000), 3);
        assert_eq!(digits_for(100_000), 2);
        assert!(digits_for(0) >= 1);
        // A top document listing bins out of order, or of two lengths, is malformed.
        let mut top = RepoContents::read(split(&contents(40), 1).top).unwrap().0;
        top.parts.swap(0, 1);
        assert!(RepoContents::read(top.to_data()).is_err());
    }
}
