//! `config.json`: the daemon's settings. Absent means defaults; malformed stops the daemon with
//! a message naming the file, since a misread policy could change verdicts.

use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// Largest config file read.
const MAX_CONFIG_LEN: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub verify: VerifyPolicy,
    /// Cap on one protocol message, in bytes.
    pub max_message_bytes: usize,
    /// Connections served at once; more are told the daemon is busy.
    pub max_connections: usize,
    /// Seconds a client may take to finish a message it has started sending.
    pub message_timeout_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerifyPolicy {
    /// How many trusted keys must say ok for a file to be ok.
    pub threshold: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            verify: VerifyPolicy::default(),
            max_message_bytes: signet_proto::rpc::DEFAULT_MAX_MESSAGE,
            max_connections: 512,
            message_timeout_secs: 10,
        }
    }
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        VerifyPolicy { threshold: 1 }
    }
}

impl Config {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let Some(bytes) = crate::store::read_bounded(path, MAX_CONFIG_LEN)? else {
            return Ok(Config::default());
        };
        let config: Config = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a valid Signet config", path.display()))?;
        anyhow::ensure!(
            config.verify.threshold >= 1,
            "{}: verify.threshold must be at least 1",
            path.display()
        );
        Ok(config)
    }
}
