//! A remote in the large-publisher layout (docs/FORMATS.md, "Parts"): the parts its
//! `repo.json` names that are not stored yet are downloaded into `remotes/NAME/parts/` before
//! the copy is checked — only once the top document's signature and serial would let it be
//! taken — and the parts no longer named are dropped once a copy is stored.

use super::Remotes;
use super::record;
use crate::core::accept::{self, RemoteRecord};
use crate::errors::blocking;
use crate::home::own_repo::{MAX_PART_BYTES, PartDir};
use crate::home::store;

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
                store::private_dir(path.parent().expect("in parts/"))
                    .and_then(|()| store::write_atomic(&path, &bytes, 0o600))
                    .map_err(|e| format!("storing {}: {e:#}", part.path()))
            },
        )
        .await;
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

    /// Drops the stored parts the remote's accepted `repo.json` no longer names.
    pub(super) fn drop_unnamed_parts(home: &crate::home::Home, name: &str) {
        let dir = record::dir(home, name);
        let named = crate::home::own_repo::parts_named(&dir.join(signet_proto::paths::REPO_FILE));
        PartDir::of_remote(&dir).keep_only(&named);
    }
}
