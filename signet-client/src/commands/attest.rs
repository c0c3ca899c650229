//! `sig attest`: ask, sign, save, and print the seed's transcript.

use super::*;

/// Checks a file can be attested before asking questions about it.
fn check_attestable(path: &Path) -> anyhow::Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| file_error(path, &e))?;
    if meta.is_dir() {
        bail!("{}: is a directory; attest the files in it", path.display());
    }
    if !meta.is_file() {
        bail!("{}: not a regular file", path.display());
    }
    Ok(())
}

/// What the user says about one file.
struct Answers {
    reviewed: bool,
    ok: bool,
    comment: String,
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
    for file in &args.files {
        check_attestable(file)?;
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
    let several = args.files.len() > 1;
    let mut saved_all = Vec::new();
    for file in &args.files {
        let name = shown(&file.to_string_lossy()).to_string();
        let Some(Answers {
            reviewed,
            ok,
            comment,
        }) = ask(&args, &name, several, &mut input, interactive, out)?
        else {
            continue;
        };
        let result: AttestResult = client.call::<method::Attest>(&AttestParams {
            target: Target::Path(absolute(file)?),
            ok,
            reviewed,
            comment,
            tty: terminal(),
        })?;
        let saved = signet_proto::json::parse(result.attestation.get().as_bytes())
            .context("the daemon returned an unreadable attestation")?;
        if out.json {
            saved_all.push(saved);
            continue;
        }
        // The seed's transcript: what was signed, then the data.
        out.line(format!("Saved attestation for {name}:"))?;
        if let Some(data) = saved.as_object().and_then(|o| o.get("data")) {
            out.json_text(&data.pretty())?;
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
