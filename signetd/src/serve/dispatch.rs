//! Method dispatch: JSON-RPC requests in, responses out. One function per method family; the
//! work itself is in `daemon`.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as JsonValue;
use signet_proto::api::{self, method};
use signet_proto::rpc::{ErrorCode, Request, Response, RpcError};
use signet_proto::wire_path::AbsPath;

use crate::errors::Failure;
use crate::state::Daemon;

/// What a connection has established so far.
#[derive(Default)]
pub struct Session {
    pub greeted: bool,
    pub client: Option<String>,
    /// Notifications for this connection, once it has subscribed.
    pub inbox: Option<crate::serve::subscribers::Inbox>,
}

fn params<T: DeserializeOwned>(method: &str, params: JsonValue) -> Result<T, RpcError> {
    // Methods without params accept an absent or empty `params`.
    let params = if params.is_null() {
        JsonValue::Object(Default::default())
    } else {
        params
    };
    serde_json::from_value(params).map_err(|e| {
        RpcError::new(
            ErrorCode::InvalidParams,
            format!("invalid params for {method}: {e}"),
        )
    })
}

/// An operation's outcome as JSON-RPC: the one place an operation's error becomes a protocol
/// error (its code, its message and hint).
fn reply<T: Serialize, E: Failure>(result: Result<T, E>) -> Result<JsonValue, RpcError> {
    result.map(answer).map_err(|e| e.to_rpc())
}

fn answer<T: Serialize>(result: T) -> JsonValue {
    serde_json::to_value(result).expect("protocol results serialize")
}

/// Answers one request. `None` for notifications, which get no response.
/// Runs a request; answers it unless it is a notification (no `id` member at all: an `id` of
/// `null` is a request, answered with `null`, as JSON-RPC 2.0 says).
pub async fn handle(
    daemon: &Arc<Daemon>,
    session: &mut Session,
    request: Request,
    notification: bool,
) -> Option<Response> {
    let id = request.id.clone();
    let result = dispatch(daemon, session, request).await;
    if notification {
        return None;
    }
    Some(match result {
        Ok(value) => Response::ok(id, value),
        Err(error) => Response::err(id, error),
    })
}

async fn dispatch(
    daemon: &Arc<Daemon>,
    session: &mut Session,
    request: Request,
) -> Result<JsonValue, RpcError> {
    let Request {
        method: name,
        params: p,
        ..
    } = request;
    let m = name.as_str();
    if m == method::HELLO {
        return hello(session, params(m, p)?).map(answer);
    }
    if !session.greeted {
        return Err(RpcError::new(
            ErrorCode::Protocol,
            "the first call on a connection must be `hello`",
        ));
    }
    match m {
        method::STATUS => Ok(answer(daemon.status())),
        method::CONFIG_GET => reply(daemon.config_get(params(m, p)?)),
        method::CONFIG_SET => reply(daemon.config_set(params(m, p)?).await),
        method::SETUP => reply(daemon.setup(params(m, p)?).await),
        method::ATTEST => reply(daemon.attest(params(m, p)?).await),
        method::VERIFY => reply(daemon.verify(&params(m, p)?).await),
        method::VERIFY_MANY => {
            let api::VerifyManyParams { targets } = params(m, p)?;
            Ok(answer(api::VerifyManyResult {
                results: verify_many(daemon, targets).await,
                warnings: daemon.warnings(),
            }))
        }
        method::TRUST_ADD => reply(daemon.trust_add(params(m, p)?).await),
        method::TRUST_REMOVE => reply(daemon.trust_remove(params(m, p)?).await),
        method::TRUST_LIST => reply(daemon.trust_list(params(m, p)?)),
        method::TRUST_WHY => reply(daemon.trust_why(params(m, p)?)),
        method::KEYS_LIST => Ok(answer(daemon.keys_list())),
        method::KEY_REVOKE => reply(daemon.revoke(params(m, p)?).await),
        method::REMOTE_ADD => reply(daemon.remote_add(params(m, p)?).await),
        method::REMOTE_REMOVE => {
            let api::RemoteNameParams { name } = params(m, p)?;
            reply(daemon.remote_remove(&name).await)
        }
        method::REMOTE_LIST => Ok(answer(daemon.remote_list())),
        method::FETCH => reply(daemon.fetch(params(m, p)?).await),
        method::PUBLISH => reply(daemon.publish(params(m, p)?).await),
        method::WATCH_ADD => reply(daemon.watch_add(params(m, p)?).await),
        method::WATCH_REMOVE => reply(daemon.watch_remove(params(m, p)?).await),
        method::WATCH_LIST => Ok(answer(daemon.watch_list())),
        method::SUBSCRIBE => reply(daemon.subscribe(&mut session.inbox, params(m, p)?).await),
        method::SHUTDOWN => {
            daemon.request_shutdown();
            Ok(JsonValue::Object(Default::default()))
        }
        other => Err(RpcError::new(
            ErrorCode::MethodNotFound,
            format!(
                "unknown method {:?}; this signetd {} answers: {}",
                other.chars().take(100).collect::<String>(),
                signet_proto::VERSION,
                method::ALL.join(", ")
            ),
        )),
    }
}

/// Verifies every target, hashing several files at once (one per core, plus one to overlap
/// I/O), answering in the order asked.
async fn verify_many(
    daemon: &Arc<Daemon>,
    targets: Vec<api::Lenient<api::Target>>,
) -> Vec<api::VerifyOutcome> {
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get() + 1);
    let slots = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut tasks = tokio::task::JoinSet::new();
    let mut results: Vec<Option<api::VerifyOutcome>> = Vec::new();
    results.resize_with(targets.len(), || None);
    // Files unchanged since they were hashed are answered after one stat each, in one trip to
    // a blocking thread; only the rest get a task.
    // (A watched file is in no path cache: it falls through to the file table below.)
    let (at, paths): (Vec<usize>, Vec<AbsPath>) = targets
        .iter()
        .enumerate()
        .filter_map(|(n, t)| match t {
            api::Lenient::Valid(api::Target::Path(p)) => Some((n, p.clone())),
            _ => None,
        })
        .unzip();
    for (n, answer) in at.into_iter().zip(daemon.verify_unchanged(&paths).await) {
        if let Some(result) = answer {
            results[n] = Some(api::VerifyOutcome::Verified(result));
        }
    }
    for (n, target) in targets.into_iter().enumerate() {
        if results[n].is_some() {
            continue;
        }
        let target = match target {
            api::Lenient::Valid(target) => target,
            api::Lenient::Invalid { why, .. } => {
                let error = RpcError::new(ErrorCode::InvalidParams, why);
                results[n] = Some(api::VerifyOutcome::Failed { error });
                continue;
            }
        };
        // Files of watched directories are answered from memory, without a task each.
        if let Some(result) = daemon.verify_watched(&target) {
            results[n] = Some(api::VerifyOutcome::Verified(result));
            continue;
        }
        let (daemon, slots) = (daemon.clone(), slots.clone());
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await;
            let outcome = match daemon.verify(&target).await {
                Ok(r) => api::VerifyOutcome::Verified(r),
                Err(error) => api::VerifyOutcome::Failed {
                    error: error.to_rpc(),
                },
            };
            (n, outcome)
        });
    }
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((n, outcome)) => results[n] = Some(outcome),
            Err(e) => tracing::error!("a verify task failed: {e}"),
        }
    }
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| api::VerifyOutcome::Failed {
                error: RpcError::new(ErrorCode::Internal, "verification task failed"),
            })
        })
        .collect()
}

fn hello(session: &mut Session, p: api::HelloParams) -> Result<api::HelloResult, RpcError> {
    if p.protocol != signet_proto::PROTOCOL_VERSION {
        return Err(RpcError::new(
            ErrorCode::Protocol,
            format!(
                "{} speaks protocol {}, this signetd {} speaks {}: use a sig and signetd of the \
                 same release",
                p.client,
                p.protocol,
                signet_proto::VERSION,
                signet_proto::PROTOCOL_VERSION
            ),
        ));
    }
    session.greeted = true;
    session.client = Some(p.client);
    Ok(api::HelloResult {
        protocol: signet_proto::PROTOCOL_VERSION,
        server: format!("signetd/{}", signet_proto::VERSION),
        capabilities: method::ALL.iter().map(|m| m.to_string()).collect(),
    })
}
