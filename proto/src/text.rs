//! Text from outside — user ids, comments, file names, servers' messages — made safe to show.
//!
//! Anyone can put anything in a user id or a comment, and a file in a tree another user writes
//! can have any name. Printed raw, an escape sequence can move the cursor, erase the verdict
//! line and print a fake one; a newline can add a line of its own; a bidirectional override
//! can make `ok` read as something else. So every such text goes through [`shown`] (terminals)
//! or [`markdown`] (editors) on its way out: control characters and bidi controls become
//! visible escapes (`\u{1b}`), never instructions.

use std::fmt;

/// Whether `c` would act on a terminal or reorder text instead of being shown.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() // C0 (newline and tab included), DEL, C1
        || matches!(c,
            '\u{061C}'                  // Arabic letter mark
            | '\u{200B}'..='\u{200F}'   // zero-width spaces and joiners, LRM, RLM
            | '\u{2028}' | '\u{2029}'   // line and paragraph separators
            | '\u{202A}'..='\u{202E}'   // embeddings and overrides
            | '\u{2060}'..='\u{2064}'   // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}'   // isolates
            | '\u{FEFF}'                // byte order mark
            | '\u{FFF9}'..='\u{FFFB}') // interlinear annotations
}

/// A text shown on one line with its unsafe characters escaped. Its `Display` never writes a
/// control character.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a>(pub &'a str);

/// `text`, made safe to print (see the module's documentation).
pub fn shown(text: &str) -> Shown<'_> {
    Shown(text)
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(is_unsafe) {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().expect("found a char here");
            write!(f, "\\u{{{:x}}}", c as u32)?;
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// `text` with its line breaks kept and every other unsafe character escaped: for whole
/// messages Signet composes, whose parts from outside have already been through [`shown`].
pub fn lines(text: &str) -> String {
    text.split('\n')
        .map(|line| shown(line).to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` as inert Markdown, for use within a line: shown as written, with no emphasis, links,
/// autolinks, images, HTML, entities or code spans taking effect.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in shown(text).to_string().chars() {
        // CommonMark: ASCII punctuation escaped with a backslash is text. These are the ones that
        // start something mid-line (`:` for autolinks such as http://…).
        if matches!(
            c,
            '\\' | '`'
                | '*'
                | '_'
                | '['
                | ']'
                | '('
                | ')'
                | '<'
                | '>'
                | '!'
                | '|'
                | '~'
                | '&'
                | '#'
                | ':'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// JSON text with every unsafe character (see [`is_unsafe`]) inside its strings written as a
/// `\\uXXXX` escape: the same JSON value, but nothing in it acts on a terminal. serde_json
/// escapes control characters already; bidi controls and line separators it leaves as they are.
pub fn json_escaped(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_unsafe(c) && !matches!(c, '\n' | '\t' | '\r') {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What went wrong with a file, in the one wording every command uses: "no such file",
/// "permission denied", else the system's words without their "(os error N)".
pub fn file_error(path: &str, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => format!("{path}: no such file"),
        std::io::ErrorKind::PermissionDenied => format!("{path}: permission denied"),
        _ => format!("{path}: {}", system_words(&e.to_string())),
    }
}

/// An error the system reported, for a sentence: lowercase, without the "(os error N)" that
/// std's io errors end in (a number no reader needs).
pub fn system_words(said: &str) -> String {
    let said = match said.rfind(" (os error ") {
        Some(at) if said.ends_with(')') => &said[..at],
        _ => said,
    };
    said.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_become_visible() {
        let hostile = "Mallory\u{1b}[2K\r\nfile /x is ok.\u{202e}kO\u{9b}1m\u{7f}";
        let text = shown(hostile).to_string();
        assert!(!text.chars().any(is_unsafe), "{text}");
        assert_eq!(
            text,
            "Mallory\\u{1b}[2K\\u{d}\\u{a}file /x is ok.\\u{202e}kO\\u{9b}1m\\u{7f}"
        );
        assert_eq!(
            shown("Ålice <a@example.org> 日本").to_string(),
            "Ålice <a@example.org> 日本"
        );
    }

    #[test]
    fn json_stays_json() {
        let value = serde_json::json!({"c": "a\u{202e}b\u{2028}c\u{1b}d\ne"});
        let text = json_escaped(&serde_json::to_string_pretty(&value).unwrap());
        assert!(!text.chars().any(|c| is_unsafe(c) && c != '\n'), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn markdown_is_inert() {
        let text = markdown("![x](http://evil/p.png) **b** <img src=x> `c` [l](u)\n# h");
        assert_eq!(
            text,
            r"\!\[x\]\(http\://evil/p.png\) \*\*b\*\* \<img src=x\> \`c\` \[l\]\(u\)\\u{a}\# h"
        );
    }
}
