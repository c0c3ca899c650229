//! `signetd`: the Signet daemon. Usually started by `sig` on demand or by systemd.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use signet_proto::paths::{ENV_HOME, ENV_SOCKET, Locations};

/// A large fetch allocates and frees gigabytes across threads: glibc's allocator kept that
/// peak resident for as long as the daemon ran, fragmented, and every later allocation
/// searched its free lists (a third of a one-attestation update's CPU at 300,000). mimalloc
/// gives freed pages back to the system and allocates in constant time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Signet daemon: keeps the index, signs attestations, answers `sig` over a Unix socket.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Signet's home (default: $SIGNET_HOME, else ~/.signet)
    #[arg(long, value_name = "DIR")]
    home: Option<PathBuf>,
    /// The socket to listen on (default: $SIGNET_SOCKET, else
    /// $XDG_RUNTIME_DIR/signet/signetd.sock for the default home, else HOME/signetd.sock)
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
}

fn main() -> ExitCode {
    signetd::memory::no_huge_pages();
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SIGNET_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    // Flags take the place of the environment variables they stand for, so the socket rules
    // apply to a `--home` exactly as to a `SIGNET_HOME`.
    let flag = |name: &str| match name {
        ENV_HOME => args.home.clone().map(Into::into),
        ENV_SOCKET => args.socket.clone().map(Into::into),
        _ => None,
    };
    let Locations { home, socket } =
        match Locations::resolve(|name| flag(name).or_else(|| std::env::var_os(name))) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("signetd: {e}");
                return ExitCode::FAILURE;
            }
        };
    // A relative home or socket means one place, whatever directory the daemon runs in.
    let (Ok(home), Ok(socket)) = (std::path::absolute(&home), std::path::absolute(&socket)) else {
        eprintln!("signetd: cannot resolve the home's path");
        return ExitCode::FAILURE;
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("signetd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(signetd::run::run(signetd::run::Options { home, socket }));
    // Blocking work still running (a hash of a huge file, a signing) is abandoned, not waited
    // for: every write is atomic, and the home's lock goes only when the process has exited.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Once, on stderr (the log, or the journal): not through tracing as well.
            eprintln!("signetd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
