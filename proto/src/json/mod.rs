//! Canonical JSON: a strict parser and the encoder whose bytes Signet signs.
//!
//! The signed bytes of a value are exactly what Python's `json.dumps(value, sort_keys=True)`
//! prints (see `docs/FORMATS.md`, "Canonical bytes"). `serde_json` cannot be used for this:
//! it silently keeps the last of two duplicate keys, loses integers beyond 64 bits and formats
//! floats differently. So signed data goes through this module, and only through it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

mod parse;
mod write;

pub use parse::{ParseError, ParseErrorKind, parse, parse_compact};
use write::{write_canonical, write_pretty};

/// Deepest nesting of arrays and objects accepted in signed data.
pub const MAX_DEPTH: usize = 64;
/// Longest integer literal accepted: Python refuses to convert longer ones
/// (`sys.get_int_max_str_digits`), so a document with one could never be checked by it.
pub const MAX_INT_DIGITS: usize = 4300;

/// A JSON object. `String`'s ordering is by UTF-8 bytes, which is the ordering of code points,
/// the one `sort_keys=True` uses: iterating the map yields canonical order.
pub type Map = BTreeMap<String, Value>;

/// A JSON value as signed data holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// An integer of any size, kept as its canonical decimal text (`-0` becomes `0`).
    Int(Integer),
    /// A number with a fraction or exponent: always finite.
    Float(f64),
    String(String),
    /// A string holding an unpaired UTF-16 surrogate (`"\ud800"`), which Python's `json`
    /// accepts and writes back as it was: kept as UTF-16 code units so that its canonical bytes
    /// (and so a signature over a document holding it) are exact. Never read as text: a field
    /// that must be a string is malformed when it holds one of these.
    Utf16(Vec<u16>),
    /// A value kept as its canonical text (see [`parse_compact`]): written back verbatim,
    /// parsed again where it is read. Not a JSON type of its own: `kind()` is "a compact value".
    Canonical(Box<str>),
    Array(Vec<Value>),
    Object(Map),
}

/// An integer literal of any size, in canonical decimal form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Integer(String);

impl Integer {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }
    pub fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }
}

impl From<i64> for Integer {
    fn from(n: i64) -> Self {
        Integer(n.to_string())
    }
}

impl From<u64> for Integer {
    fn from(n: u64) -> Self {
        Integer(n.to_string())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Int(n.into())
    }
}
impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Object(m)
    }
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }
    /// The name of this value's JSON type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::String(_) | Value::Utf16(_) => "a string",
            Value::Array(_) => "an array",
            Value::Canonical(_) => "a compact value",
            Value::Object(_) => "an object",
        }
    }

    /// The canonical bytes of this value: `json.dumps(value, sort_keys=True)`, ASCII only.
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        self.canonical_pieces(&mut |piece| out.push_str(piece));
        out
    }

    /// The canonical bytes of this value handed to `sink` in pieces, never as one string: a
    /// large repository's signature and digest are computed without a second copy of it.
    pub fn canonical_pieces(&self, sink: &mut dyn FnMut(&str)) {
        write_canonical(self, sink, &mut String::new());
    }

    /// A readable, indented rendering (keys sorted, non-ASCII kept), for people.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        write_pretty(self, 0, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        parse(s.as_bytes()).unwrap().canonical()
    }

    #[test]
    fn formats_example_matches_python() {
        let doc = r#"{"ok": true, "id": "sha256:7c", "reviewed": true, "comment": "My first attestation!"}"#;
        assert_eq!(
            canon(doc),
            r#"{"comment": "My first attestation!", "id": "sha256:7c", "ok": true, "reviewed": true}"#
        );
    }

    #[test]
    fn floats_print_as_python_repr() {
        for (input, want) in [
            ("1.0", "1.0"),
            ("1e16", "1e+16"),
            ("1.5e16", "1.5e+16"),
            ("1e15", "1000000000000000.0"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("2.5e-7", "2.5e-07"),
            ("-0.0", "-0.0"),
            ("0.1", "0.1"),
            ("123456789012345678.0", "1.2345678901234568e+17"),
            ("1e100", "1e+100"),
            ("5e-324", "5e-324"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("12.5", "12.5"),
            ("1E2", "100.0"),
            // Found by the property test: .2 and .3 both round-trip; Python prints the nearer.
            ("2013694027365234.25", "2013694027365234.2"),
        ] {
            assert_eq!(canon(input), want, "for {input}");
        }
    }

    #[test]
    fn strings_escape_as_python_ensure_ascii() {
        assert_eq!(canon(r#""a/b""#), r#""a/b""#);
        assert_eq!(
            canon("\"caf\u{e9} \u{1F600}\""),
            r#""caf\u00e9 \ud83d\ude00""#
        );
        assert_eq!(
            canon(r#""\u0000\u001f\u007f\b\f\n\r\t\"\\""#),
            r#""\u0000\u001f\u007f\b\f\n\r\t\"\\""#
        );
    }

    #[test]
    fn integers_keep_any_size() {
        assert_eq!(canon("-0"), "0");
        assert_eq!(
            canon("123456789012345678901234567890"),
            "123456789012345678901234567890"
        );
        assert_eq!(canon("[]"), "[]");
        assert_eq!(canon("{ }"), "{}");
        assert_eq!(
            canon(r#"{"b": [1, {}], "a": null}"#),
            r#"{"a": null, "b": [1, {}]}"#
        );
    }

    #[test]
    fn refuses_what_signed_data_must_not_hold() {
        let cases: &[(&[u8], ParseErrorKind)] = &[
            (
                br#"{"a": 1, "a": 2}"#,
                ParseErrorKind::DuplicateKey("a".into()),
            ),
            (b"NaN", ParseErrorKind::Unexpected('N')),
            (b"1e400", ParseErrorKind::NumberOutOfRange),
            (b"01", ParseErrorKind::InvalidNumber),
            (b"\"\xff\"", ParseErrorKind::InvalidUtf8),
            (b"\"a\nb\"", ParseErrorKind::ControlCharacter),
            (br#"{"\ud800": 1}"#, ParseErrorKind::LoneSurrogate),
            (b"[1,]", ParseErrorKind::Unexpected(']')),
            (b"[1] x", ParseErrorKind::Trailing),
            (b"", ParseErrorKind::UnexpectedEnd),
        ];
        for (input, want) in cases {
            let err = parse(input).unwrap_err();
            assert_eq!(&err.what, want, "for {:?}", String::from_utf8_lossy(input));
        }
    }

    /// Python's `json` reads unpaired surrogates in strings and writes them back escaped: a
    /// document holding one has exact canonical bytes, so its signature can be checked.
    #[test]
    fn unpaired_surrogates_keep_their_canonical_bytes() {
        for (text, want) in [
            (r#""a\ud800b""#, r#""a\ud800b""#),
            (r#""\udc00""#, r#""\udc00""#),
            (r#""\ud800\ud800""#, r#""\ud800\ud800""#),
            (r#""\ud800\u0041é\n""#, r#""\ud800A\u00e9\n""#),
            (r#""\ud83d\ude00""#, r#""\ud83d\ude00""#),
        ] {
            let value = parse(text.as_bytes()).unwrap();
            assert_eq!(value.canonical(), want, "{text}");
        }
        assert_eq!(parse(br#""\ud800""#).unwrap().as_str(), None);
        assert_eq!(parse(br#""\ud800""#).unwrap().kind(), "a string");
    }

    #[test]
    fn pieces_join_to_the_canonical_bytes() {
        let text = r#"{"z": [1, 2.5, -0.0, "\u00e9\ud800", {"b": null, "a": [true, {}]}], "a": {"k": "v\n"}, "é": []}"#;
        for value in [
            parse(text.as_bytes()).unwrap(),
            parse_compact(text.as_bytes(), 2).unwrap(),
        ] {
            let mut joined = String::new();
            value.canonical_pieces(&mut |piece| joined.push_str(piece));
            assert_eq!(joined, value.canonical());
        }
        assert_eq!(
            parse(text.as_bytes()).unwrap().canonical(),
            parse_compact(text.as_bytes(), 2).unwrap().canonical()
        );
    }

    #[test]
    fn nesting_is_bounded_at_64() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(
            parse(deep.as_bytes()).unwrap_err().what,
            ParseErrorKind::TooDeep
        );
        // Far deeper input must fail the same way, not overflow the stack.
        let abyss = "[".repeat(1_000_000);
        assert_eq!(
            parse(abyss.as_bytes()).unwrap_err().what,
            ParseErrorKind::TooDeep
        );
    }

    #[test]
    fn integer_length_is_bounded_like_python() {
        let long = "9".repeat(MAX_INT_DIGITS);
        assert!(parse(long.as_bytes()).is_ok());
        let longer = "9".repeat(MAX_INT_DIGITS + 1);
        assert_eq!(
            parse(longer.as_bytes()).unwrap_err().what,
            ParseErrorKind::IntegerTooLong
        );
    }

    #[test]
    fn pretty_keeps_non_ascii_readable() {
        let v = parse("{\"b\": [1], \"a\": \"caf\u{e9}\"}".as_bytes()).unwrap();
        assert_eq!(
            v.pretty(),
            "{\n  \"a\": \"caf\u{e9}\",\n  \"b\": [\n    1\n  ]\n}"
        );
    }
}
