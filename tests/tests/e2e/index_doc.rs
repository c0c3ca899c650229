//! docs/INDEX.md stays honest: every endpoint has an example, and every example (`→` a
//! request, `←` its status and answer) reads into `signet_proto::index`'s types and writes back
//! with every field it shows.

use serde_json::Value;
use signet_proto::index::{
    Health, IdsQuery, KeyAnswer, Lookup, Repositories, Submission, Submitted,
};
use signet_tests::examples::{expand_elisions, round_trip};

fn doc() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    std::fs::read_to_string(root.join("docs/INDEX.md")).unwrap()
}

/// The types of an endpoint's request body (if it has one) and answer.
fn read(method: &str, path: &str, body: Option<&Value>, answer: &Value) -> Result<(), String> {
    let request = |check: fn(&Value) -> Result<(), String>| {
        body.map_or(Err(format!("{method} {path} shows no body")), check)
    };
    match (method, path.split('?').next().unwrap_or(path)) {
        ("POST", "/v1/repositories") => {
            request(round_trip::<Submission>)?;
            round_trip::<Submitted>(answer)
        }
        ("POST", "/v1/ids") => {
            request(round_trip::<IdsQuery>)?;
            round_trip::<Lookup>(answer)
        }
        ("GET", p) if p.starts_with("/v1/ids/") => round_trip::<Lookup>(answer),
        ("GET", p) if p.starts_with("/v1/keys/") => round_trip::<KeyAnswer>(answer),
        ("GET", "/v1/repositories") => round_trip::<Repositories>(answer),
        ("GET", "/v1/health") => round_trip::<Health>(answer),
        _ => Err(format!("no endpoint {method} {path}")),
    }
}

#[test]
fn every_index_example_reads_into_the_index_types_and_back() {
    let doc = doc();
    let mut asked: Option<(String, String, Option<Value>)> = None;
    let mut shown = Vec::new();
    let mut failures = Vec::new();
    for (n, line) in doc.lines().enumerate() {
        if let Some(request) = line.strip_prefix("→ ") {
            let mut parts = request.splitn(3, ' ');
            let (method, path) = (parts.next().unwrap(), parts.next().unwrap());
            let body = parts.next().map(expand_elisions);
            asked = Some((method.to_owned(), path.to_owned(), body));
        } else if let Some(answer) = line.strip_prefix("← ") {
            let (status, json) = answer.split_once(' ').unwrap();
            assert!(
                status.parse::<u16>().is_ok(),
                "docs/INDEX.md:{}: a status",
                n + 1
            );
            let (method, path, body) = asked.take().expect("an answer follows its request");
            let checked = read(&method, &path, body.as_ref(), &expand_elisions(json));
            if let Err(why) = checked {
                failures.push(format!("docs/INDEX.md:{}: {why}", n + 1));
            }
            shown.push(format!("{method} {}", path.split(['?']).next().unwrap()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for endpoint in [
        "POST /v1/repositories",
        "GET /v1/repositories",
        "POST /v1/ids",
        "GET /v1/health",
    ] {
        assert!(
            shown.iter().any(|s| s == endpoint),
            "no example of {endpoint}"
        );
    }
    for prefix in ["GET /v1/ids/", "GET /v1/keys/"] {
        assert!(
            shown.iter().any(|s| s.starts_with(prefix)),
            "no example of {prefix}"
        );
    }
}
