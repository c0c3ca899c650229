//! `sig deps`: a project's dependencies, each checked by the content ids its lockfiles pin,
//! in one request to the daemon; what each is, who vouched, and a summary.

use std::collections::HashMap;

use super::*;
use crate::lockfile::{self, Dependency, Lockfile, Pin};
use signet_proto::api::ProjectPolicy;

/// How many ids go in one `verify.many` (a message stays well under the daemon's limit).
const BATCH: usize = 2000;

/// A dependency's standing, from the answers about the ids its lockfile pins.
#[derive(Debug, Clone, PartialEq)]
pub enum Standing {
    Judged(Verdict),
    /// Nothing pins its bytes, or only a digest Signet cannot match.
    Unpinned(String),
    /// The daemon could not answer for any of its ids.
    Error(String),
}

/// One dependency judged: its standing, and the answers that made it.
pub struct Judged<'a> {
    pub dep: &'a Dependency,
    pub standing: Standing,
    /// The answers about its files that gave the verdict (all of them when unverified).
    pub deciding: Vec<&'a VerifyResult>,
    /// How many files the lockfile allows for it (a Python package's sdist and wheels).
    pub files: usize,
}

/// Judges a dependency by the answers about its files: NOT ok if anyone trusted says so of any
/// file it may install; ok if a file is vouched for and none is NOT ok (the others may be
/// wheels for other platforms, which nobody here installs); otherwise not reviewed.
pub fn judge<'a>(
    dep: &'a Dependency,
    answers: &'a HashMap<ContentId, VerifyOutcome>,
) -> Judged<'a> {
    let ids = match &dep.pin {
        Pin::Ids(ids) => ids,
        Pin::Unpinned => {
            return Judged {
                dep,
                standing: Standing::Unpinned("the lockfile pins no bytes for it".into()),
                deciding: Vec::new(),
                files: 0,
            };
        }
        Pin::Unusable(why) => {
            return Judged {
                dep,
                standing: Standing::Unpinned(why.clone()),
                deciding: Vec::new(),
                files: 0,
            };
        }
    };
    let mut results = Vec::new();
    let mut error = None;
    for id in ids {
        match answers.get(id) {
            Some(VerifyOutcome::Verified(r)) => results.push(r),
            Some(VerifyOutcome::Failed { error: e }) => error = Some(e.message.clone()),
            None => error = Some(format!("no answer about {id}")),
        }
    }
    let verdict = [Verdict::NotOk, Verdict::Ok]
        .into_iter()
        .find(|v| results.iter().any(|r| r.verdict == *v))
        .unwrap_or(Verdict::Unverified);
    let standing = match error {
        Some(e) if results.is_empty() => Standing::Error(e),
        _ => Standing::Judged(verdict),
    };
    Judged {
        dep,
        standing,
        deciding: results
            .into_iter()
            .filter(|r| r.verdict == verdict)
            .collect(),
        files: ids.len(),
    }
}

/// Every id the lockfiles pin, each once.
fn pinned(locks: &[Lockfile]) -> Vec<&ContentId> {
    let mut ids: Vec<&ContentId> = locks
        .iter()
        .flat_map(|l| &l.dependencies)
        .flat_map(Dependency::ids)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Asks the daemon about every id the lockfiles pin, each once, in batches.
pub fn ask(
    client: &mut connection::Client,
    locks: &[Lockfile],
    policy: Option<&ProjectPolicy>,
) -> anyhow::Result<(HashMap<ContentId, VerifyOutcome>, Vec<String>)> {
    let ids = pinned(locks);
    let mut answers = HashMap::with_capacity(ids.len());
    let mut warnings = Vec::new();
    for batch in ids.chunks(BATCH) {
        let got = client.call::<method::VerifyMany>(&VerifyManyParams {
            targets: batch
                .iter()
                .map(|id| Target::Id((*id).clone()).into())
                .collect(),
            policy: policy.cloned(),
            also: Vec::new(),
        })?;
        warnings = got.warnings;
        answers.extend(batch.iter().map(|id| (*id).clone()).zip(got.results));
    }
    Ok((answers, warnings))
}

/// Asks the daemon and the configured public indexes about every id the lockfiles pin, in one
/// `lookup.many` (the daemon asks each index in batches): each answer checked there as if the
/// index lied; what an index could not answer, or answered wrongly, is warned of.
pub fn ask_indexes(
    client: &mut connection::Client,
    locks: &[Lockfile],
    project: Option<&crate::project::Project>,
) -> anyhow::Result<(HashMap<ContentId, VerifyOutcome>, Vec<String>)> {
    let ids: Vec<ContentId> = pinned(locks).into_iter().cloned().collect();
    let got = client.call::<method::LookupMany>(&api::LookupManyParams {
        ids: ids.clone(),
        policy: project.map(|p| p.policy.clone()),
        indexes: project.map(|p| p.indexes.clone()).unwrap_or_default(),
    })?;
    let mut warnings = Vec::new();
    for index in &got.indexes {
        if let Some(error) = &index.error {
            warnings.push(format!("index {}: {error}", index.url));
        }
        for problem in &index.problems {
            warnings.push(format!(
                "index {} departed from the truth: {problem}",
                index.url
            ));
        }
    }
    for f in &got.follow {
        warnings.push(format!(
            "{} [{}] publishes at {}: `sig remote add NAME {}` to hear from them without asking",
            f.user_id,
            short(&f.key),
            f.url,
            f.url
        ));
    }
    let answers = ids
        .into_iter()
        .zip(got.results)
        .map(|(id, r)| (id, VerifyOutcome::Verified(r)))
        .collect();
    Ok((answers, warnings))
}

impl Judged<'_> {
    /// Its line: verdict, name and version, and whose word made it.
    fn line(&self) -> String {
        let name = format!("{} {}", shown(&self.dep.name), shown(&self.dep.version));
        let verdict = match &self.standing {
            Standing::Unpinned(why) => {
                return format!("{:<10} {name} ({})", "unpinned", shown(why));
            }
            Standing::Error(e) => return format!("{:<10} {name}: {}", "error", shown(e)),
            Standing::Judged(v) => *v,
        };
        let mut words: Vec<String> = Vec::new();
        for r in &self.deciding {
            for a in &r.attestations {
                if !(a.counts() && a.ok == (verdict == Verdict::Ok)) {
                    continue;
                }
                let mut who = format!("[{}] {}", short(&a.key), shown(&a.user_id));
                // The same bytes reviewed as another package: worth a look.
                let named = format!("/{}@{}", self.dep.name, self.dep.version);
                if let Some(subject) = a.subject.as_ref().filter(|s| !s.ends_with(&named)) {
                    who.push_str(&format!(" (as {})", shown(subject)));
                }
                let word = if a.ok || a.comment.is_empty() {
                    who
                } else {
                    format!("{who}: {}", shown(&a.comment))
                };
                if !words.contains(&word) {
                    words.push(word);
                }
            }
        }
        // A Python package is vouched for by the files reviewed: say when that is not all.
        let of = if self.files > 1 && verdict != Verdict::Unverified {
            format!(" ({} of its {} files)", self.deciding.len(), self.files)
        } else {
            String::new()
        };
        match verdict {
            Verdict::Ok => format!("{:<10} {name} — {}{of}", "ok", words.join(", ")),
            Verdict::NotOk => format!("{:<10} {name} — {}{of}", "NOT ok", words.join("; ")),
            Verdict::Unverified => format!("{:<10} {name}", "unverified"),
        }
    }

    fn exit_code(&self) -> i32 {
        match &self.standing {
            Standing::Judged(v) => v.exit_code(),
            Standing::Unpinned(_) => exit::OK,
            Standing::Error(_) => exit::ERROR,
        }
    }

    fn json(&self) -> serde_json::Value {
        let (verdict, why) = match &self.standing {
            Standing::Judged(Verdict::Ok) => ("ok", None),
            Standing::Judged(Verdict::NotOk) => ("not-ok", None),
            Standing::Judged(Verdict::Unverified) => ("unverified", None),
            Standing::Unpinned(why) => ("unpinned", Some(why)),
            Standing::Error(e) => ("error", Some(e)),
        };
        serde_json::json!({
            "name": self.dep.name, "version": self.dep.version, "source": self.dep.source,
            "ids": self.dep.ids().iter().map(|i| i.to_string()).collect::<Vec<_>>(),
            "verdict": verdict, "why": why, "results": self.deciding,
        })
    }
}

/// How many dependencies stand where.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
struct Tally {
    ok: usize,
    not_reviewed: usize,
    not_ok: usize,
    unpinned: usize,
    errors: usize,
}

impl Tally {
    fn add(&mut self, j: &Judged) {
        match j.standing {
            Standing::Judged(Verdict::Ok) => self.ok += 1,
            Standing::Judged(Verdict::Unverified) => self.not_reviewed += 1,
            Standing::Judged(Verdict::NotOk) => self.not_ok += 1,
            Standing::Unpinned(_) => self.unpinned += 1,
            Standing::Error(_) => self.errors += 1,
        }
    }

    fn sum(self, o: Tally) -> Tally {
        Tally {
            ok: self.ok + o.ok,
            not_reviewed: self.not_reviewed + o.not_reviewed,
            not_ok: self.not_ok + o.not_ok,
            unpinned: self.unpinned + o.unpinned,
            errors: self.errors + o.errors,
        }
    }

    fn text(&self) -> String {
        let total = self.ok + self.not_reviewed + self.not_ok + self.unpinned + self.errors;
        let mut text = format!(
            "{total} dependencies: {} ok, {} not reviewed, {} NOT ok, {} without a checksum",
            self.ok, self.not_reviewed, self.not_ok, self.unpinned
        );
        if self.errors > 0 {
            text.push_str(&format!(", {} errors", self.errors));
        }
        text
    }
}

pub fn deps(loc: &Locations, args: DepsArgs, out: &mut Out<impl Write>) -> anyhow::Result<i32> {
    let path = args.path.unwrap_or_else(|| PathBuf::from("."));
    let locks = lockfile::find(&path)?;
    let project = super::policy::choose(&path, &args.policy)?;
    let mut client = connection::connect_or_start(loc)?;
    if let Some(project) = &project {
        super::policy::follow(&mut client, project, out)?;
    }
    let policy = project.as_ref().map(|p| &p.policy);
    let (answers, warnings) = if args.index {
        ask_indexes(&mut client, &locks, project.as_ref())?
    } else {
        ask(&mut client, &locks, policy)?
    };
    warn(&warnings);
    let mut code = exit::OK;
    let mut total = Tally::default();
    let mut reports = Vec::new();
    for lock in &locks {
        let judged: Vec<Judged> = lock
            .dependencies
            .iter()
            .map(|d| judge(d, &answers))
            .collect();
        let mut tally = Tally::default();
        for j in &judged {
            tally.add(j);
            code = worst(code, j.exit_code());
        }
        total = total.sum(tally);
        reports.push((lock, judged, tally));
    }
    if out.json {
        let lockfiles: Vec<serde_json::Value> = reports
            .iter()
            .map(|(lock, judged, tally)| {
                serde_json::json!({
                    "path": lock.path, "kind": lock.kind.name(),
                    "dependencies": judged.iter().map(Judged::json).collect::<Vec<_>>(),
                    "summary": tally,
                })
            })
            .collect();
        let policy = project.as_ref().map(|p| &p.path);
        out.json(&serde_json::json!({"lockfiles": lockfiles, "policy": policy, "summary": total}))?;
        return Ok(code);
    }
    for (lock, judged, tally) in &reports {
        for j in judged {
            match j.standing {
                Standing::Judged(Verdict::NotOk) => out.painted(j.line(), Paint::Red)?,
                Standing::Judged(Verdict::Ok) => out.painted(j.line(), Paint::Green)?,
                _ => out.line(j.line())?,
            }
        }
        out.line(format!(
            "{}: {}",
            shown(&lock.path.to_string_lossy()),
            tally.text()
        ))?;
    }
    if reports.len() > 1 {
        out.line(format!("In all, {}", total.text()))?;
    }
    // What to act on, again at the end of a long list.
    for (_, judged, _) in &reports {
        for j in judged {
            if j.standing == Standing::Judged(Verdict::NotOk) {
                out.painted(j.line(), Paint::Red)?;
            }
        }
    }
    Ok(code)
}
