//! `sig lsp`: a Language Server (LSP over stdin/stdout) in front of the daemon, so any LSP
//! editor shows whether the file being edited is vouched for.
//!
//! - an open file that is not verified gets a warning, one that is NOT ok an error, on line 1;
//! - hover names who vouched for it and what they said;
//! - code actions attest it (ok or not ok) with the user's key;
//! - verdicts are pushed again when they change (the daemon's `verdict.changed`), and on save.
//!
//! Messages are lsp-server's, their params and results lsp-types'; `wire` reads them with a
//! bound on size. Threads: one reads the editor's messages, one reads the daemon's
//! notifications; both feed one loop that owns the daemon connection and writes to the editor.

mod show;
mod wire;

pub use wire::uri_of_path;

use std::collections::HashMap;
use std::io::{self, BufReader};
use std::path::PathBuf;
use std::sync::mpsc;

use lsp_server::{ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument, Notification as _,
    PublishDiagnostics, ShowMessage,
};
use lsp_types::request::{
    CodeActionRequest, ExecuteCommand, HoverRequest, Initialize, Request as _, Shutdown,
};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams,
    CodeActionProviderCapability, Diagnostic, DiagnosticSeverity, ExecuteCommandOptions,
    ExecuteCommandParams, Hover, HoverContents, HoverParams, HoverProviderCapability,
    InitializeParams, InitializeResult, MarkupContent, MarkupKind, MessageType,
    PublishDiagnosticsParams, SaveOptions, ServerCapabilities, ServerInfo, ShowMessageParams,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, Url,
};
use serde::Deserialize;
use serde_json::{Value, json};
use signet_proto::api::{
    self, AttestParams, AttestResult, Target, Verdict, VerdictChanged, VerifyResult, method,
};
use signet_proto::formats::ContentId;
use signet_proto::paths::Locations;
use signet_proto::wire_path::AbsPath;

use crate::commands::exit;
use crate::connection::{self, Client};
use wire::path_of_uri;

const ATTEST_COMMAND: &str = "signet.attest";

enum Event {
    Editor(Message),
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
            match wire::read_message(&mut stdin) {
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
                let paths: Vec<AbsPath> = server.open.keys().cloned().collect();
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

/// An error answered to the editor: an LSP error code and a message.
type Refusal = (ErrorCode, String);

/// The argument of the attest command, as the code action made it.
#[derive(Deserialize)]
struct AttestArgument {
    uri: Url,
    /// The content id the editor was shown: only those bytes are attested.
    id: String,
    ok: bool,
    reviewed: bool,
    comment: Option<String>,
}

struct Server {
    loc: Locations,
    out: io::Stdout,
    daemon: Option<Daemon>,
    events: mpsc::Sender<Event>,
    /// Open documents: path → the URI the editor used for it.
    open: HashMap<AbsPath, Url>,
    /// The workspace folders the editor named at `initialize` (canonical): attesting is
    /// refused outside them.
    folders: Vec<PathBuf>,
    shutting_down: bool,
}

impl Server {
    fn send(&mut self, message: impl Into<Message>) -> io::Result<()> {
        message.into().write(&mut self.out.lock())
    }

    fn notify<N: lsp_types::notification::Notification>(
        &mut self,
        params: N::Params,
    ) -> io::Result<()> {
        self.send(Notification::new(N::METHOD.to_owned(), params))
    }

    fn show(&mut self, typ: MessageType, message: impl Into<String>) -> io::Result<()> {
        let message = message.into();
        self.notify::<ShowMessage>(ShowMessageParams { typ, message })
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
                let path = path.clone();
                subscriptions.send::<method::Subscribe>(&api::PathParams { path })?;
            }
            self.daemon = Some(Daemon {
                calls,
                subscriptions,
            });
        }
        Ok(self.daemon.as_mut().expect("connected above"))
    }

    fn verify(&mut self, path: &AbsPath) -> anyhow::Result<VerifyResult> {
        let target = Target::Path(path.clone());
        let result = self.daemon()?.calls.call::<method::Verify>(&target);
        match result {
            Err(connection::CallError::Io(_)) => {
                // The daemon went away: a new one is started on the next call.
                self.daemon = None;
                Ok(self.daemon()?.calls.call::<method::Verify>(&target)?)
            }
            other => Ok(other?),
        }
    }

    /// Whether this home has a key to attest with: without one, no attest action is offered
    /// (it could only fail).
    fn can_attest(&mut self) -> bool {
        let Ok(daemon) = self.daemon() else {
            return false;
        };
        daemon
            .calls
            .call::<method::Status>(&api::NoParams)
            .is_ok_and(|s| s.key.is_some())
    }

    /// Returns the exit code once the editor says `exit`.
    fn handle(&mut self, message: Message) -> anyhow::Result<Option<i32>> {
        match message {
            Message::Request(request) => {
                let id = request.id.clone();
                let response = match self.request(request) {
                    Ok(result) => Response::new_ok(id, result),
                    Err((code, message)) => Response::new_err(id, code as i32, message),
                };
                self.send(response)?;
                Ok(None)
            }
            Message::Notification(n) => self.notification(n),
            Message::Response(_) => Ok(None), // to something we sent: nothing expects one
        }
    }

    fn request(&mut self, request: Request) -> Result<Value, Refusal> {
        fn params<P: serde::de::DeserializeOwned>(request: Request) -> Result<P, Refusal> {
            serde_json::from_value(request.params).map_err(|e| {
                let why = format!("invalid params for {}: {e}", request.method);
                (ErrorCode::InvalidParams, why)
            })
        }
        fn answer(result: impl serde::Serialize) -> Result<Value, Refusal> {
            Ok(serde_json::to_value(result).expect("LSP types serialize"))
        }
        match request.method.as_str() {
            Initialize::METHOD => answer(self.initialize(params(request)?)),
            Shutdown::METHOD => {
                self.shutting_down = true;
                Ok(Value::Null)
            }
            HoverRequest::METHOD => answer(self.hover(params(request)?)?),
            CodeActionRequest::METHOD => answer(self.code_actions(params(request)?)),
            ExecuteCommand::METHOD => self.execute(params(request)?),
            other => Err((
                ErrorCode::MethodNotFound,
                format!("sig lsp does not answer {other}"),
            )),
        }
    }

    fn initialize(&mut self, p: InitializeParams) -> InitializeResult {
        self.folders = workspace_folders(&p);
        let sync = TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::NONE),
            save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                include_text: Some(false),
            })),
            ..Default::default()
        };
        InitializeResult {
            capabilities: ServerCapabilities {
                text_document_sync: Some(TextDocumentSyncCapability::Options(sync)),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: vec![ATTEST_COMMAND.to_owned()],
                    ..Default::default()
                }),
                ..Default::default()
            },
            server_info: Some(ServerInfo {
                name: "sig lsp".into(),
                version: Some(signet_proto::VERSION.into()),
            }),
        }
    }

    fn notification(&mut self, n: Notification) -> anyhow::Result<Option<i32>> {
        /// The document a notification is about, when it is a file.
        fn file(uri: &Url) -> Option<AbsPath> {
            path_of_uri(uri).and_then(|p| AbsPath::new(p).ok())
        }
        match n.method.as_str() {
            "exit" => {
                return Ok(Some(if self.shutting_down {
                    exit::OK
                } else {
                    exit::NOT_VERIFIED
                }));
            }
            DidOpenTextDocument::METHOD => {
                let Ok(p) =
                    n.extract::<lsp_types::DidOpenTextDocumentParams>(DidOpenTextDocument::METHOD)
                else {
                    return Ok(None);
                };
                let Some(path) = file(&p.text_document.uri) else {
                    return Ok(None);
                };
                self.open.insert(path.clone(), p.text_document.uri);
                if let Ok(daemon) = self.daemon() {
                    let subscribe = api::PathParams { path: path.clone() };
                    let _ = daemon.subscriptions.send::<method::Subscribe>(&subscribe);
                }
                self.publish(&path)?;
            }
            DidSaveTextDocument::METHOD => {
                if let Ok(p) =
                    n.extract::<lsp_types::DidSaveTextDocumentParams>(DidSaveTextDocument::METHOD)
                    && let Some(path) = file(&p.text_document.uri)
                    && self.open.contains_key(&path)
                {
                    self.publish(&path)?;
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(p) =
                    n.extract::<lsp_types::DidCloseTextDocumentParams>(DidCloseTextDocument::METHOD)
                    && let Some(path) = file(&p.text_document.uri)
                    && let Some(uri) = self.open.remove(&path)
                {
                    self.notify::<PublishDiagnostics>(PublishDiagnosticsParams {
                        uri,
                        diagnostics: vec![],
                        version: None,
                    })?;
                }
            }
            _ => {}
        }
        Ok(None)
    }

    fn changed(&mut self, change: VerdictChanged) -> anyhow::Result<()> {
        if let Ok(path) = AbsPath::new(change.path)
            && self.open.contains_key(&path)
        {
            self.publish(&path)?;
        }
        Ok(())
    }

    /// Sends the diagnostics of an open file: none when it is ok. A lockfile's are its
    /// dependencies', each on its line.
    fn publish(&mut self, path: &AbsPath) -> anyhow::Result<()> {
        let Some(uri) = self.open.get(path).cloned() else {
            return Ok(());
        };
        if let Some(kind) = crate::lockfile::Kind::of(path.as_path()) {
            let diagnostics = match self.lockfile_diagnostics(path, kind) {
                Ok(d) => d,
                Err(e) => vec![Diagnostic {
                    severity: Some(DiagnosticSeverity::INFORMATION),
                    source: Some("signet".into()),
                    message: format!("Signet could not check this lockfile: {e:#}"),
                    ..Default::default()
                }],
            };
            self.notify::<PublishDiagnostics>(PublishDiagnosticsParams {
                uri,
                diagnostics,
                version: None,
            })?;
            return Ok(());
        }
        let diagnostic = |severity, message| Diagnostic {
            severity: Some(severity),
            source: Some("signet".into()),
            message,
            ..Default::default()
        };
        let diagnostics = match self.verify(path) {
            Ok(r) => match r.verdict {
                Verdict::Ok => vec![],
                Verdict::Unverified => vec![diagnostic(
                    DiagnosticSeverity::WARNING,
                    show::unverified_message(&r),
                )],
                Verdict::NotOk => vec![diagnostic(
                    DiagnosticSeverity::ERROR,
                    show::not_ok_message(&r),
                )],
            },
            Err(e) => vec![diagnostic(
                DiagnosticSeverity::INFORMATION,
                format!("Signet could not verify this file: {e:#}"),
            )],
        };
        self.notify::<PublishDiagnostics>(PublishDiagnosticsParams {
            uri,
            diagnostics,
            version: None,
        })?;
        Ok(())
    }

    /// A diagnostic per dependency not ok or not reviewed, on the line that pins it: judged as
    /// `sig deps` judges, by the project's `signet.toml` when it has one (its repositories are
    /// followed by `sig deps`, not by the editor).
    fn lockfile_diagnostics(
        &mut self,
        path: &AbsPath,
        kind: crate::lockfile::Kind,
    ) -> anyhow::Result<Vec<Diagnostic>> {
        use crate::commands::deps::{Standing, ask, judge};
        let lock = crate::lockfile::read(path.as_path(), kind)?;
        let text = std::fs::read_to_string(path.as_path()).unwrap_or_default();
        let project = crate::project::find(path.as_path()).ok().flatten();
        let policy = project.as_ref().map(|p| &p.policy);
        let locks = [lock];
        let (answers, _) = ask(&mut self.daemon()?.calls, &locks, policy)?;
        let mut diagnostics = Vec::new();
        for dep in &locks[0].dependencies {
            let judged = judge(dep, &answers);
            let (severity, message) = match &judged.standing {
                Standing::Judged(Verdict::NotOk) => {
                    (DiagnosticSeverity::ERROR, show::dependency_message(&judged))
                }
                Standing::Judged(Verdict::Unverified) => (
                    DiagnosticSeverity::WARNING,
                    show::dependency_message(&judged),
                ),
                _ => continue,
            };
            let line = show::line_pinning(&text, dep.ids()).unwrap_or(0);
            let at = lsp_types::Position::new(line as u32, 0);
            diagnostics.push(Diagnostic {
                range: lsp_types::Range::new(at, lsp_types::Position::new(line as u32, u32::MAX)),
                severity: Some(severity),
                source: Some("signet".into()),
                message,
                ..Default::default()
            });
        }
        Ok(diagnostics)
    }

    fn hover(&mut self, p: HoverParams) -> Result<Hover, Refusal> {
        let path = document(&p.text_document_position_params.text_document.uri)?;
        let r = self
            .verify(&path)
            .map_err(|e| (ErrorCode::InternalError, format!("{e:#}")))?;
        Ok(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: show::hover_text(&r),
            }),
            range: None,
        })
    }

    fn code_actions(&mut self, p: CodeActionParams) -> Vec<CodeActionOrCommand> {
        let uri = p.text_document.uri;
        let Ok(path) = document(&uri) else {
            return vec![];
        };
        let Ok(shown) = self.verify(&path) else {
            return vec![];
        };
        if !self.can_attest() {
            return vec![];
        }
        // The action carries the content id the editor was shown: it attests those bytes and
        // nothing else, whatever the file holds when the user picks it.
        let action = |title: &str, ok: bool| {
            let argument = json!({"uri": uri, "id": shown.id, "ok": ok, "reviewed": true});
            CodeActionOrCommand::CodeAction(CodeAction {
                title: title.into(),
                kind: Some(CodeActionKind::QUICKFIX),
                command: Some(lsp_types::Command {
                    title: title.into(),
                    command: ATTEST_COMMAND.into(),
                    arguments: Some(vec![argument]),
                }),
                ..Default::default()
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
        actions
    }

    fn execute(&mut self, p: ExecuteCommandParams) -> Result<Value, Refusal> {
        if p.command != ATTEST_COMMAND {
            return Err((ErrorCode::InvalidParams, "unknown command".into()));
        }
        let refuse = |server: &mut Self, why: String| {
            let _ = server.show(
                MessageType::ERROR,
                format!("Signet: nothing was attested: {why}"),
            );
            Err((ErrorCode::InvalidParams, why))
        };
        let usage = "signet.attest takes {uri, id, ok: true|false, reviewed: true|false}";
        let argument = p.arguments.into_iter().next().unwrap_or_default();
        let Ok(argument) = serde_json::from_value::<AttestArgument>(argument) else {
            return refuse(self, usage.to_owned());
        };
        let (Some(path), Ok(id)) = (
            path_of_uri(&argument.uri).and_then(|p| AbsPath::new(p).ok()),
            ContentId::parse(&argument.id),
        ) else {
            return refuse(self, usage.to_owned());
        };
        if let Err(why) = self.attestable(&path, &id) {
            return refuse(self, why);
        }
        let p = AttestParams {
            target: Target::Id(id),
            word: api::Word {
                ok: argument.ok,
                reviewed: argument.reviewed,
                comment: argument
                    .comment
                    .unwrap_or_else(|| "attested from the editor".into()),
                subject: None,
                criteria: Vec::new(),
                tty: None,
            },
        };
        let attested: anyhow::Result<AttestResult> = self
            .daemon()
            .and_then(|d| Ok(d.calls.call::<method::Attest>(&p)?));
        match attested {
            Ok(r) => {
                let done = format!("Signet: attested {} ({})", path.display(), r.id);
                let _ = self.show(MessageType::INFO, done);
                let _ = self.publish(&path);
                Ok(Value::Null)
            }
            Err(e) => {
                let _ = self.show(MessageType::ERROR, format!("Signet: attest failed: {e:#}"));
                Err((ErrorCode::InternalError, format!("{e:#}")))
            }
        }
    }

    /// Whether the editor may attest `id` for `path`: the file is open, inside the workspace,
    /// and still holds the bytes the editor showed.
    fn attestable(&mut self, path: &AbsPath, id: &ContentId) -> Result<(), String> {
        if !self.open.contains_key(path) {
            return Err(format!("{} is not open in the editor", path.display()));
        }
        if !self.folders.is_empty() {
            let real = std::fs::canonicalize(path).unwrap_or_default();
            if !self.folders.iter().any(|f| real.starts_with(f)) {
                return Err(format!(
                    "{} is outside the workspace folders",
                    path.display()
                ));
            }
        }
        match self.verify(path) {
            Ok(now) if now.id == id.as_str() => Ok(()),
            Ok(_) => {
                let _ = self.publish(path);
                Err(format!(
                    "{} changed since it was shown; review it again",
                    path.display()
                ))
            }
            Err(e) => Err(format!("{e:#}")),
        }
    }
}

/// The workspace folders of an `initialize` request (`workspaceFolders`, else `rootUri`,
/// else `rootPath`), canonical.
#[allow(deprecated)] // rootUri and rootPath: older editors send only those
fn workspace_folders(p: &InitializeParams) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = p
        .workspace_folders
        .iter()
        .flatten()
        .filter_map(|f| path_of_uri(&f.uri))
        .collect();
    if folders.is_empty() {
        folders.extend(
            p.root_uri
                .as_ref()
                .and_then(path_of_uri)
                .or_else(|| p.root_path.as_ref().map(PathBuf::from)),
        );
    }
    folders
        .into_iter()
        .filter_map(|f| std::fs::canonicalize(f).ok())
        .collect()
}

fn document(uri: &Url) -> Result<AbsPath, Refusal> {
    path_of_uri(uri).and_then(|p| AbsPath::new(p).ok()).ok_or((
        ErrorCode::InvalidParams,
        "expected a file:// textDocument.uri".to_owned(),
    ))
}
