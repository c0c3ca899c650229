//! `lookup`: asking the configured public indexes who vouched for an id, as a part of the
//! daemon. Every answer is checked as if the index lied (`core::found`): each signature here,
//! against certificates merged into what is known (keys only grow: a revocation known here
//! stands whatever an index serves), and judged by the user's own web of trust beside what the
//! daemon holds. Words by keys outside the web are shown, never counted.

use std::path::PathBuf;
use std::sync::Arc;

use signet_core::accept::Validators;
use signet_core::found::{self, CheckedAnswer};
use signet_fetch::http::{self, BodyLimit, Got};
use signet_proto::api::{FollowSuggestion, IndexReport, LookupResult, VerifyResult};
use signet_proto::formats::ContentId;
use signet_proto::index::Lookup;
use signet_proto::rpc::ErrorCode;

use crate::core::index::{Entry, Source};
use crate::errors::{Failure, blocking};
use crate::state::Shared;

/// The largest answer read from an index: a few hundred attestations and their certificates.
const ANSWER_LIMIT: BodyLimit = BodyLimit {
    max: 32 << 20,
    what_to_do: "an index answers one id in far less",
};

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("no public index is configured")]
    NoIndex,
}

impl Failure for LookupError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidParams
    }
    fn hint(&self) -> Option<String> {
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
        let config = self.shared.config();
        let urls: Vec<String> = config
            .index
            .urls
            .iter()
            .filter_map(|u| signet_core::accept::check_url(u).ok())
            .collect();
        if urls.is_empty() {
            return Err(LookupError::NoIndex);
        }
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
        self.learn(&checked).await;
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
    /// and remembered: keys only grow, so this can add and never take away.
    async fn learn(&self, checked: &[(String, Result<CheckedAnswer, String>)]) {
        // Only keys whose words checked: an index cannot make the daemon hold a key for
        // nothing.
        let signed_a_word: Vec<_> = checked
            .iter()
            .filter_map(|(_, c)| c.as_ref().ok())
            .flat_map(|answer| {
                answer.certificates.iter().filter(|cert| {
                    let fpr = crate::core::cert::fingerprint(cert);
                    answer.entries.iter().any(|e| e.key == fpr)
                })
            })
            .cloned()
            .collect();
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
        let rules = config.verify.rules();
        let s = self.shared.read();
        let mut entries: Vec<Arc<Entry>> = s.index.get(id).to_vec();
        entries.extend(found.into_iter().map(Arc::new));
        let (verdict, tally, attestations) = s.view_of(&entries, &rules, config.trust.max_depth);
        let followed: Vec<&str> = s.remotes.values().map(|r| r.record.url.as_str()).collect();
        let mut follow: Vec<FollowSuggestion> = Vec::new();
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
        LookupResult {
            result: VerifyResult {
                id: id.to_string(),
                verdict,
                attestations,
                reviewers: tally.ok,
                threshold: rules.policy.threshold,
                unknown: 0,
                invalid: 0,
                path,
            },
            indexes,
            follow,
        }
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
