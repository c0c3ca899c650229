//! Publishing the own repository: over HTTP (`publish.rs` serves it) or copied into a
//! directory, remembered in the config across restarts.

mod announce;
pub mod http;

use signet_proto::rpc::ErrorCode;

use crate::errors::{Failure, NotSaved, TaskFailed, blocking};
use std::sync::{Arc, Mutex};

use crate::state::Shared;
use crate::state::settings::ConfigError;

/// Why `publish` did not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("could not serve on {addr}: {why}")]
    Serve { addr: String, why: String },
    #[error(
        "{} is inside Signet's home, whose files are its own (or goes through `..`, which is \
         not followed)",
        .0.display()
    )]
    IntoHome(std::path::PathBuf),
    #[error("announcing the repository to {index}: {why}")]
    Announce { index: String, why: String },
    #[error("there is no URL to announce: the repository is not served over HTTP here")]
    NoUrl,
    #[error(transparent)]
    Copy(#[from] NotSaved),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

impl Failure for PublishError {
    fn code(&self) -> ErrorCode {
        match self {
            PublishError::Serve { .. } | PublishError::IntoHome(_) | PublishError::NoUrl => {
                ErrorCode::InvalidParams
            }
            PublishError::Announce { .. } => ErrorCode::Remote,
            PublishError::Copy(e) => e.code(),
            PublishError::Config(e) => e.code(),
            PublishError::Task(e) => e.code(),
        }
    }
    fn hint(&self) -> Option<String> {
        match self {
            PublishError::Serve { .. } => {
                Some("give a free local address, such as 127.0.0.1:8080".into())
            }
            PublishError::IntoHome(_) => Some(
                "copy it to a directory outside the home (a web root, a checkout); the home's \
                 own published copy is repo/"
                    .into(),
            ),
            PublishError::NoUrl => Some(
                "give the address others fetch it at: `sig publish --announce INDEX --url \
                 https://you.example.org/signet/`"
                    .into(),
            ),
            PublishError::Announce { .. } => {
                Some("the repository is published as before; announce again later".into())
            }
            PublishError::Copy(e) => e.hint(),
            PublishError::Config(e) => e.hint(),
            PublishError::Task(_) => None,
        }
    }
}

/// Publishing, as a part of the daemon: owns the running HTTP server, which follows the
/// published files through `Events::published_written`.
pub struct Publisher {
    shared: Arc<Shared>,
    running: Mutex<Option<http::Running>>,
    /// For announcing the repository to public indexes.
    client: reqwest::Client,
}

impl Publisher {
    pub fn new(shared: Arc<Shared>) -> anyhow::Result<Self> {
        let client = signet_fetch::http::client(&shared.config().http_limits())?;
        Ok(Publisher {
            shared,
            running: Mutex::default(),
            client,
        })
    }

    fn running(&self) -> std::sync::MutexGuard<'_, Option<http::Running>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn start(&self, addr: &str) -> anyhow::Result<http::Running> {
        let written = self.shared.events.published_written.subscribe();
        http::start(&self.shared.home, addr, written).await
    }

    /// Starts, stops or redirects publishing, and copies the repository where asked.
    pub async fn publish(
        &self,
        p: signet_proto::api::PublishParams,
    ) -> Result<signet_proto::api::PublishResult, PublishError> {
        let _writer = self.shared.writer.lock().await;
        let mut copied_to = None;
        if let Some(dir) = &p.to {
            let (home, dir) = (self.shared.home.clone(), dir.to_path_buf());
            copied_to = Some(
                blocking("copying the repository", move || {
                    if crate::publish::http::inside_home(&home, &dir) {
                        return Err(PublishError::IntoHome(dir));
                    }
                    crate::publish::http::copy_to(&home, &dir).map_err(|e| {
                        NotSaved::new("the copy", e, "the directory is as it was").into()
                    })
                })
                .await??,
            );
        }
        if p.http.is_some() || p.stop_http {
            let running = match &p.http {
                Some(addr) => Some(self.start(addr).await.map_err(|e| PublishError::Serve {
                    addr: addr.clone(),
                    why: format!("{e:#}"),
                })?),
                None => None,
            };
            // Remember it across restarts: the address actually bound (a port 0 resolved).
            let mut config = (*self.shared.config()).clone();
            config.publish.http = running.as_ref().map(|r| r.addr.to_string());
            self.shared.save_config(config).await?;
            *self.running() = running;
        }
        let announced = match &p.announce {
            Some(index) => {
                let url = p
                    .url
                    .clone()
                    .or_else(|| self.publishing_at())
                    .ok_or(PublishError::NoUrl)?;
                let announced = announce::announce(&self.client, index, &url).await;
                Some(announced.map_err(|why| PublishError::Announce {
                    index: index.clone(),
                    why,
                })?)
            }
            None => None,
        };
        Ok(signet_proto::api::PublishResult {
            http: self.publishing_at(),
            copied_to,
            announced,
        })
    }

    /// Where the repository is served over HTTP, if it is.
    pub fn publishing_at(&self) -> Option<String> {
        self.running()
            .as_ref()
            .map(|r| format!("http://{}/", r.addr))
    }

    /// Resumes publishing at start-up, as the config remembers it.
    pub async fn resume_publishing(&self) {
        let Some(addr) = self.shared.config().publish.http.clone() else {
            return;
        };
        match self.start(&addr).await {
            Ok(running) => *self.running() = Some(running),
            Err(e) => {
                let problem = format!("publishing on {addr} (from config.json): {e:#}");
                tracing::error!("{problem}");
                self.shared.write().publishing_problem = Some(problem);
            }
        }
    }
}
