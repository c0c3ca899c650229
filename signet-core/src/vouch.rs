//! Trust statements as the daemon keeps them (docs/FORMATS.md, "Trust statements"): each
//! checked `openpgp:` attestation is a [`Vouch`], kept per source beside the attestations about
//! files, and the web of trust reads each key's newest word about each other key.

use std::collections::HashMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use signet_proto::formats::Fingerprint;
use signet_proto::statements::{Succession, Trust, TrustStatement};

use crate::signature::Genuine;
use crate::web::{self, Edge, Id, Keys, Stance, Web};
use signet_proto::api::Source;

/// One checked trust statement: `key` says how much `about`'s word is worth.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Vouch {
    pub key: Fingerprint,
    /// The key that made the signature: a revocation of it voids the statement.
    pub signer: Fingerprint,
    pub signed_at: u64,
    pub about: Fingerprint,
    pub trust: Trust,
    /// Where `about`'s repository is published, as `key` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default)]
    pub comment: String,
    /// Half of a key rotation (the other half is `about`'s statement about `key`).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "succession")]
    pub succession: Option<Succession>,
    /// `key` took back what it said of `about`: no word, yet newer than the one it replaces.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
    #[serde(skip, default = "own_source")]
    pub source: Source,
}

/// `Succession` as the checked cache spells it.
mod succession {
    use signet_proto::statements::Succession;

    pub fn serialize<S: serde::Serializer>(
        s: &Option<Succession>,
        to: S,
    ) -> Result<S::Ok, S::Error> {
        to.serialize_str(s.map_or("", Succession::as_str))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        from: D,
    ) -> Result<Option<Succession>, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(from)?;
        Ok(Succession::parse(&text))
    }
}

fn own_source() -> Source {
    Source::Own
}

impl Vouch {
    /// A statement whose signature by `key` checked out (`genuine`), as held from `source`.
    pub fn checked(
        statement: TrustStatement,
        key: Fingerprint,
        genuine: Genuine,
        source: Source,
    ) -> Self {
        Vouch {
            key,
            signer: genuine.signer,
            signed_at: genuine.signed_at,
            about: statement.key,
            trust: statement.trust,
            url: statement.url,
            comment: statement.comment,
            succession: statement.succession,
            withdrawn: statement.withdrawn,
            source,
        }
    }

    /// Whether `self` is a newer word than `other` by the same key about the same key: signed
    /// later; within the same second the own repository's copy, then the weaker word (failing
    /// closed, as for files).
    pub fn newer_than(&self, other: &Vouch) -> bool {
        let rank = |v: &Vouch| (v.signed_at, v.source == Source::Own, weakness(v.trust));
        rank(self) > rank(other)
    }
}

/// Orders trust words from strongest to weakest, for ties.
fn weakness(trust: Trust) -> u8 {
    match trust {
        Trust::High => 0,
        Trust::Medium => 1,
        Trust::Low => 2,
        Trust::None => 3,
        Trust::Distrust => 4,
    }
}

/// The trust statements of an index as they stood (`Index::statements`): every source's
/// list, shared until the index writes it.
#[derive(Debug, Clone, Default)]
pub struct Statements {
    keys: Arc<Keys>,
    lists: Vec<Arc<Vec<Held>>>,
}

impl Statements {
    pub fn new(keys: Arc<Keys>, lists: Vec<Arc<Vec<Held>>>) -> Self {
        Statements { keys, lists }
    }

    /// The numbers the statements' keys have.
    pub fn keys(&self) -> &Arc<Keys> {
        &self.keys
    }

    /// Every statement, with its keys' numbers.
    pub fn held(&self) -> impl Iterator<Item = &Held> {
        self.lists.iter().flat_map(|l| l.iter())
    }
}

/// A vouch as the index holds it: with the numbers of its two keys (`web::Keys`), so that the
/// web is computed again without hashing a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub from: Id,
    pub about: Id,
    pub vouch: Vouch,
}

/// Each key's newest word about each other key, over every source, leaving out what a
/// revocation voids (`voided`): the statements the web reads, with the vouch behind each.
pub fn newest<'a>(
    held: impl IntoIterator<Item = &'a Held>,
    voided: impl Fn(&Vouch) -> bool,
) -> FxHashMap<(Id, Id), &'a Held> {
    let mut newest: FxHashMap<(Id, Id), &Held> = FxHashMap::default();
    for h in held {
        if !voided(&h.vouch) {
            keep_newer(&mut newest, (h.from, h.about), h);
        }
    }
    newest
}

/// Holds under `key` the newer (`Vouch::newer_than`) of what `map` holds there and `h`.
fn keep_newer<'a, K: Eq + std::hash::Hash>(map: &mut FxHashMap<K, &'a Held>, key: K, h: &'a Held) {
    map.entry(key)
        .and_modify(|best| {
            if h.vouch.newer_than(&best.vouch) {
                *best = h;
            }
        })
        .or_insert(h);
}

/// The web's edges from the newest vouches.
pub fn edges<'a>(newest: impl IntoIterator<Item = &'a &'a Held>) -> Vec<Edge> {
    newest
        .into_iter()
        .map(|h| Edge {
            from: h.from,
            about: h.about,
            stance: h.vouch.trust.into(),
        })
        .collect()
}

/// Key rotations, `(old, new)`, from each key's newest word: the old key named the new one its
/// successor and the new key named the old one its predecessor, neither word void (a word
/// after a soft revocation, or by a key revoked hard, never reached `newest`).
pub fn successions(newest: &FxHashMap<(Id, Id), &Held>) -> Vec<(Id, Id)> {
    newest
        .iter()
        .filter(|(_, h)| h.vouch.succession == Some(Succession::Successor))
        .filter(|((old, new), _)| {
            newest
                .get(&(*new, *old))
                .is_some_and(|back| back.vouch.succession == Some(Succession::Predecessor))
        })
        .map(|(&pair, _)| pair)
        .collect()
}

/// Your word, numbered as the statements' keys are (`Index::keys_mut`).
pub struct Yours {
    /// Your keys, current and retired.
    pub own: Vec<Id>,
    /// Your trust list.
    pub direct: FxHashMap<Id, Stance>,
    /// Keys whose certificate is revoked.
    pub revoked: Vec<Id>,
}

/// The web and what is shown beside it.
pub struct Computed {
    pub web: Web,
    /// Every distrust held of each key, by whom and why.
    pub distrusts: HashMap<Fingerprint, Vec<(Fingerprint, String)>>,
    /// Where each key the web reaches publishes, as said on the last hop of its path (by your
    /// own keys, for a key you trust directly); a successor publishes where its predecessor
    /// did, unless said otherwise.
    pub urls: HashMap<Fingerprint, String>,
    /// Each key's successor, where a rotation both keys signed says so.
    pub successors: HashMap<Fingerprint, Fingerprint>,
    /// Each successor's predecessor (a key may name several successors; each has one).
    pub predecessors: HashMap<Fingerprint, Fingerprint>,
}

/// The web from the trust statements held (`Index::statements`), as the daemon computes it on
/// every change: each key's newest unvoided word about each other key, your keys' statements
/// in your own repository taken as your own word for keys your trust list does not name (a
/// home restored from its repository keeps its published trust; copies of them from remotes
/// are ignored), then `web::compute`. No fingerprint is hashed per statement.
pub fn web_of(
    statements: &Statements,
    mut yours: Yours,
    max_depth: u8,
    voided: impl Fn(&Vouch) -> bool,
) -> Computed {
    let keys = statements.keys();
    let mut own = vec![false; keys.len()];
    for &id in &yours.own {
        own[id as usize] = true;
    }
    // Your keys' word is what your own repository says now: a statement of yours that a
    // remote carries may be one you took back, replayed.
    let held = statements
        .held()
        .filter(|h| !own[h.from as usize] || h.vouch.source == Source::Own);
    let newest = newest(held, voided);
    // A withdrawal is the newest word of its pair, and says nothing: no edge.
    let edges = edges(
        newest
            .values()
            .filter(|h| !own[h.from as usize] && !h.vouch.withdrawn),
    );
    let mut published: FxHashMap<Id, &Held> = FxHashMap::default();
    let mut distrusts: HashMap<Fingerprint, Vec<(Fingerprint, String)>> = HashMap::new();
    for h in newest.values() {
        if h.vouch.trust == Trust::Distrust {
            let seen = (h.vouch.key.clone(), h.vouch.comment.clone());
            distrusts
                .entry(h.vouch.about.clone())
                .or_default()
                .push(seen);
        }
        if own[h.from as usize] {
            // Of your keys' statements about one key (a current and a retired key), the newest.
            keep_newer(&mut published, h.about, h);
        }
    }
    for (&about, h) in published.iter().filter(|(_, h)| !h.vouch.withdrawn) {
        yours.direct.entry(about).or_insert(h.vouch.trust.into());
    }
    let successions = successions(&newest);
    let web = web::compute(&web::Inputs {
        keys: keys.clone(),
        own: yours.own,
        direct: yours.direct.into_iter().collect(),
        edges,
        successions: successions.clone(),
        revoked: yours.revoked,
        max_depth,
    });
    // Where each key the web follows publishes: the URL said on the last hop of its path
    // before distrust, or by your own keys for a key you trust directly. One lookup per key.
    let mut urls = HashMap::new();
    for id in 0..keys.len() as Id {
        if !web.follows(id) {
            continue;
        }
        let said = match web.followed_via(id) {
            Some(before) => newest.get(&(before, id)),
            None => published.get(&id),
        };
        if let Some(url) = said.and_then(|h| h.vouch.url.clone()) {
            urls.insert(keys.fingerprint(id).clone(), url);
        }
    }
    // A successor reached through its predecessor publishes where it did (a rotation moves
    // the key, not the repository), unless a statement said otherwise.
    let mut successors = HashMap::new();
    let mut predecessors = HashMap::new();
    for &(old, new) in &successions {
        let (old, new) = (keys.fingerprint(old), keys.fingerprint(new));
        if let Some(url) = urls.get(old).cloned() {
            urls.entry(new.clone()).or_insert(url);
        }
        successors.insert(old.clone(), new.clone());
        predecessors.insert(new.clone(), old.clone());
    }
    Computed {
        web,
        distrusts,
        urls,
        successors,
        predecessors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{Checked, Index};
    use crate::web::{Keys, Level};

    fn fpr(c: char) -> Fingerprint {
        Fingerprint::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn vouch(key: char, about: char, trust: Trust, at: u64, source: Source) -> Vouch {
        Vouch {
            key: fpr(key),
            signer: fpr(key),
            signed_at: at,
            about: fpr(about),
            trust,
            url: None,
            comment: String::new(),
            succession: None,
            withdrawn: false,
            source,
        }
    }

    #[test]
    fn the_newest_unvoided_word_per_pair_is_the_one_read() {
        let remote = Source::Remote("r".into());
        let all = [
            vouch('A', 'B', Trust::High, 10, remote.clone()),
            vouch('A', 'B', Trust::Distrust, 20, remote.clone()),
            vouch('A', 'C', Trust::Low, 10, remote.clone()),
            // The same second from two sources: the own copy, then the weaker word.
            vouch('D', 'C', Trust::High, 5, remote.clone()),
            vouch('D', 'C', Trust::Medium, 5, remote.clone()),
            vouch('E', 'C', Trust::High, 5, remote.clone()),
        ];
        let mut keys = Keys::default();
        let held: Vec<Held> = all
            .into_iter()
            .map(|v| Held {
                from: keys.id(&v.key),
                about: keys.id(&v.about),
                vouch: v,
            })
            .collect();
        let newest = newest(&held, |v| v.key == fpr('E'));
        let said = |a: char, b: char| {
            let pair = (keys.get(&fpr(a)).unwrap(), keys.get(&fpr(b)).unwrap());
            newest[&pair].vouch.trust
        };
        assert_eq!(newest.len(), 3);
        assert_eq!(said('A', 'B'), Trust::Distrust);
        assert_eq!(said('A', 'C'), Trust::Low);
        assert_eq!(said('D', 'C'), Trust::Medium);
        assert_eq!(edges(newest.values()).len(), 3);
    }

    #[test]
    fn your_keys_statements_are_your_word_and_urls_come_from_the_last_hop() {
        // 0 and 1 are your keys (current, retired); A..D others.
        let own = Source::Own;
        let remote = Source::Remote("r".into());
        let with_url = |from, about, trust, at, source: &Source| {
            let mut v = vouch(from, about, trust, at, source.clone());
            v.url = Some(format!("http://{about}.example/"));
            v
        };
        let mut index = Index::default();
        let own_words = vec![
            // The retired key said B high; the current key later said B low: low is yours.
            with_url('1', 'B', Trust::High, 1, &own),
            with_url('0', 'B', Trust::Low, 2, &own),
            // A published high, but your trust list says distrust: the list wins.
            with_url('0', 'A', Trust::High, 2, &own),
            with_url('0', 'C', Trust::Medium, 2, &own),
        ];
        let theirs = vec![
            with_url('C', 'D', Trust::High, 3, &remote),
            // Your key's genuine word, carried by a remote: a statement you took back out of
            // your repository, replayed. Only your repository says what your word is now.
            with_url('0', 'E', Trust::High, 9, &remote),
        ];
        for (source, vouches) in [(own.clone(), own_words), (remote.clone(), theirs)] {
            let checked = Checked {
                files: Default::default(),
                vouches,
            };
            index.replace_source(&source, checked);
        }
        let keys = index.keys_mut();
        let yours = Yours {
            own: vec![keys.id(&fpr('0')), keys.id(&fpr('1'))],
            direct: [(keys.id(&fpr('A')), Stance::Distrust)]
                .into_iter()
                .collect(),
            revoked: Vec::new(),
        };
        let computed = web_of(&index.statements(), yours, 2, |_| false);
        let level = |c| computed.web.level(&fpr(c));
        assert_eq!(level('B'), Some(Level::Low));
        assert_eq!(level('A'), None);
        assert_eq!(level('C'), Some(Level::Medium));
        assert_eq!(level('D'), Some(Level::Medium));
        assert_eq!(computed.urls[&fpr('D')], "http://D.example/");
        assert_eq!(computed.urls[&fpr('C')], "http://C.example/");
        assert!(!computed.urls.contains_key(&fpr('A')));
        assert_eq!(
            level('E'),
            None,
            "a replayed word of yours is not your word"
        );
    }
}
