//! `config.get` and `config.set`: the settings as one snapshot, replaced whole.

use std::sync::Arc;

use signet_proto::rpc::{ErrorCode, RpcError};

use super::{Daemon, blocking, err};
use crate::config::Config;

impl Daemon {
    pub fn config_get(
        &self,
        p: signet_proto::api::ConfigGetParams,
    ) -> Result<signet_proto::api::ConfigValue, RpcError> {
        let all = self.config().to_json();
        let value = match &p.key {
            None => all,
            Some(key) => crate::config::setting(&all, key).cloned().ok_or_else(|| {
                err(
                    ErrorCode::InvalidParams,
                    format!("there is no setting {key:?}: `sig config` lists them"),
                )
            })?,
        };
        Ok(signet_proto::api::ConfigValue { key: p.key, value })
    }

    /// Changes one setting: checked, written to `config.json`, and in effect at once (a
    /// verdict policy re-judges every watched file; a sync interval reschedules).
    pub async fn config_set(
        &self,
        p: signet_proto::api::ConfigSetParams,
    ) -> Result<signet_proto::api::ConfigValue, RpcError> {
        let _writer = self.writer.lock().await;
        let config = self
            .config()
            .with(&p.key, p.value)
            .map_err(|why| err(ErrorCode::InvalidParams, why))?;
        self.save_config(config).await?;
        self.config_get(signet_proto::api::ConfigGetParams { key: Some(p.key) })
    }

    /// Writes `config.json` and puts the settings in effect.
    pub(crate) async fn save_config(&self, config: Config) -> Result<(), RpcError> {
        let path = self.home.config_file();
        let saved = config.clone();
        blocking("saving the config", move || saved.save(&path))
            .await?
            .map_err(|e| {
                err(
                    ErrorCode::Storage,
                    format!("{e:#}; the settings are unchanged"),
                )
            })?;
        let policy_changed = config.verify.rule() != self.config().verify.rule();
        self.config.store(Arc::new(config));
        if policy_changed {
            self.verdicts_stale.notify_one();
        }
        self.sync_wake.notify_one();
        Ok(())
    }
}
