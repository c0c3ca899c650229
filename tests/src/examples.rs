//! The examples in the docs, read as the code reads them: `docs/PROTOCOL.md`'s and
//! `docs/INDEX.md`'s tests share these.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The document's one shorthand: `…` elides the middle of an id or a fingerprint (`sha256:7c47…
/// 28eb`, `DFDD…80D9`) or the items of a list (`[…]`). Expanded here to values of the real shape.
pub fn expand_elisions(line: &str) -> Value {
    let json: Value = serde_json::from_str(&line.replace("[…]", "[]"))
        .unwrap_or_else(|e| panic!("not JSON: {e}\n{line}"));
    fn walk(v: &mut Value) {
        match v {
            Value::String(s) if s.contains('…') => {
                let (head, tail) = s.split_once('…').unwrap();
                let hex = |t: &str| t.chars().all(|c| c.is_ascii_hexdigit());
                if let Some(head) = head.strip_prefix("sha256:") {
                    *s = format!(
                        "sha256:{head}{}{tail}",
                        "0".repeat(64 - head.len() - tail.len())
                    );
                } else if hex(head) && hex(tail) && head.len() + tail.len() < 40 {
                    *s = format!("{head}{}{tail}", "0".repeat(40 - head.len() - tail.len()));
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            Value::Object(map) => map.values_mut().for_each(walk),
            _ => {}
        }
    }
    let mut json = json;
    walk(&mut json);
    json
}

/// `shown` read as `T` and written back holds every field `shown` has, with the same value
/// (defaults the example leaves out may be added).
pub fn round_trip<T: Serialize + DeserializeOwned>(shown: &Value) -> Result<(), String> {
    let typed: T = serde_json::from_value(shown.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&typed).unwrap();
    contains(&back, shown, "")
}

fn contains(back: &Value, shown: &Value, at: &str) -> Result<(), String> {
    match (back, shown) {
        (Value::Object(b), Value::Object(s)) => s.iter().try_for_each(|(k, v)| {
            let at = format!("{at}.{k}");
            let b = b.get(k).ok_or(format!("{at} is not written back"))?;
            contains(b, v, &at)
        }),
        (Value::Array(b), Value::Array(s)) if b.len() == s.len() => b
            .iter()
            .zip(s)
            .enumerate()
            .try_for_each(|(n, (b, s))| contains(b, s, &format!("{at}[{n}]"))),
        _ if back == shown => Ok(()),
        _ => Err(format!("{at}: written back as {back}, shown as {shown}")),
    }
}
