//! `signetd`: the Signet daemon. Usually started by `sig` on demand or by systemd.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use signet_proto::paths::Locations;

/// Signet daemon: keeps the index, signs attestations, answers `sig` over a Unix socket.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Signet's home (default: $SIGNET_HOME, else ~/.signet)
    #[arg(long, value_name = "DIR")]
    home: Option<PathBuf>,
    /// The socket to listen on (default: $SIGNET_SOCKET, else by the rules of DESIGN.md)
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SIGNET_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    let located = match Locations::resolve(|name| std::env::var_os(name)) {
        Ok(l) => l,
        Err(e) if args.home.is_none() => {
            eprintln!("signetd: {e}");
            return ExitCode::FAILURE;
        }
        Err(_) => Locations { home: PathBuf::new(), socket: PathBuf::new() },
    };
    let home = args.home.unwrap_or(located.home);
    let socket = args.socket.unwrap_or(if located.socket.as_os_str().is_empty() {
        home.join(signet_proto::paths::SOCKET_FILE)
    } else {
        located.socket
    });

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("signetd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(signetd::run::run(signetd::run::Options { home, socket })) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("signetd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
