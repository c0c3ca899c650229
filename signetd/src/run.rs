//! Starting and stopping the daemon: lock the home, load it, bind the socket, serve until told
//! to stop, and clean up only what this process created.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;

use crate::config::Config;
use crate::daemon::Daemon;
use crate::home::lock;
use crate::home::{Home, store};
use crate::serve;

/// Where to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub home: PathBuf,
    pub socket: PathBuf,
}

/// Runs the daemon until `shutdown` is called or a signal arrives.
pub async fn run(options: Options) -> anyhow::Result<()> {
    let home = Home::new(options.home);
    store::private_dir(&home.root)?;
    // Held until the process has exited (the kernel releases it then), never dropped
    // earlier: work still finishing after the server stops (a signing, a write) must never
    // overlap with a next daemon on the same home.
    std::mem::forget(lock::acquire(&home.lock_file(), &options.socket)?);
    if crate::keys::rekey::recover(&home)? {
        tracing::info!("the interrupted key replacement is complete");
    }
    let config = Config::load(&home.config_file())?;
    remove_stale_temps(&home);
    let (listener, socket, socket_id) = listen(&options.socket)?;
    let daemon = Daemon::load(home, socket.clone(), config)?;
    tracing::info!(
        pid = std::process::id(),
        home = %daemon.home().root.display(),
        socket = %socket.display(),
        activated = socket_id.is_none(),
        "signetd {} ready",
        signet_proto::VERSION
    );

    daemon.start().await;
    tokio::spawn(shut_down_on_signal(daemon.shared.clone()));

    serve::serve(daemon, listener).await;
    // A gpg waiting on a prompt nobody answers would keep this process alive.
    crate::keys::gpg::stop_running();

    // Remove the socket only if this process bound it and it is still that one.
    let current = std::fs::metadata(&options.socket)
        .ok()
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m));
    if socket_id.is_some() && current == socket_id {
        std::fs::remove_file(&options.socket)
            .with_context(|| format!("removing {}", options.socket.display()))?;
    }
    tracing::info!("signetd stopped");
    Ok(())
}

/// Removes the temp files an interrupted write left, in every directory Signet writes in.
fn remove_stale_temps(home: &Home) {
    let remotes = std::fs::read_dir(home.root.join("remotes"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path());
    let stale: usize = [
        home.root.clone(),
        home.repo_dir(),
        home.keys_dir(),
        home.keys_dir().join("retired"),
    ]
    .into_iter()
    .chain(remotes)
    .map(|dir| store::remove_stale_temps(&dir))
    .sum();
    if stale > 0 {
        tracing::info!("removed {stale} temp files left by an interrupted write");
    }
}

/// The socket to serve: systemd's when it passed one in (never removed here: it is
/// systemd's), else bound at `path`, with the inode bound so that only that one is removed
/// at exit.
fn listen(path: &Path) -> anyhow::Result<(tokio::net::UnixListener, PathBuf, Option<u64>)> {
    if let Some(listener) = serve::from_systemd()? {
        let path = listener
            .local_addr()
            .ok()
            .and_then(|a| a.as_pathname().map(PathBuf::from))
            .unwrap_or(path.to_owned());
        return Ok((listener, path, None));
    }
    let listener = serve::bind(path)?;
    let id = std::fs::metadata(path)
        .ok()
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m));
    Ok((listener, path.to_owned(), id))
}

/// Asks the daemon to stop on SIGTERM or SIGINT.
async fn shut_down_on_signal(shared: Arc<crate::state::Shared>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
    tracing::info!("signal received, shutting down");
    shared.request_shutdown();
}
