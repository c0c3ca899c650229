//! Trust and the keys Signet knows: `trust.add|remove|list|why`, `keys.list`, and
//! `trust.json`, your own word about keys (published as trust statements when asked).

use signet_proto::api::{
    Candidates, KeyInfo, KeyStanding, KeysListResult, KnownKey, TrustChange, TrustEntry,
    TrustListParams, TrustListResult, TrustParams, TrustWhyParams,
};
use signet_proto::formats::Fingerprint;
use signet_proto::formats::KeyQuery;
use signet_proto::rpc::ErrorCode;
use signet_proto::statements::{Trust, TrustStatement};

use super::writes::AttestError;
use super::{Shared, now_rfc3339};
use crate::core::accept::check_url;
use crate::core::index::Source;
use crate::core::trust::TrustFile;
use crate::core::vouch::Vouch;
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
    #[error(
        "{0} is too short to trust by: a key whose id ends so can be made in seconds, and it \
         would get your trust"
    )]
    ShortKeyId(String),
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
    #[error("publishing the trust statement: {0}")]
    Publishing(Box<AttestError>),
    #[error(transparent)]
    NotSaved(#[from] NotSaved),
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

impl Failure for TrustError {
    fn code(&self) -> ErrorCode {
        match self {
            TrustError::BadQuery(_) | TrustError::OwnKey { .. } | TrustError::ShortKeyId(_) => {
                ErrorCode::InvalidParams
            }
            TrustError::Unknown(_) | TrustError::NotTrusted(_) => ErrorCode::UnknownKey,
            TrustError::Ambiguous { .. } => ErrorCode::AmbiguousKey,
            TrustError::Damaged(_) => ErrorCode::Damaged,
            TrustError::Publishing(e) => e.code(),
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
            TrustError::ShortKeyId(_) => "give 16 or more hex digits of its fingerprint, or \
                                          all of it (`sig keys` lists the keys Signet knows)"
                .into(),
            TrustError::NotSaved(e) => return e.hint(),
            TrustError::Publishing(e) => return e.hint(),
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

impl Shared {
    /// Trusts (or, with level `distrust`, distrusts) a key: your own word about it, which the
    /// network cannot overrule. Saying it again with another level, URL or publishing replaces
    /// the entry; with publishing, a signed trust statement goes into your repository first.
    pub async fn trust_add(&self, p: TrustParams) -> Result<TrustChange, TrustError> {
        let query = KeyQuery::parse(&p.key).map_err(|e| TrustError::BadQuery(e.to_string()))?;
        if !query.long_enough_to_trust() {
            return Err(TrustError::ShortKeyId(query.as_str().to_owned()));
        }
        let key = self.key_to_trust(&query)?;
        let held = self.read().trust.ready()?.trusted.clone();
        let before = held.iter().find(|e| e.fingerprint == key.fingerprint);
        // What is not said again stays as it was.
        let level = p.level.or(before.map(|e| e.level)).unwrap_or(Trust::Medium);
        let url = match &p.url {
            Some(url) => Some(check_url(url).map_err(TrustError::BadQuery)?),
            None => before.and_then(|e| e.url.clone()),
        };
        let publish = p
            .publish
            .unwrap_or(before.is_some_and(|e| e.published) || self.config().trust.publish);
        if level == Trust::Distrust && self.read().is_own_key(&key.fingerprint) {
            return Err(TrustError::OwnKey {
                fingerprint: key.fingerprint,
                user_id: key.user_id,
            });
        }
        if let Some(existing) = before
            && existing.level == level
            && existing.url == url
            && existing.published == publish
            && p.reason
                .as_ref()
                .is_none_or(|r| existing.reason.as_ref() == Some(r))
        {
            return Ok(TrustChange {
                entry: existing.clone(),
                changed: false,
            });
        }
        let entry = TrustEntry {
            fingerprint: key.fingerprint.clone(),
            user_id: key.user_id,
            added: now_rfc3339(),
            reason: p.reason.or_else(|| before.and_then(|e| e.reason.clone())),
            level,
            url,
            published: publish,
        };
        // Published first: a statement that could not be signed leaves the list as it was.
        let was_published = before.is_some_and(|e| e.published);
        self.publish_entry(&entry, was_published, p.tty.clone())
            .await?;
        let saved = {
            let _writer = self.writer.lock().await;
            let mut file = self.read().trust.ready()?.clone();
            // A changed entry keeps its place in the list.
            match file
                .trusted
                .iter_mut()
                .find(|e| e.fingerprint == entry.fingerprint)
            {
                Some(held) => *held = entry.clone(),
                None => file.trusted.push(entry.clone()),
            }
            self.save_trust(file).await
        };
        if let Err(e) = saved {
            // Your repository must say what your list says: the statement just published is
            // taken back by a newer word — the earlier statement again, or a withdrawal.
            let earlier = before.cloned().filter(|e| e.published);
            let undone = match &earlier {
                Some(earlier) => self.publish_entry(earlier, true, p.tty.clone()).await,
                None if entry.published => self.withdraw(p.tty.clone(), &entry.fingerprint).await,
                None => Ok(()),
            };
            if let Err(undo) = undone {
                tracing::error!(
                    "trust.json could not be saved, and the statement published for it could \
                     not be taken back: {undo}"
                );
            }
            return Err(e);
        }
        Ok(TrustChange {
            entry,
            changed: true,
        })
    }

    /// Puts `entry` in your repository as a signed trust statement when it is published, and
    /// takes back the statement an entry no longer published had.
    async fn publish_entry(
        &self,
        entry: &TrustEntry,
        was_published: bool,
        tty: Option<String>,
    ) -> Result<(), TrustError> {
        if !entry.published {
            if was_published {
                self.withdraw(tty, &entry.fingerprint).await?;
            }
            return Ok(());
        }
        let statement = TrustStatement {
            key: entry.fingerprint.clone(),
            trust: entry.level,
            url: entry.url.clone(),
            comment: entry.reason.clone().unwrap_or_default(),
            succession: None,
            withdrawn: false,
        };
        self.file_statement(tty, statement).await
    }

    /// Signs `statement` with your key and files it in your repository (and the index),
    /// replacing your key's earlier word about the same key.
    async fn file_statement(
        &self,
        tty: Option<String>,
        statement: TrustStatement,
    ) -> Result<(), TrustError> {
        let id = TrustStatement::id_of(&statement.key);
        let data = statement.to_data();
        self.file_word(tty, data, id, |s, signed, genuine| {
            let vouch = Vouch::checked(statement, signed.key.clone(), genuine, Source::Own);
            s.index.upsert_vouch(vouch);
        })
        .await
        .map_err(|e| TrustError::Publishing(Box::new(e)))?;
        Ok(())
    }

    /// Takes back the statement your key published about `key`, if it has one, by a signed
    /// withdrawal that replaces it: a word newer than the statement, so that copies of the
    /// statement replayed from any repository stay superseded (deleting it would leave them
    /// the newest word). Nothing is published when your repository holds no word about it.
    async fn withdraw(&self, tty: Option<String>, key: &Fingerprint) -> Result<(), TrustError> {
        let id = TrustStatement::id_of(key);
        let published = {
            let s = self.read();
            let own = s.own.as_ref().map(|o| o.fingerprint.clone());
            s.repo.ready_opt().is_some_and(|r| {
                r.attestations
                    .get(&id)
                    .is_some_and(|list| list.iter().any(|a| Some(&a.key) == own.as_ref()))
            })
        };
        if !published {
            return Ok(());
        }
        let withdrawal = TrustStatement {
            key: key.clone(),
            trust: signet_proto::statements::Trust::None,
            url: None,
            comment: "withdrawn".into(),
            succession: None,
            withdrawn: true,
        };
        self.file_statement(tty, withdrawal).await
    }

    /// The one key a query names, among known keys; a full fingerprint may name a key not
    /// fetched yet.
    fn key_to_trust(&self, query: &KeyQuery) -> Result<KeyInfo, TrustError> {
        let s = self.read();
        let mut found: Vec<KeyInfo> = s
            .keyring
            .find(query)
            .into_iter()
            .map(|c| c.info.clone())
            .collect();
        if found.is_empty()
            && let Some(fpr) = query.as_fingerprint()
        {
            found.push(KeyInfo {
                fingerprint: fpr,
                user_id: String::new(),
            });
        }
        pick_one(query, found)
    }

    /// Forgets your word about a key (trust or distrust), and takes back the statement you
    /// published about it: the network's word about it applies again.
    pub async fn trust_remove(&self, p: TrustParams) -> Result<TrustChange, TrustError> {
        let query = KeyQuery::parse(&p.key).map_err(|e| TrustError::BadQuery(e.to_string()))?;
        let held = self.read().trust.ready()?.clone();
        let matching: Vec<KeyInfo> = held
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
        self.withdraw(p.tty.clone(), &key.fingerprint).await?;
        let _writer = self.writer.lock().await;
        let mut file = self.read().trust.ready()?.clone();
        let Some(index) = file
            .trusted
            .iter()
            .position(|e| e.fingerprint == key.fingerprint)
        else {
            return Err(TrustError::NotTrusted(query.as_str().to_owned()));
        };
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

    /// Your trust list, and with `all` every key the web knows of with its standing.
    pub fn trust_list(&self, p: TrustListParams) -> Result<TrustListResult, TrustError> {
        let config = self.config();
        let s = self.read();
        let mut trusted = s.trust.ready()?.trusted.clone();
        for entry in &mut trusted {
            if let Some(known) = s.keyring.get(&entry.fingerprint) {
                entry.user_id = known.info.user_id.clone();
            }
        }
        if !p.all {
            return Ok(TrustListResult {
                trusted,
                web: Vec::new(),
                web_total: 0,
                next: None,
            });
        }
        // Strongest first: counting, then by level, then nearest. Ordered by what one lookup
        // per key gives; standings (paths, distrusts) are spelt out for this page only, so a
        // web of a million keys costs one small vector here, not a million standings.
        let policy = config.verify.rule();
        let known = s.known_keys();
        let mut order: Vec<_> = known.iter().map(|k| (s.rank(k, policy), k)).collect();
        order.sort_by(|(a, ka), (b, kb)| {
            (b.counts, b.level)
                .cmp(&(a.counts, a.level))
                .then(a.depth.cmp(&b.depth))
                .then(ka.cmp(kb))
        });
        let limit = p
            .limit
            .unwrap_or(TrustListParams::PAGE)
            .clamp(1, TrustListParams::PAGE);
        let web = order
            .iter()
            .skip(p.offset)
            .take(limit)
            .map(|(_, k)| s.standing(k, policy, config.trust.max_depth))
            .collect();
        let end = p.offset.saturating_add(limit);
        Ok(TrustListResult {
            trusted,
            web,
            web_total: order.len(),
            next: (end < order.len()).then_some(end),
        })
    }

    /// How one key stands in your web of trust, and why.
    pub fn trust_why(&self, p: TrustWhyParams) -> Result<KeyStanding, TrustError> {
        let query = KeyQuery::parse(&p.key).map_err(|e| TrustError::BadQuery(e.to_string()))?;
        let config = self.config();
        let s = self.read();
        let known = s.known_keys();
        let found: Vec<KeyInfo> = known
            .iter()
            .filter(|k| query.matches(k))
            .map(|k| KeyInfo {
                fingerprint: k.clone(),
                user_id: s.keyring.user_id(k),
            })
            .collect();
        let key = pick_one(&query, found)?;
        Ok(s.standing(
            &key.fingerprint,
            config.verify.rule(),
            config.trust.max_depth,
        ))
    }

    pub fn keys_list(&self) -> KeysListResult {
        let min_level = self.config().verify.rule().min_level;
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
                    trusted: s.is_trusted(&c.info.fingerprint, min_level),
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
