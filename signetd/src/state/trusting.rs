//! Trust and the keys Signet knows: `trust.add|remove|list`, `keys.list`, and `trust.json`.

use signet_proto::api::{
    Candidates, KeyInfo, KeysListResult, KnownKey, TrustChange, TrustEntry, TrustListResult,
    TrustParams,
};
use signet_proto::formats::KeyQuery;
use signet_proto::rpc::{ErrorCode, RpcError};

use super::{Daemon, blocking, err, now_rfc3339};
use crate::core::index::Source;
use crate::core::trust::TrustFile;
use crate::home::damage::{Damage, Loaded};
use crate::home::{Home, store};

/// Largest `trust.json` read.
const MAX_TRUST_LEN: u64 = 16 << 20;

impl Daemon {
    pub async fn trust_add(&self, p: TrustParams) -> Result<TrustChange, RpcError> {
        let query =
            KeyQuery::parse(&p.key).map_err(|e| err(ErrorCode::InvalidParams, e.to_string()))?;
        let _writer = self.writer.lock().await;
        let (key, mut file) = {
            let s = self.read();
            let mut found: Vec<KeyInfo> = s
                .keyring
                .find(&query)
                .into_iter()
                .map(|c| c.info.clone())
                .collect();
            if found.is_empty()
                && let Some(fpr) = query.as_fingerprint()
            {
                // A full fingerprint may be trusted before its key is fetched.
                found.push(KeyInfo {
                    fingerprint: fpr,
                    user_id: String::new(),
                });
            }
            (pick_one(&query, found)?, s.trust.ready()?.clone())
        };
        if let Some(existing) = file
            .trusted
            .iter()
            .find(|e| e.fingerprint == key.fingerprint)
        {
            return Ok(TrustChange {
                entry: existing.clone(),
                changed: false,
            });
        }
        let entry = TrustEntry {
            fingerprint: key.fingerprint,
            user_id: key.user_id,
            added: now_rfc3339(),
            reason: p.reason,
        };
        file.trusted.push(entry.clone());
        self.save_trust(file).await?;
        Ok(TrustChange {
            entry,
            changed: true,
        })
    }

    pub async fn trust_remove(&self, p: TrustParams) -> Result<TrustChange, RpcError> {
        let query =
            KeyQuery::parse(&p.key).map_err(|e| err(ErrorCode::InvalidParams, e.to_string()))?;
        let _writer = self.writer.lock().await;
        let mut file = self.read().trust.ready()?.clone();
        let matching: Vec<KeyInfo> = file
            .trusted
            .iter()
            .filter(|e| query.matches(&e.fingerprint))
            .map(|e| KeyInfo {
                fingerprint: e.fingerprint.clone(),
                user_id: e.user_id.clone(),
            })
            .collect();
        if matching.is_empty() {
            let own = self.read().own.clone();
            if let Some(own) = own.filter(|o| query.matches(&o.fingerprint)) {
                return Err(err(
                    ErrorCode::InvalidParams,
                    format!(
                        "{} is your own key ({}): it stays trusted, since your own attestations \
                         always count; to stop using it, replace it with `sig setup --force`",
                        own.fingerprint, own.user_id
                    ),
                ));
            }
            return Err(err(
                ErrorCode::UnknownKey,
                format!(
                    "no trusted key matches {}: `sig trust list` shows them",
                    query.as_str()
                ),
            ));
        }
        let key = pick_one(&query, matching)?;
        let index = file
            .trusted
            .iter()
            .position(|e| e.fingerprint == key.fingerprint)
            .expect("found above");
        let entry = file.trusted.remove(index);
        self.save_trust(file).await?;
        Ok(TrustChange {
            entry,
            changed: true,
        })
    }

    async fn save_trust(&self, file: TrustFile) -> Result<(), RpcError> {
        let path = self.home.trust_file();
        let bytes = file.to_bytes();
        blocking("saving trust", move || {
            store::write_atomic(&path, &bytes, 0o600)
        })
        .await?
        .map_err(|e| err(ErrorCode::Storage, format!("{e:#}; trust is unchanged")))?;
        self.write().set_trust(Loaded::Ready(file));
        Ok(())
    }

    pub fn trust_list(&self) -> Result<TrustListResult, RpcError> {
        let s = self.read();
        let mut trusted = s.trust.ready()?.trusted.clone();
        for entry in &mut trusted {
            if let Some(known) = s.keyring.get(&entry.fingerprint) {
                entry.user_id = known.info.user_id.clone();
            }
        }
        Ok(TrustListResult { trusted })
    }

    pub fn keys_list(&self) -> KeysListResult {
        let s = self.read();
        let own = s.own.as_ref().map(|o| &o.fingerprint);
        KeysListResult {
            keys: s
                .keyring
                .iter()
                .map(|c| KnownKey {
                    fingerprint: c.info.fingerprint.clone(),
                    user_id: c.info.user_id.clone(),
                    own: Some(&c.info.fingerprint) == own,
                    trusted: s.is_trusted(&c.info.fingerprint),
                    source: sources_text(&c.sources),
                })
                .collect(),
        }
    }
}

/// Who served a certificate, for `sig keys`: `own`, `remote:NAME`, or `remembered` for a key
/// no current source serves (kept because what is known of a key is never unlearnt).
fn sources_text(sources: &std::collections::BTreeSet<Source>) -> String {
    if sources.is_empty() {
        return "remembered".to_owned();
    }
    sources
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The one key among `among` that a query names, or an error listing the candidates.
fn pick_one(query: &KeyQuery, among: Vec<KeyInfo>) -> Result<KeyInfo, RpcError> {
    match among.len() {
        1 => Ok(among.into_iter().next().expect("one")),
        0 => Err(err(
            ErrorCode::UnknownKey,
            format!(
                "no known key matches {}: fetch a remote that publishes it (`sig fetch`), or \
                 give its full fingerprint",
                query.as_str()
            ),
        )),
        _ => {
            let list: Vec<String> = among
                .iter()
                .map(|k| format!("  {} {}", k.fingerprint, k.user_id))
                .collect();
            Err(err(
                ErrorCode::AmbiguousKey,
                format!(
                    "{} matches several keys; give more digits:\n{}",
                    query.as_str(),
                    list.join("\n")
                ),
            )
            .with_data(serde_json::to_value(Candidates { candidates: among }).expect("serializes")))
        }
    }
}

pub(super) fn load_trust(home: &Home) -> Loaded<TrustFile> {
    let path = home.trust_file();
    match store::read_private(&path, MAX_TRUST_LEN) {
        Ok(None) => Loaded::Ready(TrustFile::default()),
        Ok(Some(bytes)) => match TrustFile::parse(&bytes) {
            Ok(file) => Loaded::Ready(file),
            Err(why) => Loaded::Damaged(Damage { file: path, why }),
        },
        Err(e) => Loaded::Damaged(Damage {
            file: path,
            why: format!("{e:#}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_proto::api::Candidates;
    use signet_proto::formats::Fingerprint;

    fn key(hex: &str, user_id: &str) -> KeyInfo {
        KeyInfo {
            fingerprint: Fingerprint::parse(hex).unwrap(),
            user_id: user_id.into(),
        }
    }

    /// Two real keys sharing a short id are too rare to make in a test; the rule is tested here.
    #[test]
    fn an_ambiguous_short_id_lists_the_candidates() {
        let a = key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB32780D9", "A <a@x>");
        let b = key("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB32780D9", "B <b@x>");
        let query = KeyQuery::parse("B32780D9").unwrap();
        let e = pick_one(&query, vec![a.clone(), b.clone()]).unwrap_err();
        assert_eq!(e.kind(), Some(ErrorCode::AmbiguousKey));
        assert!(
            e.message.contains(a.fingerprint.as_str()) && e.message.contains("B <b@x>"),
            "{}",
            e.message
        );
        let candidates: Candidates = serde_json::from_value(e.data.unwrap()).unwrap();
        assert_eq!(candidates.candidates, vec![a.clone(), b]);
        assert_eq!(pick_one(&query, vec![a.clone()]).unwrap(), a);
        assert_eq!(
            pick_one(&query, vec![]).unwrap_err().kind(),
            Some(ErrorCode::UnknownKey)
        );
    }
}
