//! `sig remote`, `sig fetch` and `sig publish`: other people's repositories and your own.

use super::*;

pub fn remote(
    loc: &Locations,
    command: RemoteCommand,
    out: &mut Out<impl Write>,
) -> anyhow::Result<i32> {
    let mut client = connection::connect_or_start(loc)?;
    match command {
        RemoteCommand::Add { name, url, key } => {
            check_remote_url(&url)?;
            let key = key.map(|k| full_fingerprint(&k)).transpose()?;
            let r: api::RemoteInfo =
                client.call::<method::RemoteAdd>(&api::RemoteAddParams { name, url, key })?;
            if out.json {
                out.json(&r)?;
                return Ok(exit::OK);
            }
            out.line(format!(
                "Added remote {} at {}; `sig fetch {}` fetches it now",
                r.name, r.url, r.name
            ))?;
            match &r.probe {
                Some(api::Probe::Key(key)) => {
                    out.line(format!(
                        "It publishes key {}; check this fingerprint with its owner before you \
                         trust it:",
                        key_line(&key.fingerprint, &key.user_id)
                    ))?;
                    out.line(format!("  {}", key.fingerprint))?;
                }
                Some(api::Probe::Problem(why)) => warn(&[format!(
                    "{why}. The remote is kept and fetched on schedule; \
                     `sig remote remove {}` if the URL is wrong",
                    r.name
                )]),
                None => {}
            }
        }
        RemoteCommand::Remove { name } => {
            let r: api::RemoteInfo =
                client.call::<method::RemoteRemove>(&api::RemoteNameParams { name })?;
            if out.json {
                out.json(&r)?;
                return Ok(exit::OK);
            }
            if r.url.is_empty() {
                // Its record could not be read: dropped with its copy.
                out.line(format!("Removed remote {} and its damaged record", r.name))?;
            } else {
                out.line(format!(
                    "Removed remote {} ({}); its {} attestations no longer count",
                    r.name, r.url, r.attestations
                ))?;
            }
            if let Some(key) = r.key.as_ref().filter(|_| r.discovered) {
                out.line(format!(
                    "It was discovered from your web of trust: it is followed again while \
                     [{}] is in it (`sig trust why {}` says through whom; `sig distrust` stops it)",
                    key.fingerprint.short(),
                    key.fingerprint.short()
                ))?;
            }
        }
        RemoteCommand::List => {
            let list: api::RemoteListResult =
                client.call::<method::RemoteList>(&signet_proto::api::NoParams)?;
            if out.json {
                out.json(&list)?;
            } else if list.remotes.is_empty() {
                out.line("No remotes yet: `sig remote add NAME URL`")?;
            }
            for r in (!out.json).then_some(&list.remotes).into_iter().flatten() {
                print_remote(r, out)?;
            }
        }
    }
    Ok(exit::OK)
}

/// One remote as `sig remote list` shows it.
fn print_remote(r: &api::RemoteInfo, out: &mut Out<impl Write>) -> anyhow::Result<()> {
    out.line(format!("{}  {}", r.name, r.url))?;
    match &r.key {
        Some(k) => out.line(format!(
            "  key:          {} {}",
            k.fingerprint,
            shown(&k.user_id)
        ))?,
        None => out.line("  key:          not fetched yet")?,
    }
    if r.discovered {
        out.line("  discovered:   a key in your web of trust publishes here; pinned to it")?;
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
        let stale = if r.stale {
            " (old: the server may be serving a frozen copy)"
        } else {
            ""
        };
        out.line(format!("  signed:       {signed}{stale}"))?;
    }
    if let Some(e) = &r.last_error {
        out.line(format!("  last error:   {}", shown(e)))?;
    }
    if let Some(secs) = r.next_sync_secs {
        out.line(format!("  next sync:    in {secs}s"))?;
    }
    Ok(())
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
        client.call::<method::Fetch>(&api::FetchParams { names });
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
        match (&r.imported, &r.rotated_from) {
            (Some(k), Some(old)) => out.line(format!(
                "Key rotated: [{}] was succeeded by [{}] {} (both keys signed it); following \
                 the new key.",
                old.short(),
                k.fingerprint.short(),
                shown(&k.user_id)
            ))?,
            (Some(k), None) => out.line(format!(
                "Imported [{}] {}.",
                k.fingerprint.short(),
                shown(&k.user_id)
            ))?,
            _ => {}
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
    let result: api::PublishResult = client.call::<method::Publish>(&api::PublishParams {
        http: args.http,
        stop_http: args.stop,
        to,
        announce: args.announce,
        url: args.url,
    })?;
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
    if let Some(a) = &result.announced {
        let known = if a.new {
            "it crawls it next"
        } else {
            "it knew it already"
        };
        out.line(format!(
            "Announced {} to the index {} ({known})",
            shown(&a.url),
            shown(&a.index)
        ))?;
    }
    Ok(exit::OK)
}
