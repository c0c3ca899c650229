//! `sig attest`: ask, sign, save, and print the seed's transcript.

use super::*;
use signet_proto::api::{AttestManyParams, AttestManyResult, AttestOutcome, Word};

/// Checks a file (or directory) can be attested before asking questions about it; whether it
/// is a directory.
fn check_attestable(path: &Path) -> anyhow::Result<bool> {
    let meta = std::fs::metadata(path).map_err(|e| file_error(path, &e))?;
    if meta.is_dir() {
        return Ok(true);
    }
    if !meta.is_file() {
        bail!("{}: not a regular file", path.display());
    }
    Ok(false)
}

/// What the user says about one file.
struct Answers {
    reviewed: bool,
    ok: bool,
    comment: String,
}

impl Answers {
    /// The word to sign: these answers, the package it is (`--subject`, or what the file
    /// says), `--criteria`, and the terminal for pinentry.
    fn word(&self, args: &AttestArgs, subject: Option<String>) -> Word {
        Word {
            ok: self.ok,
            reviewed: self.reviewed,
            comment: self.comment.clone(),
            subject,
            criteria: args.criteria.clone(),
            tty: terminal(),
        }
    }
}

/// The seed's questions about one file, each skipped when its flag answers it; `None` when the
/// file was not reviewed (nothing is saved for it).
fn ask(
    args: &AttestArgs,
    name: &str,
    several: bool,
    input: &mut impl io::BufRead,
    interactive: bool,
    out: &mut Out<impl Write>,
) -> anyhow::Result<Option<Answers>> {
    let about = |what: &str| {
        if several {
            format!("{what} ({name})")
        } else {
            what.to_owned()
        }
    };
    let reviewed = match (args.reviewed, args.not_reviewed) {
        (true, _) => true,
        (_, true) => false,
        // As the reference does: a file not reviewed gets no attestation from a person
        // (`--not-reviewed` stays for scripts, and what it saves never counts).
        _ if !ask_yes_no(&about("I have reviewed this file"), input)? => {
            let said = format!("Please review the file: nothing was saved for {name}.");
            if out.json {
                eprintln!("{}", text::lines(&said));
            } else {
                out.line(said)?;
            }
            return Ok(None);
        }
        _ => true,
    };
    let ok = match (args.ok, args.not_ok) {
        (true, _) => true,
        (_, true) => false,
        _ => ask_yes_no(
            &about("It performs as expected and is free of major flaws"),
            input,
        )?,
    };
    // With the verdict given by flags and no one at a terminal, a comment is not waited for:
    // a script's standard input may stay open for ever.
    let answered = (args.ok || args.not_ok) && (args.reviewed || args.not_reviewed);
    let comment = match &args.comment {
        Some(c) => c.clone(),
        None if answered && !interactive => String::new(),
        None => ask_line(&about("Comment"), input)?,
    };
    Ok(Some(Answers {
        reviewed,
        ok,
        comment,
    }))
}

pub fn attest(loc: &Locations, args: AttestArgs, out: &mut Out<impl Write>) -> anyhow::Result<i32> {
    // Everything that can fail is checked before a question is asked.
    let mut dirs = 0;
    for file in &args.files {
        dirs += usize::from(check_attestable(file)?);
    }
    if let Some(dir) = &args.tree
        && !check_attestable(dir)?
    {
        bail!("{}: not a directory, so not a tree", dir.display());
    }
    let mut client = connection::connect_or_start(loc)?;
    let status: StatusResult = client.call::<method::Status>(&signet_proto::api::NoParams)?;
    if status.key.is_none() {
        bail!(
            "this home has no key yet: run `sig setup --generate \"Your Name <you@example.org>\"` \
             (or `sig setup KEYID` for a GnuPG key) first"
        );
    }
    let stdin = io::stdin();
    let interactive = {
        use std::io::IsTerminal as _;
        stdin.is_terminal()
    };
    let mut input = stdin.lock();
    let answered = (args.ok || args.not_ok) && (args.reviewed || args.not_reviewed);
    if !args.id.is_empty() {
        return attest_ids(&mut client, &args, &mut input, interactive, out);
    }
    if let Some(dir) = &args.tree {
        let target = Target::Tree(absolute(dir)?);
        let name = format!("tree {}", shown(&dir.to_string_lossy()));
        return attest_one(
            &mut client,
            &args,
            target,
            &name,
            &mut input,
            interactive,
            out,
        );
    }
    if let Some(rev) = &args.git {
        let (id, _) = crate::gittree::tree_id(Path::new("."), rev)?;
        let name = format!("the tree of commit {}", shown(rev));
        let target = Target::Id(id);
        return attest_one(
            &mut client,
            &args,
            target,
            &name,
            &mut input,
            interactive,
            out,
        );
    }
    if dirs > 0 || (args.files.len() > 1 && answered) {
        return attest_together(&mut client, &args, &mut input, interactive, out);
    }
    let several = args.files.len() > 1;
    let mut saved_all = Vec::new();
    for file in &args.files {
        let name = shown(&file.to_string_lossy()).to_string();
        let Some(answers) = ask(&args, &name, several, &mut input, interactive, out)? else {
            continue;
        };
        // A package file names itself; `--subject` says otherwise.
        let package = crate::package::inspect(file)?;
        let subject = args
            .subject
            .clone()
            .or_else(|| package.as_ref().map(|p| p.subject()));
        let params = |target| AttestParams {
            target,
            word: answers.word(&args, subject.clone()),
        };
        let mut results =
            vec![client.call::<method::Attest>(&params(Target::Path(absolute(file)?)))?];
        // An npm tarball is named by its sha512 in package-lock.json: the same word on it.
        if let Some(npm_id) = package.and_then(|p| p.npm_id) {
            results.push(client.call::<method::Attest>(&params(Target::Id(npm_id)))?);
        }
        for (n, result) in results.iter().enumerate() {
            let saved = signet_proto::json::parse(result.attestation.get().as_bytes())
                .context("the daemon returned an unreadable attestation")?;
            if out.json {
                saved_all.push(saved);
                continue;
            }
            // The seed's transcript: what was signed, then the data.
            if n == 0 {
                out.line(format!("Saved attestation for {name}:"))?;
            } else {
                out.line(format!(
                    "Saved attestation for {name} by its sha512, as package-lock.json names it:"
                ))?;
            }
            if let Some(data) = saved.as_object().and_then(|o| o.get("data")) {
                out.json_text(&data.pretty())?;
            }
        }
    }
    // `--json`: one document, the signed attestation (a list of them for several files).
    match saved_all.as_slice() {
        [] => {}
        [one] => out.json_text(&one.pretty())?,
        many => out.json_text(&signet_proto::json::Value::Array(many.to_vec()).pretty())?,
    }
    Ok(exit::OK)
}

/// The questions asked once about `about`, then one `attest.many` of `targets` (a spinner
/// on a terminal while the daemon hashes and signs): the result and the answers, or `None`
/// when nothing was reviewed.
fn attest_many(
    client: &mut connection::Client,
    args: &AttestArgs,
    about: &str,
    targets: Vec<Target>,
    input: &mut impl io::BufRead,
    interactive: bool,
    out: &mut Out<impl Write>,
) -> anyhow::Result<Option<(AttestManyResult, Answers)>> {
    let Some(answers) = ask(args, about, true, input, interactive, out)? else {
        return Ok(None);
    };
    let spinner = interactive.then(|| Spinner::start("hashing and signing"));
    let result = client.call::<method::AttestMany>(&AttestManyParams {
        targets,
        word: answers.word(args, args.subject.clone()),
    });
    drop(spinner);
    Ok(Some((result?, answers)))
}

/// One word on one target named `name`: a directory as one tree (`--tree`: the id of all its
/// files together), or a commit's tree (`--git`).
fn attest_one(
    client: &mut connection::Client,
    args: &AttestArgs,
    target: Target,
    name: &str,
    input: &mut impl io::BufRead,
    interactive: bool,
    out: &mut Out<impl Write>,
) -> anyhow::Result<i32> {
    let Some(answers) = ask(args, name, false, input, interactive, out)? else {
        return Ok(exit::OK);
    };
    let spinner = interactive.then(|| Spinner::start("hashing and signing"));
    let result = client.call::<method::Attest>(&AttestParams {
        target,
        word: answers.word(args, args.subject.clone()),
    });
    drop(spinner);
    let saved = signet_proto::json::parse(result?.attestation.get().as_bytes())
        .context("the daemon returned an unreadable attestation")?;
    if out.json {
        out.json_text(&saved.pretty())?;
        return Ok(exit::OK);
    }
    out.line(format!("Saved attestation for {name}:"))?;
    if let Some(data) = saved.as_object().and_then(|o| o.get("data")) {
        out.json_text(&data.pretty())?;
    }
    Ok(exit::OK)
}

/// Content ids reviewed elsewhere (`--id`), with one answer, in one signed write.
fn attest_ids(
    client: &mut connection::Client,
    args: &AttestArgs,
    input: &mut impl io::BufRead,
    interactive: bool,
    out: &mut Out<impl Write>,
) -> anyhow::Result<i32> {
    let ids = args
        .id
        .iter()
        .map(|id| content_id(id))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let named: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    let targets = ids.into_iter().map(Target::Id).collect();
    let about = named.join(", ");
    let Some((result, _)) = attest_many(client, args, &about, targets, input, interactive, out)?
    else {
        return Ok(exit::OK);
    };
    if out.json {
        out.json(&result)?;
        return Ok(exit::OK);
    }
    for id in &named {
        out.line(format!("Saved attestation for {id}"))?;
    }
    Ok(exit::OK)
}

/// Many files (or the files under directories) with one answer, in one `attest.many`: one
/// signed write of the repository however many there are.
fn attest_together(
    client: &mut connection::Client,
    args: &AttestArgs,
    input: &mut impl io::BufRead,
    interactive: bool,
    out: &mut Out<impl Write>,
) -> anyhow::Result<i32> {
    let named: Vec<String> = args
        .files
        .iter()
        .map(|f| shown(&f.to_string_lossy()).to_string())
        .collect();
    let targets = args
        .files
        .iter()
        .map(|f| Ok(Target::Path(absolute(f)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let about = format!("every file of {}", named.join(", "));
    let Some((result, Answers { ok, reviewed, .. })) =
        attest_many(client, args, &about, targets, input, interactive, out)?
    else {
        return Ok(exit::OK);
    };
    if result.results.is_empty() {
        bail!("{}: no files in it to attest", named.join(", "));
    }
    let failed = result
        .results
        .iter()
        .filter(|r| matches!(r, AttestOutcome::Failed { .. }))
        .count();
    if out.json {
        out.json(&result)?;
    } else {
        for r in &result.results {
            if let AttestOutcome::Failed { error, path } = r {
                let what = path.as_ref().map_or(String::new(), |p| {
                    format!("{}: ", shown(&p.to_string_lossy()))
                });
                report_error(&format!("{what}{}", error.message));
            }
        }
        let saved = result.results.len() - failed;
        let verdict = if ok { "ok" } else { "NOT ok" };
        let reviewed = if reviewed { "reviewed" } else { "not reviewed" };
        out.line(format!(
            "Saved attestations for {saved} files ({verdict}, {reviewed}) in one write: serial {}",
            result.serial
        ))?;
    }
    Ok(if failed > 0 { exit::ERROR } else { exit::OK })
}
