//! Method dispatch: JSON-RPC requests in, responses out, through a table built from the
//! protocol's typed methods (`proto::api::method`); the work itself is in the daemon's parts.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};

use serde::Serialize;
use serde_json::Value as JsonValue;
use signet_proto::api::{self, Method, method};
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

/// A method's params, read as the method's own type. Methods without params accept an absent
/// or empty `params`.
fn params<M: Method>(params: JsonValue) -> Result<M::Params, RpcError> {
    let params = if params.is_null() {
        JsonValue::Object(Default::default())
    } else {
        params
    };
    serde_json::from_value(params).map_err(|e| {
        RpcError::new(
            ErrorCode::InvalidParams,
            format!("invalid params for {}: {e}", M::NAME),
        )
    })
}

fn answer<T: Serialize>(result: T) -> JsonValue {
    serde_json::to_value(result).expect("protocol results serialize")
}

/// An operation's outcome as JSON-RPC: the one place an operation's error becomes a protocol
/// error (its code, its message and hint).
trait Reply<T> {
    fn reply(self) -> Result<T, RpcError>;
}

impl<T, E: Failure> Reply<T> for Result<T, E> {
    fn reply(self) -> Result<T, RpcError> {
        self.map_err(|e| e.to_rpc())
    }
}

type Answer<'a> = Pin<Box<dyn Future<Output = Result<JsonValue, RpcError>> + Send + 'a>>;
type Working<'a, T> = Pin<Box<dyn Future<Output = Result<T, RpcError>> + Send + 'a>>;
/// A handler that works on its connection's session too.
type Greeting<M> = for<'a> fn(
    &'a Arc<Daemon>,
    &'a mut Session,
    <M as Method>::Params,
) -> Working<'a, <M as Method>::Result>;
type Route =
    Box<dyn for<'a> Fn(&'a Arc<Daemon>, &'a mut Session, JsonValue) -> Answer<'a> + Send + Sync>;

/// Every method's handler, by name. A handler's kind says what it may do: `reads` answers
/// from the state as it is, at once (a read lock's worth, no waiting); `acts` may wait — hash
/// a file, fetch, take the writer; `greets` works on the connection itself.
struct Table(HashMap<&'static str, Route>);

impl Table {
    fn reads<M: Method>(&mut self, handler: fn(&Daemon, M::Params) -> Result<M::Result, RpcError>) {
        self.route::<M>(Box::new(move |daemon, _, p| {
            let result = params::<M>(p).and_then(|p| handler(daemon, p));
            Box::pin(std::future::ready(result.map(answer)))
        }));
    }

    fn acts<M: Method>(
        &mut self,
        handler: for<'a> fn(&'a Arc<Daemon>, M::Params) -> Working<'a, M::Result>,
    ) {
        self.route::<M>(Box::new(move |daemon, _, p| {
            Box::pin(async move { handler(daemon, params::<M>(p)?).await.map(answer) })
        }));
    }

    fn greets<M: Method>(&mut self, handler: Greeting<M>) {
        self.route::<M>(Box::new(move |daemon, session, p| {
            Box::pin(async move { handler(daemon, session, params::<M>(p)?).await.map(answer) })
        }));
    }

    fn route<M: Method>(&mut self, route: Route) {
        let earlier = self.0.insert(M::NAME, route);
        assert!(earlier.is_none(), "{} routed twice", M::NAME);
    }
}

/// The table, built once.
fn table() -> &'static Table {
    static TABLE: LazyLock<Table> = LazyLock::new(|| {
        use method::*;
        let mut t = Table(HashMap::new());
        t.greets::<Hello>(|_, session, p| Box::pin(std::future::ready(hello(session, p))));
        t.greets::<Subscribe>(|d, session, p| {
            Box::pin(async move { d.watches.subscribe(&mut session.inbox, p).await.reply() })
        });
        t.reads::<Status>(|d, _| Ok(d.status()));
        t.reads::<ConfigGet>(|d, p| d.shared.config_get(p).reply());
        t.reads::<TrustList>(|d, p| d.shared.trust_list(p).reply());
        t.reads::<TrustWhy>(|d, p| d.shared.trust_why(p).reply());
        t.reads::<KeysList>(|d, _| Ok(d.shared.keys_list()));
        t.reads::<RemoteList>(|d, _| Ok(d.remotes.remote_list()));
        t.reads::<WatchList>(|d, _| Ok(d.watches.watch_list()));
        t.reads::<Shutdown>(|d, _| {
            d.shared.request_shutdown();
            Ok(api::Done {})
        });
        t.acts::<ConfigSet>(|d, p| Box::pin(async move { d.shared.config_set(p).await.reply() }));
        t.acts::<Setup>(|d, p| Box::pin(async move { d.shared.setup(p).await.reply() }));
        t.acts::<Attest>(|d, p| Box::pin(async move { d.attest(p).await.reply() }));
        t.acts::<AttestMany>(|d, p| Box::pin(async move { d.attest_many(p).await.reply() }));
        t.acts::<Verify>(|d, p| Box::pin(async move { d.watches.verify(&p).await.reply() }));
        t.acts::<Lookup>(|d, p| Box::pin(async move { d.lookup(p).await.reply() }));
        t.acts::<LookupMany>(|d, p| {
            Box::pin(async move { d.lookups.lookup_many(p).await.reply() })
        });
        t.acts::<VerifyMany>(|d, p| {
            Box::pin(async move {
                let mut results = d.watches.verify_many(p.targets).await;
                if let Some(policy) = &p.policy {
                    d.watches.judge_again(&mut results, policy);
                }
                d.watches
                    .judge_also(&mut results, &p.also, p.policy.as_ref());
                Ok(api::VerifyManyResult {
                    results,
                    warnings: d.warnings(),
                })
            })
        });
        t.acts::<VerifyDir>(|d, p| {
            Box::pin(async move {
                let mut result = d.watches.verify_dir(p).await.reply()?;
                result.warnings = d.warnings();
                Ok(result)
            })
        });
        t.acts::<TrustAdd>(|d, p| Box::pin(async move { d.shared.trust_add(p).await.reply() }));
        t.acts::<TrustRemove>(|d, p| {
            Box::pin(async move { d.shared.trust_remove(p).await.reply() })
        });
        t.acts::<KeyRevoke>(|d, p| Box::pin(async move { d.shared.revoke(p).await.reply() }));
        t.acts::<RemoteAdd>(|d, p| Box::pin(async move { d.remotes.remote_add(p).await.reply() }));
        t.acts::<RemoteRemove>(|d, p| {
            Box::pin(async move { d.remotes.remote_remove(&p.name).await.reply() })
        });
        t.acts::<Fetch>(|d, p| Box::pin(async move { d.remotes.fetch(p).await.reply() }));
        t.acts::<Publish>(|d, p| Box::pin(async move { d.publisher.publish(p).await.reply() }));
        t.acts::<WatchAdd>(|d, p| Box::pin(async move { d.watches.watch_add(p).await.reply() }));
        t.acts::<WatchRemove>(|d, p| {
            Box::pin(async move { d.watches.watch_remove(p).await.reply() })
        });
        t
    });
    &TABLE
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
        params,
        ..
    } = request;
    if name != method::Hello::NAME && !session.greeted {
        return Err(RpcError::new(
            ErrorCode::Protocol,
            "the first call on a connection must be `hello`",
        ));
    }
    let Some(route) = table().0.get(name.as_str()) else {
        return Err(RpcError::new(
            ErrorCode::MethodNotFound,
            format!(
                "unknown method {:?}; this signetd {} answers: {}",
                name.chars().take(100).collect::<String>(),
                signet_proto::VERSION,
                method::ALL.join(", ")
            ),
        ));
    };
    route(daemon, session, params).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_has_one_route() {
        let routed: std::collections::BTreeSet<_> = table().0.keys().copied().collect();
        let named: std::collections::BTreeSet<_> = method::ALL.iter().copied().collect();
        assert_eq!(routed, named);
    }
}
