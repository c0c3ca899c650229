//! Canonical JSON: a strict parser and the encoder whose bytes Signet signs.
//!
//! The signed bytes of a value are exactly what Python's `json.dumps(value, sort_keys=True)`
//! prints (see `docs/FORMATS.md`, "Canonical bytes"). `serde_json` cannot be used for this:
//! it silently keeps the last of two duplicate keys, loses integers beyond 64 bits and formats
//! floats differently. So signed data goes through this module, and only through it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

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

/// Why a document is not acceptable JSON for signed data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {offset}")]
pub struct ParseError {
    pub offset: usize,
    pub what: ParseErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    #[error("unexpected end of input")]
    UnexpectedEnd,
    #[error("unexpected character {0:?}")]
    Unexpected(char),
    #[error("trailing characters after the JSON value")]
    Trailing,
    #[error("invalid UTF-8")]
    InvalidUtf8,
    #[error("invalid escape sequence")]
    InvalidEscape,
    #[error("unpaired UTF-16 surrogate in \\u escape")]
    LoneSurrogate,
    #[error("unescaped control character in string")]
    ControlCharacter,
    #[error("invalid number")]
    InvalidNumber,
    #[error("number out of range (infinite)")]
    NumberOutOfRange,
    #[error("integer longer than {MAX_INT_DIGITS} digits")]
    IntegerTooLong,
    #[error("duplicate key {0:?} in object")]
    DuplicateKey(String),
    #[error("nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// A decoded string: text, or UTF-16 units when it holds an unpaired surrogate.
enum Text {
    Str(String),
    Utf16(Vec<u16>),
}

/// What one escape sequence decodes to.
enum Unit {
    Char(char),
    Lone(u16),
}

/// Parses one JSON document strictly: RFC 8259 syntax, UTF-8, no duplicate keys, no `NaN` or
/// infinities, at most [`MAX_DEPTH`] levels of nesting. Whitespace may surround the value.
pub fn parse(input: &[u8]) -> Result<Value, ParseError> {
    parse_with(input, None)
}

/// [`parse`], keeping every array and object nested `level` deep (the top value is level 1) as
/// its canonical text ([`Value::Canonical`]) instead of a tree. A repository's attestations are
/// level 5 (envelope, `data`, `attestations`, a list, an attestation): kept as text they cost
/// about their size in memory, where a tree of small maps costs several times it. Every rule of
/// [`parse`] applies inside them all the same.
pub fn parse_compact(input: &[u8], level: usize) -> Result<Value, ParseError> {
    parse_with(input, Some(level))
}

fn parse_with(input: &[u8], compact_at: Option<usize>) -> Result<Value, ParseError> {
    let mut p = Parser {
        input,
        pos: 0,
        compact_at,
    };
    p.skip_ws();
    let value = p.value(0)?;
    p.skip_ws();
    if p.pos != input.len() {
        return Err(p.error(ParseErrorKind::Trailing));
    }
    Ok(value)
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    /// The nesting level whose containers are kept as canonical text.
    compact_at: Option<usize>,
}

impl Parser<'_> {
    fn error(&self, what: ParseErrorKind) -> ParseError {
        ParseError {
            offset: self.pos,
            what,
        }
    }

    fn unexpected(&self) -> ParseError {
        match self.rest_char() {
            Some(c) => self.error(ParseErrorKind::Unexpected(c)),
            None => self.error(ParseErrorKind::UnexpectedEnd),
        }
    }

    /// The character at the current position, for error messages.
    fn rest_char(&self) -> Option<char> {
        let rest = &self.input[self.pos..];
        let end = rest.len().min(4);
        (1..=end)
            .filter_map(|n| std::str::from_utf8(&rest[..n]).ok())
            .find_map(|s| s.chars().next())
            .or_else(|| rest.first().map(|&b| char::from(b)))
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect_literal(&mut self, literal: &[u8], value: Value) -> Result<Value, ParseError> {
        if self.input[self.pos..].starts_with(literal) {
            self.pos += literal.len();
            Ok(value)
        } else {
            Err(self.unexpected())
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        match self.peek() {
            None => Err(self.error(ParseErrorKind::UnexpectedEnd)),
            Some(b'{') => self.object(depth + 1).map(|v| self.compact(v, depth + 1)),
            Some(b'[') => self.array(depth + 1).map(|v| self.compact(v, depth + 1)),
            Some(b'"') => Ok(match self.text()? {
                Text::Str(s) => Value::String(s),
                Text::Utf16(units) => Value::Utf16(units),
            }),
            Some(b't') => self.expect_literal(b"true", Value::Bool(true)),
            Some(b'f') => self.expect_literal(b"false", Value::Bool(false)),
            Some(b'n') => self.expect_literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.unexpected()),
        }
    }

    fn compact(&self, value: Value, level: usize) -> Value {
        if self.compact_at == Some(level) {
            Value::Canonical(value.canonical().into_boxed_str())
        } else {
            value
        }
    }

    fn enter(&self, depth: usize) -> Result<(), ParseError> {
        if depth > MAX_DEPTH {
            Err(self.error(ParseErrorKind::TooDeep))
        } else {
            Ok(())
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.enter(depth)?;
        self.pos += 1; // '{'
        let mut map = Map::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected());
            }
            let key_at = self.pos;
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.unexpected());
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value(depth)?;
            if map.contains_key(&key) {
                return Err(ParseError {
                    offset: key_at,
                    what: ParseErrorKind::DuplicateKey(key),
                });
            }
            map.insert(key, value);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(map));
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.enter(depth)?;
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    /// A string that must be text (an object key): an unpaired surrogate is an error.
    fn string(&mut self) -> Result<String, ParseError> {
        let at = self.pos;
        match self.text()? {
            Text::Str(s) => Ok(s),
            Text::Utf16(_) => Err(ParseError {
                offset: at,
                what: ParseErrorKind::LoneSurrogate,
            }),
        }
    }

    /// A string value, as text, or as UTF-16 code units if it holds an unpaired surrogate.
    fn text(&mut self) -> Result<Text, ParseError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        let mut wide: Option<Vec<u16>> = None;
        loop {
            // Copy the longest run that needs no decoding in one go.
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            let run =
                std::str::from_utf8(&self.input[start..self.pos]).map_err(|e| ParseError {
                    offset: start + e.valid_up_to(),
                    what: ParseErrorKind::InvalidUtf8,
                })?;
            match &mut wide {
                None => out.push_str(run),
                Some(units) => units.extend(run.encode_utf16()),
            }
            match self.peek() {
                None => return Err(self.error(ParseErrorKind::UnexpectedEnd)),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(match wide {
                        None => Text::Str(out),
                        Some(units) => Text::Utf16(units),
                    });
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match (self.escape()?, &mut wide) {
                        (Unit::Char(c), None) => out.push(c),
                        (Unit::Char(c), Some(units)) => {
                            units.extend(c.encode_utf16(&mut [0; 2]).iter())
                        }
                        (Unit::Lone(unit), wide) => wide
                            .get_or_insert_with(|| {
                                std::mem::take(&mut out).encode_utf16().collect()
                            })
                            .push(unit),
                    }
                }
                Some(_) => return Err(self.error(ParseErrorKind::ControlCharacter)),
            }
        }
    }

    fn escape(&mut self) -> Result<Unit, ParseError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let first = self.hex4()?;
                return match first {
                    0xD800..=0xDBFF => {
                        // A pair when a low surrogate follows; else unpaired, as Python allows.
                        let rest = &self.input[self.pos..];
                        if !rest.starts_with(b"\\u") {
                            return Ok(Unit::Lone(first as u16));
                        }
                        let before = self.pos;
                        self.pos += 2;
                        let second = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            self.pos = before;
                            return Ok(Unit::Lone(first as u16));
                        }
                        let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                        Ok(Unit::Char(
                            char::from_u32(code).expect("a surrogate pair is a valid scalar"),
                        ))
                    }
                    0xDC00..=0xDFFF => Ok(Unit::Lone(first as u16)),
                    _ => Ok(Unit::Char(
                        char::from_u32(first).expect("a non-surrogate BMP code point"),
                    )),
                };
            }
            _ => return Err(self.error(ParseErrorKind::InvalidEscape)),
        };
        self.pos += 1;
        Ok(Unit::Char(c))
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self
            .input
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error(ParseErrorKind::InvalidEscape))?;
        let mut code = 0;
        for &d in digits {
            let v = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.error(ParseErrorKind::InvalidEscape))?;
            code = code * 16 + v;
        }
        self.pos += 4;
        Ok(code)
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let int_start = self.pos;
        match self.digits() {
            0 => return Err(self.error(ParseErrorKind::InvalidNumber)),
            n if n > 1 && self.input[int_start] == b'0' => {
                return Err(ParseError {
                    offset: int_start,
                    what: ParseErrorKind::InvalidNumber,
                });
            }
            _ => {}
        }
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error(ParseErrorKind::InvalidNumber));
            }
            is_float = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error(ParseErrorKind::InvalidNumber));
            }
            is_float = true;
        }
        let text = std::str::from_utf8(&self.input[start..self.pos]).expect("ASCII digits");
        if is_float {
            let f: f64 = text.parse().map_err(|_| ParseError {
                offset: start,
                what: ParseErrorKind::InvalidNumber,
            })?;
            if !f.is_finite() {
                return Err(ParseError {
                    offset: start,
                    what: ParseErrorKind::NumberOutOfRange,
                });
            }
            Ok(Value::Float(f))
        } else if self.pos - int_start > MAX_INT_DIGITS {
            Err(ParseError {
                offset: start,
                what: ParseErrorKind::IntegerTooLong,
            })
        } else if text == "-0" {
            Ok(Value::Int(Integer("0".into())))
        } else {
            Ok(Value::Int(Integer(text.to_owned())))
        }
    }
}

/// The one walk that makes canonical bytes: handed to `sink` in pieces, scalars and keys
/// written into `scratch` first.
fn write_canonical(value: &Value, sink: &mut dyn FnMut(&str), scratch: &mut String) {
    fn scalar(sink: &mut dyn FnMut(&str), scratch: &mut String, write: impl FnOnce(&mut String)) {
        scratch.clear();
        write(scratch);
        sink(scratch);
    }
    match value {
        Value::Null => sink("null"),
        Value::Bool(true) => sink("true"),
        Value::Bool(false) => sink("false"),
        Value::Int(i) => sink(&i.0),
        Value::Canonical(text) => sink(text),
        Value::Float(f) => scalar(sink, scratch, |out| write_float(*f, out)),
        Value::String(s) => scalar(sink, scratch, |out| write_ascii_string(s, out)),
        Value::Utf16(units) => scalar(sink, scratch, |out| write_ascii_units(units, out)),
        Value::Array(items) => {
            sink("[");
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    sink(", ");
                }
                write_canonical(item, sink, scratch);
            }
            sink("]");
        }
        Value::Object(map) => {
            sink("{");
            for (n, (key, item)) in map.iter().enumerate() {
                if n > 0 {
                    sink(", ");
                }
                scalar(sink, scratch, |out| write_ascii_string(key, out));
                sink(": ");
                write_canonical(item, sink, scratch);
            }
            sink("}");
        }
    }
}

fn write_pretty(value: &Value, indent: usize, out: &mut String) {
    const STEP: usize = 2;
    let pad = |out: &mut String, n: usize| out.extend(std::iter::repeat_n(' ', n));
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (n, item) in items.iter().enumerate() {
                pad(out, indent + STEP);
                write_pretty(item, indent + STEP, out);
                out.push_str(if n + 1 < items.len() { ",\n" } else { "\n" });
            }
            pad(out, indent);
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            out.push_str("{\n");
            for (n, (key, item)) in map.iter().enumerate() {
                pad(out, indent + STEP);
                write_readable_string(key, out);
                out.push_str(": ");
                write_pretty(item, indent + STEP, out);
                out.push_str(if n + 1 < map.len() { ",\n" } else { "\n" });
            }
            pad(out, indent);
            out.push('}');
        }
        Value::String(s) => write_readable_string(s, out),
        other => out.push_str(&other.canonical()),
    }
}

/// A string with unpaired surrogates as Python writes it: every unit past ASCII as `\\uXXXX`.
fn write_ascii_units(units: &[u16], out: &mut String) {
    out.push('"');
    for chunk in char::decode_utf16(units.iter().copied()) {
        match chunk {
            Ok(c) => {
                let mut one = String::new();
                write_ascii_string(c.encode_utf8(&mut [0; 4]), &mut one);
                out.push_str(&one[1..one.len() - 1]);
            }
            Err(lone) => {
                let _ = write!(out, "\\u{:04x}", lone.unpaired_surrogate());
            }
        }
    }
    out.push('"');
}

/// A string as Python's `json.dumps(ensure_ascii=True)` writes it.
fn write_ascii_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// A string for people: escapes only what JSON requires, keeps other characters as they are.
fn write_readable_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A finite double as Python's `repr(float)` prints it: the shortest digits that round-trip,
/// in fixed notation when the decimal exponent is in [-4, 16), else in exponent notation.
fn write_float(f: f64, out: &mut String) {
    debug_assert!(f.is_finite(), "the parser refuses NaN and infinities");
    if f == 0.0 {
        out.push_str(if f.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    // Rust's `{:e}` prints the shortest round-trip digits (`-1.2345e-7`, `1e16`), but where two
    // strings of that length round-trip it may pick either; Python picks the one closest to the
    // exact value. `{:.N e}` rounds the exact value correctly, so re-print at that length.
    let shortest = format!("{f:e}");
    let digits = shortest
        .split('e')
        .next()
        .unwrap_or("")
        .bytes()
        .filter(u8::is_ascii_digit)
        .count();
    let sci = format!("{f:.*e}", digits.saturating_sub(1));
    let (mantissa, exponent) = sci
        .split_once('e')
        .expect("LowerExp always has an exponent");
    let exponent: i32 = exponent.parse().expect("LowerExp exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|&c| c != '.').collect();
    out.push_str(sign);
    if (-4..16).contains(&exponent) {
        if exponent >= 0 {
            let int_len = exponent as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exponent - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exponent < 0 { '-' } else { '+' },
            exponent.abs()
        );
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
