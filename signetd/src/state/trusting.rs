//! Trust and the keys Signet knows: `trust.add|remove|list`, `keys.list`, and `trust.json`.

use signet_proto::api::{
    Candidates, KeyInfo, KeysListResult, KnownKey, TrustChange, TrustEntry, TrustListResult,
    TrustParams,
};
use signet_proto::formats::Fingerprint;
use signet_proto::formats::KeyQuery;
use signet_proto::rpc::ErrorCode;

use super::{Daemon, now_rfc3339};
use crate::core::index::Source;
use crate::core::trust::TrustFile;
use crate::errors::{Failure, NotSaved, TaskFailed, blocking};
use crate::home::damage::{Damage, Loaded};
use crate::home::{Home, store};

/// Largest `trust.json` read.
const MAX_TRUST_LEN: u64 = 16 << 20;

/// Why `trust.add` or `trust.remove` changed nothing, or `trust.list` could not answer.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("{0}")]
    BadQuery(String),
    #[error("no known key matches {0}")]
    Unknown(String),
    #[error("no trusted key matches {0}")]
    NotTrusted(String),
    #[error("{query} matches several keys")]
    Ambiguous {
        query: String,
        candidates: Vec<KeyInfo>,
    },
    #[error(
        "{fingerprint} is your own key ({user_id}): it stays trusted, since your own attestations always count"
    )]
    OwnKey {
        fingerprint: Fingerprint,
        user_id: String,
    },
    #[error("{0}")]
    Damaged(#[from] Damage),
    #[error(transparent)]
    NotSaved(#[from] NotSaved),
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

impl Failure for TrustError {
    fn code(&self) -> ErrorCode {
        match self {
            TrustError::BadQuery(_) | TrustError::OwnKey { .. } => ErrorCode::InvalidParams,
            TrustError::Unknown(_) | TrustError::NotTrusted(_) => ErrorCode::UnknownKey,
            TrustError::Ambiguous { .. } => ErrorCode::AmbiguousKey,
            TrustError::Damaged(_) => ErrorCode::Damaged,
            TrustError::NotSaved(e) => e.code(),
            TrustError::Task(e) => e.code(),
        }
    }
    fn hint(&self) -> Option<String> {
        Some(match self {
            TrustError::Unknown(_) => "fetch a remote that publishes it (`sig fetch`), or give \
                                       its full fingerprint"
                .into(),
            TrustError::NotTrusted(_) => "`sig trust list` shows them".into(),
            TrustError::Ambiguous { candidates, .. } => {
                let list: Vec<String> = candidates
                    .iter()
                    .map(|k| format!("  {} {}", k.fingerprint, k.user_id))
                    .collect();
                format!("give more digits:\n{}", list.join("\n"))
            }
            TrustError::OwnKey { .. } => {
                "to stop using it, replace it with `sig setup --force`".into()
            }
            TrustError::NotSaved(e) => return e.hint(),
            _ => return None,
        })
    }
    fn data(&self) -> Option<serde_json::Value> {
        let TrustError::Ambiguous { candidates, .. } = self else {
            return None;
        };
        let candidates = Candidates {
            candidates: candidates.clone(),
        };
        Some(serde_json::to_value(candidates).expect("serializes"))
    }
}

impl Daemon {
    pub async fn trust_add(&self, p: TrustParams) -> Result<TrustChange, TrustError> {
        let query = KeyQuery::parse(&p.key).map_err(|e| TrustError::BadQuery(e.to_string()))?;
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

    pub async fn trust_remove(&self, p: TrustParams) -> Result<TrustChange, TrustError> {
        let query = KeyQuery::parse(&p.key).map_err(|e| TrustError::BadQuery(e.to_string()))?;
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
                return Err(TrustError::OwnKey {
                    fingerprint: own.fingerprint,
                    user_id: own.user_id,
                });
            }
            return Err(TrustError::NotTrusted(query.as_str().to_owned()));
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

    async fn save_trust(&self, file: TrustFile) -> Result<(), TrustError> {
        let path = self.home.trust_file();
        let bytes = file.to_bytes();
        blocking("saving trust", move || {
            store::write_atomic(&path, &bytes, 0o600)
        })
        .await?
        .map_err(|e| NotSaved::new("trust.json", e, "trust is unchanged"))?;
        self.write().set_trust(Loaded::Ready(file));
        Ok(())
    }

    pub fn trust_list(&self) -> Result<TrustListResult, TrustError> {
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
fn pick_one(query: &KeyQuery, among: Vec<KeyInfo>) -> Result<KeyInfo, TrustError> {
    match among.len() {
        1 => Ok(among.into_iter().next().expect("one")),
        0 => Err(TrustError::Unknown(query.as_str().to_owned())),
        _ => Err(TrustError::Ambiguous {
            query: query.as_str().to_owned(),
            candidates: among,
        }),
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
        let e = pick_one(&query, vec![a.clone(), b.clone()])
            .unwrap_err()
            .to_rpc();
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
            pick_one(&query, vec![]).unwrap_err().to_rpc().kind(),
            Some(ErrorCode::UnknownKey)
        );
    }
}
