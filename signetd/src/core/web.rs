//! The web of trust, as a pure computation: from your own word about keys and the trust
//! statements keys publish about each other, each key's effective trust level and the path
//! that gives it — or why it has none. The rules are docs/FORMATS.md's "Trust statements";
//! wiring into verdicts, publishing and following come later (issue 14).
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
//!
//! Computed by rounds of relaxation, one per hop, each round only from the keys the last one
//! improved: `O(max_depth × statements)`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use rustc_hash::FxHashMap;

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

/// One published trust statement (each key's newest about each other key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub from: Fingerprint,
    pub about: Fingerprint,
    pub stance: Stance,
}

/// Everything the computation reads.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Your keys, current and retired: ultimate.
    pub own: BTreeSet<Fingerprint>,
    /// Your own word (the local trust list): it always wins.
    pub direct: BTreeMap<Fingerprint, Stance>,
    /// Statements published by keys, newest per (from, about).
    pub statements: Vec<Statement>,
    /// Keys whose certificate is revoked.
    pub revoked: HashSet<Fingerprint>,
    /// Hops from you a key may be (direct trust is one).
    pub max_depth: u8,
}

/// How a key is trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub level: Level,
    /// From the key you trust directly to this one, each with the level said of it on the way:
    /// `[(Alice, High), (Bob, Medium)]` is "you → Alice (high) → Bob (medium)".
    pub path: Vec<(Fingerprint, Level)>,
}

impl Reach {
    /// The key you trust directly that this trust comes through: independent reviewers are
    /// reached through different ones.
    pub fn root(&self) -> &Fingerprint {
        &self.path[0].0
    }
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
    why_not: FxHashMap<Id, Unreached>,
    own: Vec<bool>,
}

impl Web {
    fn id(&self, key: &Fingerprint) -> Option<usize> {
        self.keys.get(key).map(|id| id as usize)
    }

    /// Whether `key` is one of yours (ultimate).
    pub fn is_own(&self, key: &Fingerprint) -> bool {
        self.id(key)
            .is_some_and(|id| self.own.get(id) == Some(&true))
    }

    /// `key`'s effective level, if it is trusted (your own keys are not listed: ultimate).
    pub fn level(&self, key: &Fingerprint) -> Option<Level> {
        let best = self.best.get(self.id(key)?)?.as_ref()?;
        Some(best.level)
    }

    /// How `key` is trusted, with its path, if it is.
    pub fn reach(&self, key: &Fingerprint) -> Option<Reach> {
        let best = self.best.get(self.id(key)?)?.as_ref()?;
        Some(self.spelt(best))
    }

    /// The key you trust directly that `key`'s trust comes through.
    pub fn root(&self, key: &Fingerprint) -> Option<&Fingerprint> {
        let best = self.best.get(self.id(key)?)?.as_ref()?;
        let mut hop = &self.hops[best.hop as usize];
        while hop.before != NO_HOP {
            hop = &self.hops[hop.before as usize];
        }
        Some(self.keys.fingerprint(hop.key))
    }

    /// Why `key` is not trusted, when the web knows a reason beyond "no statement names it".
    pub fn unreached(&self, key: &Fingerprint) -> Option<&Unreached> {
        self.why_not.get(&(self.id(key)? as Id))
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

    /// Every trusted key with its path (your own aside).
    pub fn reached(&self) -> impl Iterator<Item = (&Fingerprint, Reach)> {
        self.best
            .iter()
            .enumerate()
            .filter_map(|(id, b)| Some((self.keys.fingerprint(id as Id), self.spelt(b.as_ref()?))))
    }

    fn spelt(&self, best: &Best) -> Reach {
        let mut path = Vec::new();
        let mut at = best.hop;
        while at != NO_HOP {
            let hop = &self.hops[at as usize];
            path.push((self.keys.fingerprint(hop.key).clone(), hop.said));
            at = hop.before;
        }
        path.reverse();
        Reach {
            level: best.level,
            path,
        }
    }
}

/// Fingerprints numbered once for the computation. The index numbers each statement's keys as
/// it takes them in, so that computing the web again hashes no fingerprint. Numbers only grow.
#[derive(Debug, Default, Clone)]
pub struct Keys {
    ids: FxHashMap<Fingerprint, Id>,
    fingerprints: Vec<Fingerprint>,
}

impl Keys {
    /// The number of `key`, given it now if it has none.
    pub fn id(&mut self, key: &Fingerprint) -> Id {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let id = self.fingerprints.len() as Id;
        self.fingerprints.push(key.clone());
        self.ids.insert(key.clone(), id);
        id
    }

    pub fn get(&self, key: &Fingerprint) -> Option<Id> {
        self.ids.get(key).copied()
    }

    pub fn fingerprint(&self, id: Id) -> &Fingerprint {
        &self.fingerprints[id as usize]
    }

    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
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
pub struct Numbered {
    pub keys: Arc<Keys>,
    pub own: Vec<Id>,
    pub direct: Vec<(Id, Stance)>,
    pub edges: Vec<Edge>,
    pub revoked: Vec<Id>,
    pub max_depth: u8,
}

/// Computes the web from fingerprints (numbering them first). See the module's comment for
/// the rules.
pub fn compute(inputs: &Inputs) -> Web {
    let mut keys = Keys::default();
    let own = inputs.own.iter().map(|k| keys.id(k)).collect();
    let direct = inputs
        .direct
        .iter()
        .map(|(k, s)| (keys.id(k), *s))
        .collect();
    let edges = inputs
        .statements
        .iter()
        .map(|s| Edge {
            from: keys.id(&s.from),
            about: keys.id(&s.about),
            stance: s.stance,
        })
        .collect();
    let revoked = inputs.revoked.iter().map(|k| keys.id(k)).collect();
    compute_numbered(&Numbered {
        keys: Arc::new(keys),
        own,
        direct,
        edges,
        revoked,
        max_depth: inputs.max_depth,
    })
}

/// Computes the web from numbered keys, as the daemon does.
pub fn compute_numbered(inputs: &Numbered) -> Web {
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
        why_not: found.why_not,
        own: graph.own,
    }
}

/// A key's place in the computation: keys are numbered once, and the rounds work on numbers.
pub type Id = u32;

/// One hop of a path, shared by every path that goes on from it: a path is its last hop, and
/// hops are never changed once made (a key's later, better path is a new hop).
#[derive(Debug, Clone, Copy)]
struct Hop {
    key: Id,
    /// The level said of `key` by the hop before (or by you).
    said: Level,
    /// The hop before, or [`NO_HOP`] for a key you trust directly.
    before: u32,
}

const NO_HOP: u32 = u32::MAX;

/// The best a key has been reached with so far.
#[derive(Debug, Clone, Copy)]
struct Best {
    level: Level,
    hop: u32,
}

/// What a computation found, by number: the hops are the paths' arena.
struct Found {
    best: Vec<Option<Best>>,
    hops: Vec<Hop>,
    why_not: FxHashMap<Id, Unreached>,
}

/// The statements as edges from each numbered key.
struct Graph<'a> {
    keys: &'a Keys,
    edges: Vec<Vec<(Id, Stance)>>,
    /// Your word about each key: the first round's sources, and never overruled.
    direct: Vec<Option<Stance>>,
    own: Vec<bool>,
    revoked: Vec<bool>,
}

impl<'a> Graph<'a> {
    fn new(inputs: &'a Numbered) -> Self {
        let len = inputs.keys.len();
        let mut graph = Graph {
            keys: &inputs.keys,
            edges: vec![Vec::new(); len],
            direct: vec![None; len],
            own: vec![false; len],
            revoked: vec![false; len],
        };
        for &id in &inputs.own {
            graph.own[id as usize] = true;
        }
        for &id in &inputs.revoked {
            graph.revoked[id as usize] = true;
        }
        for &(id, stance) in &inputs.direct {
            graph.direct[id as usize] = Some(stance);
        }
        for e in &inputs.edges {
            // A revoked key's word is void.
            if !graph.revoked[e.from as usize] {
                graph.edges[e.from as usize].push((e.about, e.stance));
            }
        }
        graph
    }

    /// Whether nothing the network says can change `key`'s trust: your own keys, keys you
    /// spoke of yourself, revoked keys.
    fn fixed(&self, key: Id) -> bool {
        let k = key as usize;
        self.own[k] || self.direct[k].is_some() || self.revoked[k]
    }

    /// Rounds of relaxation from your direct trust, one hop each, up to `max_depth`; one
    /// round more only notes which keys are too deep. `caps[k]`, when set, is the strongest
    /// distrust of k: paths to it must be stronger.
    fn relax(&self, max_depth: u8, caps: &[Option<(Level, Id)>]) -> Found {
        let mut found = Found {
            best: vec![None; self.edges.len()],
            hops: Vec::new(),
            why_not: FxHashMap::default(),
        };
        let mut frontier: Vec<Id> = Vec::new();
        for (n, stance) in self.direct.iter().enumerate() {
            if let Some(Stance::Trust(level)) = stance
                && !self.own[n]
                && !self.revoked[n]
                && max_depth >= 1
            {
                found.hops.push(Hop {
                    key: n as Id,
                    said: *level,
                    before: NO_HOP,
                });
                found.best[n] = Some(Best {
                    level: *level,
                    hop: (found.hops.len() - 1) as u32,
                });
                frontier.push(n as Id);
            }
        }
        let mut seen = vec![0u8; self.edges.len()];
        for depth in 2..=max_depth.saturating_add(1) {
            // What this round reads is what the last round left: a key improved in this round
            // vouches for others only in the next, one hop further.
            let sources: Vec<(Id, Best)> = frontier
                .iter()
                .filter_map(|&k| found.best[k as usize].map(|b| (k, b)))
                .filter(|(_, b)| b.level > Level::None)
                .collect();
            let mut improved = Vec::new();
            for (from, reach) in &sources {
                for &(about, stance) in &self.edges[*from as usize] {
                    let Stance::Trust(said) = stance else {
                        continue;
                    };
                    if said == Level::None || self.fixed(about) {
                        continue;
                    }
                    let level = said.min(reach.level);
                    let a = about as usize;
                    if depth > max_depth {
                        if found.best[a].is_none() {
                            found
                                .why_not
                                .entry(about)
                                .or_insert(Unreached::TooDeep { depth });
                        }
                        continue;
                    }
                    if let Some((cap, _)) = caps.get(a).copied().flatten()
                        && level <= cap
                    {
                        continue;
                    }
                    if found.best[a].as_ref().is_some_and(|b| b.level >= level) {
                        continue;
                    }
                    found.hops.push(Hop {
                        key: about,
                        said,
                        before: reach.hop,
                    });
                    let hop = (found.hops.len() - 1) as u32;
                    found.best[a] = Some(Best { level, hop });
                    if seen[a] != depth {
                        seen[a] = depth;
                        improved.push(about);
                    }
                }
            }
            frontier = improved;
        }
        for (k, cap) in caps.iter().enumerate() {
            if let Some((at, by)) = cap
                && found.best[k].is_none()
            {
                let by = self.keys.fingerprint(*by).clone();
                found
                    .why_not
                    .insert(k as Id, Unreached::Distrusted { by, at: *at });
            }
        }
        found
    }

    /// For each distrusted key, the strongest distrust of it by a trusted key (weighed by the
    /// trust it has in `uncut`). Keys you spoke of yourself are never capped.
    fn distrust_caps(&self, uncut: &Found) -> Vec<Option<(Level, Id)>> {
        let mut caps: Vec<Option<(Level, Id)>> = vec![None; self.edges.len()];
        let distrusting = self.edges.iter().enumerate().flat_map(|(from, edges)| {
            edges
                .iter()
                .filter(|(_, s)| *s == Stance::Distrust)
                .map(move |(about, _)| (from, *about as usize))
        });
        for (from, about) in distrusting {
            if self.own[about] || self.direct[about].is_some() {
                continue;
            }
            let weight = match &uncut.best[from] {
                Some(best) => best.level,
                None if self.own[from] => Level::High,
                None => continue, // an untrusted key's distrust weighs nothing
            };
            if caps[about].is_none_or(|(held, _)| weight > held) {
                caps[about] = Some((weight, from as Id));
            }
        }
        caps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(c: char) -> Fingerprint {
        Fingerprint::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn says(from: char, about: char, stance: Stance) -> Statement {
        Statement {
            from: k(from),
            about: k(about),
            stance,
        }
    }

    use Level::{High, Low, Medium};
    use Stance::{Distrust, Trust};

    /// You trust A (high) and B (medium); 0 is you.
    fn web(statements: Vec<Statement>, max_depth: u8) -> Inputs {
        Inputs {
            own: [k('0')].into(),
            direct: [(k('A'), Trust(High)), (k('B'), Trust(Medium))].into(),
            statements,
            revoked: HashSet::new(),
            max_depth,
        }
    }

    fn level(w: &Web, c: char) -> Option<Level> {
        w.reach(&k(c)).map(|r| r.level)
    }

    #[test]
    fn trust_flows_to_max_depth_and_a_path_is_its_weakest_link() {
        let i = web(
            vec![
                says('A', 'C', Trust(Medium)),
                says('C', 'D', Trust(High)),
                says('D', 'E', Trust(High)),
            ],
            2,
        );
        let w = compute(&i);
        assert_eq!(level(&w, 'A'), Some(High));
        assert_eq!(level(&w, 'C'), Some(Medium));
        assert_eq!(
            w.reach(&k('C')).unwrap().path,
            vec![(k('A'), High), (k('C'), Medium)]
        );
        assert_eq!(level(&w, 'D'), None, "three hops, max_depth 2");
        assert_eq!(w.unreached(&k('D')), Some(&Unreached::TooDeep { depth: 3 }));
        let w = compute(&Inputs { max_depth: 3, ..i });
        assert_eq!(level(&w, 'D'), Some(Medium), "weakest link: A→C medium");
    }

    #[test]
    fn a_key_takes_its_best_path() {
        let w = compute(&web(
            vec![says('A', 'C', Trust(Low)), says('B', 'C', Trust(High))],
            2,
        ));
        let c = w.reach(&k('C')).unwrap();
        assert_eq!(
            (c.level, c.root()),
            (Medium, &k('B')),
            "B (medium) → C (high)"
        );
    }

    #[test]
    fn a_scoped_distrust_cuts_only_paths_no_stronger_than_the_distruster() {
        // B (medium) distrusts C. C via A (high → medium) is no stronger: cut. D via A
        // (high → high) is untouched by a distrust of C.
        let w = compute(&web(
            vec![
                says('A', 'C', Trust(Medium)),
                says('B', 'C', Distrust),
                says('A', 'D', Trust(High)),
            ],
            2,
        ));
        assert_eq!(level(&w, 'C'), None);
        assert_eq!(
            w.unreached(&k('C')),
            Some(&Unreached::Distrusted {
                by: k('B'),
                at: Medium
            })
        );
        assert_eq!(level(&w, 'D'), Some(High));
        // A stronger path survives it.
        let w = compute(&web(
            vec![says('A', 'C', Trust(High)), says('B', 'C', Distrust)],
            2,
        ));
        assert_eq!(level(&w, 'C'), Some(High));
    }

    #[test]
    fn your_direct_word_wins_over_the_network() {
        let mut i = web(
            vec![says('A', 'B', Distrust), says('A', 'C', Trust(High))],
            2,
        );
        i.direct.insert(k('C'), Distrust);
        let w = compute(&i);
        assert_eq!(
            level(&w, 'B'),
            Some(Medium),
            "A's distrust cannot erase your trust"
        );
        assert_eq!(level(&w, 'C'), None, "A's trust cannot undo your distrust");
        assert_eq!(w.unreached(&k('C')), Some(&Unreached::DistrustedByYou));
    }

    #[test]
    fn a_revoked_intermediate_cuts_its_subtree_unless_another_path_reaches_it() {
        let mut i = web(
            vec![
                says('A', 'C', Trust(High)),
                says('C', 'D', Trust(High)),
                says('C', 'E', Trust(High)),
                says('B', 'E', Trust(High)),
            ],
            3,
        );
        i.revoked.insert(k('C'));
        let w = compute(&i);
        assert_eq!(level(&w, 'C'), None);
        assert_eq!(w.unreached(&k('C')), Some(&Unreached::Revoked));
        assert_eq!(level(&w, 'D'), None, "only reached through C");
        assert_eq!(level(&w, 'E'), Some(Medium), "also reached through B");
    }

    #[test]
    fn cycles_end_and_a_key_distrusting_itself_is_untrusted() {
        let w = compute(&web(
            vec![
                says('A', 'C', Trust(High)),
                says('C', 'D', Trust(High)),
                says('D', 'C', Trust(High)),
                says('D', 'A', Trust(Low)),
            ],
            8,
        ));
        assert_eq!(level(&w, 'C'), Some(High));
        assert_eq!(level(&w, 'D'), Some(High));
        assert_eq!(
            level(&w, 'A'),
            Some(High),
            "a statement about a direct key changes nothing"
        );
        let w = compute(&web(
            vec![says('A', 'C', Trust(High)), says('C', 'C', Distrust)],
            2,
        ));
        assert_eq!(level(&w, 'C'), None, "its own word against itself");
    }

    #[test]
    fn none_vouches_for_no_one_and_own_keys_are_not_listed() {
        let mut i = web(vec![says('A', 'C', Trust(Level::None))], 2);
        i.direct.insert(k('E'), Trust(Level::None));
        i.statements.push(says('E', 'F', Trust(High)));
        i.statements.push(says('A', '0', Distrust));
        let w = compute(&i);
        assert_eq!(level(&w, 'C'), None);
        assert_eq!(level(&w, 'E'), Some(Level::None));
        assert_eq!(
            level(&w, 'F'),
            None,
            "a key trusted at none vouches for nobody"
        );
        assert!(w.is_own(&k('0')) && w.reach(&k('0')).is_none());
    }

    #[test]
    fn mutual_distrust_at_equal_levels_cuts_both_rather_than_flapping() {
        let w = compute(&web(
            vec![
                says('A', 'C', Trust(Medium)),
                says('A', 'D', Trust(Medium)),
                says('C', 'D', Distrust),
                says('D', 'C', Distrust),
            ],
            2,
        ));
        assert_eq!((level(&w, 'C'), level(&w, 'D')), (None, None));
    }
}
