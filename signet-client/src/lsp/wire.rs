//! The editor's side of the wire: LSP messages read from stdin with a bound on their size
//! (lsp-server's own reader allocates whatever `Content-Length` says), and `file://` URIs.

use std::io::{BufRead, Read as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use lsp_server::Message;

/// Largest message taken from the editor (a didOpen carries the whole file).
pub(super) const MAX_MESSAGE: usize = 256 << 20;

/// One LSP message: `Content-Length` headers, a blank line, a JSON body. `None` at the end.
pub(super) fn read_message(input: &mut impl BufRead) -> anyhow::Result<Option<Message>> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if input.by_ref().take(4096).read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = Some(
                value
                    .trim()
                    .parse::<usize>()
                    .context("bad Content-Length")?,
            );
        }
    }
    let Some(length) = length else {
        bail!("a message without Content-Length");
    };
    if length > MAX_MESSAGE {
        bail!("a message of {length} bytes; the most sig lsp takes is {MAX_MESSAGE}");
    }
    let mut body = vec![0; length];
    input.read_exact(&mut body)?;
    Ok(Some(
        serde_json::from_slice(&body).context("a message that is not LSP JSON-RPC")?,
    ))
}

/// The path of a `file://` URI, percent-decoded to the exact bytes (the `url` crate's rules).
pub(super) fn path_of_uri(uri: &url::Url) -> Option<PathBuf> {
    if uri.scheme() != "file" {
        return None;
    }
    uri.to_file_path().ok()
}

/// A `file://` URI for an absolute path, percent-encoding what URIs cannot hold.
pub fn uri_of_path(path: &Path) -> Option<String> {
    url::Url::from_file_path(path).ok().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt as _;

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).unwrap()
    }

    #[test]
    fn uris_and_paths_round_trip_any_bytes() {
        for raw in [
            &b"/tmp/a b/c%d.rs"[..],
            b"/tmp/\xff\xfebad",
            "/tmp/ünï".as_bytes(),
        ] {
            let path = PathBuf::from(OsString::from_vec(raw.to_vec()));
            assert_eq!(path_of_uri(&url(&uri_of_path(&path).unwrap())), Some(path));
        }
        assert_eq!(
            path_of_uri(&url("file:///home/me/My%20File.txt")),
            Some(PathBuf::from("/home/me/My File.txt"))
        );
        assert_eq!(path_of_uri(&url("untitled:Untitled-1")), None);
        assert_eq!(path_of_uri(&url("https://example.org/a")), None);
        assert_eq!(
            path_of_uri(&url("file://localhost/home/me/a.rs")),
            Some(PathBuf::from("/home/me/a.rs"))
        );
    }

    #[test]
    fn messages_are_framed_by_content_length() {
        let body = r#"{"jsonrpc":"2.0","method":"exit"}"#;
        let input = format!(
            "Content-Length: {}\r\nContent-Type: application/vscode-jsonrpc\r\n\r\n{body}",
            body.len()
        );
        let mut reader = std::io::Cursor::new(input.into_bytes());
        let message = read_message(&mut reader).unwrap().unwrap();
        assert!(matches!(message, Message::Notification(n) if n.method == "exit"));
        assert!(read_message(&mut reader).unwrap().is_none());
        let huge = format!("Content-Length: {}\r\n\r\n", MAX_MESSAGE + 1);
        assert!(read_message(&mut std::io::Cursor::new(huge.into_bytes())).is_err());
    }
}
