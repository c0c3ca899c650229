//! Method dispatch: JSON-RPC requests in, responses out. One function per method family; the
//! work itself is in `daemon`.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as JsonValue;
use signet_proto::api::{self, method};
use signet_proto::rpc::{ErrorCode, Request, Response, RpcError};

use crate::daemon::Daemon;
use crate::errors::Failure;

/// What a connection has established so far.
#[derive(Default)]
pub struct Session {
    pub greeted: bool,
    pub client: Option<String>,
    /// Notifications for this connection, once it has subscribed.
    pub inbox: Option<crate::subscribers::Inbox>,
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
        method::CONFIG_GET => reply(daemon.shared.config_get(params(m, p)?)),
        method::CONFIG_SET => reply(daemon.shared.config_set(params(m, p)?).await),
        method::SETUP => reply(daemon.shared.setup(params(m, p)?).await),
        method::ATTEST => reply(daemon.attest(params(m, p)?).await),
        method::VERIFY => reply(daemon.watches.verify(&params(m, p)?).await),
        method::VERIFY_MANY => {
            let api::VerifyManyParams { targets } = params(m, p)?;
            Ok(answer(api::VerifyManyResult {
                results: daemon.watches.verify_many(targets).await,
                warnings: daemon.warnings(),
            }))
        }
        method::TRUST_ADD => reply(daemon.shared.trust_add(params(m, p)?).await),
        method::TRUST_REMOVE => reply(daemon.shared.trust_remove(params(m, p)?).await),
        method::TRUST_LIST => reply(daemon.shared.trust_list(params(m, p)?)),
        method::TRUST_WHY => reply(daemon.shared.trust_why(params(m, p)?)),
        method::KEYS_LIST => Ok(answer(daemon.shared.keys_list())),
        method::KEY_REVOKE => reply(daemon.shared.revoke(params(m, p)?).await),
        method::REMOTE_ADD => reply(daemon.remotes.remote_add(params(m, p)?).await),
        method::REMOTE_REMOVE => {
            let api::RemoteNameParams { name } = params(m, p)?;
            reply(daemon.remotes.remote_remove(&name).await)
        }
        method::REMOTE_LIST => Ok(answer(daemon.remotes.remote_list())),
        method::FETCH => reply(daemon.remotes.fetch(params(m, p)?).await),
        method::PUBLISH => reply(daemon.publisher.publish(params(m, p)?).await),
        method::WATCH_ADD => reply(daemon.watches.watch_add(params(m, p)?).await),
        method::WATCH_REMOVE => reply(daemon.watches.watch_remove(params(m, p)?).await),
        method::WATCH_LIST => Ok(answer(daemon.watches.watch_list())),
        method::SUBSCRIBE => reply(
            daemon
                .watches
                .subscribe(&mut session.inbox, params(m, p)?)
                .await,
        ),
        method::SHUTDOWN => {
            daemon.shared.request_shutdown();
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
