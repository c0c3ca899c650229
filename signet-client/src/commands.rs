//! What each command does: gather input, call the daemon, print the seed's transcript.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use signet_proto::api::{
    self, AttestParams, AttestResult, AttestationView, KeyChoice, KeysListResult, SetupParams,
    SetupResult, StatusResult, Target, TrustChange, TrustListResult, TrustParams, Verdict,
    VerifyManyParams, VerifyManyResult, VerifyOutcome, VerifyResult, method,
};
use signet_proto::formats::ContentId;
use signet_proto::paths::Locations;
use signet_proto::text::{self, shown};
use signet_proto::wire_path::AbsPath;

use crate::cli::{
    AttestArgs, DaemonCommand, PublishArgs, RemoteCommand, SetupArgs, TrustCommand, VerifyArgs,
    WatchCommand,
};
use crate::connection;

/// Exit codes: part of the interface.
pub mod exit {
    pub const OK: i32 = 0;
    pub const NOT_VERIFIED: i32 = 1;
    pub const ERROR: i32 = 2;
    pub const NOT_OK: i32 = 3;
}

/// Where output goes; write errors (a closed pipe) end the command.
pub struct Out<W: Write> {
    pub w: W,
    /// `--quiet`: nothing but errors (on stderr) and the exit code.
    quiet: bool,
    /// `--verbose`: comments and sources beside each attestation.
    pub verbose: bool,
    /// Verdicts in colour: on a terminal, unless `--no-color`, `NO_COLOR` or `--json`.
    color: bool,
    /// `--json`: one JSON document instead of lines for people.
    pub json: bool,
}

/// Colours for verdicts, as the reference uses them.
#[derive(Debug, Clone, Copy)]
pub enum Paint {
    Green,
    Red,
    Yellow,
}

impl<W: Write> Out<W> {
    pub fn new(w: W, quiet: bool, verbose: bool, no_color: bool, json: bool) -> Self
    where
        W: std::io::IsTerminal,
    {
        let color = !no_color
            && !json
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && w.is_terminal();
        Out {
            w,
            quiet,
            verbose,
            color,
            json,
        }
    }

    /// Writes a line for people. Whatever it holds, no control character or bidi override
    /// reaches the terminal (fields from outside are also escaped one by one with `shown`, so
    /// that a newline in one cannot start a line of its own).
    pub fn line(&mut self, text: impl AsRef<str>) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        writeln!(self.w, "{}", text::lines(text.as_ref()))
    }

    /// [`Out::line`] in a colour, where colour is on. The escape codes are added after the
    /// text is made safe, so nothing from outside can write one.
    pub fn painted(&mut self, text: impl AsRef<str>, paint: Paint) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        if !self.color {
            return self.line(text);
        }
        let code = match paint {
            Paint::Green => "32",
            Paint::Red => "1;31",
            Paint::Yellow => "33",
        };
        writeln!(self.w, "\x1b[{code}m{}\x1b[0m", text::lines(text.as_ref()))
    }
    /// Writes a JSON document: the same value, with bidi controls and line separators in its
    /// strings escaped too.
    pub fn json<T: serde::Serialize>(&mut self, value: &T) -> io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        self.json_text(&text)
    }

    /// Writes JSON text, escaped as [`Out::json`] does.
    pub fn json_text(&mut self, json: &str) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        writeln!(self.w, "{}", text::json_escaped(json))
    }
}

fn short(fpr: &signet_proto::formats::Fingerprint) -> &str {
    fpr.short()
}

pub fn setup(loc: &Locations, args: SetupArgs, out: &mut Out<impl Write>) -> anyhow::Result<i32> {
    if args.keyid.is_none() && args.generate.is_none() && args.import.is_none() {
        bail!(
            "say which key: `sig setup --generate \"Your Name <you@example.org>\"` makes a new \
             one, `sig setup KEYID` uses yours from GnuPG, `sig setup --import FILE` takes an \
             exported secret key"
        );
    }
    let key = match (args.generate, args.keyid, args.import) {
        (Some(user_id), None, None) => KeyChoice::Generate { user_id },
        (None, Some(key), None) => KeyChoice::Gpg {
            key,
            gnupghome: match std::env::var_os("GNUPGHOME").filter(|h| !h.is_empty()) {
                Some(home) => Some(absolute(Path::new(&home))?.into()),
                None => None,
            },
        },
        (None, None, Some(file)) => KeyChoice::Import {
            file: absolute(&file)?,
        },
        _ => bail!("give one of KEYID, `--generate` and `--import`"),
    };
    let mut client = connection::connect_or_start(loc)?;
    let result: SetupResult = client.call(
        method::SETUP,
        &SetupParams {
            key,
            tty: terminal(),
            force: args.force,
        },
    )?;
    if out.json {
        out.json(&result)?;
        return Ok(exit::OK);
    }
    out.line(format!(
        "Initialized config directory at: {}",
        result.home.display()
    ))?;
    out.line(format!(
        "With public key fingerprint: {}",
        result.key.fingerprint
    ))?;
    out.line("Welcome to Signet! :)")?;
    Ok(exit::OK)
}

/// The user's terminal, for gpg's pinentry: `GPG_TTY` as gpg documents it, else the terminal
/// on standard input.
fn terminal() -> Option<String> {
    use std::io::IsTerminal as _;
    if let Some(tty) = std::env::var("GPG_TTY").ok().filter(|t| !t.is_empty()) {
        return Some(tty);
    }
    if !io::stdin().is_terminal() {
        return None;
    }
    std::fs::read_link("/proc/self/fd/0")
        .ok()
        .and_then(|p| p.to_str().map(str::to_owned))
}

/// Asks a yes/no question on the terminal or stdin until it gets an answer.
fn ask_yes_no(question: &str, input: &mut impl io::BufRead) -> anyhow::Result<bool> {
    for _ in 0..3 {
        eprint!("{question} (yes/no): ");
        let mut answer = String::new();
        if input.read_line(&mut answer)? == 0 {
            bail!(
                "no answer on standard input: answer the questions, or pass --ok/--not-ok and --reviewed/--not-reviewed"
            );
        }
        match answer.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Ok(true),
            "n" | "no" => return Ok(false),
            _ => eprintln!("Please answer yes or no."),
        }
    }
    bail!("no yes/no answer after three tries")
}

fn ask_line(question: &str, input: &mut impl io::BufRead) -> anyhow::Result<String> {
    eprint!("{question}: ");
    let mut answer = String::new();
    input.read_line(&mut answer)?;
    Ok(answer.trim_end_matches(['\n', '\r']).to_owned())
}

/// A file's error in the wording every command uses (`signet_proto::text::file_error`).
fn file_error(path: &Path, e: &io::Error) -> anyhow::Error {
    anyhow::anyhow!(text::file_error(
        &shown(&path.to_string_lossy()).to_string(),
        e
    ))
}

fn absolute(path: &Path) -> anyhow::Result<AbsPath> {
    let path =
        std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))?;
    Ok(AbsPath::new(path)?)
}

/// A content id given on the command line.
fn content_id(id: &str) -> anyhow::Result<ContentId> {
    ContentId::parse(id.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", shown(id)))
}

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

pub fn attest(loc: &Locations, args: AttestArgs, out: &mut Out<impl Write>) -> anyhow::Result<i32> {
    // Everything that can fail is checked before a question is asked.
    for file in &args.files {
        check_attestable(file)?;
    }
    let mut client = connection::connect_or_start(loc)?;
    let status: StatusResult = client.call(method::STATUS, &serde_json::json!({}))?;
    if status.key.is_none() {
        bail!(
            "this home has no key yet: run `sig setup --generate \"Your Name <you@example.org>\"` \
             (or `sig setup KEYID` for a GnuPG key) first"
        );
    }
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let several = args.files.len() > 1;
    let mut saved_all = Vec::new();
    for file in &args.files {
        let name = shown(&file.to_string_lossy()).to_string();
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
            _ if !ask_yes_no(&about("I have reviewed this file"), &mut input)? => {
                let said = format!("Please review the file: nothing was saved for {name}.");
                if out.json {
                    eprintln!("{}", text::lines(&said));
                } else {
                    out.line(said)?;
                }
                continue;
            }
            _ => true,
        };
        let ok = match (args.ok, args.not_ok) {
            (true, _) => true,
            (_, true) => false,
            _ => ask_yes_no(
                &about("It performs as expected and is free of major flaws"),
                &mut input,
            )?,
        };
        let comment = match &args.comment {
            Some(c) => c.clone(),
            None => ask_line(&about("Comment"), &mut input)?,
        };
        let result: AttestResult = client.call(
            method::ATTEST,
            &AttestParams {
                target: Target::Path(absolute(file)?),
                ok,
                reviewed,
                comment,
                tty: terminal(),
            },
        )?;
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

fn attestation_line(a: &AttestationView, verbose: bool) -> String {
    let line = attestation_summary(a);
    if !verbose {
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

fn attestation_summary(a: &AttestationView) -> String {
    let who = format!("[{}] {}", short(&a.key), shown(&a.user_id));
    if a.revoked {
        return format!("revoked {who} (its key was revoked; it does not count)");
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
    line
}

fn verdict_line(name: &str, verdict: Verdict) -> (String, Paint) {
    match verdict {
        Verdict::Ok => (format!("{name} is ok."), Paint::Green),
        Verdict::Unverified => (format!("{name} is not verified."), Paint::Yellow),
        Verdict::NotOk => (format!("{name} is NOT ok."), Paint::Red),
    }
}

/// Combines exit codes: a trusted "not ok" is loudest, then errors, then "not verified".
fn worst(a: i32, b: i32) -> i32 {
    let rank = |c| match c {
        exit::NOT_OK => 3,
        exit::ERROR => 2,
        exit::NOT_VERIFIED => 1,
        _ => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Regular files under `dir` (symlinked directories are not followed, so loops cannot trap the
/// walk; FIFOs, sockets and devices are skipped and never opened), sorted, with what could not
/// be read.
fn files_under(dir: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                problems.push(text::file_error(&dir.display().to_string(), &e));
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => files.push(path),
                Ok(t) if t.is_symlink() => {
                    if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                        files.push(path);
                    }
                }
                Ok(_) => {} // FIFOs, sockets, devices: not content
                Err(e) => problems.push(text::file_error(&path.display().to_string(), &e)),
            }
        }
    }
    files.sort();
    (files, problems)
}

/// `sig verify DIR`: every file under it, a summary, and the files that are not ok listed.
fn verify_tree(
    client: &mut connection::Client,
    dir: &Path,
    all: bool,
    out: &mut Out<impl Write>,
) -> anyhow::Result<i32> {
    const BATCH: usize = 512;
    // Canonical, so that files of a watched directory are found in the daemon's table.
    let root = std::fs::canonicalize(dir).map_err(|e| file_error(dir, &e))?;
    let (files, problems) = files_under(&root);
    let json = out.json;
    let spinner = (!json).then(|| Spinner::start("verifying"));
    let mut results = Vec::with_capacity(files.len());
    let mut warnings = Vec::new();
    for batch in files.chunks(BATCH) {
        if let Some(spinner) = &spinner {
            spinner.progress(results.len(), files.len());
        }
        let mut targets = Vec::with_capacity(batch.len());
        for file in batch {
            targets.push(Target::Path(AbsPath::new(file.clone())?).into());
        }
        let VerifyManyResult {
            results: got,
            warnings: said,
        } = client.call(method::VERIFY_MANY, &VerifyManyParams { targets })?;
        results.extend(got);
        warnings = said;
    }
    drop(spinner);
    let (mut ok, mut unverified, mut not_ok, mut failed) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (file, outcome) in files.iter().zip(&results) {
        let shown = shown(&file.strip_prefix(&root).unwrap_or(file).to_string_lossy()).to_string();
        match outcome {
            VerifyOutcome::Verified(r) if r.verdict == Verdict::Ok => ok.push(shown),
            VerifyOutcome::Verified(r) if r.verdict == Verdict::NotOk => not_ok.push(shown),
            VerifyOutcome::Verified(_) => unverified.push(shown),
            VerifyOutcome::Failed { error } => failed.push(format!("{shown}: {}", error.message)),
        }
    }
    failed.extend(problems);
    let code = if !not_ok.is_empty() {
        exit::NOT_OK
    } else if !failed.is_empty() {
        exit::ERROR
    } else if !unverified.is_empty() {
        exit::NOT_VERIFIED
    } else {
        exit::OK
    };
    if json {
        out.json(&serde_json::json!({
            "directory": root,
            "ok": ok.len(), "unverified": unverified.len(), "not_ok": not_ok.len(), "errors": failed,
            "results": with_paths(&results, files.iter().map(|f| Some(f.clone()))),
        }))?;
        return Ok(code);
    }
    for f in &not_ok {
        out.painted(format!("NOT OK       {f}"), Paint::Red)?;
    }
    // Every file nobody vouched for is usually most of a tree: listed on request.
    if all {
        for f in &unverified {
            out.painted(format!("not verified {f}"), Paint::Yellow)?;
        }
    }
    for f in &failed {
        report_error(f);
    }
    warn(&warnings);
    out.line(format!(
        "{}: {} ok, {} not verified, {} NOT ok{}",
        dir.display(),
        ok.len(),
        unverified.len(),
        not_ok.len(),
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
        if dirs.len() + args.id.len() + files.len() > 1 {
            bail!("give one directory at a time, without files or ids");
        }
        let mut client = connection::connect_or_start(loc)?;
        return verify_tree(&mut client, dirs[0], args.all, out);
    }
    // Each target with the name to show for it: files by their absolute path, as the seed
    // shows them; `-` (or nothing at all) is standard input, hashed here.
    let mut targets = Vec::new();
    let from_stdin =
        (files.is_empty() && args.id.is_empty()) || files.iter().any(|f| f.as_os_str() == "-");
    if from_stdin {
        if files.len() > 1 || !args.id.is_empty() {
            bail!("`-` (standard input) is verified alone, without files or ids");
        }
        targets.push(("standard input".to_owned(), Target::Id(hash_stdin()?)));
    } else {
        for file in files {
            let path = absolute(file)?;
            targets.push((
                format!("file {}", shown(&path.to_string_lossy())),
                Target::Path(path),
            ));
        }
        for id in &args.id {
            targets.push((format!("id {}", shown(id)), Target::Id(content_id(id)?)));
        }
    }
    let mut client = connection::connect_or_start(loc)?;
    let VerifyManyResult { results, warnings } = client.call(
        method::VERIFY_MANY,
        &VerifyManyParams {
            targets: targets.iter().map(|(_, t)| t.clone().into()).collect(),
        },
    )?;
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
            VerifyOutcome::Verified(VerifyResult {
                id,
                verdict,
                attestations,
                reviewers,
                threshold,
                unknown,
                invalid,
                ..
            }) => {
                let kind = match name.split_once(' ') {
                    Some(("id", _)) => "id",
                    _ => "file",
                };
                out.line(format!("identified {kind} as {id}"))?;
                // As the reference counts them: words that could not count at all.
                for (what, count) in [("unknown", unknown), ("invalid", invalid)] {
                    if *count > 0 {
                        out.line(format!("{what}: {count}"))?;
                    }
                }
                for a in attestations {
                    out.line(attestation_line(a, out.verbose))?;
                }
                let (mut line, paint) = verdict_line(name, *verdict);
                // Short of the policy's count: say by how much.
                if *verdict == Verdict::Unverified && *threshold > 1 {
                    line.pop();
                    line.push_str(&format!(" ({reviewers} of {threshold} trusted reviewers)."));
                }
                out.painted(line, paint)?;
            }
            VerifyOutcome::Failed { error } => report_error(&error.message),
        }
    }
    Ok(code)
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
    use std::io::Read as _;
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

/// Prints what the daemon says an answer may be missing, on stderr.
fn warn(warnings: &[String]) {
    for w in warnings {
        eprintln!("sig: warning: {}", text::lines(w));
    }
}

/// Prints an error on stderr, its text from outside escaped: every `sig: error:` goes here.
pub fn report_error(message: &str) {
    eprintln!("sig: error: {}", text::lines(message));
}

fn key_line(fpr: &signet_proto::formats::Fingerprint, user_id: &str) -> String {
    if user_id.is_empty() {
        format!("[{}] (key not yet fetched)", short(fpr))
    } else {
        format!("[{}] {}", short(fpr), shown(user_id))
    }
}

pub fn trust(
    loc: &Locations,
    command: TrustCommand,
    out: &mut Out<impl Write>,
) -> anyhow::Result<i32> {
    let mut client = connection::connect_or_start(loc)?;
    match command {
        TrustCommand::Add { key, reason } => {
            let change: TrustChange =
                client.call(method::TRUST_ADD, &TrustParams { key, reason })?;
            if out.json {
                out.json(&change)?;
                return Ok(exit::OK);
            }
            let e = &change.entry;
            let verb = if change.changed {
                "Trusted"
            } else {
                "Already trusted"
            };
            out.line(format!("{verb}: {}", key_line(&e.fingerprint, &e.user_id)))?;
            out.line(format!("Fingerprint: {}", e.fingerprint))?;
        }
        TrustCommand::Remove { key } => {
            let change: TrustChange =
                client.call(method::TRUST_REMOVE, &TrustParams { key, reason: None })?;
            if out.json {
                out.json(&change)?;
                return Ok(exit::OK);
            }
            let e = &change.entry;
            out.line(format!(
                "No longer trusted: {}",
                key_line(&e.fingerprint, &e.user_id)
            ))?;
            out.line(format!("Fingerprint: {}", e.fingerprint))?;
        }
        TrustCommand::List => {
            let list: TrustListResult = client.call(method::TRUST_LIST, &serde_json::json!({}))?;
            if out.json {
                out.json(&list)?;
            } else if list.trusted.is_empty() {
                out.line("No trusted keys yet (your own key always counts): `sig trust add KEY`")?;
            } else {
                for e in &list.trusted {
                    out.line(format!("{}  {}", e.fingerprint, shown(&e.user_id)))?;
                }
            }
        }
    }
    Ok(exit::OK)
}

pub fn keys(loc: &Locations, out: &mut Out<impl Write>) -> anyhow::Result<i32> {
    let json = out.json;
    let mut client = connection::connect_or_start(loc)?;
    let list: KeysListResult = client.call(method::KEYS_LIST, &serde_json::json!({}))?;
    if json {
        out.json(&list)?;
        return Ok(exit::OK);
    }
    if list.keys.is_empty() {
        out.line(
            "No keys yet: make yours with `sig setup --generate \"Name <mail>\"`, and learn \
             others' with `sig remote add NAME URL` and `sig fetch`",
        )?;
    }
    for k in &list.keys {
        let role = if k.own {
            "own"
        } else if k.trusted {
            "trusted"
        } else {
            "known"
        };
        out.line(format!(
            "{}  {:<7}  {}  ({})",
            k.fingerprint,
            role,
            shown(&k.user_id),
            k.source
        ))?;
    }
    Ok(exit::OK)
}

pub fn status(loc: &Locations, out: &mut Out<impl Write>) -> anyhow::Result<i32> {
    let json = out.json;
    let mut client = connection::connect_or_start(loc)?;
    let s: StatusResult = client.call(method::STATUS, &serde_json::json!({}))?;
    if json {
        out.json(&s)?;
        return Ok(exit::OK);
    }
    out.line(format!(
        "signetd {} (pid {}), up {}s",
        s.version, s.pid, s.uptime_secs
    ))?;
    out.line(format!("home:    {}", s.home.display()))?;
    out.line(format!("socket:  {}", s.socket.display()))?;
    match &s.key {
        Some(k) => out.line(format!("key:     {} {}", k.fingerprint, shown(&k.user_id)))?,
        None => out.line("key:     none yet (run `sig setup --generate \"Name <email>\"`)")?,
    }
    out.line(format!(
        "repo:    {} attestations, serial {}",
        s.own_attestations, s.serial
    ))?;
    out.line(format!(
        "index:   {} attestations about {} files; {} trusted keys",
        s.valid_attestations, s.known_ids, s.trusted_keys
    ))?;
    out.line(format!("remotes: {}", s.remotes))?;
    if s.remotes > 0 {
        let list: api::RemoteListResult =
            client.call(method::REMOTE_LIST, &serde_json::json!({}))?;
        for r in &list.remotes {
            let due = r
                .next_sync_secs
                .map_or("not scheduled".to_owned(), |s| format!("next sync in {s}s"));
            let state = match (&r.last_error, &r.last_success) {
                (Some(e), _) => format!("last error: {e}"),
                (None, Some(t)) => format!("last success {t}"),
                (None, None) => "never fetched".to_owned(),
            };
            out.line(format!("  {}: {due}; {state}", r.name))?;
        }
    }
    if let Some(url) = &s.publishing {
        out.line(format!("publishing on {url}"))?;
    }
    for p in &s.problems {
        out.line(format!("problem: {p}"))?;
    }
    for w in &s.warnings {
        out.line(format!("warning: {w}"))?;
    }
    Ok(if s.problems.is_empty() {
        exit::OK
    } else {
        exit::ERROR
    })
}

pub fn daemon(
    loc: &Locations,
    command: DaemonCommand,
    out: &mut Out<impl Write>,
) -> anyhow::Result<i32> {
    match command {
        DaemonCommand::Start => {
            if let Some(mut client) = connection::connect_running(loc)? {
                let s: StatusResult = client.call(method::STATUS, &serde_json::json!({}))?;
                if out.json {
                    out.json(&serde_json::json!({"running": true, "started": false, "pid": s.pid, "socket": s.socket}))?;
                    return Ok(exit::OK);
                }
                out.line(format!(
                    "signetd is already running (pid {}) on {}",
                    s.pid,
                    s.socket.display()
                ))?;
                return Ok(exit::OK);
            }
            let client = connection::connect_or_start(loc)?;
            if out.json {
                out.json(&serde_json::json!({"running": true, "started": true, "server": client.server.server, "socket": loc.socket}))?;
                return Ok(exit::OK);
            }
            out.line(format!(
                "{} answering on {}",
                client.server.server,
                loc.socket.display()
            ))?;
        }
        DaemonCommand::Stop if out.json => {
            let (was_running, killed) = match connection::stop(loc)? {
                connection::Stopped::Exited => (true, false),
                connection::Stopped::NotRunning => (false, false),
                connection::Stopped::Killed { .. } => (true, true),
            };
            out.json(&serde_json::json!({"running": false, "was_running": was_running, "killed": killed}))?;
        }
        DaemonCommand::Stop => match connection::stop(loc)? {
            connection::Stopped::Exited => out.line("signetd stopped")?,
            connection::Stopped::NotRunning => out.line("signetd is not running")?,
            connection::Stopped::Killed { pid } => out.line(format!(
                "signetd (pid {pid}) did not exit within 10s of being asked: killed it"
            ))?,
        },
        DaemonCommand::Status => match connection::connect_running(loc)? {
            Some(mut client) => {
                let s: StatusResult = client.call(method::STATUS, &serde_json::json!({}))?;
                if out.json {
                    out.json(&serde_json::json!({"running": true, "pid": s.pid, "version": s.version, "socket": s.socket}))?;
                    return Ok(exit::OK);
                }
                out.line(format!(
                    "signetd {} running (pid {}) on {}",
                    s.version,
                    s.pid,
                    s.socket.display()
                ))?;
            }
            None => {
                if out.json {
                    out.json(&serde_json::json!({"running": false, "socket": loc.socket}))?;
                } else {
                    out.line(format!(
                        "signetd is not running (no answer on {})",
                        loc.socket.display()
                    ))?;
                }
                return Ok(exit::NOT_VERIFIED);
            }
        },
    }
    Ok(exit::OK)
}

pub fn remote(
    loc: &Locations,
    command: RemoteCommand,
    out: &mut Out<impl Write>,
) -> anyhow::Result<i32> {
    let mut client = connection::connect_or_start(loc)?;
    match command {
        RemoteCommand::Add { name, url } => {
            check_remote_url(&url)?;
            let r: api::RemoteInfo =
                client.call(method::REMOTE_ADD, &api::RemoteAddParams { name, url })?;
            if out.json {
                out.json(&r)?;
                return Ok(exit::OK);
            }
            out.line(format!(
                "Added remote {} at {}; `sig fetch {}` fetches it now",
                r.name, r.url, r.name
            ))?;
        }
        RemoteCommand::Remove { name } => {
            let r: api::RemoteInfo =
                client.call(method::REMOTE_REMOVE, &api::RemoteNameParams { name })?;
            if out.json {
                out.json(&r)?;
                return Ok(exit::OK);
            }
            out.line(format!(
                "Removed remote {} ({}); its {} attestations no longer count",
                r.name, r.url, r.attestations
            ))?;
        }
        RemoteCommand::List => {
            let list: api::RemoteListResult =
                client.call(method::REMOTE_LIST, &serde_json::json!({}))?;
            if out.json {
                out.json(&list)?;
            } else if list.remotes.is_empty() {
                out.line("No remotes yet: `sig remote add NAME URL`")?;
            }
            for r in (!out.json).then_some(&list.remotes).into_iter().flatten() {
                out.line(format!("{}  {}", r.name, r.url))?;
                match &r.key {
                    Some(k) => out.line(format!(
                        "  key:          {} {}",
                        k.fingerprint,
                        shown(&k.user_id)
                    ))?,
                    None => out.line("  key:          not fetched yet")?,
                }
                if let Some(serial) = r.serial {
                    out.line(format!(
                        "  serial:       {serial}, {} attestations ({} rejected)",
                        r.attestations, r.rejected
                    ))?;
                }
                out.line(format!(
                    "  last success: {}",
                    r.last_success.as_deref().unwrap_or("never")
                ))?;
                if let Some(signed) = &r.signed {
                    out.line(format!(
                        "  signed:       {signed}{}",
                        if r.stale {
                            " (old: the server may be serving a frozen copy)"
                        } else {
                            ""
                        }
                    ))?;
                }
                if let Some(e) = &r.last_error {
                    out.line(format!("  last error:   {}", shown(e)))?;
                }
                if let Some(secs) = r.next_sync_secs {
                    out.line(format!("  next sync:    in {secs}s"))?;
                }
            }
        }
    }
    Ok(exit::OK)
}

pub fn watch(
    loc: &Locations,
    command: WatchCommand,
    out: &mut Out<impl Write>,
) -> anyhow::Result<i32> {
    let mut client = connection::connect_or_start(loc)?;
    let counts = |w: &api::WatchInfo| {
        format!(
            "{} files: {} ok, {} not verified, {} NOT ok",
            w.files, w.ok, w.unverified, w.not_ok
        )
    };
    match command {
        WatchCommand::Add { dir } => {
            let spinner = Spinner::start("hashing");
            let w: api::WatchInfo = client.call(
                method::WATCH_ADD,
                &api::PathParams {
                    path: absolute(&dir)?,
                },
            )?;
            drop(spinner);
            if out.json {
                out.json(&w)?;
                return Ok(exit::OK);
            }
            out.line(format!(
                "Watching {} ({}; {} skipped; scanned in {} ms)",
                w.path.display(),
                counts(&w),
                w.skipped,
                w.scan_ms
            ))?;
        }
        WatchCommand::Remove { dir } => {
            let w: api::WatchInfo = client.call(
                method::WATCH_REMOVE,
                &api::PathParams {
                    path: absolute(&dir)?,
                },
            )?;
            if out.json {
                out.json(&w)?;
                return Ok(exit::OK);
            }
            out.line(format!("No longer watching {}", w.path.display()))?;
        }
        WatchCommand::List => {
            let list: api::WatchListResult =
                client.call(method::WATCH_LIST, &serde_json::json!({}))?;
            if out.json {
                out.json(&list)?;
            } else if list.watches.is_empty() {
                out.line("No watched directories: `sig watch add DIR`")?;
            }
            for w in (!out.json).then_some(&list.watches).into_iter().flatten() {
                out.line(format!("{}  {}", w.path.display(), counts(w)))?;
                if let Some(e) = &w.error {
                    out.line(format!("  problem: {e}"))?;
                }
            }
        }
    }
    Ok(exit::OK)
}

pub fn fetch(
    loc: &Locations,
    names: Vec<String>,
    out: &mut Out<impl Write>,
) -> anyhow::Result<i32> {
    let json = out.json;
    let mut client = connection::connect_or_start(loc)?;
    let spinner = (!json).then(|| Spinner::start("fetching"));
    let result: Result<api::FetchResult, _> =
        client.call(method::FETCH, &api::FetchParams { names });
    drop(spinner);
    let result = result?;
    let all_fetched = result.results.iter().all(|r| {
        matches!(
            r.outcome,
            api::FetchOutcome::Updated | api::FetchOutcome::Unchanged
        )
    });
    let code = if all_fetched { exit::OK } else { exit::ERROR };
    if json {
        out.json(&result)?;
        return Ok(code);
    }
    if result.results.is_empty() {
        out.line("No remotes to fetch: `sig remote add NAME URL`")?;
    }
    for r in &result.results {
        for request in &r.requests {
            out.line(request)?;
        }
        if let Some(k) = &r.imported {
            out.line(format!(
                "Imported [{}] {}.",
                k.fingerprint.short(),
                shown(&k.user_id)
            ))?;
        }
        let counts = || {
            format!(
                "serial {}, {} attestations",
                r.serial.unwrap_or(0),
                r.attestations
            )
        };
        let rejected = if r.rejected > 0 {
            format!(", {} rejected", r.rejected)
        } else {
            String::new()
        };
        let why = || shown(r.message.as_deref().unwrap_or("")).to_string();
        // What went wrong goes to stderr, as every error does; progress to stdout.
        match r.outcome {
            api::FetchOutcome::Updated => {
                out.line(format!("{}: updated ({}{rejected})", r.name, counts()))?
            }
            api::FetchOutcome::Unchanged => {
                out.line(format!("{}: unchanged ({}{rejected})", r.name, counts()))?
            }
            api::FetchOutcome::Refused => {
                report_error(&format!("{}: refused: {}", shown(&r.name), why()))
            }
            api::FetchOutcome::Failed => {
                report_error(&format!("{}: failed: {}", shown(&r.name), why()))
            }
        }
    }
    Ok(code)
}

/// `sig config [KEY [VALUE]]`: every setting, one, or a new value for one.
pub fn config(
    loc: &Locations,
    key: Option<String>,
    value: Vec<String>,
    out: &mut Out<impl Write>,
) -> anyhow::Result<i32> {
    let json = out.json;
    let mut client = connection::connect_or_start(loc)?;
    let shown_value = |v: &serde_json::Value| serde_json::to_string(v).expect("JSON");
    let got: api::ConfigValue = match (&key, value.is_empty()) {
        (Some(key), false) => {
            let text = value.join(" ");
            let value: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
                anyhow::anyhow!(
                    "{} is not a JSON value: give a number, true/false, a quoted string \
                     ('\"text\"') or a list ('[\"a\", \"b\"]')",
                    shown(&text)
                )
            })?;
            client.call(
                method::CONFIG_SET,
                &api::ConfigSetParams {
                    key: key.clone(),
                    value,
                },
            )?
        }
        _ => client.call(
            method::CONFIG_GET,
            &api::ConfigGetParams { key: key.clone() },
        )?,
    };
    if json {
        out.json(&got.value)?;
        return Ok(exit::OK);
    }
    match got.key {
        Some(key) if !got.value.is_object() => {
            out.line(format!("{key} = {}", shown_value(&got.value)))?
        }
        prefix => {
            // Every setting under it, one per line, by its dotted name.
            let mut stack = vec![(prefix.unwrap_or_default(), &got.value)];
            let mut lines = Vec::new();
            while let Some((name, v)) = stack.pop() {
                match v.as_object() {
                    Some(fields) => {
                        for (k, v) in fields {
                            let dotted = if name.is_empty() {
                                k.clone()
                            } else {
                                format!("{name}.{k}")
                            };
                            stack.push((dotted, v));
                        }
                    }
                    None => lines.push(format!("{name} = {}", shown_value(v))),
                }
            }
            lines.sort();
            for line in lines {
                out.line(line)?;
            }
        }
    }
    Ok(exit::OK)
}

/// Catches the usual slips in a remote's URL before the daemon is asked, with what was meant.
fn check_remote_url(url: &str) -> anyhow::Result<()> {
    let shown_url = shown(url);
    if !url.contains("://") {
        bail!(
            "{shown_url} has no scheme: did you mean http://{}/ ? (the directory holding \
             repo.json and key.asc)",
            shown(url.trim_end_matches('/'))
        );
    }
    for file in ["repo.json", "key.asc"] {
        if let Some(dir) = url.strip_suffix(file) {
            bail!(
                "{shown_url} names a file: did you mean {} ? (a remote is the directory \
                 holding repo.json and key.asc)",
                shown(dir)
            );
        }
    }
    Ok(())
}

pub fn publish(
    loc: &Locations,
    args: PublishArgs,
    out: &mut Out<impl Write>,
) -> anyhow::Result<i32> {
    if let Some(addr) = &args.http
        && addr.parse::<u16>().is_ok()
    {
        bail!("--http takes HOST:PORT: did you mean --http 127.0.0.1:{addr} ?");
    }
    let to = args.to.as_deref().map(absolute).transpose()?;
    if let Some(dir) = &to
        && !dir.is_dir()
    {
        bail!(
            "{}: no such directory: create it first (mkdir -p {})",
            shown(&dir.to_string_lossy()),
            shown(&dir.to_string_lossy())
        );
    }
    let mut client = connection::connect_or_start(loc)?;
    let result: api::PublishResult = client.call(
        method::PUBLISH,
        &api::PublishParams {
            http: args.http,
            stop_http: args.stop,
            to,
        },
    )?;
    if out.json {
        out.json(&result)?;
        return Ok(exit::OK);
    }
    if let Some(dir) = &result.copied_to {
        out.line(format!("Copied repo.json and key.asc to {}", dir.display()))?;
    }
    match &result.http {
        Some(url) => out.line(format!(
            "Publishing on {url} (others: `sig remote add NAME {url}`)"
        ))?,
        None if args.stop => out.line("Stopped publishing over HTTP")?,
        None => {}
    }
    Ok(exit::OK)
}

/// A spinner on stderr while a long call runs, only when stderr is a terminal, with a count
/// of work done when there is one.
struct Spinner {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Done and total, packed: total in the high half.
    counts: std::sync::Arc<std::sync::atomic::AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    fn progress(&self, done: usize, total: usize) {
        let packed = ((total as u64) << 32) | (done as u64 & 0xffff_ffff);
        self.counts
            .store(packed, std::sync::atomic::Ordering::Relaxed);
    }

    fn start(what: &'static str) -> Self {
        use std::io::IsTerminal as _;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let counts = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let thread = io::stderr().is_terminal().then(|| {
            let stop = stop.clone();
            let counts = counts.clone();
            std::thread::spawn(move || {
                let frames = ['|', '/', '-', '\\'];
                let started = std::time::Instant::now();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    if started.elapsed().as_millis() > 300 {
                        let packed = counts.load(std::sync::atomic::Ordering::Relaxed);
                        let (done, total) = (packed & 0xffff_ffff, packed >> 32);
                        let count = if total > 0 {
                            format!(" {done}/{total}")
                        } else {
                            String::new()
                        };
                        eprint!(
                            "\r{} {what}…{count} {}s",
                            frames[n % 4],
                            started.elapsed().as_secs()
                        );
                        n += 1;
                    }
                }
                if n > 0 {
                    eprint!("\r\x1b[2K");
                }
            })
        });
        Spinner {
            stop,
            counts,
            thread,
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
