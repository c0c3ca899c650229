//! The web of trust, as a pure computation: from your own word about keys and the trust
//! statements keys publish about each other, each key's effective trust level and the path
//! that gives it — or why it has none. The rules are docs/FORMATS.md's "Trust statements".
//! The daemon's inputs come from `core::vouch::web_of`, keys numbered by `Keys`.
//!
//! - Your own keys are ultimate; your direct statements (the local trust list) always win over
//!   anything the network says about the same key.
//! - Trust flows along statements by keys already trusted, at most `max_depth` hops from you
//!   (a key you trust directly is one hop). A path's level is its weakest link; a key's level
//!   is the best of its paths.
//! - A `distrust` of K by D cuts every path to K no stronger than D's own level (D's level
//!   before any distrust is applied, so that distrusts cannot chase each other in circles) —
//!   never a key you trust directly, and never more than that.
//! - A revoked key is never reached and its statements count for nothing: its whole subtree is
//!   cut, unless another path reaches it.
//! - A key's successor (a rotation both keys signed) stands where its predecessor stands: the
//!   same level, at the same depth, unless you spoke of the successor yourself.
//!
//! Computed by rounds of relaxation, one per hop, each round only from the keys the last one
//! improved: `O(max_depth × statements)`.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::numbered::Numbered;

use signet_proto::formats::Fingerprint;
use signet_proto::statements::Trust;

/// How much a key's word is worth. Ordered: `None < Low < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Known, but its word counts for nothing (and it vouches for no one).
    None,
    Low,
    Medium,
    High,
}

/// What one key says about another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stance {
    Trust(Level),
    Distrust,
}

impl Level {
    /// Whether a key at this level has its word counted under `min_level` (`none` never is).
    pub fn counts_at(self, min_level: Level) -> bool {
        self >= min_level && self > Level::None
    }

    /// The level a statement's word names (`None` for a distrust).
    pub fn of(trust: Trust) -> Option<Level> {
        match Stance::from(trust) {
            Stance::Trust(level) => Some(level),
            Stance::Distrust => None,
        }
    }

    /// As statements and the wire say it.
    pub fn as_trust(self) -> Trust {
        match self {
            Level::High => Trust::High,
            Level::Medium => Trust::Medium,
            Level::Low => Trust::Low,
            Level::None => Trust::None,
        }
    }
}

impl From<Trust> for Stance {
    /// A statement's word as the computation weighs it (the text form is `proto::statements`).
    fn from(trust: Trust) -> Stance {
        match trust {
            Trust::High => Stance::Trust(Level::High),
            Trust::Medium => Stance::Trust(Level::Medium),
            Trust::Low => Stance::Trust(Level::Low),
            Trust::None => Stance::Trust(Level::None),
            Trust::Distrust => Stance::Distrust,
        }
    }
}

/// How a key is trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub level: Level,
    /// From the key you trust directly to this one, each with the level said of it on the way:
    /// "you → Alice (high) → Bob (medium)".
    pub path: Vec<Step>,
}

/// One key on a trust path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub key: Fingerprint,
    /// The level said of it by the key before (or by you); for a successor, the level it takes
    /// over from its predecessor.
    pub said: Level,
    /// The key before named this one its successor, and this one named it back: it stands
    /// where its predecessor stood (a key rotation), without a hop of its own.
    pub successor: bool,
}

/// Why a key that something points at is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreached {
    /// You distrust it yourself.
    DistrustedByYou,
    /// Every path to it is no stronger than a key that distrusts it.
    Distrusted { by: Fingerprint, at: Level },
    /// Its certificate is revoked.
    Revoked,
    /// Trusted keys vouch for it, but further than `max_depth` hops.
    TooDeep { depth: u8 },
}

/// The web as computed, by number: each trusted key's level and the last hop of its path
/// (paths are spelt out in fingerprints only when asked for), and why others are not trusted.
#[derive(Debug, Default)]
pub struct Web {
    keys: Arc<Keys>,
    best: Vec<Option<Best>>,
    hops: Vec<Hop>,
    /// The web before any distrust is applied: whose repositories are followed. A key's
    /// distrusts weigh in the computation whether or not another key's distrust cuts it, so
    /// its repository is followed all the same — or which distrusts are known (and so who is
    /// cut) would depend on which repository was fetched first.
    uncut_best: Vec<Option<Best>>,
    uncut_hops: Vec<Hop>,
    why_not: FxHashMap<Id, Unreached>,
    own: Vec<bool>,
}

impl Web {
    fn id(&self, key: &Fingerprint) -> Option<usize> {
        self.keys.get(key).map(|id| id as usize)
    }

    fn best(&self, key: &Fingerprint) -> Option<&Best> {
        self.best.get(self.id(key)?)?.as_ref()
    }

    /// The hops of the path `best` ends, from the key itself back to the key you trust
    /// directly.
    fn walk(&self, best: &Best) -> impl Iterator<Item = &Hop> {
        walk(&self.hops, best)
    }

    /// Whether `key` is one of yours (ultimate).
    pub fn is_own(&self, key: &Fingerprint) -> bool {
        self.id(key)
            .is_some_and(|id| self.own.get(id) == Some(&true))
    }

    /// `key`'s effective level, if it is trusted (your own keys are not listed: ultimate).
    pub fn level(&self, key: &Fingerprint) -> Option<Level> {
        Some(self.best(key)?.level)
    }

    /// How `key` is trusted, with its path, if it is.
    pub fn reach(&self, key: &Fingerprint) -> Option<Reach> {
        let best = self.best(key)?;
        let mut path: Vec<Step> = self
            .walk(best)
            .map(|h| Step {
                key: self.keys.fingerprint(h.key).clone(),
                said: h.said,
                successor: h.successor,
            })
            .collect();
        path.reverse();
        Some(Reach {
            level: best.level,
            path,
        })
    }

    /// How many hops from you `key` is (a key you trust directly is 1; a successor is where
    /// its predecessor is), if it is trusted.
    pub fn depth(&self, key: &Fingerprint) -> Option<usize> {
        Some(self.walk(self.best(key)?).filter(|h| !h.successor).count())
    }

    /// The key you trust directly that `key`'s trust comes through.
    pub fn root(&self, key: &Fingerprint) -> Option<&Fingerprint> {
        let first = self.walk(self.best(key)?).last()?;
        Some(self.keys.fingerprint(first.key))
    }

    /// Why `key` is not trusted, when the web knows a reason beyond "no statement names it".
    pub fn unreached(&self, key: &Fingerprint) -> Option<&Unreached> {
        self.why_not.get(&(self.id(key)? as Id))
    }

    /// The key before the key numbered `id` on its path; `None` for a key you trust directly
    /// (or one not trusted).
    pub fn via(&self, id: Id) -> Option<Id> {
        let best = self.best.get(id as usize)?.as_ref()?;
        Some(self.walk(best).nth(1)?.key)
    }

    /// Whether the key numbered `id` is trusted (your own keys aside).
    pub fn reaches(&self, id: Id) -> bool {
        matches!(self.best.get(id as usize), Some(Some(_)))
    }

    /// Every trusted key with its level (your own aside).
    pub fn levels(&self) -> impl Iterator<Item = (&Fingerprint, Level)> {
        self.best
            .iter()
            .enumerate()
            .filter_map(|(id, b)| Some((self.keys.fingerprint(id as Id), b.as_ref()?.level)))
    }

    /// Every key whose repository is followed — reached before any distrust is applied —
    /// with its level then and how many hops from you it is (your own aside).
    pub fn followed(&self) -> impl Iterator<Item = (&Fingerprint, Level, usize)> {
        self.uncut_best.iter().enumerate().filter_map(|(id, b)| {
            let b = b.as_ref()?;
            let depth = walk(&self.uncut_hops, b).filter(|h| !h.successor).count();
            Some((self.keys.fingerprint(id as Id), b.level, depth))
        })
    }

    /// The key before the key numbered `id` on its followed path (before distrust); `None`
    /// for a key you trust directly, or one not followed.
    pub fn followed_via(&self, id: Id) -> Option<Id> {
        let best = self.uncut_best.get(id as usize)?.as_ref()?;
        Some(walk(&self.uncut_hops, best).nth(1)?.key)
    }

    /// Whether the key numbered `id` is followed (your own keys aside).
    pub fn follows(&self, id: Id) -> bool {
        matches!(self.uncut_best.get(id as usize), Some(Some(_)))
    }
}

/// The hops of the path `best` ends in `hops`, from its key back to the key you trust directly.
fn walk<'a>(hops: &'a [Hop], best: &Best) -> impl Iterator<Item = &'a Hop> {
    let hop = |at: u32| (at != NO_HOP).then(|| &hops[at as usize]);
    std::iter::successors(hop(best.hop), move |h| hop(h.before))
}

/// Fingerprints numbered once for the computation. The index numbers each statement's keys as
/// it takes them in, so that computing the web again hashes no fingerprint. Numbers only grow.
#[derive(Debug, Default, Clone)]
pub struct Keys(Numbered<Fingerprint, rustc_hash::FxBuildHasher>);

impl Keys {
    /// The number of `key`, given it now if it has none.
    pub fn id(&mut self, key: &Fingerprint) -> Id {
        self.0.number(key)
    }

    pub fn get(&self, key: &Fingerprint) -> Option<Id> {
        self.0.find(key)
    }

    pub fn fingerprint(&self, id: Id) -> &Fingerprint {
        self.0.get(id)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One statement by number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub from: Id,
    pub about: Id,
    pub stance: Stance,
}

/// What the computation reads, by number (every number one of `keys`).
pub struct Inputs {
    pub keys: Arc<Keys>,
    pub own: Vec<Id>,
    pub direct: Vec<(Id, Stance)>,
    pub edges: Vec<Edge>,
    /// Key rotations, `(predecessor, successor)`: each named the other (the old key its
    /// successor, the new key its predecessor), neither word void.
    pub successions: Vec<(Id, Id)>,
    pub revoked: Vec<Id>,
    pub max_depth: u8,
}

/// Computes the web. See the module's comment for the rules.
pub fn compute(inputs: &Inputs) -> Web {
    let graph = Graph::new(inputs);
    // Pass one: without distrust, to weigh each distruster by the trust it would have.
    let uncut = graph.relax(inputs.max_depth, &[]);
    let caps = graph.distrust_caps(&uncut);
    let mut found = graph.relax(inputs.max_depth, &caps);
    for &(id, stance) in &inputs.direct {
        if stance == Stance::Distrust && !graph.own[id as usize] {
            found.why_not.insert(id, Unreached::DistrustedByYou);
        }
    }
    for &id in &inputs.revoked {
        if found.best[id as usize].is_none() && !graph.own[id as usize] {
            found.why_not.insert(id, Unreached::Revoked);
        }
    }
    Web {
        keys: inputs.keys.clone(),
        best: found.best,
        hops: found.hops,
        uncut_best: uncut.best,
        uncut_hops: uncut.hops,
        why_not: found.why_not,
        own: graph.own,
    }
}

/// A key's place in the computation: keys are numbered once, and the rounds work on numbers.
pub type Id = u32;

mod graph;
#[cfg(test)]
mod tests;

use graph::{Best, Graph, Hop, NO_HOP};
