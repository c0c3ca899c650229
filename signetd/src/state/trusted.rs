//! Whose word counts: the web of trust computed from your trust list, your keys, the trust
//! statements held and what is known of each key's revocation — cached in the state and
//! computed again only when one of those (or `trust.max_depth`) changes, so that a verdict stays
//! a hash lookup.

use std::collections::HashMap;

use signet_proto::api::{
    CountsAs, DistrustSeen, EffectiveLevel, KeyStanding, PathStep, TrustSummary, WhyNot,
};
use signet_proto::formats::Fingerprint;

use super::State;
use crate::core::index::{Policy, Reviewer};
use crate::core::keyring::KnownRevocations;
use crate::core::vouch;
use crate::core::vouch::Statements;
use crate::core::web::{Level, Unreached, Web};

/// Distrusts of one key shown beside it, strongest first.
const SHOWN_DISTRUSTS: usize = 16;

/// What the cached web was computed from: counters that move with every change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WebMadeFrom {
    vouches: u64,
    keyring: u64,
    trust: u64,
    max_depth: u8,
}

/// The web as computed, with what it shows beside each key.
#[derive(Debug, Default)]
pub(crate) struct CachedWeb {
    pub(crate) web: Web,
    /// Every distrust held of each key, by whom and why (shown even when it cut nothing).
    pub(crate) distrusts: HashMap<Fingerprint, Vec<(Fingerprint, String)>>,
    /// Where each key the web reaches publishes, as said on the last hop of its path.
    pub(crate) urls: HashMap<Fingerprint, String>,
    /// Each key's successor, where a rotation both keys signed says so.
    pub(crate) successors: HashMap<Fingerprint, Fingerprint>,
    /// And each successor's predecessor.
    pub(crate) predecessors: HashMap<Fingerprint, Fingerprint>,
    made_from: Option<WebMadeFrom>,
    /// Moves with every computation: a verdict input.
    pub(crate) generation: u64,
}

/// The inputs of one computation of the web, as they stood (see [`State::web_job`]).
pub(crate) struct WebJob {
    statements: Statements,
    yours: vouch::Yours,
    revocations: KnownRevocations,
    max_depth: u8,
    made_from: WebMadeFrom,
}

/// A web computed, to put in place with [`State::install_web`].
pub(crate) struct ComputedWeb {
    computed: vouch::Computed,
    made_from: WebMadeFrom,
}

impl WebJob {
    /// The computation itself (`vouch::web_of`): no lock is needed, and a web of a million
    /// statements takes seconds.
    pub(crate) fn compute(self) -> ComputedWeb {
        let started = std::time::Instant::now();
        let revocations = &self.revocations;
        let computed = vouch::web_of(&self.statements, self.yours, self.max_depth, |v| {
            revocations.voids(&v.key, &v.signer, v.signed_at)
        });
        tracing::debug!(
            trusted = computed.web.levels().count(),
            ms = started.elapsed().as_secs_f64() * 1e3,
            "web of trust computed"
        );
        ComputedWeb {
            computed,
            made_from: self.made_from,
        }
    }
}

impl State {
    fn web_made_from(&self, max_depth: u8) -> WebMadeFrom {
        WebMadeFrom {
            vouches: self.index.vouch_generation(),
            keyring: self.keyring.generation(),
            trust: self.trust_generation,
            max_depth,
        }
    }

    /// Computes the web again, here and now, if what it is made from changed. Returns whether
    /// it did. For a state no one else reads yet (the daemon's start); a running daemon computes
    /// it off the lock (`Shared::settle_web`).
    pub(crate) fn refresh_web(&mut self, max_depth: u8) -> bool {
        match self.web_job(max_depth) {
            Some(job) => {
                self.install_web(job.compute());
                true
            }
            None => false,
        }
    }

    /// Whether the web in place was computed from the inputs as they are now.
    pub(crate) fn web_current(&self, max_depth: u8) -> bool {
        self.web.made_from.as_ref() == Some(&self.web_made_from(max_depth))
    }

    /// What computing the web again needs, taken under the lock in a moment (it shares the
    /// statements), if what it is made from changed. With `trust.json` damaged, only your
    /// published statements count as your word: failing closed never trusts more.
    pub(crate) fn web_job(&mut self, max_depth: u8) -> Option<WebJob> {
        if self.web_current(max_depth) {
            return None;
        }
        let made_from = self.web_made_from(max_depth);
        Some(WebJob {
            yours: self.number_your_word(),
            statements: self.index.statements(),
            revocations: self.keyring.revocations(),
            max_depth,
            made_from,
        })
    }

    /// Puts a computed web in place. Computations are one at a time, each from inputs taken
    /// after the last one's: the web put in place is never older than the one it replaces.
    pub(crate) fn install_web(&mut self, computed: ComputedWeb) {
        let ComputedWeb {
            computed,
            made_from,
        } = computed;
        self.web = CachedWeb {
            web: computed.web,
            distrusts: computed.distrusts,
            urls: computed.urls,
            predecessors: computed.predecessors,
            successors: computed.successors,
            made_from: Some(made_from),
            generation: self.web.generation + 1,
        };
    }

    /// Your keys, your trust list and revoked keys, numbered as the statements' keys are.
    fn number_your_word(&mut self) -> vouch::Yours {
        let mut own = Vec::new();
        let mut revoked = Vec::new();
        for cert in self.keyring.iter() {
            if cert.is_own() {
                own.push(&cert.info.fingerprint);
            }
            // A key revoked softly (superseded, retired) stays in the web: its statements
            // made before the revocation still stand, those after are void (`voids`).
            if cert.revocations.hard() {
                revoked.push(&cert.info.fingerprint);
            }
        }
        let direct: Vec<_> = self
            .trust
            .ready_opt()
            .into_iter()
            .flat_map(|t| &t.trusted)
            .map(|e| (&e.fingerprint, e.level))
            .collect();
        // The web in place shares the numbering: numbering a new key copies it, so only when
        // one is new.
        let named = || {
            own.iter()
                .chain(&revoked)
                .chain(direct.iter().map(|(f, _)| f))
        };
        if named().any(|f| self.index.keys().get(f).is_none()) {
            let keys = self.index.keys_mut();
            for f in named() {
                keys.id(f);
            }
        }
        let keys = self.index.keys();
        let id = |f: &Fingerprint| keys.get(f).expect("numbered above");
        vouch::Yours {
            own: own.iter().map(|f| id(f)).collect(),
            direct: direct
                .iter()
                .map(|(f, level)| (id(f), (*level).into()))
                .collect(),
            revoked: revoked.iter().map(|f| id(f)).collect(),
        }
    }

    pub(crate) fn is_own_key(&self, fpr: &Fingerprint) -> bool {
        self.keyring.get(fpr).is_some_and(|c| c.is_own())
    }

    /// Whether `fpr`'s word counts under `min_level`: your own keys always; others when the
    /// web gives them at least that level.
    pub(crate) fn is_trusted(&self, fpr: &Fingerprint, min_level: Level) -> bool {
        self.is_own_key(fpr) || self.counts_in_web(fpr, min_level)
    }

    /// Whether the web gives `fpr` a level counted under `min_level` (own keys aside).
    fn counts_in_web(&self, fpr: &Fingerprint, min_level: Level) -> bool {
        self.web
            .web
            .level(fpr)
            .is_some_and(|level| level.counts_at(min_level))
    }

    /// Who a trusted key's word counts for (see [`Reviewer`]): the user for any own key
    /// (current or retired: one person), else the key itself, grouped by the key you trust
    /// directly when `verify.independent` is on; `None` when its word does not count.
    pub(crate) fn reviewer(&self, fpr: &Fingerprint, policy: Policy) -> Option<Reviewer> {
        if self.is_own_key(fpr) {
            let who = self.own.as_ref().map_or(fpr, |o| &o.fingerprint).clone();
            return Some(Reviewer {
                group: who.clone(),
                who,
            });
        }
        if !self.counts_in_web(fpr, policy.min_level) {
            return None;
        }
        // A key and its successors are one person (a key rotation, or a key naming several
        // "successors" to count several times): one reviewer, its first key.
        let who = self.first_key_of(fpr).clone();
        let group = if policy.independent {
            self.web.web.root(fpr)?.clone()
        } else {
            who.clone()
        };
        Some(Reviewer { who, group })
    }

    /// Whom `fpr`'s word counts as, when not `fpr` alone (see [`Self::reviewer`]).
    pub(crate) fn counts_as(&self, fpr: &Fingerprint, policy: Policy) -> Option<CountsAs> {
        if self.is_own_key(fpr) {
            return None;
        }
        let Reviewer { who, group } = self.reviewer(fpr, policy)?;
        if group != who {
            Some(CountsAs::Through(group))
        } else if &who != fpr {
            Some(CountsAs::Succeeds(who))
        } else {
            None
        }
    }

    /// The first key of the rotations `fpr` is the end of (itself when it succeeds none).
    fn first_key_of<'a>(&'a self, mut fpr: &'a Fingerprint) -> &'a Fingerprint {
        // A chain is no longer than the keys that succeed one; a cycle of rotations ends too.
        for _ in 0..self.web.predecessors.len() {
            match self.web.predecessors.get(fpr) {
                Some(old) => fpr = old,
                None => break,
            }
        }
        fpr
    }

    /// How `fpr` stands: its level and path, or why its word does not count.
    pub(crate) fn standing(&self, fpr: &Fingerprint, policy: Policy, max_depth: u8) -> KeyStanding {
        let (distrusted_by, other_distrusts) = self.distrusts_of(fpr);
        let mut standing = KeyStanding {
            fingerprint: fpr.clone(),
            user_id: self.keyring.user_id(fpr),
            level: None,
            counts: false,
            path: Vec::new(),
            why_not: None,
            distrusted_by,
            other_distrusts,
        };
        if self.is_own_key(fpr) {
            standing.level = Some(EffectiveLevel::Ultimate);
            standing.counts = true;
            return standing;
        }
        let web = &self.web.web;
        if let Some(reach) = web.reach(fpr) {
            standing.level = Some(effective(reach.level));
            standing.counts = reach.level.counts_at(policy.min_level);
            standing.path = reach
                .path
                .iter()
                .map(|step| PathStep {
                    user_id: self.keyring.user_id(&step.key),
                    fingerprint: step.key.clone(),
                    level: step.said.as_trust(),
                    successor: step.successor,
                })
                .collect();
            if !standing.counts {
                standing.why_not = Some(WhyNot::BelowMinLevel {
                    min_level: policy.min_level.as_trust(),
                });
            }
            return standing;
        }
        standing.why_not = Some(match web.unreached(fpr) {
            None => WhyNot::NoPath,
            Some(Unreached::DistrustedByYou) => WhyNot::DistrustedByYou,
            Some(Unreached::Revoked) => WhyNot::Revoked,
            Some(Unreached::TooDeep { depth }) => WhyNot::TooDeep {
                depth: *depth,
                max_depth,
            },
            Some(Unreached::Distrusted { by, at }) => WhyNot::Distrusted {
                by: by.clone(),
                by_user_id: self.keyring.user_id(by),
                at: at.as_trust(),
            },
        });
        standing
    }

    /// The distrusts of `fpr` by keys in your web, strongest first, at most
    /// [`SHOWN_DISTRUSTS`]; and how many others there are (beyond that, or by keys outside
    /// your web, whose distrust weighs nothing): anyone can publish a distrust, so the list
    /// is bounded.
    fn distrusts_of(&self, fpr: &Fingerprint) -> (Vec<DistrustSeen>, usize) {
        let Some(all) = self.web.distrusts.get(fpr) else {
            return (Vec::new(), 0);
        };
        let mut seen: Vec<DistrustSeen> = all
            .iter()
            .filter_map(|(by, comment)| {
                let at = if self.is_own_key(by) {
                    EffectiveLevel::Ultimate
                } else {
                    effective(self.web.web.level(by)?)
                };
                Some(DistrustSeen {
                    by: by.clone(),
                    by_user_id: self.keyring.user_id(by),
                    at,
                    comment: comment.clone(),
                })
            })
            .collect();
        seen.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.by.cmp(&b.by)));
        seen.truncate(SHOWN_DISTRUSTS);
        let others = all.len() - seen.len();
        (seen, others)
    }

    /// For `status`: published and local entries, and how many keys count.
    pub(crate) fn trust_summary(&self, config: &crate::config::Config) -> TrustSummary {
        let entries = self.trust.ready_opt().map_or(&[][..], |t| &t.trusted[..]);
        let published = entries.iter().filter(|e| e.published).count();
        let min_level = config.verify.rule().min_level;
        let own = self.keyring.iter().filter(|c| c.is_own()).count();
        let counted = self
            .web
            .web
            .levels()
            .filter(|(_, level)| level.counts_at(min_level))
            .count();
        TrustSummary {
            published,
            local: entries.len() - published,
            counted: own + counted,
            publish: config.trust.publish,
            keys_numbered: self.index.keys().len(),
        }
    }

    /// Every key the web knows of: your own, every key a held statement names or makes, and
    /// every key Signet holds a certificate for.
    pub(crate) fn known_keys(&self) -> std::collections::BTreeSet<Fingerprint> {
        let mut all: std::collections::BTreeSet<Fingerprint> = self
            .keyring
            .iter()
            .map(|c| c.info.fingerprint.clone())
            .collect();
        for v in self.index.vouches() {
            all.insert(v.key.clone());
            all.insert(v.about.clone());
        }
        if let Some(t) = self.trust.ready_opt() {
            all.extend(t.trusted.iter().map(|e| e.fingerprint.clone()));
        }
        all
    }
}

/// Where a key stands, in what one lookup gives: to order the web's keys without spelling out
/// every standing.
pub(crate) struct Rank {
    pub(crate) counts: bool,
    pub(crate) level: Option<EffectiveLevel>,
    /// Hops from you; your own keys are 0, keys not trusted last.
    pub(crate) depth: usize,
}

impl State {
    /// `fpr`'s rank under `policy`: as [`State::standing`] would say its level and whether it
    /// counts.
    pub(crate) fn rank(&self, fpr: &Fingerprint, policy: Policy) -> Rank {
        if self.is_own_key(fpr) {
            return Rank {
                counts: true,
                level: Some(EffectiveLevel::Ultimate),
                depth: 0,
            };
        }
        let web = &self.web.web;
        match web.level(fpr) {
            Some(level) => Rank {
                counts: level.counts_at(policy.min_level),
                level: Some(effective(level)),
                depth: web.depth(fpr).unwrap_or(usize::MAX),
            },
            None => Rank {
                counts: false,
                level: None,
                depth: usize::MAX,
            },
        }
    }
}

fn effective(level: Level) -> EffectiveLevel {
    match level {
        Level::None => EffectiveLevel::None,
        Level::Low => EffectiveLevel::Low,
        Level::Medium => EffectiveLevel::Medium,
        Level::High => EffectiveLevel::High,
    }
}
