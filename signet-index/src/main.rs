//! `signet-index`: the public index server.

use std::net::SocketAddr;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use signet_index::crawl::{Crawler, Settings};
use signet_index::store::Store;

#[derive(Parser)]
#[command(
    name = "signet-index",
    version,
    about = "Signet's public index: crawls repositories, checks every signature, and answers who \
             vouched for a content id",
    after_help = "Examples:
  signet-index serve --db sqlite:index.db --listen 127.0.0.1:8090
  signet-index serve --db postgres://signet@db.example.org/index --listen 0.0.0.0:8090
  curl -d '{\"url\": \"https://alice.example.org/signet/\"}' http://127.0.0.1:8090/v1/repositories
  curl http://127.0.0.1:8090/v1/ids/sha256:<hex>

The API is docs/INDEX.md. Several processes may serve and crawl one PostgreSQL database."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the API and crawls, until SIGTERM or SIGINT.
    #[command(after_help = "Examples:
  signet-index serve --db sqlite:index.db --listen 127.0.0.1:8090
  signet-index serve --db postgres://signet@localhost/index --listen 127.0.0.1:8090 --crawlers 8
  signet-index serve --db sqlite:index.db --peer https://index.example.net/")]
    Serve {
        /// The database: sqlite:PATH (created if missing) or postgres://USER@HOST/DB.
        #[arg(long, env = "SIGNET_INDEX_DB")]
        db: String,
        /// The address to answer on; port 0 picks a free one (printed at start).
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
        /// Seconds between two crawls of one repository.
        #[arg(long, default_value_t = 900)]
        interval: i64,
        /// Repositories this process crawls at once.
        #[arg(long, default_value_t = 4)]
        crawlers: usize,
        /// Crawl repositories on loopback and private addresses too (a private index, tests);
        /// a public index crawls public addresses only.
        #[arg(long)]
        allow_private: bool,
        /// Answer only; leave crawling to other processes on the same database.
        #[arg(long)]
        no_crawl: bool,
        /// A peer index whose repository list is crawled here (its data and verdicts never
        /// are: each repository is fetched and checked here); repeatable.
        #[arg(long = "peer", value_name = "URL")]
        peers: Vec<String>,
        /// Repository submissions one address may make a minute.
        #[arg(long, default_value_t = signet_index::api::SUBMISSIONS_PER_MINUTE)]
        submissions_per_minute: u32,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SIGNET_LOG")
                .unwrap_or_else(|_| "signet_index=info".into()),
        )
        .with_writer(std::io::stderr)
        // Colours for a terminal only: a log file or the journal gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let Command::Serve {
        db,
        listen,
        interval,
        crawlers,
        allow_private,
        no_crawl,
        peers,
        submissions_per_minute,
    } = Cli::parse().command;
    let store = Store::open(&db).await?;
    let settings = Settings {
        interval: interval.max(1),
        parallel: crawlers.max(1),
        peers,
        ..Settings::default()
    };
    let crawler = if allow_private {
        Crawler::allowing_private(store.clone(), settings)?
    } else {
        Crawler::new(store.clone(), settings)?
    };
    if !no_crawl {
        tokio::spawn(crawler.clone().run());
        tokio::spawn(crawler.clone().follow_peers());
    }
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    // The first line of standard output says where it answers (port 0 resolved).
    println!(
        "signet-index listening on http://{addr}/ ({})",
        store.engine.name()
    );
    let app = signet_index::api::router(store, crawler, submissions_per_minute);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stopped())
    .await?;
    Ok(())
}

async fn stopped() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}
