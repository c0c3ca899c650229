//! `sig setup`: make or choose the home's key.

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
