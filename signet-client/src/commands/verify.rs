//! `sig verify`: files, ids, standard input and whole directories; what each verdict rests on.

use super::*;

fn attestation_line(a: &AttestationView, verbose: bool, why: bool) -> String {
    let mut line = attestation_summary(a);
    if let Some(about) = a.about_text() {
        line.push_str(&format!(" [{}]", shown(&about)));
    }
    if why {
        line.push_str(&format!(" {}", why_text(a)));
    }
    if !verbose {
        // A trusted NOT ok is what a person acts on: its reason is shown without asking.
        if a.counts() && !a.ok && !a.comment.is_empty() {
            line.push_str(&format!("\n    {}", shown(&a.comment)));
        }
        return line;
    }
    let sources: Vec<String> = std::iter::once(&a.source)
        .chain(&a.also_from)
        .map(|s| shown(&s.to_string()).to_string())
        .collect();
    let mut line = format!("{line} (from {})", sources.join(", "));
    if !a.comment.is_empty() {
        line.push_str(&format!("\n    {}", shown(&a.comment)));
    }
    line
}

/// Why an attestation counted (the trust path) or did not (the first reason that applies).
fn why_text(a: &AttestationView) -> String {
    let standing = a.standing.as_ref();
    let key = || {
        standing.map_or_else(String::new, |s| {
            format!("; its key: {}", why::verdict_text(s))
        })
    };
    if a.revoked {
        // The summary before this says how and when.
        return "— not counted: its key is revoked".into();
    }
    if !a.reviewed {
        return format!("— not counted: not reviewed{}", key());
    }
    if a.superseded {
        return format!("— not counted: replaced by the key's newer word{}", key());
    }
    match standing {
        Some(s) if s.counts => why::standing_text(s),
        Some(s) => format!("— not counted: {}", why::standing_text(s)),
        None => "— not counted: this signetd does not say why".into(),
    }
}

fn attestation_summary(a: &AttestationView) -> String {
    let who = format!("[{}] {}", short(&a.key), shown(&a.user_id));
    if a.revoked {
        return format!("revoked {who} ({})", revoked_text(a));
    }
    if a.superseded {
        let said = if a.ok { "ok" } else { "NOT ok" };
        return format!(
            "superseded {who} (said {said}, then something newer; only its newest word counts)"
        );
    }
    let mut line = match (a.trusted, a.ok) {
        (true, true) => format!("ok {who}"),
        (true, false) => format!("NOT OK {who}"),
        (false, true) => format!("untrusted {who}"),
        (false, false) => format!("untrusted {who} (says NOT ok)"),
    };
    if !a.reviewed {
        line.push_str(" (not reviewed: it does not count)");
    }
    if let Some(r) = &a.revocation {
        // A soft revocation after this word: it still counts, and says why.
        line.push_str(&format!(
            " (its key was {} at {}; this word is older and stands)",
            r.reason.as_str(),
            r.at
        ));
    }
    line
}

/// Why a revocation voids this word: a hard one voids all the key's words, a soft one those
/// signed from its time on.
fn revoked_text(a: &AttestationView) -> String {
    let said = |r: &api::Revocation| {
        if r.comment.is_empty() {
            String::new()
        } else {
            format!(" (\"{}\")", shown(&r.comment))
        }
    };
    match &a.revocation {
        Some(r) if r.reason.is_hard() => format!(
            "its key was revoked as {} at {}{}: none of its words count",
            r.reason.as_str(),
            r.at,
            said(r)
        ),
        Some(r) => format!(
            "its key was {} at {}{} and this word was signed after that: it does not count",
            r.reason.as_str(),
            r.at,
            said(r)
        ),
        None => "its key was revoked; it does not count".into(),
    }
}

fn verdict_line(name: &str, verdict: Verdict) -> (String, Paint) {
    match verdict {
        Verdict::Ok => (format!("{name} is ok."), Paint::Green),
        Verdict::Unverified => (format!("{name} is not verified."), Paint::Yellow),
        Verdict::NotOk => (format!("{name} is NOT ok."), Paint::Red),
    }
}

/// `sig verify DIR`: every file under it, a summary, and the files that are not ok listed.
fn verify_tree(
    client: &mut connection::Client,
    dir: &Path,
    all: bool,
    policy: Option<&api::ProjectPolicy>,
    out: &mut Out<impl Write>,
) -> anyhow::Result<i32> {
    // Canonical, so that files of a watched directory are found in the daemon's table.
    let root = std::fs::canonicalize(dir).map_err(|e| file_error(dir, &e))?;
    let json = out.json;
    // The daemon walks the tree and counts: one request, whatever the tree's size.
    let spinner = (!json).then(|| Spinner::start("verifying"));
    let got = client.call::<method::VerifyDir>(&api::VerifyDirParams {
        path: AbsPath::new(root.clone())?,
        unverified: all,
        results: json,
        policy: policy.cloned(),
    });
    drop(spinner);
    let got = got?;
    let code = if got.not_ok > 0 {
        exit::NOT_OK
    } else if !got.errors.is_empty() {
        exit::ERROR
    } else if got.unverified > 0 {
        exit::NOT_VERIFIED
    } else {
        exit::OK
    };
    if json {
        let paths = got.results.iter().map(|r| match r {
            VerifyOutcome::Verified(r) => r.path.clone(),
            VerifyOutcome::Failed { .. } => None,
        });
        out.json(&serde_json::json!({
            "directory": root,
            "ok": got.ok, "unverified": got.unverified, "not_ok": got.not_ok, "errors": got.errors,
            "results": with_paths(&got.results, paths),
        }))?;
        return Ok(code);
    }
    let relative =
        |f: &PathBuf| shown(&f.strip_prefix(&root).unwrap_or(f).to_string_lossy()).to_string();
    let not_ok: Vec<String> = got
        .listed
        .iter()
        .filter(|f| f.verdict == Verdict::NotOk)
        .map(|f| relative(&f.path))
        .collect();
    let unverified: Vec<String> = got
        .listed
        .iter()
        .filter(|f| f.verdict == Verdict::Unverified)
        .map(|f| relative(&f.path))
        .collect();
    let failed = &got.errors;
    let warnings = &got.warnings;
    for f in &not_ok {
        out.painted(format!("NOT OK       {f}"), Paint::Red)?;
    }
    // Every file nobody vouched for is usually most of a tree: listed on request.
    if all {
        for f in &unverified {
            out.painted(format!("not verified {f}"), Paint::Yellow)?;
        }
    }
    for f in failed {
        report_error(f);
    }
    warn(warnings);
    out.line(format!(
        "{}: {} ok, {} not verified, {} NOT ok{}",
        dir.display(),
        got.ok,
        got.unverified,
        got.not_ok,
        if failed.is_empty() {
            String::new()
        } else {
            format!(", {} errors", failed.len())
        }
    ))?;
    Ok(code)
}

pub fn verify(loc: &Locations, args: VerifyArgs, out: &mut Out<impl Write>) -> anyhow::Result<i32> {
    let (dirs, files): (Vec<&PathBuf>, Vec<&PathBuf>) = args.files.iter().partition(|f| f.is_dir());
    if !dirs.is_empty() {
        if args.index {
            bail!("--index looks up files and ids, not a directory: give the files");
        }
        if dirs.len() + args.id.len() + files.len() > 1 {
            bail!("give one directory at a time, without files or ids");
        }
        let project = super::policy::choose(dirs[0], &args.policy)?;
        let mut client = connection::connect_or_start(loc)?;
        if let Some(project) = &project {
            super::policy::follow(&mut client, project, out)?;
        }
        let policy = project.as_ref().map(|p| &p.policy);
        return verify_tree(&mut client, dirs[0], args.all, policy, out);
    }
    let targets = named_targets(&files, &args.id, &args.tree, &args.git)?;
    let mut client = connection::connect_or_start(loc)?;
    if args.index {
        // What the indexes found is judged by your own trust (`sig lookup`).
        return verify_with_indexes(&mut client, &targets, args.why, out);
    }
    let project = super::policy::choose(Path::new("."), &args.policy)?;
    if let Some(project) = &project {
        super::policy::follow(&mut client, project, out)?;
    }
    // An npm tarball goes by its sha512 too (package-lock.json's name for it).
    let mut also = Vec::new();
    for (n, (_, target)) in targets.iter().enumerate() {
        if let Target::Path(path) = target
            && path.as_path().extension().is_some_and(|e| e == "tgz")
            && let Ok(Some(package)) = crate::package::inspect(path.as_path())
            && let Some(id) = package.npm_id
        {
            also.push(api::AlsoNamed { target: n, id });
        }
    }
    let VerifyManyResult { results, warnings } =
        client.call::<method::VerifyMany>(&VerifyManyParams {
            targets: targets.iter().map(|(_, t)| t.clone().into()).collect(),
            policy: project.map(|p| p.policy),
            also,
        })?;
    let mut code = exit::OK;
    for outcome in &results {
        code = worst(
            code,
            match outcome {
                VerifyOutcome::Verified(r) => r.verdict.exit_code(),
                VerifyOutcome::Failed { .. } => exit::ERROR,
            },
        );
    }
    warn(&warnings);
    if out.json {
        let results = with_paths(
            &results,
            targets
                .iter()
                .map(|(_, t)| t.path().map(|p| p.to_path_buf())),
        );
        match results.as_slice() {
            [one] => out.json(one)?,
            many => out.json(&many)?,
        }
        return Ok(code);
    }
    for ((name, _), outcome) in targets.iter().zip(&results) {
        match outcome {
            VerifyOutcome::Verified(result) => print_result(name, result, args.why, out)?,
            VerifyOutcome::Failed { error } => report_error(&error.message),
        }
    }
    Ok(code)
}

/// `sig verify --index`: each target looked up (what is held and what the indexes found),
/// the loudest verdict the exit code.
fn verify_with_indexes(
    client: &mut connection::Client,
    targets: &[(String, Target)],
    why: bool,
    out: &mut Out<impl Write>,
) -> anyhow::Result<i32> {
    let mut code = exit::OK;
    let mut all = Vec::new();
    for (name, target) in targets {
        let found = client.call::<method::Lookup>(target)?;
        code = worst(code, lookup_code(&found));
        if out.json {
            all.push(found);
        } else {
            print_lookup(name, &found, why, out)?;
        }
    }
    match all.as_slice() {
        [] => {}
        [one] => out.json(one)?,
        many => out.json(&many)?,
    }
    Ok(code)
}

/// `sig lookup`: what the public indexes know of a file or id, checked by the daemon and
/// judged by your web of trust beside what you hold.
pub fn lookup(loc: &Locations, args: LookupArgs, out: &mut Out<impl Write>) -> anyhow::Result<i32> {
    let (name, target) = match (&args.file, &args.id) {
        (_, Some(id)) => (format!("id {}", shown(id)), Target::Id(content_id(id)?)),
        (Some(file), None) => {
            let path = absolute(file)?;
            (
                format!("file {}", shown(&path.to_string_lossy())),
                Target::Path(path),
            )
        }
        (None, None) => bail!("give a file or --id ID"),
    };
    let mut client = connection::connect_or_start(loc)?;
    let found = client.call::<method::Lookup>(&target)?;
    if out.json {
        out.json(&found)?;
        return Ok(lookup_code(&found));
    }
    print_lookup(&name, &found, args.why, out)
}

/// A lookup's exit code: the verdict's, or an error when no index answered.
fn lookup_code(found: &signet_proto::api::LookupResult) -> i32 {
    if found.indexes.iter().any(|i| i.error.is_none()) {
        found.result.verdict.exit_code()
    } else {
        exit::ERROR
    }
}

/// A lookup in words: the verdict as `verify` shows it, then what each index did, then the
/// repositories worth following.
fn print_lookup(
    name: &str,
    found: &signet_proto::api::LookupResult,
    why: bool,
    out: &mut Out<impl Write>,
) -> anyhow::Result<i32> {
    print_result(name, &found.result, why, out)?;
    for index in &found.indexes {
        let url = shown(&index.url);
        match &index.error {
            Some(error) => report_error(&format!("index {url}: {}", shown(error))),
            None => out.line(format!(
                "index {url}: {} served, {} checked",
                count(index.served, "attestation"),
                index.checked
            ))?,
        }
        for problem in &index.problems {
            out.painted(format!("index {url} LIED: {}", shown(problem)), Paint::Red)?;
        }
    }
    for f in &found.follow {
        out.line(format!(
            "follow [{}] {}'s repository, which your web of trust reaches: sig remote add NAME {}",
            short(&f.key),
            shown(&f.user_id),
            shown(&f.url)
        ))?;
    }
    Ok(lookup_code(found))
}

/// `1 attestation`, `2 attestations`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Each target with the name to show for it: files by their absolute path, as the seed shows
/// them; `-` (or nothing at all) is standard input, hashed here.
fn named_targets(
    files: &[&PathBuf],
    ids: &[String],
    trees: &[PathBuf],
    commits: &[String],
) -> anyhow::Result<Vec<(String, Target)>> {
    let others = !ids.is_empty() || !trees.is_empty() || !commits.is_empty();
    let from_stdin = (files.is_empty() && !others) || files.iter().any(|f| f.as_os_str() == "-");
    if from_stdin {
        if files.len() > 1 || others {
            bail!("`-` (standard input) is verified alone, without files or ids");
        }
        return Ok(vec![(
            "standard input".to_owned(),
            Target::Id(hash_stdin()?),
        )]);
    }
    let mut targets = Vec::new();
    for file in files {
        let path = absolute(file)?;
        targets.push((
            format!("file {}", shown(&path.to_string_lossy())),
            Target::Path(path),
        ));
    }
    for id in ids {
        targets.push((format!("id {}", shown(id)), Target::Id(content_id(id)?)));
    }
    for dir in trees {
        if !dir.is_dir() {
            bail!("{}: not a directory, so not a tree", dir.display());
        }
        let path = absolute(dir)?;
        targets.push((
            format!("tree {}", shown(&path.to_string_lossy())),
            Target::Tree(path),
        ));
    }
    for rev in commits {
        let (id, _) = crate::gittree::tree_id(Path::new("."), rev)?;
        targets.push((format!("the tree of commit {}", shown(rev)), Target::Id(id)));
    }
    Ok(targets)
}

/// Keys whose words count as one reviewer's, a line per group of two or more: why "1 of 2
/// trusted reviewers" stands under two "ok" lines.
fn counted_as_one(attestations: &[AttestationView]) -> Vec<String> {
    use std::collections::BTreeMap;
    let mut groups: BTreeMap<&signet_proto::formats::Fingerprint, Vec<&AttestationView>> =
        BTreeMap::new();
    for a in attestations.iter().filter(|a| a.counts()) {
        let reviewer = match &a.counts_as {
            Some(api::CountsAs::Through(k) | api::CountsAs::Succeeds(k)) => k,
            None => &a.key,
        };
        groups.entry(reviewer).or_default().push(a);
    }
    // Its user id, from an attestation of its own or a trust path through it.
    let shown_key = |fpr: &signet_proto::formats::Fingerprint| {
        let user_id = attestations.iter().find_map(|a| {
            if &a.key == fpr {
                return Some(a.user_id.as_str());
            }
            let path = &a.standing.as_ref()?.path;
            path.iter()
                .find(|step| &step.fingerprint == fpr)
                .map(|step| step.user_id.as_str())
        });
        match user_id {
            Some(id) if !id.is_empty() => format!("[{}] {}", short(fpr), shown(id)),
            _ => format!("[{}]", short(fpr)),
        }
    };
    let mut lines = Vec::new();
    for (reviewer, members) in groups.into_iter().filter(|(_, m)| m.len() > 1) {
        let names: Vec<String> = members
            .iter()
            .map(|a| format!("[{}]", short(&a.key)))
            .collect();
        let why = if members
            .iter()
            .any(|a| matches!(a.counts_as, Some(api::CountsAs::Through(_))))
        {
            format!(
                "all are trusted only through {}, which you trust directly (verify.independent)",
                shown_key(reviewer)
            )
        } else {
            format!(
                "they are one key and its successors, first {}",
                shown_key(reviewer)
            )
        };
        lines.push(format!(
            "  {} count as one reviewer: {why}",
            names.join(", ")
        ));
    }
    lines
}

/// One verdict as the seed prints it: the id, the words that could not count, each
/// attestation, then the verdict line.
fn print_result(
    name: &str,
    r: &VerifyResult,
    why: bool,
    out: &mut Out<impl Write>,
) -> anyhow::Result<()> {
    let kind = match name.split_once(' ') {
        Some(("id", _)) => "id",
        _ => "file",
    };
    out.line(format!("identified {kind} as {}", r.id))?;
    // As the reference counts them: words that could not count at all.
    for (what, count) in [("unknown", r.unknown), ("invalid", r.invalid)] {
        if count > 0 {
            out.line(format!("{what}: {count}"))?;
        }
    }
    for a in &r.attestations {
        out.line(attestation_line(a, out.verbose, why))?;
    }
    for line in counted_as_one(&r.attestations) {
        out.line(line)?;
    }
    let (mut line, paint) = verdict_line(name, r.verdict);
    // Short of the policy's count: say by how much.
    if r.verdict == Verdict::Unverified && r.threshold > 1 {
        line.pop();
        line.push_str(&format!(
            " ({} of {} trusted reviewers).",
            r.reviewers, r.threshold
        ));
    }
    out.painted(line, paint)?;
    Ok(())
}

/// Results as JSON, each error carrying the path it is about (a result carries its own).
fn with_paths(
    results: &[VerifyOutcome],
    paths: impl Iterator<Item = Option<PathBuf>>,
) -> Vec<serde_json::Value> {
    results
        .iter()
        .zip(paths)
        .map(|(r, path)| {
            let mut v = serde_json::to_value(r).expect("results serialize");
            if let (VerifyOutcome::Failed { .. }, Some(path), Some(fields)) =
                (r, path, v.as_object_mut())
            {
                fields.insert("path".into(), serde_json::json!(path));
            }
            v
        })
        .collect()
}

/// The content id of everything on standard input.
fn hash_stdin() -> anyhow::Result<signet_proto::formats::ContentId> {
    use sha2::Digest as _;
    use std::io::IsTerminal as _;
    use std::io::Read as _;
    // As gpg does: on a terminal, say what is awaited rather than wait without a word.
    if io::stdin().is_terminal() {
        eprintln!(
            "sig: reading standard input to verify it (end with Ctrl-D; `sig verify FILE` \
             verifies a file)"
        );
    }
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut input = io::stdin().lock();
    loop {
        match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).context("reading standard input"),
        }
    }
    Ok(signet_proto::formats::ContentId::sha256(
        &hasher.finalize().into(),
    ))
}
