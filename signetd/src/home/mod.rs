//! The files under `SIGNET_HOME`: where each lives (`Home`), how they are written (`store`:
//! atomic, durable, never through a planted name) and read (bounded, regular files only), the
//! lock that keeps one daemon per home, and what is reported when one is damaged.

pub mod certs;
pub mod damage;
pub mod lock;
pub mod own_repo;
pub mod store;

use std::path::PathBuf;

/// The paths of a Signet home.
#[derive(Debug, Clone)]
pub struct Home {
    pub root: PathBuf,
}

impl Home {
    pub fn new(root: PathBuf) -> Self {
        Home { root }
    }
    pub fn repo_dir(&self) -> PathBuf {
        self.root.join(signet_proto::paths::REPO_DIR)
    }
    pub fn repo_file(&self) -> PathBuf {
        self.repo_dir().join(signet_proto::paths::REPO_FILE)
    }
    pub fn public_key_file(&self) -> PathBuf {
        self.repo_dir().join(signet_proto::paths::KEY_FILE)
    }
    pub fn keys_dir(&self) -> PathBuf {
        self.root.join(signet_proto::paths::KEYS_DIR)
    }
    pub fn secret_key_file(&self) -> PathBuf {
        self.keys_dir().join("secret.asc")
    }
    pub fn trust_file(&self) -> PathBuf {
        self.root.join(signet_proto::paths::TRUST_FILE)
    }
    pub fn config_file(&self) -> PathBuf {
        self.root.join(signet_proto::paths::CONFIG_FILE)
    }
    /// The watched directories, remembered across restarts.
    pub fn watches_file(&self) -> PathBuf {
        self.root.join("watches.json")
    }
    pub fn lock_file(&self) -> PathBuf {
        self.root.join(signet_proto::paths::LOCK_FILE)
    }
}
