//! Manual pages from the same clap definition as `--help`: `sig(1)` and one page per command
//! (`sig-verify(1)`, `sig-trust-add(1)`, …), each with the examples and exit codes its `--help`
//! ends with, and the environment, files and related pages every command shares.

use std::io::Write as _;

/// One manual page: its name (`sig-trust-add`) and its roff source.
pub struct Page {
    pub name: String,
    pub roff: Vec<u8>,
}

/// Every page: `sig` first, then each command, depth first (`help` left out).
pub fn pages(root: clap::Command) -> Vec<Page> {
    let mut root = root.disable_help_subcommand(true);
    root.build();
    let mut all = Vec::new();
    collect(&root, &mut all);
    let names: Vec<String> = all.iter().map(page_name).collect();
    all.iter()
        .map(|cmd| Page {
            name: page_name(cmd),
            roff: render(cmd, &names),
        })
        .collect()
}

fn collect(cmd: &clap::Command, all: &mut Vec<clap::Command>) {
    all.push(cmd.clone());
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, all);
    }
}

/// `sig`, or `sig-trust-add` for `sig trust add` (clap's display name once built).
fn page_name(cmd: &clap::Command) -> String {
    cmd.get_display_name().unwrap_or(cmd.get_name()).to_owned()
}

/// What a command's `--help` ends with, by the section it belongs in.
struct AfterHelp {
    examples: Vec<String>,
    exit_status: Option<String>,
    notes: Vec<String>,
}

fn after_help(cmd: &clap::Command) -> AfterHelp {
    let text = cmd
        .get_after_long_help()
        .or(cmd.get_after_help())
        .map(|t| t.to_string())
        .unwrap_or_default();
    let mut parts = AfterHelp {
        examples: Vec::new(),
        exit_status: None,
        notes: Vec::new(),
    };
    for paragraph in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        if paragraph.starts_with("Exit codes") {
            parts.exit_status = Some(paragraph.to_owned());
        } else if paragraph.starts_with("Example") {
            // "Examples:" itself is the section's title.
            let body = paragraph.split_once('\n').map_or("", |(_, rest)| rest);
            parts.examples.push(body.to_owned());
        } else {
            parts.notes.push(paragraph.to_owned());
        }
    }
    parts
}

/// Text as roff reads it: a backslash is escaped, and a line that would start a request
/// (`.` or `'`) is not one.
fn escape(text: &str) -> String {
    text.replace('\\', "\\e")
        .lines()
        .map(|line| {
            if line.starts_with(['.', '\'']) {
                format!("\\&{line}")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn section(out: &mut Vec<u8>, title: &str, paragraphs: &[String]) {
    writeln!(out, ".SH \"{title}\"").unwrap();
    for p in paragraphs {
        writeln!(out, ".PP\n{}", escape(p)).unwrap();
    }
}

fn preformatted(out: &mut Vec<u8>, title: &str, blocks: &[String]) {
    writeln!(out, ".SH \"{title}\"").unwrap();
    for b in blocks {
        writeln!(out, ".PP\n.nf\n{}\n.fi", escape(b)).unwrap();
    }
}

const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "SIGNET_HOME",
        "The home: keys, repository, remotes, trust and settings (default ~/.signet). Also --home.",
    ),
    (
        "SIGNET_SOCKET",
        "The daemon's socket (default $XDG_RUNTIME_DIR/signet/signetd.sock for the default home, \
         else $SIGNET_HOME/signetd.sock). Also --socket.",
    ),
    (
        "NO_COLOR",
        "Set to anything: no colour, as --no-color. Colour is only ever used on a terminal.",
    ),
    (
        "GNUPGHOME",
        "The GnuPG home whose key `sig setup KEYID` uses and signs with.",
    ),
];

const FILES: &[(&str, &str)] = &[
    (
        "~/.signet/config.json",
        "settings (sig config); absent means defaults",
    ),
    (
        "~/.signet/repo/",
        "your repository as published: repo.json and key.asc (never a secret)",
    ),
    (
        "~/.signet/keys/",
        "your secret key (secret.asc, 0600), or which GnuPG key signs (gpg.json); retired keys",
    ),
    (
        "~/.signet/remotes/NAME/",
        "the last good copy of each remote, and its record (pinned key, serial)",
    ),
    (
        "~/.signet/trust.json",
        "the keys you trust or distrust, with when and why",
    ),
    (
        "~/.signet/signetd.log",
        "the daemon's log, when sig started it",
    ),
];

fn render(cmd: &clap::Command, all: &[String]) -> Vec<u8> {
    let name = page_name(cmd);
    let mut out = Vec::new();
    // Name, synopsis, description, options and commands as clap_mangen writes them.
    let man = clap_mangen::Man::new(cmd.clone()).date("");
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out).unwrap();
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut out).unwrap();
    }
    let help = after_help(cmd);
    if !help.notes.is_empty() {
        section(&mut out, "NOTES", &help.notes);
    }
    let examples = if help.examples.is_empty() {
        // A command with commands of its own: its examples are theirs.
        let subs: Vec<String> = cmd
            .get_subcommands()
            .map(|s| format!("See {}(1).", page_name(s)))
            .collect();
        vec![subs.join("\n")]
    } else {
        help.examples
    };
    preformatted(&mut out, "EXAMPLES", &examples);
    let exit_status = help.exit_status.unwrap_or_else(|| {
        if name == "sig" {
            "0 success; 1 not verified (sig verify, sig daemon status: not running); 2 error \
             (nothing changed); 3 a key you trust says NOT ok (sig verify). Each command's page \
             says which it uses."
                .to_owned()
        } else {
            "0 success; 2 error (said on standard error, one line; nothing changed).".to_owned()
        }
    });
    section(&mut out, "EXIT STATUS", &[exit_status]);
    writeln!(out, ".SH ENVIRONMENT").unwrap();
    for (var, what) in ENVIRONMENT {
        writeln!(out, ".TP\n.B {var}\n{}", escape(what)).unwrap();
    }
    writeln!(out, ".SH FILES").unwrap();
    for (file, what) in FILES {
        writeln!(out, ".TP\n.I {file}\n{}", escape(what)).unwrap();
    }
    let see_also: Vec<String> = if name == "sig" {
        all.iter()
            .filter(|n| *n != "sig")
            .map(|n| format!("{n}(1)"))
            .collect()
    } else {
        // The pages above this one (`sig-trust(1)` for `sig-trust-add`), all of them written.
        all.iter()
            .filter(|n| name.starts_with(&format!("{n}-")))
            .map(|n| format!("{n}(1)"))
            .collect()
    };
    // One a line: a name is never broken at its hyphens, and is read (and searched for) whole.
    writeln!(out, ".SH \"SEE ALSO\"").unwrap();
    for page in &see_also {
        writeln!(out, "{page}\n.br").unwrap();
    }
    out
}
