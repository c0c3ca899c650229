//! `sig lsp`: a Language Server (LSP over stdin/stdout) in front of the daemon, so any LSP
//! editor shows whether the file being edited is vouched for.
//!
//! - an open file that is not verified gets a warning, one that is NOT ok an error, on line 1;
//! - hover names who vouched for it and what they said;
//! - code actions attest it (ok or not ok) with the user's key;
//! - verdicts are pushed again when they change (the daemon's `verdict.changed`), and on save.
//!
//! Threads: one reads the editor's messages, one reads the daemon's notifications; both feed
//! one loop that owns the daemon connection and writes to the editor.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read as _, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use signet_proto::api::{
    self, AttestParams, AttestResult, Target, Verdict, VerdictChanged, VerifyResult, method,
};
use signet_proto::formats::ContentId;
use signet_proto::paths::Locations;
use signet_proto::text::{markdown, shown};
use signet_proto::wire_path::AbsPath;

use crate::commands::exit;
use crate::connection::{self, Client};

/// Largest message taken from the editor (a didOpen carries the whole file).
const MAX_MESSAGE: usize = 256 << 20;
const ATTEST_COMMAND: &str = "signet.attest";

enum Event {
    Editor(Value),
    EditorGone,
    Verdict(VerdictChanged),
    DaemonGone,
}

/// Runs the server until the editor says `exit` or closes stdin.
pub fn run(loc: &Locations) -> anyhow::Result<i32> {
    let (events, inbox) = mpsc::channel();
    let from_editor = events.clone();
    std::thread::spawn(move || {
        let mut stdin = BufReader::new(io::stdin().lock());
        loop {
            match read_message(&mut stdin) {
                Ok(Some(message)) => {
                    if from_editor.send(Event::Editor(message)).is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    eprintln!("sig lsp: {e:#}");
                    break;
                }
            }
        }
        let _ = from_editor.send(Event::EditorGone);
    });
    let mut server = Server {
        loc: loc.clone(),
        out: io::stdout(),
        daemon: None,
        events,
        open: HashMap::new(),
        folders: Vec::new(),
        shutting_down: false,
    };
    for event in inbox {
        match event {
            Event::Editor(message) => {
                if let Some(code) = server.handle(message)? {
                    return Ok(code);
                }
            }
            // The editor went away without `exit`: LSP says that is exit code 1.
            Event::EditorGone => return Ok(exit::NOT_VERIFIED),
            Event::Verdict(change) => server.changed(change)?,
            Event::DaemonGone => {
                server.daemon = None;
                let paths: Vec<PathBuf> = server.open.keys().cloned().collect();
                for path in paths {
                    server.publish(&path)?;
                }
            }
        }
    }
    Ok(exit::OK)
}

/// The daemon: one connection for calls, one whose notifications a thread forwards.
struct Daemon {
    calls: Client,
    subscriptions: Client,
}

struct Server {
    loc: Locations,
    out: io::Stdout,
    daemon: Option<Daemon>,
    events: mpsc::Sender<Event>,
    /// Open documents: path → the URI the editor used for it.
    open: HashMap<PathBuf, String>,
    /// The workspace folders the editor named at `initialize` (canonical): attesting is
    /// refused outside them.
    folders: Vec<PathBuf>,
    shutting_down: bool,
}

impl Server {
    fn send(&mut self, message: Value) -> io::Result<()> {
        let body = serde_json::to_vec(&message).expect("JSON serializes");
        let mut out = self.out.lock();
        write!(out, "Content-Length: {}\r\n\r\n", body.len())?;
        out.write_all(&body)?;
        out.flush()
    }

    fn respond(&mut self, id: &Value, result: Result<Value, (i32, String)>) -> io::Result<()> {
        self.send(match result {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err((code, message)) => {
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
            }
        })
    }

    fn show(&mut self, kind: u8, message: impl Into<String>) -> io::Result<()> {
        self.send(json!({"jsonrpc": "2.0", "method": "window/showMessage",
            "params": {"type": kind, "message": message.into()}}))
    }

    /// The daemon, connecting (and starting it) when needed.
    fn daemon(&mut self) -> anyhow::Result<&mut Daemon> {
        if self.daemon.is_none() {
            let calls = connection::connect_or_start(&self.loc)?;
            let mut subscriptions = connection::connect_or_start(&self.loc)?;
            let mut reader = subscriptions.try_clone_reader()?;
            let events = self.events.clone();
            std::thread::spawn(move || {
                while let Ok(Some(message)) = reader.read_message() {
                    if message.get("method").and_then(Value::as_str)
                        == Some(method::VERDICT_CHANGED)
                        && let Some(params) = message.get("params")
                        && let Ok(change) = serde_json::from_value(params.clone())
                        && events.send(Event::Verdict(change)).is_err()
                    {
                        return;
                    }
                }
                let _ = events.send(Event::DaemonGone);
            });
            for path in self.open.keys() {
                let path = AbsPath::new(path.clone())?;
                subscriptions.send(method::SUBSCRIBE, &api::PathParams { path })?;
            }
            self.daemon = Some(Daemon {
                calls,
                subscriptions,
            });
        }
        Ok(self.daemon.as_mut().expect("connected above"))
    }

    fn verify(&mut self, path: &Path) -> anyhow::Result<VerifyResult> {
        let target = Target::Path(AbsPath::new(path)?);
        let result = self.daemon()?.calls.call(method::VERIFY, &target);
        match result {
            Err(connection::CallError::Io(_)) => {
                // The daemon went away: a new one is started on the next call.
                self.daemon = None;
                Ok(self.daemon()?.calls.call(method::VERIFY, &target)?)
            }
            other => Ok(other?),
        }
    }

    /// Returns the exit code once the editor says `exit`.
    fn handle(&mut self, message: Value) -> anyhow::Result<Option<i32>> {
        let method = message.get("method").and_then(Value::as_str).unwrap_or("");
        let params = message.get("params").cloned().unwrap_or(Value::Null);
        let Some(id) = message.get("id").cloned() else {
            return self.notification(method, &params);
        };
        if method.is_empty() {
            return Ok(None); // a response to something we sent: nothing expects one
        }
        let result = match method {
            "initialize" => {
                self.folders = workspace_folders(&params);
                Ok(json!({
                "capabilities": {
                    "textDocumentSync": {"openClose": true, "change": 0, "save": {"includeText": false}},
                    "hoverProvider": true,
                    "codeActionProvider": true,
                    "executeCommandProvider": {"commands": [ATTEST_COMMAND]},
                },
                "serverInfo": {"name": "sig lsp", "version": signet_proto::VERSION},
                }))
            }
            "shutdown" => {
                self.shutting_down = true;
                Ok(Value::Null)
            }
            "textDocument/hover" => self.hover(&params),
            "textDocument/codeAction" => Ok(self.code_actions(&params)),
            "workspace/executeCommand" => self.execute(&params),
            _ => Err((-32601, format!("sig lsp does not answer {method}"))),
        };
        self.respond(&id, result)?;
        Ok(None)
    }

    fn notification(&mut self, method: &str, params: &Value) -> anyhow::Result<Option<i32>> {
        let uri = params
            .pointer("/textDocument/uri")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let path = uri.as_deref().and_then(path_of_uri);
        match (method, path) {
            ("exit", _) => {
                return Ok(Some(if self.shutting_down {
                    exit::OK
                } else {
                    exit::NOT_VERIFIED
                }));
            }
            ("textDocument/didOpen", Some(path)) => {
                self.open
                    .insert(path.clone(), uri.expect("a path comes from a uri"));
                if let Ok(daemon) = self.daemon()
                    && let Ok(path) = AbsPath::new(path.clone())
                {
                    let _ = daemon
                        .subscriptions
                        .send(method::SUBSCRIBE, &api::PathParams { path });
                }
                self.publish(&path)?;
            }
            ("textDocument/didSave", Some(path)) if self.open.contains_key(&path) => {
                self.publish(&path)?;
            }
            ("textDocument/didClose", Some(path)) => {
                if let Some(uri) = self.open.remove(&path) {
                    self.send(
                        json!({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics",
                        "params": {"uri": uri, "diagnostics": []}}),
                    )?;
                }
            }
            _ => {}
        }
        Ok(None)
    }

    fn changed(&mut self, change: VerdictChanged) -> anyhow::Result<()> {
        if self.open.contains_key(&change.path) {
            self.publish(&change.path)?;
        }
        Ok(())
    }

    /// Sends the diagnostics of an open file: none when it is ok.
    fn publish(&mut self, path: &Path) -> anyhow::Result<()> {
        let Some(uri) = self.open.get(path).cloned() else {
            return Ok(());
        };
        let diagnostic = |severity: u8, message: String| {
            json!({
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                "severity": severity, "source": "signet", "message": message,
            })
        };
        let diagnostics = match self.verify(path) {
            Ok(r) => match r.verdict {
                Verdict::Ok => vec![],
                Verdict::Unverified => vec![diagnostic(2, unverified_message(&r))],
                Verdict::NotOk => vec![diagnostic(1, not_ok_message(&r))],
            },
            Err(e) => vec![diagnostic(
                3,
                format!("Signet could not verify this file: {e:#}"),
            )],
        };
        self.send(
            json!({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics",
            "params": {"uri": uri, "diagnostics": diagnostics}}),
        )?;
        Ok(())
    }

    fn hover(&mut self, params: &Value) -> Result<Value, (i32, String)> {
        let path = document_path(params)?;
        let r = self.verify(&path).map_err(|e| (-32603, format!("{e:#}")))?;
        Ok(json!({"contents": {"kind": "markdown", "value": hover_text(&r)}}))
    }

    fn code_actions(&mut self, params: &Value) -> Value {
        let Ok(path) = document_path(params) else {
            return json!([]);
        };
        let Ok(shown) = self.verify(&path) else {
            return json!([]);
        };
        let uri = params.pointer("/textDocument/uri").cloned();
        // The action carries the content id the editor was shown: it attests those bytes and
        // nothing else, whatever the file holds when the user picks it.
        let action = |title: &str, ok: bool| {
            json!({
                "title": title, "kind": "quickfix",
                "command": {"title": title, "command": ATTEST_COMMAND,
                    "arguments": [{"uri": uri, "id": shown.id, "ok": ok, "reviewed": true}]},
            })
        };
        let mut actions = Vec::new();
        if shown.verdict != Verdict::Ok {
            actions.push(action("Signet: attest this file (reviewed, ok)", true));
        }
        actions.push(action(
            "Signet: attest this file as NOT ok (reviewed)",
            false,
        ));
        Value::Array(actions)
    }

    fn execute(&mut self, params: &Value) -> Result<Value, (i32, String)> {
        if params.get("command").and_then(Value::as_str) != Some(ATTEST_COMMAND) {
            return Err((-32602, "unknown command".into()));
        }
        let refuse = |server: &mut Self, why: String| {
            let _ = server.show(1, format!("Signet: nothing was attested: {why}"));
            Err((-32602, why))
        };
        let argument = params.pointer("/arguments/0").cloned().unwrap_or_default();
        let usage = "signet.attest takes {uri, id, ok: true|false, reviewed: true|false}";
        let (Some(path), Some(id), Some(ok), Some(reviewed)) = (
            argument
                .get("uri")
                .and_then(Value::as_str)
                .and_then(path_of_uri),
            argument.get("id").and_then(Value::as_str),
            argument.get("ok").and_then(Value::as_bool),
            argument.get("reviewed").and_then(Value::as_bool),
        ) else {
            return refuse(self, usage.to_owned());
        };
        let Ok(id) = ContentId::parse(id) else {
            return refuse(self, usage.to_owned());
        };
        if !self.open.contains_key(&path) {
            return refuse(
                self,
                format!("{} is not open in the editor", path.display()),
            );
        }
        if !self.folders.is_empty() {
            let real = std::fs::canonicalize(&path).unwrap_or_default();
            if !self.folders.iter().any(|f| real.starts_with(f)) {
                return refuse(
                    self,
                    format!("{} is outside the workspace folders", path.display()),
                );
            }
        }
        // The file must still hold the bytes the editor showed.
        match self.verify(&path) {
            Ok(now) if now.id == id.as_str() => {}
            Ok(_) => {
                let _ = self.publish(&path);
                return refuse(
                    self,
                    format!(
                        "{} changed since it was shown; review it again",
                        path.display()
                    ),
                );
            }
            Err(e) => return refuse(self, format!("{e:#}")),
        }
        let p = AttestParams {
            target: Target::Id(id),
            ok,
            reviewed,
            comment: argument
                .get("comment")
                .and_then(Value::as_str)
                .unwrap_or("attested from the editor")
                .to_owned(),
            tty: None,
        };
        let attested: anyhow::Result<AttestResult> = self
            .daemon()
            .and_then(|d| Ok(d.calls.call(method::ATTEST, &p)?));
        match attested {
            Ok(r) => {
                let _ = self.show(3, format!("Signet: attested {} ({})", path.display(), r.id));
                let _ = self.publish(&path);
                Ok(Value::Null)
            }
            Err(e) => {
                let _ = self.show(1, format!("Signet: attest failed: {e:#}"));
                Err((-32603, format!("{e:#}")))
            }
        }
    }
}

/// The workspace folders of an `initialize` request (`workspaceFolders`, else `rootUri`,
/// else `rootPath`), canonical.
fn workspace_folders(params: &Value) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = params
        .get("workspaceFolders")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.get("uri").and_then(Value::as_str).and_then(path_of_uri))
        .collect();
    if folders.is_empty() {
        folders.extend(
            params
                .get("rootUri")
                .and_then(Value::as_str)
                .and_then(path_of_uri)
                .or_else(|| {
                    params
                        .get("rootPath")
                        .and_then(Value::as_str)
                        .map(PathBuf::from)
                }),
        );
    }
    folders
        .into_iter()
        .filter_map(|f| std::fs::canonicalize(f).ok())
        .collect()
}

fn document_path(params: &Value) -> Result<PathBuf, (i32, String)> {
    params
        .pointer("/textDocument/uri")
        .and_then(Value::as_str)
        .and_then(path_of_uri)
        .ok_or((-32602, "expected a file:// textDocument.uri".to_owned()))
}

/// Who made an attestation, for a diagnostic (plain text): the user id from outside escaped.
fn who(a: &api::AttestationView) -> String {
    let short = a.key.as_str();
    let short = &short[short.len().saturating_sub(16)..];
    if a.user_id.is_empty() {
        format!("[{short}]")
    } else {
        format!("{} [{short}]", shown(&a.user_id))
    }
}

fn unverified_message(r: &VerifyResult) -> String {
    let untrusted = r.attestations.iter().filter(|a| !a.trusted).count();
    let mut message = "Signet: not verified — no trusted key vouched for this file".to_owned();
    if untrusted > 0 {
        message.push_str(&format!(
            " ({untrusted} attestation(s) by keys you do not trust)"
        ));
    }
    message
}

fn not_ok_message(r: &VerifyResult) -> String {
    let against: Vec<String> = r
        .attestations
        .iter()
        .filter(|a| a.trusted && !a.ok && !a.revoked && !a.superseded)
        .map(|a| {
            if a.comment.is_empty() {
                who(a)
            } else {
                format!("{}: {}", who(a), shown(&a.comment))
            }
        })
        .collect();
    format!(
        "Signet: NOT ok — a trusted key says this file is not ok ({})",
        against.join("; ")
    )
}

fn hover_text(r: &VerifyResult) -> String {
    let verdict = match r.verdict {
        Verdict::Ok => "ok",
        Verdict::Unverified => "not verified",
        Verdict::NotOk => "NOT ok",
    };
    let mut text = format!("**Signet: {verdict}**\n\n`{}`\n", r.id);
    if r.attestations.is_empty() {
        text.push_str("\nNobody has attested this file.\n");
    }
    // User ids and comments come from anyone: Markdown-escaped, so that a remote cannot put
    // links, images or formatting in the user's editor.
    for a in &r.attestations {
        text.push_str(&format!(
            "\n- {} {}: {}{}{}{}{}",
            if a.trusted { "trusted" } else { "untrusted" },
            markdown(&who(a)),
            if a.ok { "ok" } else { "NOT ok" },
            if a.reviewed { ", reviewed" } else { "" },
            if a.revoked { " (key revoked)" } else { "" },
            if a.superseded {
                " (superseded by its key's newer word)"
            } else {
                ""
            },
            if a.comment.is_empty() {
                String::new()
            } else {
                format!(" — {}", markdown(&a.comment))
            }
        ));
    }
    text
}

/// One LSP message: `Content-Length` headers, a blank line, a JSON body. `None` at the end.
fn read_message(input: &mut impl BufRead) -> anyhow::Result<Option<Value>> {
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
        serde_json::from_slice(&body).context("a message that is not JSON")?,
    ))
}

/// The path of a `file://` URI, percent-decoded to the exact bytes (the `url` crate's rules).
fn path_of_uri(uri: &str) -> Option<PathBuf> {
    let url = url::Url::parse(uri).ok()?;
    if url.scheme() != "file" {
        return None;
    }
    url.to_file_path().ok()
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

    #[test]
    fn uris_and_paths_round_trip_any_bytes() {
        for raw in [
            &b"/tmp/a b/c%d.rs"[..],
            b"/tmp/\xff\xfebad",
            "/tmp/ünï".as_bytes(),
        ] {
            let path = PathBuf::from(OsString::from_vec(raw.to_vec()));
            assert_eq!(path_of_uri(&uri_of_path(&path).unwrap()), Some(path));
        }
        assert_eq!(
            path_of_uri("file:///home/me/My%20File.txt"),
            Some(PathBuf::from("/home/me/My File.txt"))
        );
        assert_eq!(path_of_uri("untitled:Untitled-1"), None);
        assert_eq!(path_of_uri("https://example.org/a"), None);
        assert_eq!(
            path_of_uri("file://localhost/home/me/a.rs"),
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
        let mut reader = io::Cursor::new(input.into_bytes());
        let message = read_message(&mut reader).unwrap().unwrap();
        assert_eq!(message["method"], "exit");
        assert!(read_message(&mut reader).unwrap().is_none());
        let huge = format!("Content-Length: {}\r\n\r\n", MAX_MESSAGE + 1);
        assert!(read_message(&mut io::Cursor::new(huge.into_bytes())).is_err());
    }
}
