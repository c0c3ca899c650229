//! Each rule of the web of trust, one test each.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::*;

/// One statement, by fingerprint (each key's newest about each other key).
struct Statement {
    from: Fingerprint,
    about: Fingerprint,
    stance: Stance,
}

/// A web as the tests state it, by fingerprint.
struct Named {
    own: BTreeSet<Fingerprint>,
    direct: BTreeMap<Fingerprint, Stance>,
    statements: Vec<Statement>,
    /// Key rotations both keys signed: `(old, new)`.
    successions: Vec<(Fingerprint, Fingerprint)>,
    revoked: HashSet<Fingerprint>,
    max_depth: u8,
}

/// Numbers the keys, as the index does for the daemon, then computes.
fn compute_named(named: &Named) -> Web {
    let mut keys = Keys::default();
    let own = named.own.iter().map(|k| keys.id(k)).collect();
    let direct = named.direct.iter().map(|(k, s)| (keys.id(k), *s)).collect();
    let edges = named
        .statements
        .iter()
        .map(|s| Edge {
            from: keys.id(&s.from),
            about: keys.id(&s.about),
            stance: s.stance,
        })
        .collect();
    let revoked = named.revoked.iter().map(|k| keys.id(k)).collect();
    let successions = named
        .successions
        .iter()
        .map(|(old, new)| (keys.id(old), keys.id(new)))
        .collect();
    compute(&Inputs {
        keys: Arc::new(keys),
        own,
        direct,
        edges,
        successions,
        revoked,
        max_depth: named.max_depth,
    })
}

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
fn web(statements: Vec<Statement>, max_depth: u8) -> Named {
    Named {
        own: [k('0')].into(),
        direct: [(k('A'), Trust(High)), (k('B'), Trust(Medium))].into(),
        statements,
        successions: Vec::new(),
        revoked: HashSet::new(),
        max_depth,
    }
}

fn level(w: &Web, c: char) -> Option<Level> {
    w.reach(&k(c)).map(|r| r.level)
}

/// The path to `c`, each key with the level said of it.
fn path(w: &Web, c: char) -> Vec<(Fingerprint, Level)> {
    w.reach(&k(c))
        .unwrap()
        .path
        .into_iter()
        .map(|s| (s.key, s.said))
        .collect()
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
    let w = compute_named(&i);
    assert_eq!(level(&w, 'A'), Some(High));
    assert_eq!(level(&w, 'C'), Some(Medium));
    assert_eq!(path(&w, 'C'), vec![(k('A'), High), (k('C'), Medium)]);
    assert_eq!(level(&w, 'D'), None, "three hops, max_depth 2");
    assert_eq!(w.unreached(&k('D')), Some(&Unreached::TooDeep { depth: 3 }));
    let w = compute_named(&Named { max_depth: 3, ..i });
    assert_eq!(level(&w, 'D'), Some(Medium), "weakest link: A→C medium");
}

#[test]
fn a_key_takes_its_best_path() {
    let w = compute_named(&web(
        vec![says('A', 'C', Trust(Low)), says('B', 'C', Trust(High))],
        2,
    ));
    let c = w.reach(&k('C')).unwrap();
    assert_eq!(
        (c.level, w.root(&k('C')).unwrap()),
        (Medium, &k('B')),
        "B (medium) → C (high)"
    );
}

#[test]
fn a_scoped_distrust_cuts_only_paths_no_stronger_than_the_distruster() {
    // B (medium) distrusts C. C via A (high → medium) is no stronger: cut. D via A
    // (high → high) is untouched by a distrust of C.
    let w = compute_named(&web(
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
    let w = compute_named(&web(
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
    let w = compute_named(&i);
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
    let w = compute_named(&i);
    assert_eq!(level(&w, 'C'), None);
    assert_eq!(w.unreached(&k('C')), Some(&Unreached::Revoked));
    assert_eq!(level(&w, 'D'), None, "only reached through C");
    assert_eq!(level(&w, 'E'), Some(Medium), "also reached through B");
}

#[test]
fn cycles_end_and_a_key_distrusting_itself_is_untrusted() {
    let w = compute_named(&web(
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
    let w = compute_named(&web(
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
    let w = compute_named(&i);
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
    let w = compute_named(&web(
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

/// A key rotation both keys signed: the new key stands where the old one stands (your direct
/// trust, or a path through the web), at the same depth, and vouches onward from there. Your
/// own word about the new key wins; a distrust caps it as any key.
#[test]
fn a_successor_stands_where_its_predecessor_stands() {
    // A (high, direct) rotated to 9; C, two hops away through B, rotated to 8.
    let mut i = web(
        vec![
            says('B', 'C', Trust(High)),
            says('9', 'E', Trust(High)),
            says('8', 'F', Trust(High)),
        ],
        2,
    );
    i.successions = vec![(k('A'), k('9')), (k('C'), k('8'))];
    let w = compute_named(&i);
    assert_eq!(level(&w, '9'), Some(High), "your trust in A carries over");
    let step = w.reach(&k('9')).unwrap().path.pop().unwrap();
    assert!(step.successor, "shown as A's successor");
    assert_eq!(w.depth(&k('9')), Some(1));
    assert_eq!(level(&w, 'E'), Some(High), "9 vouches from where A stood");
    assert_eq!(level(&w, '8'), Some(Medium), "C's level, at C's depth");
    assert_eq!(w.depth(&k('8')), Some(2));
    assert_eq!(level(&w, 'F'), None, "three hops from you: deeper than 2");

    // Your word about the successor wins; a distrust of it weighs as for any key.
    i.direct.insert(k('9'), Trust(Low));
    i.statements.push(says('B', '8', Distrust));
    let w = compute_named(&i);
    assert_eq!(level(&w, '9'), Some(Low));
    assert_eq!(
        level(&w, '8'),
        None,
        "B (medium) distrusts 8, whose path is medium"
    );
}

/// A key cut by a stronger distrust cuts no one: its word counts for nothing, its distrusts
/// included — whatever order the statements came in.
#[test]
fn a_distruster_cut_by_a_stronger_distrust_cuts_no_one() {
    // A (high) says C medium, D medium, E high; E (high) distrusts C; C distrusts D.
    let w = compute_named(&web(
        vec![
            says('A', 'C', Trust(Medium)),
            says('A', 'D', Trust(Medium)),
            says('A', 'E', Trust(High)),
            says('E', 'C', Distrust),
            says('C', 'D', Distrust),
        ],
        2,
    ));
    assert_eq!(level(&w, 'C'), None, "E, at high, cuts C's medium path");
    assert_eq!(
        level(&w, 'D'),
        Some(Medium),
        "C is cut: its distrust of D is void"
    );
    // At equal weight both stay cut (neither is cut by a *stronger* distrust).
    let w = compute_named(&web(
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
