//! `sig status`, `sig daemon` and `sig config`: the daemon itself and its settings.

use super::*;

pub fn status(loc: &Locations, out: &mut Out<impl Write>) -> anyhow::Result<i32> {
    let json = out.json;
    let mut client = connection::connect_or_start(loc)?;
    let s: StatusResult = client.call::<method::Status>(&signet_proto::api::NoParams)?;
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
    let default = if s.trust.publish {
        "trust.publish on: `sig trust add` publishes unless --local"
    } else {
        "trust.publish off: `sig trust add` stays local unless --publish"
    };
    out.line(format!(
        "trust:   {} published, {} local; {} keys count in your web of trust; {default}",
        s.trust.published, s.trust.local, s.trust.counted
    ))?;
    out.line(format!("remotes: {}", s.remotes))?;
    if s.remotes > 0 {
        let list: api::RemoteListResult =
            client.call::<method::RemoteList>(&signet_proto::api::NoParams)?;
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
                let s: StatusResult =
                    client.call::<method::Status>(&signet_proto::api::NoParams)?;
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
                let s: StatusResult =
                    client.call::<method::Status>(&signet_proto::api::NoParams)?;
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
            // A bare word that is not JSON is a string: `sig config verify.min_level low`.
            let bare = !text.is_empty()
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            let parsed = serde_json::from_str(&text).or_else(|e| match bare {
                true => Ok(serde_json::Value::String(text.clone())),
                false => Err(e),
            });
            let value: serde_json::Value = parsed.map_err(|_| {
                anyhow::anyhow!(
                    "{} is not a JSON value: give a number, true/false, a quoted string \
                     ('\"text\"') or a list ('[\"a\", \"b\"]')",
                    shown(&text)
                )
            })?;
            client.call::<method::ConfigSet>(&api::ConfigSetParams {
                key: key.clone(),
                value,
            })?
        }
        _ => client.call::<method::ConfigGet>(&api::ConfigGetParams { key: key.clone() })?,
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

/// `sig man`: the `sig(1)` page on standard output, or every page written into `dir`.
pub fn man(dir: Option<PathBuf>, out: &mut Out<impl Write>) -> anyhow::Result<i32> {
    let pages = crate::manual::pages(<crate::cli::Cli as clap::CommandFactory>::command());
    let Some(dir) = dir else {
        out.w.write_all(&pages[0].roff)?;
        return Ok(exit::OK);
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::with_capacity(pages.len());
    for page in &pages {
        let path = dir.join(format!("{}.1", page.name));
        std::fs::write(&path, &page.roff).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    // Said once every page is written: a reader that goes away loses no page.
    for path in written {
        out.line(path.display().to_string())?;
    }
    Ok(exit::OK)
}
