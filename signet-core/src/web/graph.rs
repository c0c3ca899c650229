//! The computation itself: the statements as edges from numbered keys, and rounds of
//! relaxation over them (see the parent module for the rules).

use rustc_hash::FxHashMap;

use super::{Id, Inputs, Keys, Level, Stance, Unreached};

/// One hop of a path, shared by every path that goes on from it: a path is its last hop, and
/// hops are never changed once made (a key's later, better path is a new hop).
#[derive(Debug, Clone, Copy)]
pub(super) struct Hop {
    pub(super) key: Id,
    /// The level said of `key` by the hop before (or by you).
    pub(super) said: Level,
    /// The hop before, or [`NO_HOP`] for a key you trust directly.
    pub(super) before: u32,
    /// `key` succeeds the key of the hop before: it takes its place, not a hop further.
    pub(super) successor: bool,
}

pub(super) const NO_HOP: u32 = u32::MAX;

/// The best a key has been reached with so far.
#[derive(Debug, Clone, Copy)]
pub(super) struct Best {
    pub(super) level: Level,
    pub(super) hop: u32,
}

/// What a computation found, by number: the hops are the paths' arena.
pub(super) struct Found {
    pub(super) best: Vec<Option<Best>>,
    pub(super) hops: Vec<Hop>,
    pub(super) why_not: FxHashMap<Id, Unreached>,
}

impl Found {
    /// A new hop onto `key`; its number.
    fn hop(&mut self, key: Id, said: Level, before: u32, successor: bool) -> u32 {
        self.hops.push(Hop {
            key,
            said,
            before,
            successor,
        });
        (self.hops.len() - 1) as u32
    }
}

/// The statements as edges from each numbered key.
pub(super) struct Graph<'a> {
    pub(super) keys: &'a Keys,
    pub(super) edges: Vec<Vec<(Id, Stance)>>,
    /// Your word about each key: the first round's sources, and never overruled.
    pub(super) direct: Vec<Option<Stance>>,
    pub(super) own: Vec<bool>,
    pub(super) revoked: Vec<bool>,
    /// Each key's successors (key rotations both keys signed).
    pub(super) successors: Vec<Vec<Id>>,
}

impl<'a> Graph<'a> {
    pub(super) fn new(inputs: &'a Inputs) -> Self {
        let len = inputs.keys.len();
        let mut graph = Graph {
            keys: &inputs.keys,
            edges: vec![Vec::new(); len],
            direct: vec![None; len],
            own: vec![false; len],
            revoked: vec![false; len],
            successors: vec![Vec::new(); len],
        };
        for &(old, new) in &inputs.successions {
            graph.successors[old as usize].push(new);
        }
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
    pub(super) fn relax(&self, max_depth: u8, caps: &[Option<(Level, Id)>]) -> Found {
        let mut found = Found {
            best: vec![None; self.edges.len()],
            hops: Vec::new(),
            why_not: FxHashMap::default(),
        };
        let mut frontier = if max_depth >= 1 {
            self.start(&mut found, caps)
        } else {
            Vec::new()
        };
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
                    let hop = found.hop(about, said, reach.hop, false);
                    found.best[a] = Some(Best { level, hop });
                    if seen[a] != depth {
                        seen[a] = depth;
                        improved.push(about);
                    }
                }
            }
            self.succeed(&mut improved, caps, &mut found);
            frontier = improved;
        }
        self.note_distrusted(caps, &mut found);
        found
    }

    /// The first round: the keys you trust directly, at the level you said.
    fn start(&self, found: &mut Found, caps: &[Option<(Level, Id)>]) -> Vec<Id> {
        let mut frontier = Vec::new();
        for (n, stance) in self.direct.iter().enumerate() {
            if let Some(Stance::Trust(level)) = stance
                && !self.own[n]
                && !self.revoked[n]
            {
                let hop = found.hop(n as Id, *level, NO_HOP, false);
                found.best[n] = Some(Best { level: *level, hop });
                frontier.push(n as Id);
            }
        }
        self.succeed(&mut frontier, caps, found);
        frontier
    }

    /// The successors of the keys this round reached stand where their predecessors stand:
    /// the same level, in the same round (and so at the same depth), through chains of
    /// rotations. A key you spoke of yourself keeps your word; a distrust caps a successor as
    /// it would any key.
    fn succeed(&self, reached: &mut Vec<Id>, caps: &[Option<(Level, Id)>], found: &mut Found) {
        let mut next = 0;
        while next < reached.len() {
            let old = reached[next] as usize;
            next += 1;
            let Some(from) = found.best[old] else {
                continue;
            };
            for &new in &self.successors[old] {
                let n = new as usize;
                if self.fixed(new) || found.best[n].is_some_and(|b| b.level >= from.level) {
                    continue;
                }
                if caps
                    .get(n)
                    .copied()
                    .flatten()
                    .is_some_and(|(cap, _)| from.level <= cap)
                {
                    continue;
                }
                let hop = found.hop(new, from.level, from.hop, true);
                found.best[n] = Some(Best {
                    level: from.level,
                    hop,
                });
                reached.push(new);
            }
        }
    }

    /// Why the keys a distrust cut off are not trusted.
    fn note_distrusted(&self, caps: &[Option<(Level, Id)>], found: &mut Found) {
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
    }

    /// For each distrusted key, the strongest distrust of it that counts, by a trusted key
    /// (weighed by the trust it has in `uncut`). Keys you spoke of yourself are never capped.
    ///
    /// A distruster itself cut by a strictly stronger distrust does not cut: its word counts
    /// for nothing. Distrusts are weighed strongest first, so that whether a distruster is cut
    /// is settled before its own distrusts are weighed — in an order no statement's arrival
    /// changes. Two keys of equal weight distrusting each other are both cut: neither is cut
    /// by a *stronger* one.
    pub(super) fn distrust_caps(&self, uncut: &Found) -> Vec<Option<(Level, Id)>> {
        let mut caps: Vec<Option<(Level, Id)>> = vec![None; self.edges.len()];
        let mut distrusts: Vec<(Level, usize, usize)> = Vec::new();
        for (from, edges) in self.edges.iter().enumerate() {
            let weight = match &uncut.best[from] {
                Some(best) => best.level,
                None if self.own[from] => Level::High,
                None => continue, // an untrusted key's distrust weighs nothing
            };
            for (about, stance) in edges {
                let about = *about as usize;
                if *stance == Stance::Distrust && !self.own[about] && self.direct[about].is_none() {
                    distrusts.push((weight, from, about));
                }
            }
        }
        distrusts.sort_by_key(|d| std::cmp::Reverse(d.0));
        for (weight, from, about) in distrusts {
            let overruled = caps[from].is_some_and(|(cap, _)| cap > weight);
            if overruled {
                continue;
            }
            if caps[about].is_none_or(|(held, _)| weight > held) {
                caps[about] = Some((weight, from as Id));
            }
        }
        caps
    }
}
