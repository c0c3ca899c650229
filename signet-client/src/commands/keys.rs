//! `sig trust` and `sig keys`: whose word counts, and every key Signet knows.

use super::*;

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
