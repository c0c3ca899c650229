//! The lookup API (`docs/INDEX.md`): JSON over HTTP, read from the database, every answer
//! cacheable (a strong ETag of its bytes). The index is a cache and a directory: it serves
//! attestations exactly as signed, with the certificates to check them, and asks nobody to
//! believe it.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use signet_proto::formats::{ContentId, Fingerprint};
use signet_proto::index::{
    Health, IdAnswer, IdsQuery, KeyAnswer, Lookup, MAX_IDS_PER_REQUEST, MAX_PAGE, MAX_PER_ID,
    Repositories, Submission, Submitted,
};
use signet_proto::statements::TrustStatement;

use crate::crawl::{Crawler, now};
use crate::store::Store;

/// Submissions one peer address may make a minute, unless the server is told otherwise.
pub const SUBMISSIONS_PER_MINUTE: u32 = 30;
/// Largest request body read.
const MAX_BODY: usize = 256 << 10;

#[derive(Clone)]
pub struct App {
    store: Store,
    crawler: Arc<Crawler>,
    limiter: Arc<Limiter>,
}

/// The API over `store`; `per_minute` submissions a minute from one peer address.
pub fn router(store: Store, crawler: Arc<Crawler>, per_minute: u32) -> Router {
    let app = App {
        store,
        crawler,
        limiter: Arc::new(Limiter {
            per_minute,
            peers: Mutex::default(),
        }),
    };
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/repositories", get(repositories).post(submit))
        .route("/v1/ids", post(ids))
        .route("/v1/ids/{id}", get(one_id))
        .route("/v1/keys/{fingerprint}", get(key))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
}

/// An error as the API answers it: a status and a sentence.
struct Refused(StatusCode, String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({"error": self.1}))).into_response()
    }
}

impl From<anyhow::Error> for Refused {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!("{e:#}");
        Refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "the index's database did not answer; try again later".into(),
        )
    }
}

fn bad(why: impl Into<String>) -> Refused {
    Refused(StatusCode::BAD_REQUEST, why.into())
}

/// A JSON answer with a strong ETag of its bytes, or 304 when the client holds it.
fn cached<T: Serialize>(request: &HeaderMap, answer: &T) -> Response {
    let body = serde_json::to_vec(answer).expect("answers serialize");
    let digest = Sha256::digest(&body);
    let etag = format!("\"{}\"", signet_proto::formats::hex_lower(&digest[..16]));
    let etag = HeaderValue::from_str(&etag).expect("hex in quotes is a header value");
    if request.get(header::IF_NONE_MATCH) == Some(&etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (header::ETAG, etag),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=60"),
            ),
        ],
        body,
    )
        .into_response()
}

/// An id the index answers for: a content id or a key's (`openpgp:FPR`, trust statements).
fn checked_id(id: &str) -> Result<String, Refused> {
    if TrustStatement::is_key_id(id) {
        return Ok(id.to_owned());
    }
    ContentId::parse(id)
        .map(|id| id.to_string())
        .map_err(|e| bad(format!("{id:?}: {e}")))
}

async fn health(State(app): State<App>, headers: HeaderMap) -> Result<Response, Refused> {
    let (repositories, attestations, keys) = app.store.counts().await?;
    Ok(cached(
        &headers,
        &Health {
            ok: true,
            engine: app.store.engine.name().into(),
            repositories,
            attestations,
            keys,
        },
    ))
}

#[derive(Deserialize)]
struct Page {
    after: Option<String>,
    limit: Option<usize>,
}

impl Page {
    fn limit(&self, max: usize) -> usize {
        self.limit.unwrap_or(max).clamp(1, max)
    }
}

async fn repositories(
    State(app): State<App>,
    Query(page): Query<Page>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let limit = page.limit(MAX_PAGE);
    let repositories = app.store.repositories(page.after.as_deref(), limit).await?;
    let next = (repositories.len() == limit).then(|| repositories[limit - 1].url.clone());
    Ok(cached(&headers, &Repositories { repositories, next }))
}

async fn submit(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(submission): Json<Submission>,
) -> Result<Response, Refused> {
    if !app.limiter.take(peer.ip()) {
        return Err(Refused(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "at most {} submissions a minute from one address",
                app.limiter.per_minute
            ),
        ));
    }
    let url = signet_core::accept::check_url(&submission.url).map_err(bad)?;
    if let Some(why) = app.crawler.refusal(&url) {
        return Err(bad(why));
    }
    let new = app.store.add_repository(&url, "submitted", now()).await?;
    if new {
        app.crawler.wake.notify_one();
    }
    let status = if new {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(Submitted { url, new })).into_response())
}

#[derive(Deserialize)]
struct After {
    after: Option<String>,
}

async fn one_id(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(after): Query<After>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let id = checked_id(&id)?;
    let lookup = look_up(&app.store, &[id], after.after.as_deref()).await?;
    Ok(cached(&headers, &lookup))
}

async fn ids(
    State(app): State<App>,
    headers: HeaderMap,
    Json(query): Json<IdsQuery>,
) -> Result<Response, Refused> {
    if query.ids.len() > MAX_IDS_PER_REQUEST {
        return Err(bad(format!(
            "{} ids asked; at most {MAX_IDS_PER_REQUEST} in one request",
            query.ids.len()
        )));
    }
    let ids = query
        .ids
        .iter()
        .map(|id| checked_id(id))
        .collect::<Result<BTreeSet<_>, _>>()?;
    let ids: Vec<String> = ids.into_iter().collect();
    Ok(cached(&headers, &look_up(&app.store, &ids, None).await?))
}

/// The attestations about each id, and the certificate of every key that signed one. One id
/// may be paged (`after`); many are asked together, the first page of each.
async fn look_up(store: &Store, ids: &[String], after: Option<&str>) -> anyhow::Result<Lookup> {
    let started = std::time::Instant::now();
    let mut held = match (ids, after) {
        ([id], _) => {
            let found = store.by_id(id, after, MAX_PER_ID + 1).await?;
            std::iter::once((id.clone(), found)).collect()
        }
        _ => store.by_ids(ids, MAX_PER_ID + 1).await?,
    };
    let mut results = Vec::with_capacity(ids.len());
    let mut keys = BTreeSet::new();
    for id in ids {
        let mut found = held.remove(id).unwrap_or_default();
        let more = found.len() > MAX_PER_ID;
        found.truncate(MAX_PER_ID);
        keys.extend(found.iter().map(|(key, _)| key.clone()));
        results.push(IdAnswer {
            id: id.clone(),
            attestations: found.into_iter().map(|(_, f)| f).collect(),
            more,
        });
    }
    let keys: Vec<String> = keys.into_iter().collect();
    let read = started.elapsed();
    let certificates = store.certificates(&keys).await?;
    // Where a lookup's time goes, for whoever runs an index (SIGNET_LOG=signet_index=debug).
    tracing::debug!(
        ids = ids.len(),
        keys = keys.len(),
        attestations_ms = read.as_millis() as u64,
        certificates_ms = (started.elapsed() - read).as_millis() as u64,
        "looked up"
    );
    Ok(Lookup {
        results,
        certificates,
    })
}

async fn key(
    State(app): State<App>,
    Path(fingerprint): Path<String>,
    Query(page): Query<Page>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let fpr = Fingerprint::parse(&fingerprint).map_err(|e| bad(e.to_string()))?;
    let fpr = fpr.to_string();
    let limit = page.limit(MAX_PAGE);
    let found = app.store.by_key(&fpr, page.after.as_deref(), limit).await?;
    let next = (found.len() == limit).then(|| found[limit - 1].0.clone());
    let certificate = app
        .store
        .certificates(std::slice::from_ref(&fpr))
        .await?
        .remove(&fpr);
    Ok(cached(
        &headers,
        &KeyAnswer {
            fingerprint: fpr,
            certificate,
            attestations: found.into_iter().map(|(_, f)| f).collect(),
            next,
        },
    ))
}

/// Submissions per peer address per minute.
struct Limiter {
    per_minute: u32,
    peers: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Limiter {
    fn take(&self, ip: IpAddr) -> bool {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if peers.len() > 100_000 {
            peers.retain(|_, (since, _)| now.duration_since(*since).as_secs() < 60);
        }
        let (since, count) = peers.entry(ip).or_insert((now, 0));
        if now.duration_since(*since).as_secs() >= 60 {
            *since = now;
            *count = 0;
        }
        *count += 1;
        *count <= self.per_minute
    }
}
