//! The rules a verdict is judged by: the user's (`verify.*` and the web of trust), or a
//! project's own (`signet.toml`, sent with `verify.many`).

use std::sync::Arc;

use signet_proto::api::{EffectiveLevel, KeyStanding, ProjectPolicy, WhyNot};
use signet_proto::formats::Fingerprint;

use super::State;
use crate::core::index::{Policy, Reviewer};
use crate::core::web::Level;

/// How many words a verdict needs, which criteria an ok must meet, and whose words count.
#[derive(Debug, Clone)]
pub struct Rules {
    pub policy: Policy,
    pub criteria: Arc<[String]>,
    /// A project's list of trusted keys, in place of the user's web of trust.
    pub listed: Option<Arc<[(Fingerprint, Level)]>>,
}

impl Rules {
    /// The user's rules: the `verify.*` settings over the user's web of trust.
    pub fn user(verify: &crate::config::VerifyPolicy) -> Rules {
        Rules {
            policy: verify.rule(),
            criteria: verify.criteria.clone().into(),
            listed: None,
        }
    }

    /// A project's rules: its keys, directly, at their levels; `min_level` stays the user's
    /// default (`medium`) so that a `low` key in signet.toml is listed but does not count.
    pub fn project(p: &ProjectPolicy) -> Rules {
        Rules {
            policy: Policy {
                threshold: p.threshold,
                max_not_ok: p.max_not_ok,
                min_level: Level::Medium,
                independent: false,
            },
            criteria: p.criteria.clone().into(),
            listed: Some(
                p.trusted
                    .iter()
                    .filter_map(|t| Some((t.key.clone(), Level::of(t.level)?)))
                    .collect(),
            ),
        }
    }

    /// The rules a request asks for: a project's policy when it sends one, else the user's.
    pub fn asked(policy: Option<&ProjectPolicy>, config: &crate::config::Config) -> Rules {
        match policy {
            Some(policy) => Rules::project(policy),
            None => Rules::user(&config.verify),
        }
    }

    fn listed_level(&self, fpr: &Fingerprint) -> Option<Option<Level>> {
        let listed = self.listed.as_ref()?;
        Some(listed.iter().find(|(k, _)| k == fpr).map(|(_, l)| *l))
    }
}

impl State {
    /// Whose reviewer `fpr` is under `rules` (see [`State::reviewer`]).
    pub(crate) fn reviewer_under(&self, fpr: &Fingerprint, rules: &Rules) -> Option<Reviewer> {
        match rules.listed_level(fpr) {
            None => self.reviewer(fpr, rules.policy),
            Some(level) => level
                .filter(|l| l.counts_at(rules.policy.min_level))
                .map(|_| Reviewer {
                    who: fpr.clone(),
                    group: fpr.clone(),
                }),
        }
    }

    /// How `fpr` stands under `rules` (see [`State::standing`]).
    pub(crate) fn standing_under(
        &self,
        fpr: &Fingerprint,
        rules: &Rules,
        max_depth: u8,
    ) -> KeyStanding {
        let Some(level) = rules.listed_level(fpr) else {
            return self.standing(fpr, rules.policy, max_depth);
        };
        let counts = level.is_some_and(|l| l.counts_at(rules.policy.min_level));
        KeyStanding {
            fingerprint: fpr.clone(),
            user_id: self.keyring.user_id(fpr),
            level: level.map(|l| match l {
                Level::None => EffectiveLevel::None,
                Level::Low => EffectiveLevel::Low,
                Level::Medium => EffectiveLevel::Medium,
                Level::High => EffectiveLevel::High,
            }),
            counts,
            path: Vec::new(),
            why_not: match level {
                None => Some(WhyNot::NotInPolicy),
                Some(_) if !counts => Some(WhyNot::BelowMinLevel {
                    min_level: rules.policy.min_level.as_trust(),
                }),
                Some(_) => None,
            },
            distrusted_by: Vec::new(),
            other_distrusts: 0,
        }
    }
}
