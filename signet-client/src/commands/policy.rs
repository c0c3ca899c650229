//! A project's `signet.toml` put to use: chosen (the project's own, `--policy`, or none with
//! `--no-policy`), and the repositories it names followed, each pinned to its key.

use super::*;
use crate::cli::PolicyArgs;
use crate::project::{self, Project};

/// The policy that judges work at `path`.
pub fn choose(path: &Path, args: &PolicyArgs) -> anyhow::Result<Option<Project>> {
    if args.no_policy {
        return Ok(None);
    }
    match &args.policy {
        Some(file) => project::read(file).map(Some),
        None => project::find(path),
    }
}

/// Follows every repository the policy names (each pinned to its key from the start) and
/// fetches those never fetched: the scheduler keeps them fresh after, and a CI job starting
/// from an empty home gets all of them now. A repository that cannot be fetched is warned
/// of: the words it would have given are missing, which the verdicts show.
pub fn follow(
    client: &mut connection::Client,
    project: &Project,
    out: &mut Out<impl Write>,
) -> anyhow::Result<()> {
    let listed: api::RemoteListResult = client.call::<method::RemoteList>(&api::NoParams)?;
    let mut due = Vec::new();
    for (key, url) in &project.repositories {
        if let Some(r) = listed.remotes.iter().find(|r| &r.url == url) {
            if r.last_success.is_none() {
                due.push(r.name.clone());
            }
            continue;
        }
        let taken = |name: &str| listed.remotes.iter().any(|r| r.name == name);
        let base = match key {
            Some(key) => format!("policy-{}", key.short()),
            None => "policy".to_owned(),
        };
        let name = std::iter::once(base.clone())
            .chain((2..100).map(|n| format!("{base}-{n}")))
            .find(|n| !taken(n))
            .ok_or_else(|| anyhow::anyhow!("no free remote name for {url}"))?;
        client.call::<method::RemoteAdd>(&api::RemoteAddParams {
            name: name.clone(),
            url: url.clone(),
            key: key.clone(),
        })?;
        due.push(name);
    }
    if !due.is_empty() {
        let fetched: api::FetchResult =
            client.call::<method::Fetch>(&api::FetchParams { names: due })?;
        let failed: Vec<String> = fetched
            .results
            .iter()
            .filter(|r| {
                matches!(
                    r.outcome,
                    api::FetchOutcome::Failed | api::FetchOutcome::Refused
                )
            })
            .map(|r| {
                format!(
                    "{} ({}): {}; its words are missing from these verdicts",
                    r.name,
                    r.url,
                    r.message.as_deref().unwrap_or("not fetched")
                )
            })
            .collect();
        warn(&failed);
    }
    if !out.json {
        let p = &project.policy;
        out.line(format!(
            "Policy {}: {} trusted keys, {} of them needed{}",
            shown(&project.path.to_string_lossy()),
            p.trusted.len(),
            p.threshold,
            if p.criteria.is_empty() {
                String::new()
            } else {
                format!(", meeting {}", p.criteria.join(", "))
            }
        ))?;
    }
    Ok(())
}
