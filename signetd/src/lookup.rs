//! `lookup`: asking the configured public indexes who vouched for an id, as a part of the
//! daemon. Every answer is checked as if the index lied (`core::found`): each signature here,
//! against certificates merged into what is known (keys only grow: a revocation known here
//! stands whatever an index serves), and judged by the user's own web of trust beside what the
//! daemon holds. Words by keys outside the web are shown, never counted.

use std::path::PathBuf;
use std::sync::Arc;

use sequoia_openpgp::Cert;
use signet_core::accept::Validators;
use signet_core::found::{self, CheckedAnswer, CheckedAnswers};
use signet_fetch::http::{self, BodyLimit, Got};
use signet_proto::api::{
    FollowSuggestion, IndexReport, LookupManyParams, LookupManyResult, LookupResult, VerifyResult,
};
use signet_proto::formats::{ContentId, Fingerprint};
use signet_proto::index::{IdsQuery, Lookup};
use signet_proto::rpc::ErrorCode;

use crate::core::index::{Entry, Source};
use crate::errors::{Failure, blocking};
use crate::state::{Rules, Shared};

/// The largest answer read from an index: a few hundred attestations and their certificates.
const ANSWER_LIMIT: BodyLimit = BodyLimit {
    max: 32 << 20,
    what_to_do: "an index answers one id in far less",
};

/// The largest answer read about one batch of ids (`POST /v1/ids`, 1,000 ids).
const MANY_LIMIT: BodyLimit = BodyLimit {
    max: 128 << 20,
    what_to_do: "an index answers 1,000 ids in far less",
};

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("no public index is configured")]
    NoIndex,
    #[error("{0} ids in one request, more than {max}", max = LookupManyParams::MAX_IDS)]
    TooMany(usize),
    #[error("an index to ask: {0}")]
    BadIndex(String),
}

impl Failure for LookupError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidParams
    }
    fn hint(&self) -> Option<String> {
        if let LookupError::TooMany(_) | LookupError::BadIndex(_) = self {
            return None;
        }
        Some(
            "name one: `sig config index.urls '[\"https://index.example.org/\"]'` (an \
             index learns what you look up)"
                .into(),
        )
    }
}

pub struct Lookups {
    shared: Arc<Shared>,
    http: reqwest::Client,
}

impl Lookups {
    pub fn new(shared: Arc<Shared>) -> anyhow::Result<Self> {
        let http = http::client(&shared.config().http_limits())?;
        Ok(Lookups { shared, http })
    }

    /// What every configured index knows of `id`, checked, beside what is held here.
    pub async fn lookup(
        &self,
        id: ContentId,
        path: Option<PathBuf>,
    ) -> Result<LookupResult, LookupError> {
        let urls = self.urls()?;
        let asked = urls.iter().map(|url| self.ask(url, &id));
        let answers = futures_util::future::join_all(asked).await;
        let keyring = self.shared.read().keyring.clone();
        let checking = id.clone();
        let checked: Vec<(String, Result<CheckedAnswer, String>)> =
            blocking("checking the indexes' answers", move || {
                answers
                    .into_iter()
                    .map(|(url, answer)| {
                        let checked = answer.map(|a| found::check_answer(&checking, &a, &keyring));
                        (url, checked)
                    })
                    .collect()
            })
            .await
            .unwrap_or_default();
        self.learn(
            checked
                .iter()
                .filter_map(|(_, c)| c.as_ref().ok())
                .map(|answer| {
                    let signers = answer.entries.iter().map(|e| &e.key).collect();
                    (answer.certificates.as_slice(), signers)
                }),
        )
        .await;
        let reports = checked.iter().map(|(url, c)| report(url, c)).collect();
        let answers: Vec<CheckedAnswer> = checked.into_iter().filter_map(|(_, c)| c.ok()).collect();
        let found = found::merged(&answers);
        Ok(self.judge(&id, path, found, reports))
    }

    /// One index's answer about `id`, read but not yet believed.
    async fn ask(&self, url: &str, id: &ContentId) -> (String, Result<Lookup, String>) {
        let limits = self.shared.config().http_limits();
        let got = http::get(
            &self.http,
            &limits,
            &format!("{url}v1/ids/{id}"),
            &Validators::default(),
            ANSWER_LIMIT,
        )
        .await;
        let answer = match got {
            Ok(Got::Body { bytes, .. }) => serde_json::from_slice::<Lookup>(&bytes)
                .map_err(|e| format!("not an index's answer: {e}")),
            Ok(Got::NotModified) => Err("a 304 to an unconditional request".into()),
            Err(e) => Err(e.to_string()),
        };
        (url.to_owned(), answer)
    }

    /// What the answers taught of keys whose words checked out, merged into what is known
    /// and remembered: keys only grow, so this can add and never take away. Only keys whose
    /// words checked: an index cannot make the daemon hold a key for nothing.
    async fn learn<'a>(&self, answers: impl Iterator<Item = (&'a [Cert], Vec<&'a Fingerprint>)>) {
        let mut signed_a_word = Vec::new();
        for (certificates, signers) in answers {
            signed_a_word.extend(
                certificates
                    .iter()
                    .filter(|cert| signers.contains(&&crate::core::cert::fingerprint(cert)))
                    .cloned(),
            );
        }
        self.shared
            .learn_keys(signed_a_word, |_, _| true, "keys an index served")
            .await;
    }

    /// The verdict over what is held and what was found, and the repositories to follow.
    fn judge(
        &self,
        id: &ContentId,
        path: Option<PathBuf>,
        found: Vec<Entry>,
        indexes: Vec<IndexReport>,
    ) -> LookupResult {
        let config = self.shared.config();
        let mut follow = Vec::new();
        let result = self.judge_one(
            &crate::state::Rules::user(&config.verify),
            id,
            path,
            found,
            &mut follow,
        );
        LookupResult {
            result,
            indexes,
            follow,
        }
    }

    /// One id's verdict over what is held and what was found under `rules`; the repositories
    /// found of keys whose words count, not followed yet, added to `follow`.
    fn judge_one(
        &self,
        rules: &Rules,
        id: &ContentId,
        path: Option<PathBuf>,
        found: Vec<Entry>,
        follow: &mut Vec<FollowSuggestion>,
    ) -> VerifyResult {
        let config = self.shared.config();
        let s = self.shared.read();
        let mut entries = s.index.get(id);
        entries.extend(found);
        let (verdict, tally, attestations) = s.view_of(&entries, rules, config.trust.max_depth);
        let followed: Vec<&str> = s.remotes.values().map(|r| r.record.url.as_str()).collect();
        for view in attestations.iter().filter(|v| v.trusted) {
            for source in std::iter::once(&view.source).chain(&view.also_from) {
                let Source::Found(url) = source else { continue };
                if followed.contains(&url.as_str()) || follow.iter().any(|f| &f.url == url) {
                    continue;
                }
                follow.push(FollowSuggestion {
                    key: view.key.clone(),
                    user_id: view.user_id.clone(),
                    url: url.clone(),
                });
            }
        }
        VerifyResult {
            id: id.to_string(),
            verdict,
            attestations,
            reviewers: tally.ok,
            threshold: rules.policy.threshold,
            unknown: 0,
            invalid: 0,
            path,
        }
    }

    /// What every configured index knows of each of `p.ids` (`sig deps --index`): every index
    /// asked at once, in batches of what one request may hold, each answer checked as one
    /// lookup's is; judged by the user's rules, or by a project's.
    pub async fn lookup_many(&self, p: LookupManyParams) -> Result<LookupManyResult, LookupError> {
        if p.ids.len() > LookupManyParams::MAX_IDS {
            return Err(LookupError::TooMany(p.ids.len()));
        }
        let urls = if p.indexes.is_empty() {
            self.urls()?
        } else {
            p.indexes
                .iter()
                .take(16)
                .map(|u| signet_core::accept::check_url(u).map_err(LookupError::BadIndex))
                .collect::<Result<_, _>>()?
        };
        let mut unique = p.ids.clone();
        unique.sort();
        unique.dedup();
        let asked = urls.iter().map(|url| self.ask_many(url, &unique));
        let answers = futures_util::future::join_all(asked).await;
        let keyring = self.shared.read().keyring.clone();
        let checked: Vec<(String, Result<CheckedAnswers, String>)> =
            blocking("checking the indexes' answers", move || {
                answers
                    .into_iter()
                    .map(|(url, batches)| {
                        let checked = batches.map(|batches| {
                            let mut all = CheckedAnswers::default();
                            for (ids, answer) in &batches {
                                all.extend(found::check_answers(ids, answer, &keyring));
                            }
                            all
                        });
                        (url, checked)
                    })
                    .collect()
            })
            .await
            .unwrap_or_default();
        self.learn(
            checked
                .iter()
                .filter_map(|(_, c)| c.as_ref().ok())
                .map(|answer| {
                    let signers = answer.entries.iter().map(|(_, e)| &e.key).collect();
                    (answer.certificates.as_slice(), signers)
                }),
        )
        .await;
        let indexes = checked
            .iter()
            .map(|(url, c)| match c {
                Ok(a) => IndexReport {
                    url: url.clone(),
                    served: a.served,
                    checked: a.entries.len(),
                    error: None,
                    problems: a.problems.clone(),
                },
                Err(why) => IndexReport {
                    url: url.clone(),
                    served: 0,
                    checked: 0,
                    error: Some(why.clone()),
                    problems: Vec::new(),
                },
            })
            .collect();
        // Each signed word once per id, however many indexes or repositories served it.
        let mut found: std::collections::HashMap<ContentId, Vec<Entry>> = Default::default();
        for (id, entry) in checked
            .into_iter()
            .filter_map(|(_, c)| c.ok())
            .flat_map(|a| a.entries)
        {
            let held = found.entry(id).or_default();
            let same = |e: &Entry| {
                e.key == entry.key && e.signed_at == entry.signed_at && e.source == entry.source
            };
            if !held.iter().any(same) {
                held.push(entry);
            }
        }
        let rules = Rules::asked(p.policy.as_ref(), &self.shared.config());
        let mut follow = Vec::new();
        let results = p
            .ids
            .iter()
            .map(|id| {
                let found = found.get(id).cloned().unwrap_or_default();
                self.judge_one(&rules, id, None, found, &mut follow)
            })
            .collect();
        Ok(LookupManyResult {
            results,
            indexes,
            follow,
        })
    }

    /// The configured indexes, or why there are none.
    fn urls(&self) -> Result<Vec<String>, LookupError> {
        let urls: Vec<String> = self
            .shared
            .config()
            .index
            .urls
            .iter()
            .filter_map(|u| signet_core::accept::check_url(u).ok())
            .collect();
        if urls.is_empty() {
            return Err(LookupError::NoIndex);
        }
        Ok(urls)
    }

    /// One index's answers about `ids`, a batch per request, read but not yet believed; the
    /// first batch that fails fails the index.
    async fn ask_many(
        &self,
        url: &str,
        ids: &[ContentId],
    ) -> (String, Result<Vec<(Vec<ContentId>, Lookup)>, String>) {
        let limits = self.shared.config().http_limits();
        let mut answers = Vec::new();
        for batch in ids.chunks(signet_proto::index::MAX_IDS_PER_REQUEST) {
            let query = IdsQuery {
                ids: batch.iter().map(ToString::to_string).collect(),
            };
            let body = serde_json::to_vec(&query).expect("JSON");
            let got = http::post_json(
                &self.http,
                &limits,
                &format!("{url}v1/ids"),
                body,
                MANY_LIMIT,
            )
            .await;
            let answer = got.map_err(|e| e.to_string()).and_then(|bytes| {
                serde_json::from_slice::<Lookup>(&bytes)
                    .map_err(|e| format!("not an index's answer: {e}"))
            });
            match answer {
                Ok(answer) => answers.push((batch.to_vec(), answer)),
                Err(why) => return (url.to_owned(), Err(why)),
            }
        }
        (url.to_owned(), Ok(answers))
    }
}

fn report(url: &str, checked: &Result<CheckedAnswer, String>) -> IndexReport {
    match checked {
        Ok(answer) => IndexReport {
            url: url.to_owned(),
            served: answer.served,
            checked: answer.entries.len(),
            error: None,
            problems: answer.problems.clone(),
        },
        Err(why) => IndexReport {
            url: url.to_owned(),
            served: 0,
            checked: 0,
            error: Some(why.clone()),
            problems: Vec::new(),
        },
    }
}
