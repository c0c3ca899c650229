//! `config.get` and `config.set`: the settings as one snapshot, replaced whole.

use std::sync::Arc;

use signet_proto::rpc::ErrorCode;

use super::Shared;
use crate::config::Config;
use crate::errors::{Failure, NotSaved, TaskFailed, blocking};

/// Why `config.get` could not answer, or `config.set` changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("there is no setting {0:?}")]
    NoSetting(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    NotSaved(#[from] NotSaved),
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

impl Failure for ConfigError {
    fn code(&self) -> ErrorCode {
        match self {
            ConfigError::NoSetting(_) | ConfigError::Invalid(_) => ErrorCode::InvalidParams,
            ConfigError::NotSaved(e) => e.code(),
            ConfigError::Task(e) => e.code(),
        }
    }
    fn hint(&self) -> Option<String> {
        match self {
            ConfigError::NoSetting(_) => Some("`sig config` lists them".into()),
            ConfigError::NotSaved(e) => e.hint(),
            _ => None,
        }
    }
}

impl Shared {
    pub fn config_get(
        &self,
        p: signet_proto::api::ConfigGetParams,
    ) -> Result<signet_proto::api::ConfigValue, ConfigError> {
        let all = self.config().to_json();
        let value = match &p.key {
            None => all,
            Some(key) => crate::config::setting(&all, key)
                .cloned()
                .ok_or_else(|| ConfigError::NoSetting(key.clone()))?,
        };
        Ok(signet_proto::api::ConfigValue { key: p.key, value })
    }

    /// Changes one setting: checked, written to `config.json`, and in effect at once (a
    /// verdict policy re-judges every watched file; a sync interval reschedules).
    pub async fn config_set(
        &self,
        p: signet_proto::api::ConfigSetParams,
    ) -> Result<signet_proto::api::ConfigValue, ConfigError> {
        let _writer = self.writer.lock().await;
        let config = self
            .config()
            .with(&p.key, p.value)
            .map_err(ConfigError::Invalid)?;
        self.save_config(config).await?;
        self.config_get(signet_proto::api::ConfigGetParams { key: Some(p.key) })
    }

    /// Writes `config.json` and puts the settings in effect.
    pub(crate) async fn save_config(&self, config: Config) -> Result<(), ConfigError> {
        let path = self.home.config_file();
        let saved = config.clone();
        blocking("saving the config", move || saved.save(&path))
            .await?
            .map_err(|e| NotSaved::new("config.json", e, "the settings are unchanged"))?;
        let policy_changed = config.verify.rule() != self.config().verify.rule();
        let depth_changed = config.trust.max_depth != self.config().trust.max_depth;
        self.config.store(Arc::new(config));
        if depth_changed {
            // The write guard computes the web again, and wakes the refresh if that changed it.
            drop(self.write());
        }
        if policy_changed {
            self.events.verdicts_stale.notify_one();
        }
        // The scheduler counts due times again when `sync.interval_secs` moved.
        self.events.remotes_due.notify_one();
        Ok(())
    }
}
