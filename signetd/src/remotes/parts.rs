//! A remote in the large-publisher layout (docs/FORMATS.md, "Parts"): the parts its
//! `repo.json` names that are not stored yet are downloaded into `remotes/NAME/parts/` before
//! the copy is checked — only once the top document's signature and serial would let it be
//! taken — and the parts no longer named are dropped once a copy is stored.

use std::path::Path;

use signet_proto::formats::{ContentId, Fingerprint};

use super::Remotes;
use super::record;
use crate::core::accept::{self, Accepted, RemoteRecord};
use crate::core::check::CheckReport;
use crate::errors::blocking;
use crate::home::own_repo::{MAX_PART_BYTES, PartDir};
use crate::home::store;
use crate::state::PartReports;

impl Remotes {
    /// Downloads the parts of `repo` (a fetched `repo.json`) not yet stored for the remote,
    /// adding a line to `requests`. Nothing for the seed format. `Err` says why the copy
    /// cannot be taken (a refused top document, a part missing or not the one named).
    pub(super) async fn fetch_parts(
        &self,
        record: &RemoteRecord,
        key: &[u8],
        repo: &[u8],
        requests: &mut Vec<String>,
    ) -> Result<(), String> {
        let keyring = self.shared.read().keyring.clone();
        let (dir, checked) = (record::dir(&self.shared.home, &record.name), record.clone());
        let (key, repo) = (key.to_vec(), repo.to_vec());
        let wanted = blocking("reading the repository's parts", move || {
            let signed = signet_proto::formats::parse_signed_repo(&repo)
                .map_err(|e| accept::Refusal::BadRepo(e.to_string()))?;
            let held = PartDir::of(&dir);
            let parts = accept::parts_to_fetch(&checked, &key, &signed, &keyring)?;
            Ok::<_, accept::Refusal>((
                parts.len(),
                parts
                    .into_iter()
                    .filter(|p| !held.holds(&p.sha256))
                    .collect::<Vec<_>>(),
            ))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|refusal| refusal.to_string())?;
        let (named, missing) = wanted;
        if named == 0 {
            return Ok(());
        }
        let held = PartDir::of(&record::dir(&self.shared.home, &record.name));
        let limits = self.shared.config().http_limits();
        let max_total = self.shared.config().fetch.max_parts_bytes;
        let batch = store::Batch::of(missing.len());
        let got = signet_fetch::parts::download(
            self.client_for(record),
            &limits,
            &record.url,
            &missing,
            MAX_PART_BYTES,
            max_total,
            |part, bytes| {
                // Small files, written as they come (the runtime's blocking pool is not worth a
                // round trip each); named by their digest, so a part stored for a copy that is
                // refused later is harmless and dropped at the next store.
                let path = held.path(&part.sha256);
                store::private_dir(held.dir())
                    .and_then(|()| batch.write(&path, &bytes, 0o600))
                    .map_err(|e| format!("storing {}: {e:#}", part.path()))
            },
        )
        .await;
        // Durable before anything names them (a few synced one by one as written, many with one
        // sync); a part torn by a crash before this is found damaged by its digest and fetched
        // again.
        let parts_dir = held.dir().to_path_buf();
        if got.is_ok() {
            blocking("syncing the parts", move || batch.sync(&parts_dir))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("{e:#}"))?;
        }
        let line = |outcome: &str| {
            format!(
                "GET {}{}/: {} of the {named} parts named were new... {outcome}",
                record.url,
                signet_proto::formats::PARTS_DIR,
                missing.len()
            )
        };
        match got {
            Ok(done) => {
                requests.push(line(&format!("done ({} bytes).", done.bytes)));
                Ok(())
            }
            Err(why) => {
                requests.push(line("failed."));
                Err(why)
            }
        }
    }

    /// Drops the stored parts (and their caches) the remote's accepted copy does not name.
    pub(super) fn drop_unnamed_parts(
        home: &crate::home::Home,
        name: &str,
        named: &std::collections::BTreeSet<String>,
    ) {
        PartDir::of_remote(&record::dir(home, name)).keep_only(named);
    }
}

/// How an accepted copy in parts changes what the index holds of the remote.
pub(super) struct PartsUpdate {
    /// What each part of the new copy found.
    pub reports: PartReports,
    /// When parts already held were skipped: the words of the parts the new copy no longer
    /// names, to drop, the accepted entries being those of the new parts only. `None`: the
    /// entries are the whole copy's.
    pub dropped: Option<Dropped>,
}

/// The words of parts a new copy no longer names.
pub(super) struct Dropped {
    pub ids: Vec<ContentId>,
    /// Trust statements, as `(key, about)`.
    pub statements: Vec<(Fingerprint, Fingerprint)>,
}

/// The update an accepted copy in parts makes, given the parts whose words are `held` (the
/// copy accepted before); its report made the whole copy's. `None` when a part held must be
/// dropped but its cache, which says what it holds, is gone: then the copy is checked whole.
pub(super) fn settle(
    dir: &Path,
    held: Option<&PartReports>,
    accepted: &mut Accepted,
) -> Option<Option<PartsUpdate>> {
    let Some(outcome) = &accepted.parts else {
        return Some(None); // the seed format
    };
    let mut reports: PartReports = outcome.reports.iter().cloned().collect();
    if outcome.held.is_empty() {
        return Some(Some(PartsUpdate {
            reports,
            dropped: None,
        }));
    }
    let held = held?;
    for sha in &outcome.held {
        reports.insert(sha.clone(), held.get(sha)?.clone());
    }
    let mut ids = Vec::new();
    let mut statements = Vec::new();
    let store = PartDir::of_remote(dir);
    for gone in held.keys().filter(|sha| !reports.contains_key(*sha)) {
        let cache = store.checked_of(gone)?;
        for entry in &cache.entries {
            ids.push(ContentId::parse(&entry.0).ok()?);
        }
        statements.extend(
            cache
                .vouches
                .iter()
                .map(|v| (v.key.clone(), v.about.clone())),
        );
    }
    let mut whole = CheckReport::default();
    for report in reports.values() {
        whole.absorb(report.clone());
    }
    accepted.report = whole;
    Some(Some(PartsUpdate {
        reports,
        dropped: Some(Dropped { ids, statements }),
    }))
}
