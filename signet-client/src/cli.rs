//! The command line: what `sig` accepts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Signet: vouch for files and check who vouched for them.
#[derive(Debug, Parser)]
#[command(
    name = "sig",
    version,
    about,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Signet's home [default: ~/.signet]
    #[arg(long, global = true, env = "SIGNET_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// The daemon's socket [default: by the home]
    #[arg(long, global = true, env = "SIGNET_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Say more: each attestation's comment and where it came from
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// Print nothing but errors: the exit code says the verdict
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// No colour, even on a terminal (so does the NO_COLOR variable)
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Print one JSON document (every command; errors stay on stderr)
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make your signing key
    Setup(SetupArgs),
    /// Record that you reviewed files, signed with your key, in your repository
    Attest(AttestArgs),
    /// Say who vouched for files, and whether they are ok
    Verify(VerifyArgs),
    /// Ask the public indexes who vouched for a file (`index.urls`)
    Lookup(LookupArgs),
    /// Check a project's dependencies by the checksums its lockfile pins
    Deps(DepsArgs),
    /// Choose whose attestations count
    #[command(
        subcommand,
        after_help = "Examples:\n  sig trust add B32780D9 --reason \"met at FOSDEM\"\n  sig trust add B32780D9 --level high --url https://alice.example.org/signet/ --publish\n  sig trust why B32780D9\n  sig trust list --all\n  sig trust remove B32780D9"
    )]
    Trust(TrustCommand),
    /// Say a key's word must not count, whoever in your web vouches for it
    #[command(
        after_help = "Examples:\n  sig distrust B32780D9 --comment \"signed malware\"\n  sig distrust B32780D9 --comment \"key lost\" --publish\n\nYour distrust always wins over the network; published, it cuts the trust others reach that key with through paths no stronger than yours.\nUndo with `sig trust remove KEY`."
    )]
    Distrust(DistrustArgs),
    /// Follow other people's repositories
    #[command(
        subcommand,
        after_help = "Examples:\n  sig remote add bob https://bob.example.org/signet/\n  sig fetch bob\n  sig remote list"
    )]
    Remote(RemoteCommand),
    /// Fetch remotes now (all of them, or those named)
    #[command(
        after_help = "Examples:\n  sig fetch\n  sig fetch bob\n\nExit codes: 0 every remote fetched, 2 one failed or was refused \
(its last good copy keeps answering)."
    )]
    Fetch {
        /// Remotes to fetch
        names: Vec<String>,
    },
    /// Publish your repository over HTTP, or copy it to a directory
    #[command(
        after_help = "Examples:\n  sig publish --http 127.0.0.1:8771\n  sig publish --to /var/www/signet\n  sig publish --announce https://index.example.org/ --url https://you.example.org/signet/"
    )]
    Publish(PublishArgs),
    /// List the keys Signet knows
    #[command(after_help = "Example:\n  sig keys --json")]
    Keys,
    /// Revoke your key and publish the revocation (it cannot be undone)
    Revoke(RevokeArgs),
    /// Show the daemon's state and your repository's
    #[command(
        after_help = "Examples:\n  sig status\n  sig status --json\n\nExit codes: 0 all well, 2 when the daemon cannot be reached or it reports a problem (a damaged file, a remote's copy that no longer passes: each printed as `problem:`)."
    )]
    Status,
    /// Keep verdicts of the files under directories fresh as they change
    #[command(
        subcommand,
        after_help = "Examples:\n  sig watch add ~/src/project\n  sig watch list"
    )]
    Watch(WatchCommand),
    /// Language server for editors (LSP over stdin/stdout): diagnostics, hover, attest action
    #[command(
        after_help = "Example (Neovim 0.11, init.lua):\n  vim.lsp.config('signet', { cmd = { 'sig', 'lsp' }, filetypes = { '*' } })\n  vim.lsp.enable('signet')\n\nSee the README for Helix, older Neovim, VS Code and Emacs."
    )]
    Lsp,
    /// Start, stop or check the daemon by hand
    #[command(
        subcommand,
        after_help = "Examples:\n  sig daemon status\n  sig daemon stop     (returns once the process has exited)\n\nExit codes of `status`: 0 running, 1 not running."
    )]
    Daemon(DaemonCommand),
    /// Show or change settings (values as JSON); the running daemon applies them at once
    #[command(after_help = "Examples:
  sig config                                 (every setting)
  sig config verify.threshold
  sig config verify.threshold 2
  sig config watch.ignore '[\"*.o\", \"target/\"]'")]
    Config {
        /// A setting's dotted name
        key: Option<String>,
        /// Its new value, as JSON (`2`, `true`, `"text"`, `["a", "b"]`)
        #[arg(allow_negative_numbers = true, num_args = 1..)]
        value: Vec<String>,
    },
    /// Print a completion script for your shell
    #[command(after_help = "Example, in ~/.bashrc:\n  source <(sig completions bash)")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print sig's manual page (roff), or write every command's page into DIR
    #[command(after_help = "Examples:
  sig man | man -l -
  sig man --dir ~/.local/share/man/man1 && man sig-verify")]
    Man {
        /// Write sig.1 and one page per command (sig-verify.1, sig-trust-add.1, …) into DIR
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum WatchCommand {
    /// Watch DIR: hash its files once, then follow every change (remembered across restarts)
    #[command(
        after_help = "Example:\n  sig watch add ~/src/project\n  sig verify ~/src/project     (answered from memory)"
    )]
    Add {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Stop watching DIR
    #[command(after_help = "Example:\n  sig watch remove ~/src/project")]
    Remove {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// List watched directories with their counts of ok, not verified and NOT ok files
    #[command(after_help = "Example:\n  sig watch list --json")]
    List,
}

/// Exactly one of KEYID, `--generate` and `--import`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sig setup --generate \"Your Name <you@example.org>\"   (a new key, kept by Signet)
  sig setup B32780D9                               (your GnuPG key; signing goes through gpg)
  sig setup --import secret.asc
  sig setup --force --generate \"Your Name <you@example.org>\"   (replace the key)")]
pub struct SetupArgs {
    /// Use this key from your GnuPG keyring (8 or 16 hex digits, or a fingerprint); signing
    /// goes through gpg, and the secret never leaves GnuPG ($GNUPGHOME is honoured)
    #[arg(value_name = "KEYID")]
    pub keyid: Option<String>,
    /// Generate a new Ed25519 key for this user id
    #[arg(long, value_name = "\"NAME <EMAIL>\"", conflicts_with_all = ["keyid", "import"])]
    pub generate: Option<String>,
    /// Import an exported secret key (armored or binary) so Signet signs on its own
    #[arg(long, value_name = "FILE", conflicts_with = "keyid")]
    pub import: Option<PathBuf>,
    /// Replace the existing key (the repository is re-signed, never lost)
    #[arg(long)]
    pub force: bool,
}

/// Why a key is revoked: what its earlier words are then worth.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ReasonArg {
    /// Someone else may have the secret key: every word it ever signed stops counting
    Compromised,
    /// Replaced by a new key: its words made before now keep counting
    Superseded,
    /// No longer used: its words made before now keep counting
    Retired,
}

impl From<ReasonArg> for signet_proto::api::RevocationReason {
    fn from(reason: ReasonArg) -> Self {
        match reason {
            ReasonArg::Compromised => Self::Compromised,
            ReasonArg::Superseded => Self::Superseded,
            ReasonArg::Retired => Self::Retired,
        }
    }
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sig revoke --reason compromised --comment \"laptop stolen\"   (every word of the key void)
  sig revoke --reason retired --yes                            (earlier words keep counting)
  sig setup --force --generate \"Your Name <you@example.org>\"   (then a new key to sign with)

The revocation is published in your repository's key.asc: followers see it at their next fetch.
Your home signs nothing more until you set up a new key. For a key in GnuPG, revoke it in GnuPG
first (import the revocation certificate gpg made with it, or `gpg --gen-revoke KEYID`); `sig
revoke` then publishes GnuPG's revocation, with its reason.

To move to a new key while the old one is safe, run `sig setup --force` instead of revoking:
the old key signs a transition to the new one, so your followers follow the new key without
being told. A revoked key can sign no transition: after `sig revoke`, followers must add your
repository again for the new key.

Exit codes: 0 revoked and published, 2 error (nothing changed).")]
pub struct RevokeArgs {
    /// Why [default: compromised]
    #[arg(long, value_enum)]
    pub reason: Option<ReasonArg>,
    /// Your words about it, published with the revocation
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
    /// Do not ask for confirmation (needed when standard input is not a terminal)
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sig attest release.tar.gz                  (asks: reviewed? ok? comment)
  sig attest a.py b.py --ok --reviewed --comment \"read it all\"
  sig attest vendor/ --ok --reviewed         (every file under it, one signed write)
  sig attest --id sha256:<Cargo.lock checksum> --ok --reviewed --comment \"read serde 1.0.200\"
  sig attest serde-1.0.200.crate --ok --reviewed --criteria safe-to-deploy
  sig attest --id sha256:<checksum> --subject crates.io/serde@1.0.200 --ok --reviewed
  sig attest --tree release-1.2.0/ --ok --reviewed   (the whole tree as one statement)
  sig attest --git v1.2.0 --ok --reviewed            (that commit's tree: the same id)

A package file (.crate, .whl, or an npm .tgz) is named by what it says it is
(crates.io/NAME@VERSION, pypi/…, npm/…) unless --subject says otherwise; an npm tarball is
attested by its sha512 too, the id package-lock.json's integrity names it by.

Several files with the verdict given by flags, or a directory, are attested together: hashed
several at a time and filed in one new version of your repository.

Exit codes: 0 saved, 2 error (a file that could not be read; the others are saved).")]
pub struct AttestArgs {
    /// Files to attest, or directories (every file under them)
    #[arg(required_unless_present_any = ["id", "tree", "git"], value_name = "FILE|DIR")]
    pub files: Vec<PathBuf>,
    /// Attest a whole directory as one tree: its id covers every file in it, so that a file
    /// added, removed or changed is another tree (a release, a vendored directory)
    #[arg(long, value_name = "DIR", conflicts_with_all = ["files", "id"])]
    pub tree: Option<PathBuf>,
    /// Attest a git commit's tree (in the repository here): the same id as a checkout of it
    /// attested with --tree
    #[arg(long, value_name = "REV", conflicts_with_all = ["files", "id", "tree"])]
    pub git: Option<String>,
    /// Attest a content id (sha256:…) you reviewed elsewhere — a Cargo.lock checksum, a
    /// release's published digest — instead of a file here
    #[arg(long, value_name = "ID", conflicts_with = "files")]
    pub id: Vec<String>,
    /// It performs as expected and is free of major flaws (skips the question)
    #[arg(long, conflicts_with = "not_ok")]
    pub ok: bool,
    /// It is not ok (skips the question)
    #[arg(long)]
    pub not_ok: bool,
    /// You have reviewed it (skips the question)
    #[arg(long, conflicts_with = "not_reviewed")]
    pub reviewed: bool,
    /// You have not reviewed it (skips the question)
    #[arg(long)]
    pub not_reviewed: bool,
    /// The comment (skips the question)
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
    /// The package it is, signed with your word: crates.io/NAME@VERSION, npm/…, pypi/…
    #[arg(long, value_name = "NAME")]
    pub subject: Option<String>,
    /// The criteria your review meets (cargo-vet's safe-to-run, safe-to-deploy, or your own);
    /// repeat or separate by commas
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub criteria: Vec<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sig verify release.tar.gz
  curl -sL https://example.org/install.sh | sig verify -
  sig verify ~/src/project                   (every file under it, a summary)
  sig verify --index release.tar.gz          (and ask the public indexes: see sig lookup)
  sig verify --policy signet.toml vendor/    (judged by a project's policy, not your trust)
  sig verify --tree release-1.2.0/           (ok only if no file was added, removed or changed)
  sig verify --git HEAD                      (the commit's tree, as a checkout of it)

In a directory with a signet.toml (the project's policy: see sig deps), its keys and rules
judge instead of your own; --no-policy judges by yours. --index judges by yours always.

Exit codes: 0 ok, 1 not verified, 3 NOT ok (a trusted key says so), 2 error.")]
pub struct VerifyArgs {
    /// Files to verify, `-` (or nothing) for standard input, or one directory (every file
    /// under it, with a summary)
    #[arg(value_name = "FILE|DIR|-")]
    pub files: Vec<PathBuf>,
    /// Verify a content id (sha256:… or sha512:…) instead of a file
    #[arg(long, value_name = "ID")]
    pub id: Vec<String>,
    /// Verify a whole directory as one tree (as `sig attest --tree` vouched for it): ok only
    /// if every file, and no file more or less, is as it was
    #[arg(long, value_name = "DIR")]
    pub tree: Vec<PathBuf>,
    /// Verify a git commit's tree (in the repository here), as a checkout of it
    #[arg(long, value_name = "REV")]
    pub git: Vec<String>,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// With a directory: list every file not verified too, not only those NOT ok
    #[arg(long)]
    pub all: bool,
    /// For every attestation, the trust path that made it count, or why it did not
    #[arg(long)]
    pub why: bool,
    /// Ask the public indexes in `index.urls` too, as `sig lookup` does (files and ids, not
    /// directories)
    #[arg(long)]
    pub index: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sig config index.urls '[\"https://index.example.org/\"]'
  sig lookup release.tar.gz
  sig lookup --id sha256:7c4727c9c1a1a5e0b3e3a4e0a0e0a0e0a0e0a0e0a0e0a0e0a0e0a0e0a0e028eb --why

Every attestation an index serves is checked here, signature by signature; words by keys
outside your web of trust are shown, never counted. An index that lies is named, and what it
got wrong is dropped.

Exit codes: 0 ok, 1 not verified, 3 NOT ok (a trusted key says so), 2 error (no index answered).")]
pub struct LookupArgs {
    /// The file to look up (its content id is what is asked; the file never leaves)
    #[arg(
        value_name = "FILE",
        required_unless_present = "id",
        conflicts_with = "id"
    )]
    pub file: Option<PathBuf>,
    /// Look up a content id (sha256:…) instead of a file
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// For every attestation, the trust path that made it count, or why it did not
    #[arg(long)]
    pub why: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sig deps                                   (every lockfile in this directory)
  sig deps ~/src/project/Cargo.lock --json
  sig deps package-lock.json --policy ci/signet.toml
  sig deps --index                           (and ask the public indexes: see sig lookup)

Reads Cargo.lock, package-lock.json, pnpm-lock.yaml, uv.lock, poetry.lock and
requirements.txt (with --hash). Each dependency is checked by the digests its lockfile pins:
the sha256 of a .crate or of a wheel or sdist, the sha512 of an npm tarball. Someone you
trust attests the file (`sig attest serde-1.0.200.crate`), and every project locking those
bytes sees it.

With a signet.toml in the project (or --policy), its keys and rules judge instead of your
own, and the repositories it names are followed: a CI job needs nothing else.

Exit codes: 0 every pinned dependency ok, 1 some not verified, 3 one NOT ok, 2 error.")]
pub struct DepsArgs {
    /// A lockfile, or a project directory holding one (default: the current directory)
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Ask the public indexes in index.urls too (every answer checked here), in one batch each
    #[arg(long)]
    pub index: bool,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// Which policy judges: the project's `signet.toml` when it has one, else your own trust.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Judge by this signet.toml (default: the project directory's own, if it has one)
    #[arg(long, value_name = "FILE", conflicts_with = "no_policy")]
    pub policy: Option<PathBuf>,
    /// Judge by your own web of trust and settings, even where the project has a signet.toml
    #[arg(long)]
    pub no_policy: bool,
}

/// How much a key's word is worth to you.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LevelArg {
    High,
    Medium,
    Low,
}

impl From<LevelArg> for signet_proto::statements::Trust {
    fn from(level: LevelArg) -> Self {
        match level {
            LevelArg::High => Self::High,
            LevelArg::Medium => Self::Medium,
            LevelArg::Low => Self::Low,
        }
    }
}

/// Whether a trust change is published as a signed statement in your repository.
#[derive(Debug, Args)]
pub struct PublishChoice {
    /// Also publish it as a signed trust statement in your repository, for others to follow
    #[arg(long, conflicts_with = "local")]
    pub publish: bool,
    /// Keep it local even when `trust.publish` is on
    #[arg(long)]
    pub local: bool,
}

impl PublishChoice {
    /// `None`: as the `trust.publish` setting says.
    pub fn publish(&self) -> Option<bool> {
        match (self.publish, self.local) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

#[derive(Debug, Args)]
pub struct DistrustArgs {
    /// A fingerprint, or its last 16 or more hex digits
    pub key: String,
    /// Why (required: a distrust others see must say why)
    #[arg(long, visible_alias = "reason")]
    pub comment: String,
    #[command(flatten)]
    pub publishing: PublishChoice,
}

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Count this key's attestations, and (at high, medium or low) what it says of others
    #[command(after_help = "Examples:
  sig trust add 4D6F7803F6E567EA976082B3532965FC6536EAA9
  sig trust add 532965FC6536EAA9 --level high --url https://alice.example.org/signet/ --publish
  sig trust add 532965FC6536EAA9 --reason \"reviewed her last ten releases\"

Take the fingerprint from its owner, not from the repository it is published in.")]
    Add {
        /// A fingerprint, or its last 16 or more hex digits
        key: String,
        /// Why, for the record (and the published statement's comment)
        #[arg(long, visible_alias = "comment")]
        reason: Option<String>,
        /// How much its word is worth (default medium, or the level it has); trust it
        /// vouches onward is no stronger than this
        #[arg(long, value_enum)]
        level: Option<LevelArg>,
        /// Where its repository is published: followed as a discovered remote
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        publishing: PublishChoice,
    },
    /// Forget your word about this key (trust or distrust), and take back what you published
    #[command(after_help = "Example:\n  sig trust remove 532965FC6536EAA9")]
    Remove {
        /// A fingerprint, or its last 8 or more hex digits
        key: String,
    },
    /// List the keys you trust or distrust; with --all every key in your web of trust
    #[command(after_help = "Examples:\n  sig trust list\n  sig trust list --all --json")]
    List {
        /// Every key known, with its effective level and the path that gives it
        #[arg(long)]
        all: bool,
    },
    /// Explain one key: its effective level and the path that gives it, or why it has none
    #[command(
        after_help = "Example:\n  sig trust why 76E9C24E\n\nExit codes: 0 answered (whether or not its word counts), 2 error."
    )]
    Why {
        /// A fingerprint, or its last 8 or more hex digits
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Follow the repository published at URL (a directory with repo.json and key.asc)
    #[command(after_help = "Examples:
  sig remote add alice https://alice.example.org/signet/
  sig remote add alice https://alice.example.org/signet/ && sig fetch alice
  sig remote add alice https://alice.example.org/signet/ --key DFDD705124843F878C6183EBD8C1B99DB32780D9

The first fetch pins the remote to the key it finds: check that key's fingerprint with its
owner (`sig keys`) before you trust it. With --key, the remote is pinned to that key from
the start, and a server publishing any other is refused.")]
    Add {
        name: String,
        url: String,
        /// The owner's full fingerprint, known beforehand: pinned from the start
        #[arg(long, value_name = "FINGERPRINT")]
        key: Option<String>,
    },
    /// Stop following a remote; its attestations stop counting at once
    #[command(after_help = "Example:\n  sig remote remove alice")]
    Remove { name: String },
    /// List remotes with their key, serial and sync state
    #[command(after_help = "Examples:\n  sig remote list\n  sig remote list --json")]
    List,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct PublishArgs {
    /// Serve your repository over HTTP on ADDR (e.g. 127.0.0.1:8080), remembered across restarts
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    /// Stop serving over HTTP
    #[arg(long, conflicts_with = "http")]
    pub stop: bool,
    /// Copy your repository into DIR (a web root, a git checkout for static hosting)
    #[arg(long, value_name = "DIR")]
    pub to: Option<PathBuf>,
    /// Tell the public index at INDEX_URL where your repository is, so that it crawls it
    #[arg(long, value_name = "INDEX_URL")]
    pub announce: Option<String>,
    /// With --announce: the URL others fetch your repository at (by default where it is
    /// served over HTTP here)
    #[arg(long, value_name = "URL", requires = "announce")]
    pub url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Start the daemon if it is not running
    #[command(after_help = "Example:\n  sig daemon start     (sig starts it on demand anyway)")]
    Start,
    /// Stop the running daemon
    #[command(
        after_help = "Example:\n  sig daemon stop      (returns once the process has exited)"
    )]
    Stop,
    /// Say whether the daemon is running
    #[command(
        after_help = "Example:\n  sig daemon status\n\nExit codes: 0 running, 1 not running."
    )]
    Status,
}
