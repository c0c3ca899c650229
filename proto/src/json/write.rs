//! The writers: the canonical bytes Signet signs (Python's `json.dumps(sort_keys=True)`, byte
//! for byte) and the readable form shown to people.

use super::*;

/// The one walk that makes canonical bytes: handed to `sink` in pieces, scalars and keys
/// written into `scratch` first.
pub(super) fn write_canonical(value: &Value, sink: &mut dyn FnMut(&str), scratch: &mut String) {
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

pub(super) fn write_pretty(value: &Value, indent: usize, out: &mut String) {
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

/// The escapes both writers share; `false` for a character they write each their own way.
fn write_short_escape(c: char, out: &mut String) -> bool {
    let escape = match c {
        '"' => "\\\"",
        '\\' => "\\\\",
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        _ => return false,
    };
    out.push_str(escape);
    true
}

/// A string as Python's `json.dumps(ensure_ascii=True)` writes it.
fn write_ascii_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        if write_short_escape(c, out) {
            continue;
        }
        match c {
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
        if write_short_escape(c, out) {
            continue;
        }
        match c {
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
