//! `sig watch`: directories the daemon keeps verified.

use super::*;

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
            let w: api::WatchInfo = client.call::<method::WatchAdd>(&api::PathParams {
                path: absolute(&dir)?,
            })?;
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
            let w: api::WatchInfo = client.call::<method::WatchRemove>(&api::PathParams {
                path: absolute(&dir)?,
            })?;
            if out.json {
                out.json(&w)?;
                return Ok(exit::OK);
            }
            out.line(format!("No longer watching {}", w.path.display()))?;
        }
        WatchCommand::List => {
            let list: api::WatchListResult =
                client.call::<method::WatchList>(&signet_proto::api::NoParams)?;
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
