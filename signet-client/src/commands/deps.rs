//! `sig deps`: a project's dependencies, each checked by the content id its lockfile pins,
//! in one request to the daemon; what each is, who vouched, and a summary.

use super::*;
use crate::lockfile::{self, Dependency};
use signet_proto::api::VerifyOutcome;

/// How many ids go in one `verify.many` (a message stays well under the daemon's limit).
const BATCH: usize = 2000;

/// One dependency's line: its verdict, name and version, and whose word made it.
fn line(dep: &Dependency, outcome: Option<&VerifyOutcome>) -> (String, Option<Verdict>) {
    let name = format!("{} {}", shown(&dep.name), shown(&dep.version));
    let Some(outcome) = outcome else {
        return (
            format!("unpinned  {name} (the lockfile pins no bytes for it)"),
            None,
        );
    };
    let r = match outcome {
        VerifyOutcome::Verified(r) => r,
        VerifyOutcome::Failed { error } => {
            return (
                format!("{:<10} {name}: {}", "error", shown(&error.message)),
                None,
            );
        }
    };
    let words: Vec<String> = r
        .attestations
        .iter()
        .filter(|a| a.counts() && a.ok == (r.verdict == Verdict::Ok))
        .map(|a| {
            let who = format!("[{}] {}", short(&a.key), shown(&a.user_id));
            if a.ok || a.comment.is_empty() {
                who
            } else {
                format!("{who}: {}", shown(&a.comment))
            }
        })
        .collect();
    let text = match r.verdict {
        Verdict::Ok => format!("{:<10} {name} — {}", "ok", words.join(", ")),
        Verdict::NotOk => format!("{:<10} {name} — {}", "NOT ok", words.join("; ")),
        Verdict::Unverified => format!("{:<10} {name}", "unverified"),
    };
    (text, Some(r.verdict))
}

pub fn deps(loc: &Locations, args: DepsArgs, out: &mut Out<impl Write>) -> anyhow::Result<i32> {
    let path = args.path.unwrap_or_else(|| PathBuf::from("."));
    let lock = lockfile::find(&path)?;
    let pinned: Vec<(usize, ContentId)> = lock
        .dependencies
        .iter()
        .enumerate()
        .filter_map(|(n, d)| Some((n, d.id.clone()?)))
        .collect();
    let mut client = connection::connect_or_start(loc)?;
    let mut outcomes: Vec<Option<VerifyOutcome>> = vec![None; lock.dependencies.len()];
    let mut warnings = Vec::new();
    for batch in pinned.chunks(BATCH) {
        let got = client.call::<method::VerifyMany>(&VerifyManyParams {
            targets: batch
                .iter()
                .map(|(_, id)| Target::Id(id.clone()).into())
                .collect(),
        })?;
        warnings = got.warnings;
        for ((n, _), outcome) in batch.iter().zip(got.results) {
            outcomes[*n] = Some(outcome);
        }
    }
    warn(&warnings);
    let (mut ok, mut unverified, mut not_ok, mut unpinned) = (0, 0, 0, 0);
    let mut code = exit::OK;
    let mut lines = Vec::new();
    for (dep, outcome) in lock.dependencies.iter().zip(&outcomes) {
        let (text, verdict) = line(dep, outcome.as_ref());
        match verdict {
            Some(Verdict::Ok) => ok += 1,
            Some(Verdict::Unverified) => unverified += 1,
            Some(Verdict::NotOk) => not_ok += 1,
            None => unpinned += 1,
        }
        if let Some(v) = verdict {
            code = worst(code, v.exit_code());
        } else if matches!(outcome, Some(VerifyOutcome::Failed { .. })) {
            code = worst(code, exit::ERROR);
        }
        lines.push((verdict, text));
    }
    let summary = format!(
        "{}: {} dependencies: {ok} ok, {unverified} not reviewed, {not_ok} NOT ok, {unpinned} \
         without a checksum",
        shown(&lock.path.to_string_lossy()),
        lock.dependencies.len()
    );
    if out.json {
        let dependencies: Vec<serde_json::Value> = lock
            .dependencies
            .iter()
            .zip(&outcomes)
            .map(|(d, o)| {
                serde_json::json!({
                    "name": d.name, "version": d.version, "source": d.source,
                    "id": d.id.as_ref().map(|i| i.to_string()), "result": o,
                })
            })
            .collect();
        out.json(&serde_json::json!({
            "lockfile": lock.path, "kind": lock.kind, "dependencies": dependencies,
            "summary": {"ok": ok, "not_reviewed": unverified, "not_ok": not_ok, "unpinned": unpinned},
        }))?;
        return Ok(code);
    }
    for (verdict, text) in &lines {
        match verdict {
            Some(Verdict::NotOk) => out.painted(text.clone(), Paint::Red)?,
            Some(Verdict::Ok) => out.painted(text.clone(), Paint::Green)?,
            _ => out.line(text.clone())?,
        }
    }
    out.line(summary)?;
    // What to act on, again at the end of a long list.
    for (verdict, text) in &lines {
        if *verdict == Some(Verdict::NotOk) {
            out.painted(text.clone(), Paint::Red)?;
        }
    }
    Ok(code)
}
