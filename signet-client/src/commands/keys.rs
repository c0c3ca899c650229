//! `sig trust` and `sig keys`: whose word counts, and every key Signet knows.

use super::*;
use crate::cli::DistrustArgs;
use signet_proto::api::{KeyStanding, TrustListParams, TrustWhyParams};
use signet_proto::statements::Trust;

pub fn trust(
    loc: &Locations,
    command: TrustCommand,
    out: &mut Out<impl Write>,
) -> anyhow::Result<i32> {
    let mut client = connection::connect_or_start(loc)?;
    match command {
        TrustCommand::Add {
            key,
            reason,
            level,
            url,
            publishing,
        } => {
            let params = TrustParams {
                key,
                reason,
                level: level.map(Into::into),
                url,
                publish: publishing.publish(),
                tty: terminal(),
            };
            let change: TrustChange = client.call::<method::TrustAdd>(&params)?;
            print_change(&change, out)?;
        }
        TrustCommand::Remove { key } => {
            let params = TrustParams {
                key,
                reason: None,
                level: None,
                url: None,
                publish: None,
                tty: terminal(),
            };
            let change: TrustChange = client.call::<method::TrustRemove>(&params)?;
            if out.json {
                out.json(&change)?;
                return Ok(exit::OK);
            }
            let e = &change.entry;
            let was = if e.level == Trust::Distrust {
                "No longer distrusted"
            } else {
                "No longer trusted"
            };
            out.line(format!("{was}: {}", key_line(&e.fingerprint, &e.user_id)))?;
            out.line(format!("Fingerprint: {}", e.fingerprint))?;
            if e.published {
                out.line("The statement you published about it is taken back.")?;
            }
        }
        TrustCommand::List { all: false } => {
            let list: TrustListResult =
                client.call::<method::TrustList>(&TrustListParams::default())?;
            print_list(&list, out)?;
        }
        TrustCommand::List { all: true } => list_web(&mut client, out)?,
        TrustCommand::Why { key } => {
            let standing: KeyStanding = client.call::<method::TrustWhy>(&TrustWhyParams { key })?;
            print_why(&standing, out)?;
        }
    }
    Ok(exit::OK)
}

/// `sig distrust`: a `trust.add` at level `distrust`.
pub fn distrust(
    loc: &Locations,
    args: DistrustArgs,
    out: &mut Out<impl Write>,
) -> anyhow::Result<i32> {
    if args.comment.trim().is_empty() {
        bail!("say why with --comment: a distrust others may see needs a reason");
    }
    let mut client = connection::connect_or_start(loc)?;
    let params = TrustParams {
        key: args.key,
        reason: Some(args.comment),
        level: Some(Trust::Distrust),
        url: None,
        publish: args.publishing.publish(),
        tty: terminal(),
    };
    let change: TrustChange = client.call::<method::TrustAdd>(&params)?;
    print_change(&change, out)?;
    Ok(exit::OK)
}

fn print_change(change: &TrustChange, out: &mut Out<impl Write>) -> anyhow::Result<()> {
    if out.json {
        return Ok(out.json(change)?);
    }
    let e = &change.entry;
    // The seed's first line ("Trusted: …"), then what the web of trust adds.
    let verb = match (change.changed, e.level) {
        (true, Trust::Distrust) => "Distrusted",
        (false, Trust::Distrust) => "Already distrusted",
        (true, _) => "Trusted",
        (false, _) => "Already trusted",
    };
    out.line(format!("{verb}: {}", key_line(&e.fingerprint, &e.user_id)))?;
    out.line(format!("Fingerprint: {}", e.fingerprint))?;
    if e.level != Trust::Distrust {
        out.line(format!("Level: {}", e.level))?;
    }
    if e.published {
        out.line("Published: a signed trust statement is in your repository.")?;
    } else {
        out.line("Local: not published (`--publish` puts it in your repository).")?;
    }
    if change.changed && e.user_id.is_empty() {
        // A full fingerprint no key here has: it may be mistyped, and would then never count.
        eprintln!(
            "sig: note: Signet has not seen this key yet: its words count once a remote \
             publishing it is fetched (`sig fetch`). If it is mistyped: `sig trust remove {}`",
            short(&e.fingerprint)
        );
    }
    Ok(())
}

/// `sig trust list`: your entries, each with its level and whether it is published.
fn print_list(list: &TrustListResult, out: &mut Out<impl Write>) -> anyhow::Result<()> {
    if out.json {
        out.json(list)?;
    } else if list.trusted.is_empty() {
        out.line("No trusted keys yet (your own key always counts): `sig trust add KEY`")?;
    } else {
        for e in &list.trusted {
            let published = if e.published { "published" } else { "local" };
            out.line(format!(
                "{}  {:<8}  {:<9}  {}",
                e.fingerprint,
                e.level.as_str(),
                published,
                shown(&e.user_id)
            ))?;
        }
    }
    Ok(())
}

/// `sig trust why KEY`.
fn print_why(standing: &KeyStanding, out: &mut Out<impl Write>) -> anyhow::Result<()> {
    if out.json {
        return Ok(out.json(standing)?);
    }
    out.line(key_line(&standing.fingerprint, &standing.user_id))?;
    out.line(format!("Fingerprint: {}", standing.fingerprint))?;
    out.line(format!("Level: {}", why::level_column(standing)))?;
    let counts = if standing.counts {
        "counts"
    } else {
        "does not count"
    };
    out.line(format!(
        "Its word {counts}: {}",
        why::standing_text(standing)
    ))?;
    Ok(())
}

/// `sig trust list --all`: every key the web knows, strongest first, asked for page by page
/// (the daemon answers at most `TrustListParams::PAGE` at a time) and printed as it comes;
/// with `--json`, one document with every page's keys.
fn list_web(client: &mut connection::Client, out: &mut Out<impl Write>) -> anyhow::Result<()> {
    let mut params = TrustListParams {
        all: true,
        ..TrustListParams::default()
    };
    let mut whole: Option<TrustListResult> = None;
    loop {
        let page: TrustListResult = client.call::<method::TrustList>(&params)?;
        let next = page.next;
        if out.json {
            match &mut whole {
                Some(whole) => whole.web.extend(page.web),
                None => whole = Some(page),
            }
        } else {
            if page.web_total == 0 {
                out.line("No keys known yet: `sig remote add NAME URL` and `sig fetch`")?;
            }
            print_web(&page, out)?;
        }
        match next {
            Some(offset) => params.offset = offset,
            None => break,
        }
    }
    if let Some(mut whole) = whole {
        whole.next = None;
        out.json(&whole)?;
    }
    Ok(())
}

/// One page of `sig trust list --all`.
fn print_web(list: &TrustListResult, out: &mut Out<impl Write>) -> anyhow::Result<()> {
    for s in &list.web {
        out.line(format!(
            "{}  {:<8}  {}",
            s.fingerprint,
            why::level_column(s),
            shown(&s.user_id)
        ))?;
        out.line(format!("    {}", why::verdict_text(s)))?;
    }
    Ok(())
}

pub fn keys(loc: &Locations, out: &mut Out<impl Write>) -> anyhow::Result<i32> {
    let json = out.json;
    let mut client = connection::connect_or_start(loc)?;
    let list: KeysListResult = client.call::<method::KeysList>(&signet_proto::api::NoParams)?;
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
