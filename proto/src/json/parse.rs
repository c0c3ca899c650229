//! The strict parser: duplicate keys, nesting deeper than `MAX_DEPTH`, integers longer than
//! `MAX_INT_DIGITS`, NaN and lone surrogates are errors, never silently taken.

use super::*;

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
