//! `sig setup`: make or choose the home's key; `sig revoke`: give it up.

use super::*;

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
    let result: SetupResult = client.call::<method::Setup>(&SetupParams {
        key,
        tty: terminal(),
        force: args.force,
    })?;
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
    match &result.replaced {
        None => out.line("Welcome to Signet! :)")?,
        Some(old) if old.transition => out.line(format!(
            "Replaced key {} ({}): it signed the transition to the new key, so those who \
             follow you follow the new key at their next fetch, and its earlier words keep \
             counting.",
            old.key.fingerprint,
            shown(&old.key.user_id)
        ))?,
        Some(old) => out.line(format!(
            "Replaced key {} ({}) without a transition ({}): those who follow you must confirm \
             the new fingerprint with you and add your repository again.",
            old.key.fingerprint,
            shown(&old.key.user_id),
            shown(
                old.why_not
                    .as_deref()
                    .unwrap_or("the old key did not sign one")
            )
        ))?,
    }
    Ok(exit::OK)
}

pub fn revoke(loc: &Locations, args: RevokeArgs, out: &mut Out<impl Write>) -> anyhow::Result<i32> {
    use std::io::IsTerminal as _;
    if !args.yes {
        let stdin = io::stdin();
        if !stdin.is_terminal() {
            bail!(
                "revoking a key cannot be undone: run it on a terminal to confirm, or pass --yes"
            );
        }
        if matches!(args.reason, Some(crate::cli::ReasonArg::Superseded)) {
            eprintln!(
                "To move to a new key and keep your followers, answer no and run \
                 `sig setup --force`: the old key signs a transition to the new one."
            );
        }
        let question = "Revoke your key? Followers stop counting its words, and this cannot be \
                        undone";
        if !ask_yes_no(question, &mut stdin.lock())? {
            out.line("Nothing was revoked.")?;
            return Ok(exit::ERROR);
        }
    }
    let mut client = connection::connect_or_start(loc)?;
    let result: api::RevokeResult = client.call::<method::KeyRevoke>(&api::RevokeParams {
        reason: args.reason.map(Into::into),
        comment: args.comment,
    })?;
    if out.json {
        out.json(&result)?;
        return Ok(exit::OK);
    }
    let r = &result.revocation;
    let again = if result.already { " (again)" } else { "" };
    out.line(format!(
        "Revoked{again} key {} ({}): {}, at {}.",
        result.key.fingerprint,
        shown(&result.key.user_id),
        r.reason.as_str(),
        r.at
    ))?;
    out.line(if r.reason.is_hard() {
        "Every word it signed stops counting for those who follow you, at their next fetch."
    } else {
        "Its words signed before then keep counting; any dated later do not."
    })?;
    out.line(
        "Your home signs nothing more until you set up a new key: \
         sig setup --force --generate \"Your Name <you@example.org>\"",
    )?;
    out.line(
        "A revoked key signs no transition: your followers will need to add your repository \
         again to follow the new key.",
    )?;
    Ok(exit::OK)
}
