//! `sig lsp` driven as an editor drives it: LSP messages over its stdin and stdout, with the
//! real daemon behind it.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};
use signet_tests::Home;

pub(crate) struct Editor {
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

    pub(crate) fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and returns its response, keeping what else arrives for `expect`.
    pub(crate) fn request(&mut self, method: &str, params: Value) -> Value {
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

    let (mut child, mut editor, init) = start_editor(
        &home,
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    let caps = &init["result"]["capabilities"];
    assert_eq!(caps["hoverProvider"], true, "{init}");
    assert_eq!(
        caps["executeCommandProvider"]["commands"][0],
        "signet.attest"
    );

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
        text.contains("**Signet: ok**")
            && text.contains(r"Alice \<alice@example.org\>")
            && text.contains(r"your own key \(ultimate\)"),
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

/// `sig lsp` started and initialized as an editor does; with the `initialize` response.
pub(crate) fn start_editor(home: &Home, init: Value) -> (std::process::Child, Editor, Value) {
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
    let initialized = editor.request("initialize", init);
    editor.notify("initialized", json!({}));
    (child, editor, initialized)
}

fn open(editor: &mut Editor, uri: &str) {
    editor.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": ""}}),
    );
    editor.diagnostics(uri);
}

fn attest_action(editor: &mut Editor, uri: &str) -> Value {
    let actions = editor.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri},
               "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
               "context": {"diagnostics": []}}),
    );
    actions["result"][0]["command"].clone()
}

#[test]
fn the_editors_attest_action_signs_only_the_bytes_it_showed_inside_the_workspace() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let workspace = std::fs::canonicalize(&home.root).unwrap().join("ws");
    std::fs::create_dir(&workspace).unwrap();
    let file = workspace.join("main.rs");
    std::fs::write(&file, b"fn main() {}\n").unwrap();
    let outside = home.file("outside.rs", b"fn outside() {}\n");
    let uri = format!("file://{}", file.display());
    let outside_uri = format!("file://{}", outside.display());
    let (_child, mut editor, _) = start_editor(
        &home,
        json!({"processId": null, "capabilities": {},
               "workspaceFolders": [{"uri": format!("file://{}", workspace.display()), "name": "ws"}]}),
    );
    open(&mut editor, &uri);
    open(&mut editor, &outside_uri);
    let serial = || home.read_repo()["data"]["serial"].clone();
    let before = serial();

    // The file changes on disk between showing the action and picking it: refused.
    let action = attest_action(&mut editor, &uri);
    assert_eq!(
        action["arguments"][0]["id"],
        signet_tests::content_id(b"fn main() {}\n")
    );
    std::fs::write(&file, b"fn main() { evil() }\n").unwrap();
    let done = editor.request(
        "workspace/executeCommand",
        json!({"command": action["command"], "arguments": action["arguments"]}),
    );
    let message = done["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("changed since it was shown"), "{done}");
    assert_eq!(serial(), before, "nothing was signed");

    // `ok` missing or null is not "ok".
    let mut argument = attest_action(&mut editor, &uri)["arguments"][0].clone();
    argument["ok"] = Value::Null;
    let done = editor.request(
        "workspace/executeCommand",
        json!({"command": "signet.attest", "arguments": [argument]}),
    );
    assert!(done.get("error").is_some(), "{done}");
    assert_eq!(serial(), before);

    // Outside the workspace folders: refused, even when open.
    let action = attest_action(&mut editor, &outside_uri);
    let done = editor.request(
        "workspace/executeCommand",
        json!({"command": action["command"], "arguments": action["arguments"]}),
    );
    let message = done["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("outside the workspace"), "{done}");
    assert_eq!(serial(), before);

    // The action as shown, on the bytes as shown: attested, those bytes.
    let action = attest_action(&mut editor, &uri);
    let done = editor.request(
        "workspace/executeCommand",
        json!({"command": action["command"], "arguments": action["arguments"]}),
    );
    assert!(done.get("error").is_none(), "{done}");
    home.sig(&["verify", file.to_str().unwrap()]).expect(0);
}

/// The README's configuration for Neovim 0.7 to 0.10, exactly as a user copies it.
fn readme_neovim_config() -> String {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
    )
    .unwrap();
    let after = &readme[readme
        .find("Neovim 0.7 to 0.10")
        .expect("the README's section")..];
    let block = &after[after.find("```lua\n").unwrap() + 7..];
    block[..block.find("```").unwrap()].to_owned()
}

/// After the config has attached `sig lsp`: wait for the diagnostic, ask for a hover, write
/// both down, quit.
const NEOVIM_CHECK: &str = r#"
local buf = vim.api.nvim_get_current_buf()
local lines = {}
vim.wait(15000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
for _, d in ipairs(vim.diagnostic.get(buf)) do
  table.insert(lines, "diagnostic " .. d.severity .. " " .. d.message:gsub("\n", " "))
end
local res = vim.lsp.buf_request_sync(buf, "textDocument/hover",
  { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = 0, character = 0 } }, 15000)
for _, r in pairs(res or {}) do
  if r.result then table.insert(lines, "hover " .. (r.result.contents.value or ""):gsub("\n", " ")) end
end
vim.fn.writefile(lines, os.getenv("OUT"))
vim.cmd("qa!")
"#;

#[test]
fn a_real_neovim_with_the_readmes_config_gets_the_diagnostic_and_the_hover() {
    let has_nvim = std::process::Command::new("nvim")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_nvim {
        signet_tests::skip(
            "a_real_neovim_with_the_readmes_config_gets_the_diagnostic_and_the_hover",
            "Neovim (nvim) is not installed (scripts/test.sh installs Debian's neovim)",
        );
        return;
    }
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let file = home.file("script.py", b"print('hello')\n");
    let init = home.file("init.lua", readme_neovim_config().as_bytes());
    let check = home.file("check.lua", NEOVIM_CHECK.as_bytes());
    let out = home.root.join("seen.txt");
    // `sig` as the README's config names it: on PATH.
    let sig_dir = signet_tests::bin("sig").parent().unwrap().to_owned();
    let path = std::env::join_paths(
        std::iter::once(sig_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let status = std::process::Command::new("nvim")
        .arg("--headless")
        .arg("-u")
        .arg(&init)
        .arg("-c")
        .arg(format!("luafile {}", check.display()))
        .arg(&file)
        .env("PATH", path)
        .env("OUT", &out)
        .env("SIGNET_HOME", &home.home)
        .current_dir(&home.root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let seen = std::fs::read_to_string(&out).unwrap();
    assert!(seen.contains("diagnostic 2 Signet: not verified"), "{seen}");
    assert!(
        seen.contains("hover **Signet: not verified**") && seen.contains("sha256:"),
        "{seen}"
    );
}

/// A user with no key yet is offered no attest action (it could only fail); once a key is
/// set up, the actions are there.
#[test]
fn no_attest_action_is_offered_without_a_key() {
    let home = Home::new();
    let file = home.file("main.rs", b"fn main() {}\n");
    let uri = format!("file://{}", file.display());
    let (_child, mut editor, _) =
        start_editor(&home, json!({"processId": null, "capabilities": {}}));
    open(&mut editor, &uri);
    let actions = |editor: &mut Editor| {
        editor.request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri},
                   "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                   "context": {"diagnostics": []}}),
        )["result"]
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(
        actions(&mut editor),
        0,
        "attest offered to a home with no key"
    );
    home.setup("Alice <alice@example.org>");
    assert_eq!(actions(&mut editor), 2);
}

/// A lockfile opened in the editor: a diagnostic per dependency not ok or not reviewed, on the
/// line that pins it (issue 26); saved again after a review, the reviewed one is gone.
#[test]
fn a_lockfile_shows_each_dependency_not_ok_or_not_reviewed_on_its_line() {
    let home = Home::new();
    home.setup("Alice <alice@example.org>");
    let tarball = signet_tests::fixture("packages/is-number-7.0.0.tgz");
    let tarball = tarball.as_str();
    home.sig(&[
        "attest",
        tarball,
        "--not-ok",
        "--reviewed",
        "--comment",
        "odd",
    ])
    .expect(0);
    let project = tempfile::tempdir().unwrap();
    let lock = project.path().join("package-lock.json");
    std::fs::copy(
        signet_tests::fixture("lockfiles/npm/package-lock.json"),
        &lock,
    )
    .unwrap();
    let text = std::fs::read_to_string(&lock).unwrap();
    let uri = format!("file://{}", lock.display());

    let (mut child, mut editor, _) = start_editor(
        &home,
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    editor.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "json", "version": 1, "text": text}}),
    );
    let diagnostics = editor.diagnostics(&uri);
    assert_eq!(diagnostics.len(), 3, "{diagnostics:#?}");
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap();
    let is_number = diagnostics
        .iter()
        .find(|d| d["message"].as_str().unwrap().contains("is-number 7.0.0"))
        .unwrap();
    assert_eq!(is_number["severity"], 1, "{is_number}");
    assert!(is_number["message"].as_str().unwrap().contains("NOT ok"));
    assert!(is_number["message"].as_str().unwrap().contains("odd"));
    let integrity = "sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741";
    assert_eq!(is_number["range"]["start"]["line"], line_of(integrity));
    let types = diagnostics
        .iter()
        .find(|d| d["message"].as_str().unwrap().contains("@types/node"))
        .unwrap();
    assert_eq!(types["severity"], 2, "{types}");
    assert!(types["message"].as_str().unwrap().contains("not reviewed"));

    home.sig(&["attest", tarball, "--ok", "--reviewed"])
        .expect(0);
    editor.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": uri}}),
    );
    let diagnostics = editor.diagnostics(&uri);
    assert_eq!(diagnostics.len(), 2, "{diagnostics:#?}");
    editor.request("shutdown", json!(null));
    editor.notify("exit", json!(null));
    child.wait().unwrap();
}
