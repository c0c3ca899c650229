use std::io::{self, Write as _};
use std::process::ExitCode;

use clap::Parser as _;
use signet_client::cli::{Cli, Command};
use signet_client::commands::{self, Out, exit};
use signet_proto::paths::{ENV_HOME, ENV_SOCKET, Locations};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let flag = |name: &str| match name {
        ENV_HOME => cli.home.clone().map(Into::into),
        ENV_SOCKET => cli.socket.clone().map(Into::into),
        _ => std::env::var_os(name),
    };
    let loc = match Locations::resolve(flag)
        .map_err(|e| e.to_string())
        .and_then(|l| {
            // A relative SIGNET_HOME means one place, whatever directory later commands run in.
            Ok(Locations {
                home: std::path::absolute(&l.home).map_err(|e| format!("SIGNET_HOME: {e}"))?,
                socket: std::path::absolute(&l.socket)
                    .map_err(|e| format!("SIGNET_SOCKET: {e}"))?,
            })
        }) {
        Ok(loc) => loc,
        Err(e) => {
            commands::report_error(&e);
            return ExitCode::from(exit::ERROR as u8);
        }
    };
    let mut out = Out::new(
        io::stdout().lock(),
        cli.quiet,
        cli.verbose,
        cli.no_color,
        cli.json,
    );
    let result = match cli.command {
        Command::Setup(args) => commands::setup(&loc, args, &mut out),
        Command::Attest(args) => commands::attest(&loc, args, &mut out),
        Command::Verify(args) => commands::verify(&loc, args, &mut out),
        Command::Lookup(args) => commands::lookup(&loc, args, &mut out),
        Command::Deps(args) => commands::deps(&loc, args, &mut out),
        Command::Trust(command) => commands::trust(&loc, command, &mut out),
        Command::Distrust(args) => commands::distrust(&loc, args, &mut out),
        Command::Remote(command) => commands::remote(&loc, command, &mut out),
        Command::Fetch { names } => commands::fetch(&loc, names, &mut out),
        Command::Publish(args) => commands::publish(&loc, args, &mut out),
        Command::Keys => commands::keys(&loc, &mut out),
        Command::Revoke(args) => commands::revoke(&loc, args, &mut out),
        Command::Status => commands::status(&loc, &mut out),
        Command::Watch(command) => commands::watch(&loc, command, &mut out),
        Command::Lsp => signet_client::lsp::run(&loc),
        Command::Daemon(command) => commands::daemon(&loc, command, &mut out),
        Command::Config { key, value } => commands::config(&loc, key, value, &mut out),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "sig", &mut out.w);
            Ok(exit::OK)
        }
        Command::Man { dir } => commands::man(dir, &mut out),
    };
    let code = match result.and_then(|code| out.w.flush().map(|()| code).map_err(Into::into)) {
        Ok(code) => code,
        // The reader went away (`sig verify … | head`): nothing left to say to anyone.
        Err(e)
            if e.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) =>
        {
            exit::OK
        }
        Err(e) => {
            commands::report_error(&format!("{e:#}"));
            exit::ERROR
        }
    };
    ExitCode::from(code as u8)
}
