//! Each method of the daemon as a type that ties its name on the wire to its params and its
//! result (as `lsp_types::request::Request` does): the daemon's dispatch table is built from
//! these, the client calls `call::<Verify>(&params)`, and the protocol document's examples are
//! read through them. Neither side can send one method's params under another's name or read
//! an answer as the wrong type.

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

use super::*;

/// A method: its name, what it takes and what it answers.
pub trait Method {
    const NAME: &'static str;
    type Params: Serialize + DeserializeOwned + Send + 'static;
    type Result: Serialize + DeserializeOwned + Send + 'static;
}

/// The params of a method that takes none: sent as `{}`; whatever a client sends is ignored,
/// as it always was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoParams;

impl Serialize for NoParams {
    fn serialize<S: serde::Serializer>(&self, to: S) -> Result<S::Ok, S::Error> {
        serde_json::Map::new().serialize(to)
    }
}

impl<'de> Deserialize<'de> for NoParams {
    fn deserialize<D: serde::Deserializer<'de>>(from: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(from)?;
        Ok(NoParams)
    }
}

/// The result of a method that answers nothing but success: `{}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Done {}

/// Code that works on any one method, chosen by name at run time (`visit`).
pub trait MethodVisitor {
    type Output;
    fn visit<M: Method>(self) -> Self::Output;
}

macro_rules! methods {
    ($( $(#[$doc:meta])* $ty:ident = $name:literal ($params:ty) -> $result:ty; )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug)]
            pub enum $ty {}
            impl Method for $ty {
                const NAME: &'static str = $name;
                type Params = $params;
                type Result = $result;
            }
        )*

        /// Every method's name, in the protocol document's order.
        pub const ALL: &[&str] = &[$($name),*];

        /// Runs `visitor` on the method named `name`; `None` for a name no method has.
        pub fn visit<V: MethodVisitor>(name: &str, visitor: V) -> Option<V::Output> {
            match name {
                $($name => Some(visitor.visit::<$ty>()),)*
                _ => None,
            }
        }
    };
}

methods! {
    /// The first call of every connection.
    Hello = "hello" (HelloParams) -> HelloResult;
    Status = "status" (NoParams) -> StatusResult;
    Setup = "setup" (SetupParams) -> SetupResult;
    Attest = "attest" (AttestParams) -> AttestResult;
    /// One word on many files, ids or directories, in one signed write.
    AttestMany = "attest.many" (AttestManyParams) -> AttestManyResult;
    Verify = "verify" (Target) -> VerifyResult;
    VerifyMany = "verify.many" (VerifyManyParams) -> VerifyManyResult;
    /// Every file under a directory, walked and judged in the daemon (`sig verify DIR`).
    VerifyDir = "verify.dir" (VerifyDirParams) -> VerifyDirResult;
    TrustAdd = "trust.add" (TrustParams) -> TrustChange;
    TrustRemove = "trust.remove" (TrustParams) -> TrustChange;
    TrustList = "trust.list" (TrustListParams) -> TrustListResult;
    TrustWhy = "trust.why" (TrustWhyParams) -> KeyStanding;
    KeysList = "keys.list" (NoParams) -> KeysListResult;
    KeyRevoke = "key.revoke" (RevokeParams) -> RevokeResult;
    Shutdown = "shutdown" (NoParams) -> Done;
    RemoteAdd = "remote.add" (RemoteAddParams) -> RemoteInfo;
    RemoteRemove = "remote.remove" (RemoteNameParams) -> RemoteInfo;
    RemoteList = "remote.list" (NoParams) -> RemoteListResult;
    Fetch = "fetch" (FetchParams) -> FetchResult;
    Publish = "publish" (PublishParams) -> PublishResult;
    WatchAdd = "watch.add" (PathParams) -> WatchInfo;
    WatchRemove = "watch.remove" (PathParams) -> WatchInfo;
    WatchList = "watch.list" (NoParams) -> WatchListResult;
    /// Asks for `verdict.changed` notifications on this connection.
    Subscribe = "subscribe" (PathParams) -> SubscribeResult;
    ConfigGet = "config.get" (ConfigGetParams) -> ConfigValue;
    ConfigSet = "config.set" (ConfigSetParams) -> ConfigValue;
    /// Asks the configured public indexes about a file or id (`sig lookup`).
    Lookup = "lookup" (Target) -> LookupResult;
    /// Asks the configured public indexes about many ids at once (`sig deps --index`).
    LookupMany = "lookup.many" (LookupManyParams) -> LookupManyResult;
}

/// The one notification the daemon sends (no id, no response), after `subscribe`: its params
/// are a [`VerdictChanged`].
pub const VERDICT_CHANGED: &str = "verdict.changed";
