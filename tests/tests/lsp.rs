//! `sig lsp` driven as an editor drives it: LSP messages over its stdin and stdout, with the
//! real daemon behind it.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};
use signet_tests::Home;

struct Editor {
    input: ChildStdin,
    messages: mpsc::Receiver<Value>,
    backlog: std::collections::VecDeque<Value>,
    next_id: i64,
}

impl Editor {
    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.input, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.input.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and returns its response, keeping what else arrives for `expect`.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.expect(&format!("the response to {method}"), |m| m["id"] == id)
    }

    /// The first message from the server that satisfies `want`; others stay for later.
    fn expect(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        if let Some(n) = self.backlog.iter().position(&want) {
            return self.backlog.remove(n).unwrap();
        }
        loop {
            let message = self
                .messages
                .recv_timeout(Duration::from_secs(15))
                .unwrap_or_else(|_| panic!("no {what} from sig lsp; unread: {:?}", self.backlog));
            if want(&message) {
                return message;
            }
            self.backlog.push_back(message);
        }
    }

    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let message = self.expect("publishDiagnostics", |m| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
        });
        message["params"]["diagnostics"].as_array().unwrap().clone()
    }
}

fn read_messages(output: impl std::io::Read + Send + 'static) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut output = BufReader::new(output);
        loop {
            let mut length = 0;
            loop {
                let mut line = String::new();
                if output.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(n) = line.strip_prefix("Content-Length: ") {
                    length = n.parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            output.read_exact(&mut body).unwrap();
            if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                return;
            }
        }
    });
    rx
}

#[test]
fn an_editor_session_diagnostics_hover_attest_and_pushed_updates() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let file = home.file("main.rs", b"fn main() {}\n");
    let uri = format!("file://{}", file.display());

    let mut child = home
        .sig_command(&["lsp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut editor = Editor {
        input: child.stdin.take().unwrap(),
        messages: read_messages(child.stdout.take().unwrap()),
        backlog: Default::default(),
        next_id: 0,
    };

    let init = editor.request(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    let caps = &init["result"]["capabilities"];
    assert_eq!(caps["hoverProvider"], true, "{init}");
    assert_eq!(
        caps["executeCommandProvider"]["commands"][0],
        "signet.attest"
    );
    editor.notify("initialized", json!({}));

    editor.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": "fn main() {}\n"}}),
    );
    let diagnostics = editor.diagnostics(&uri);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["severity"], 2);
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .unwrap()
            .contains("not verified")
    );

    let hover = editor.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}),
    );
    let text = hover["result"]["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("not verified") && text.contains("Nobody has attested"),
        "{text}"
    );

    let actions = editor.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri},
               "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
               "context": {"diagnostics": diagnostics}}),
    );
    let attest = actions["result"][0]["command"].clone();
    assert_eq!(attest["command"], "signet.attest", "{actions}");
    let done = editor.request(
        "workspace/executeCommand",
        json!({"command": attest["command"], "arguments": attest["arguments"]}),
    );
    assert!(done.get("error").is_none(), "{done}");
    // Attested with the user's own key: ok, so no diagnostics.
    assert!(editor.diagnostics(&uri).is_empty());
    let hover = editor.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}),
    );
    let text = hover["result"]["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("**Signet: ok**") && text.contains(r"Alice \<alice@example.org\>"),
        "{text}"
    );

    // A verdict changed elsewhere (the command line) is pushed to the editor unasked.
    home.attest(&file, false, "found a bug").expect(0);
    // (An empty set may come first: the daemon also tells of the editor's own attestation.)
    let pushed = editor.expect("pushed diagnostics", |m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["diagnostics"]
                .as_array()
                .is_some_and(|d| !d.is_empty())
    });
    let pushed = pushed["params"]["diagnostics"].as_array().unwrap().clone();
    assert_eq!(pushed.len(), 1, "{pushed:?}");
    assert_eq!(pushed[0]["severity"], 1);
    assert!(
        pushed[0]["message"]
            .as_str()
            .unwrap()
            .contains("found a bug"),
        "{pushed:?}"
    );

    editor.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    );
    assert!(editor.diagnostics(&uri).is_empty());
    let unknown = editor.request("textDocument/definition", json!({}));
    assert_eq!(unknown["error"]["code"], -32601);
    let shutdown = editor.request("shutdown", Value::Null);
    assert_eq!(shutdown["result"], Value::Null);
    assert!(shutdown.get("error").is_none());
    editor.notify("exit", Value::Null);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
