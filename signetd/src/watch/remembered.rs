//! `watches.json`: the watched directories, remembered across restarts and watched again at
//! start. A file that cannot be read is reported and never written over.

use super::*;

/// `watches.json`: the watched directories.
#[derive(Debug, Default, Serialize, Deserialize)]
struct WatchesFile {
    watches: Vec<WatchedPath>,
}

#[derive(Debug, Serialize, Deserialize)]
struct WatchedPath(#[serde(with = "signet_proto::wire_path")] PathBuf);

impl Watches {
    /// Remembers the watched directories in `watches.json`, off the async threads.
    pub(super) async fn save_watches(&self) -> Result<(), WatchError> {
        if let Some(damage) = lock(&self.table.file_damage).clone() {
            return Err(WatchError::Damaged(damage));
        }
        let file = WatchesFile {
            watches: lock(&self.table.roots)
                .keys()
                .cloned()
                .map(WatchedPath)
                .collect(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).expect("paths serialize");
        bytes.push(b'\n');
        let path = self.shared.home.watches_file();
        blocking("saving watches.json", move || {
            crate::home::store::write_atomic(&path, &bytes, 0o600)
        })
        .await?
        .map_err(|e| {
            NotSaved::new(
                "watches.json",
                e,
                "the directories watched are as they were",
            )
            .into()
        })
    }

    /// Watches again what was watched before the restart, in a task of its own; a directory
    /// that cannot be watched now stays listed, with the reason. Before anything is served:
    /// `watches.json` is read (its damage known to the first request, and never written
    /// over), and the task holds `applying` until every directory is watched again — a
    /// `watch add` or `watch remove` waits for it, rather than saving a list that lacks the
    /// directories not resumed yet.
    pub async fn resume_watches(self: &Arc<Self>) {
        let applying = self.table.applying.clone().lock_owned().await;
        let Some(file) = self.remembered() else {
            return;
        };
        let resuming = self.clone();
        tokio::spawn(async move {
            resuming.resume(file).await;
            drop(applying);
        });
    }

    /// `watches.json` as read at start, its damage recorded.
    fn remembered(&self) -> Option<WatchesFile> {
        let path = self.shared.home.watches_file();
        let read = crate::home::store::read_bounded(&path, MAX_WATCHES_FILE);
        let why = match read {
            Ok(None) => return None,
            Ok(Some(bytes)) => match serde_json::from_slice::<WatchesFile>(&bytes) {
                Ok(file) => return Some(file),
                Err(e) => e.to_string(),
            },
            Err(e) => format!("{e:#}"),
        };
        let damage = Damage { file: path, why };
        tracing::error!("{damage}");
        *lock(&self.table.file_damage) = Some(damage);
        None
    }

    /// Watches the directories of a `watches.json` read at start (`applying` held).
    async fn resume(self: &Arc<Self>, file: WatchesFile) {
        for WatchedPath(root) in file.watches {
            let rules = match self.rules_for(&root).await {
                Ok(rules) => Arc::new(rules),
                Err(e) => {
                    tracing::error!("{e}");
                    return;
                }
            };
            if let Err(e) = self.start_watching(root.clone(), rules.clone()).await {
                let message = e.to_rpc().message;
                tracing::warn!(root = %root.display(), "cannot watch: {message}");
                lock(&self.table.roots).insert(
                    root,
                    Root {
                        rules,
                        skipped: 0,
                        error: Some(message),
                        scan_ms: 0,
                    },
                );
            }
        }
    }
}
