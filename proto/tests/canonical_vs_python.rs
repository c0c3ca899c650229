//! Property test: our canonical bytes equal Python's `json.dumps(v, sort_keys=True)` for
//! random documents, floats, non-ASCII, astral and control characters and big integers
//! included. Python is the reference implementation's runtime and the oracle FORMATS.md names.

use std::io::Write;
use std::process::{Command, Stdio};

use proptest::prelude::*;
use signet_proto::json::{self, Map, Value};

/// One document per input line in, one canonical document per output line out.
const ORACLE: &str = r#"
import json, sys
for line in sys.stdin:
    sys.stdout.write(json.dumps(json.loads(line), sort_keys=True) + "\n")
"#;

fn python_canonical(lines: &[String]) -> Vec<String> {
    let mut child = Command::new("python3")
        .args(["-c", ORACLE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is on every Signet machine; install it to run this test");
    let mut stdin = child.stdin.take().unwrap();
    let input = lines.join("\n") + "\n";
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "python3 failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z ]{0,8}",
        // Anything Unicode, control characters, quotes, backslashes and astral planes included.
        any::<String>(),
        prop::collection::vec(
            prop_oneof![
                Just('\u{0}'),
                Just('\u{1f}'),
                Just('\u{7f}'),
                Just('"'),
                Just('\\'),
                Just('/'),
                Just('\u{e9}'),
                Just('\u{2028}'),
                Just('\u{fffd}'),
                Just('\u{1F600}'),
                Just('\u{10FFFF}'),
            ],
            0..6
        )
        .prop_map(|cs| cs.into_iter().collect()),
    ]
}

fn any_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|n| Value::Int(n.into())),
        "-?[1-9][0-9]{15,60}".prop_map(|s| json::parse(s.as_bytes()).unwrap()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Float),
        (-400i32..400, 1u32..10_000)
            .prop_map(|(e, m)| Value::Float(format!("{m}e{e}").parse::<f64>().unwrap()))
            .prop_filter("finite", |v| matches!(v, Value::Float(f) if f.is_finite())),
        Just(Value::Float(-0.0)),
        Just(Value::Float(1e16)),
        Just(Value::Float(0.0001)),
    ]
}

fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any_number(),
        any_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any_string(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map>())),
        ]
    })
}

/// Writes a value as valid but non-canonical JSON: keys in reverse order, odd spacing, and
/// every non-ASCII character of strings escaped or raw depending on `escape`. Numbers are
/// written as Rust prints them, so both parsers read digits neither side produced.
fn noisy(value: &Value, escape: bool, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push_str("[ ");
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push_str(" ,");
                }
                noisy(item, !escape, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (n, (k, v)) in map.iter().rev().enumerate() {
                if n > 0 {
                    out.push_str(",\t");
                }
                noisy(&Value::String(k.clone()), escape, out);
                out.push_str(" :");
                noisy(v, escape, out);
            }
            out.push_str(" }");
        }
        Value::String(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '/' if escape => out.push_str("\\/"),
                    c if (c as u32) < 0x20 || (escape && !c.is_ascii()) => {
                        let mut units = [0u16; 2];
                        for u in c.encode_utf16(&mut units) {
                            out.push_str(&format!("\\u{u:04X}"));
                        }
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        Value::Float(f) => out.push_str(&format!("{f:?}")),
        other => out.push_str(&other.canonical()),
    }
}

/// 24 batches by default; CI's slow mode (`SIGNET_SLOW_TESTS`) runs 160, since the rarest
/// disagreement found so far (a float tie) showed up once in tens of thousands of documents.
fn cases() -> u32 {
    if std::env::var_os("SIGNET_SLOW_TESTS").is_some() {
        160
    } else {
        24
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Batches of 250 documents: 6,000 (40,000 in slow mode) against one python3 process per
    /// batch.
    #[test]
    fn canonical_bytes_match_python(docs in prop::collection::vec(any_value(), 250)) {
        let inputs: Vec<String> = docs
            .iter()
            .enumerate()
            .map(|(n, v)| {
                let mut s = String::new();
                noisy(v, n % 2 == 0, &mut s);
                s
            })
            .collect();
        let expected = python_canonical(&inputs);
        prop_assert_eq!(expected.len(), inputs.len());
        for ((input, want), original) in inputs.iter().zip(&expected).zip(&docs) {
            let parsed = json::parse(input.as_bytes()).expect("our parser reads valid JSON");
            prop_assert_eq!(&parsed.canonical(), want, "input: {}", input);
            prop_assert_eq!(&parsed, original, "parse(noisy(v)) == v");
        }
    }
}
