//! docs/PROTOCOL.md stays honest: every method has a section and at least one example, and
//! every example (`→` a request, `←` a response or notification) reads into the proto types and
//! writes back with every field it shows. A renamed field, a changed shape or a new required
//! field fails here until the document says so.

use std::any::TypeId;
use std::collections::HashMap;

use serde_json::Value;
use signet_proto::api::{self, Method, MethodVisitor, method};
use signet_proto::rpc::RpcError;
use signet_tests::examples::{expand_elisions, round_trip};

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn doc() -> String {
    std::fs::read_to_string(root().join("docs/PROTOCOL.md")).unwrap()
}

#[test]
fn every_method_is_documented() {
    let doc = doc();
    let headings: Vec<&str> = doc.lines().filter(|l| l.starts_with("### ")).collect();
    for m in method::ALL {
        assert!(
            headings.iter().any(|h| h.contains(&format!("`{m}`"))),
            "docs/PROTOCOL.md has no section for `{m}`"
        );
    }
}

/// An example's params or result read through the method's own types (`api::Method`), as the
/// daemon and `sig` read them.
struct Example<'a> {
    shown: &'a Value,
    params: bool,
}

impl MethodVisitor for Example<'_> {
    type Output = Result<(), String>;
    fn visit<M: Method>(self) -> Self::Output {
        if !self.params {
            return round_trip::<M::Result>(self.shown);
        }
        let takes_none = TypeId::of::<M::Params>() == TypeId::of::<api::NoParams>();
        if takes_none && self.shown != &Value::Object(Default::default()) {
            return Err(format!("`{}` takes no params", M::NAME));
        }
        round_trip::<M::Params>(self.shown)
    }
}

fn read_as(m: &str, shown: &Value, params: bool) -> Result<(), String> {
    method::visit(m, Example { shown, params }).unwrap_or_else(|| Err(format!("no method `{m}`")))
}

#[test]
fn every_example_reads_into_the_protocol_types_and_back() {
    let doc = doc();
    let mut asked: HashMap<u64, String> = HashMap::new();
    let mut shown: HashMap<String, usize> = HashMap::new();
    let mut failures = Vec::new();
    for (n, line) in doc.lines().enumerate() {
        let (to_daemon, json) = match line.split_once(' ') {
            Some(("→", json)) => (true, json),
            Some(("←", json)) => (false, json),
            _ => continue,
        };
        let msg = expand_elisions(json);
        let id = msg.get("id").and_then(Value::as_u64);
        let checked = if to_daemon {
            let m = msg["method"].as_str().expect("a request names its method");
            asked.insert(id.expect("examples of requests have ids"), m.to_owned());
            *shown.entry(m.to_owned()).or_default() += 1;
            let none = Value::Object(Default::default());
            read_as(m, msg.get("params").unwrap_or(&none), true)
        } else if let Some(m) = msg.get("method").and_then(Value::as_str) {
            assert_eq!(m, method::VERDICT_CHANGED, "the one notification");
            round_trip::<api::VerdictChanged>(&msg["params"])
        } else {
            let m = &asked[&id.expect("a response has the id of its request")];
            match (msg.get("result"), msg.get("error")) {
                (Some(r), None) => read_as(m, r, false),
                (None, Some(e)) => round_trip::<RpcError>(e),
                _ => Err("a response has a result or an error".into()),
            }
        };
        if let Err(why) = checked {
            failures.push(format!("docs/PROTOCOL.md:{}: {why}", n + 1));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let missing: Vec<_> = method::ALL
        .iter()
        .filter(|m| !shown.contains_key(**m))
        .collect();
    assert!(missing.is_empty(), "no example of {missing:?}");
}
