//! The daemon's methods: their names, params and results. `docs/PROTOCOL.md` documents each.
//!
//! Rules for changing them: new fields are optional (`#[serde(default)]`) so that older clients
//! and servers keep working; a change that breaks that needs a new protocol major version.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::formats::{ContentId, Fingerprint};
use crate::wire_path::AbsPath;

mod revoke;
mod trust;
mod typed;
pub use revoke::*;
pub use trust::*;
pub use typed::{KeyChoice, Lenient, SetupParams, Source, Target};

pub mod method;
pub use method::{Done, Method, MethodVisitor, NoParams};

/// `lookup`: what the configured public indexes know of a file or id, every signature
/// checked here, judged by your web of trust beside what you hold.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LookupResult {
    /// The verdict and every attestation: those you hold and those the indexes found (source
    /// `found:URL`, the repository each was found in). Words by keys outside your web are
    /// shown, never counted.
    pub result: VerifyResult,
    /// What each index answered, and each way an answer departed from the truth.
    pub indexes: Vec<IndexReport>,
    /// Repositories, found by the indexes, of keys your web of trust reaches and you do not
    /// follow yet: `sig remote add` them to hear from them without asking.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow: Vec<FollowSuggestion>,
}

/// `lookup.many`: what the indexes know of many ids (a lockfile's), asked in batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookupManyParams {
    /// At most [`LookupManyParams::MAX_IDS`].
    pub ids: Vec<ContentId>,
    /// Judge by a project's policy instead of the user's web of trust (as `verify.many`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<ProjectPolicy>,
    /// The indexes to ask in place of `index.urls` (a project's own), at most 16.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<String>,
}

impl LookupManyParams {
    pub const MAX_IDS: usize = 100_000;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LookupManyResult {
    /// One per id, in the order asked: what is held here and what the indexes found.
    pub results: Vec<VerifyResult>,
    /// What each index answered over all the ids, and each way it departed from the truth.
    pub indexes: Vec<IndexReport>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow: Vec<FollowSuggestion>,
}

/// One index's part in a lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexReport {
    pub url: String,
    /// Attestations it served about the id.
    #[serde(default)]
    pub served: usize,
    /// Those whose signatures checked.
    #[serde(default)]
    pub checked: usize,
    /// It could not be asked (unreachable, an error, not an index's answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Each way its answer departed from the truth: altered or unsigned words, a certificate
    /// filed under another key, a withheld revocation, an answer about another id. What
    /// departs is dropped; nothing held here changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// A repository worth following.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowSuggestion {
    pub key: Fingerprint,
    pub user_id: String,
    pub url: String,
}

/// `config.get`: one setting, by its dotted name (`verify.threshold`), or all of them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConfigGetParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// `config.set`: a new value for one setting (or a whole section), as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigSetParams {
    pub key: String,
    pub value: serde_json::Value,
}

/// A setting's value (all settings, as one object, when `key` is `None`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub value: serde_json::Value,
}

/// `hello`: the first call of every connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelloParams {
    /// The protocol major version the client speaks.
    pub protocol: u32,
    /// The client's name and version, for logs: `sig/0.1.0`.
    pub client: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelloResult {
    pub protocol: u32,
    /// The server's name and version: `signetd/0.1.0`.
    pub server: String,
    /// Methods this server answers; clients test for these, not for version numbers.
    pub capabilities: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub fingerprint: Fingerprint,
    /// The primary user id, `Name <mail>`, or empty when the certificate has none.
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusResult {
    pub pid: u32,
    pub version: String,
    pub protocol: u32,
    pub home: PathBuf,
    pub socket: PathBuf,
    /// The user's own key; `None` before `sig setup`.
    pub key: Option<KeyInfo>,
    /// Attestations in the user's own repository.
    pub own_attestations: usize,
    /// The own repository's serial.
    pub serial: u64,
    /// Content ids the index knows, over all sources.
    pub known_ids: usize,
    /// Attestations in the index whose signature checked out, over all sources.
    pub valid_attestations: usize,
    pub trusted_keys: usize,
    /// Your word about keys, published or local, and the web it roots.
    #[serde(default)]
    pub trust: TrustSummary,
    /// Damaged files under the home, each with what is wrong: writes wait until they are fixed.
    #[serde(default)]
    pub problems: Vec<String>,
    /// What verdicts may be missing, such as trusted remotes whose copies look frozen.
    #[serde(default)]
    pub warnings: Vec<String>,
    pub uptime_secs: u64,
    /// The URL the repository is published on by this daemon, if any.
    #[serde(default)]
    pub publishing: Option<String>,
    #[serde(default)]
    pub remotes: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupResult {
    pub key: KeyInfo,
    pub home: PathBuf,
    /// The publishable repository directory.
    pub repo: PathBuf,
    /// A replaced key: the one replaced, and whether it signed the transition to the new one
    /// (then followers pinned to it follow the new key by themselves), or why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced: Option<Replaced>,
}

/// The key `setup` with `force` replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replaced {
    pub key: KeyInfo,
    /// Both keys signed the transition (docs/FORMATS.md, "Key rotation").
    pub transition: bool,
    /// Why there is no transition: the old key is revoked, or could not sign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttestParams {
    #[serde(flatten)]
    pub target: Target,
    #[serde(flatten)]
    pub word: Word,
}

/// What `attest` and `attest.many` sign about bytes, beside the id: the verdict, and what
/// the reviewer says of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub ok: bool,
    pub reviewed: bool,
    #[serde(default)]
    pub comment: String,
    /// The package the bytes are (`crates.io/serde@1.0.200`), signed with the word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The review criteria the word meets (`safe-to-deploy`), signed with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub criteria: Vec<String>,
    /// The user's terminal, for gpg's pinentry when the key lives in GnuPG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
}

impl Word {
    /// The subject and criteria, checked before they are signed.
    pub fn about(&self) -> Result<crate::formats::About, crate::formats::AboutError> {
        crate::formats::About::new(self.subject.clone(), self.criteria.clone())
    }
}

/// `attest.many`: one word on many files or ids — a directory stands for every file under
/// it, as `verify` of a directory reads them — filed in one signed write of the repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttestManyParams {
    pub targets: Vec<Target>,
    #[serde(flatten)]
    pub word: Word,
}

/// What `attest.many` did with each file or id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttestOutcome {
    Attested {
        id: String,
        /// The file, when one was named or found under a directory.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "crate::wire_path::option"
        )]
        path: Option<PathBuf>,
        /// It replaced an earlier word of the key on the same id.
        replaced: bool,
    },
    Failed {
        error: crate::rpc::RpcError,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "crate::wire_path::option"
        )]
        path: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttestManyResult {
    /// One per file (a directory's files in path order) or id, in the order asked.
    pub results: Vec<AttestOutcome>,
    /// The repository's serial after the one write (unchanged when nothing was attested).
    pub serial: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttestResult {
    pub id: String,
    /// The saved attestation, `{data, key, sig}`, exactly as stored.
    pub attestation: Box<RawValue>,
    /// The repository's serial after this write.
    pub serial: u64,
    /// Whether it replaced an earlier attestation of the same key for the same id.
    pub replaced: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Unverified,
    Ok,
    NotOk,
}

impl Verdict {
    /// `sig verify`'s exit code for this verdict.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Ok => 0,
            Verdict::Unverified => 1,
            Verdict::NotOk => 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttestationView {
    pub key: Fingerprint,
    pub user_id: String,
    pub trusted: bool,
    pub ok: bool,
    pub reviewed: bool,
    pub comment: String,
    /// The package it names, when it says (`crates.io/serde@1.0.200`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The review criteria it says it meets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub criteria: Vec<String>,
    /// Where it came from: `own`, or `remote:NAME`.
    pub source: Source,
    /// Void by its key's revocation (a hard one, or a soft one older than this word): shown,
    /// never counted.
    #[serde(default)]
    pub revoked: bool,
    /// Its key's (or signing subkey's) revocation, when it has one, whether or not it voids
    /// this word: a soft one leaves the words made before it counting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
    /// Its key has said something newer about this id (in any repository): shown, never
    /// counted.
    #[serde(default)]
    pub superseded: bool,
    /// Other sources carrying this very signed word (a mirror, a copy in another repository):
    /// one attestation, shown once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_from: Vec<Source>,
    /// Whom its word counts as toward `verify.threshold`, when not its key alone: several
    /// keys counted as one reviewer are shown as such.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts_as: Option<CountsAs>,
    /// How its key stands in your web of trust: the path that makes its word count, or why it
    /// does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standing: Option<KeyStanding>,
}

impl AttestationView {
    /// What it says beyond its verdict, for people: `crates.io/serde@1.0.200, meets
    /// safe-to-deploy`; `None` when it says nothing more. Raw: neutralise before printing.
    pub fn about_text(&self) -> Option<String> {
        let criteria =
            (!self.criteria.is_empty()).then(|| format!("meets {}", self.criteria.join(", ")));
        let parts: Vec<String> = self.subject.iter().cloned().chain(criteria).collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// Whether this word counts toward the verdict: its key is trusted, it says it was
    /// reviewed, and it is neither revoked nor superseded.
    pub fn counts(&self) -> bool {
        self.trusted && self.reviewed && !self.revoked && !self.superseded
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyResult {
    pub id: String,
    pub verdict: Verdict,
    pub attestations: Vec<AttestationView>,
    /// Trusted reviewers whose current word is ok, and how many the policy wants
    /// (`verify.threshold`): "1 of 2 trusted reviewers".
    #[serde(default)]
    pub reviewers: usize,
    #[serde(default)]
    pub threshold: usize,
    /// Attestations about this id that could not count, from followed repositories: by a key
    /// with no certificate here (`unknown`), or whose signature does not verify (`invalid`),
    /// as the reference counts them.
    #[serde(default)]
    pub unknown: usize,
    #[serde(default)]
    pub invalid: usize,
    /// The file verified, when verified by path.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::wire_path::option"
    )]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyManyParams {
    /// Each judged on its own: a malformed one gets its own error in `results`.
    pub targets: Vec<Lenient<Target>>,
    /// Judge by a project's policy (`signet.toml`) instead of the user's web of trust and
    /// `verify.*` settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<ProjectPolicy>,
    /// Other names of a target's bytes (an npm tarball's `sha512:`, as package-lock.json
    /// names it): its verdict is judged over the words about each name together.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<AlsoNamed>,
}

/// The target at `target` (an index into `targets`) is also named `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlsoNamed {
    pub target: usize,
    pub id: ContentId,
}

/// A project's own policy, as `signet.toml` says it: the keys whose words count, each at its
/// level (directly: the web of trust is not consulted, nor the user's own key), and the
/// rules of a verdict. The same answer on every machine that has the same words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectPolicy {
    pub trusted: Vec<TrustedKey>,
    #[serde(default = "one")]
    pub threshold: usize,
    #[serde(default)]
    pub max_not_ok: usize,
    /// An ok counts only when it meets every criterion named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub criteria: Vec<String>,
}

fn one() -> usize {
    1
}

/// A key a project's policy trusts, and how much.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustedKey {
    pub key: Fingerprint,
    pub level: crate::statements::Trust,
}

/// `verify.dir`: every file under a directory, as `attest.many` reads a tree (regular files
/// and symlinks to them; symlinked directories not entered; FIFOs, sockets and devices never
/// opened), each judged as `verify` judges it, counted in the daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyDirParams {
    pub path: AbsPath,
    /// Which files to list by name: the NOT ok ones always; the not verified ones too.
    #[serde(default)]
    pub unverified: bool,
    /// Every file's whole result too, in path order (`sig verify --json DIR`).
    #[serde(default)]
    pub results: bool,
    /// Judge by a project's policy (as `verify.many`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<ProjectPolicy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyDirResult {
    pub ok: usize,
    pub unverified: usize,
    pub not_ok: usize,
    /// The files NOT ok (and, when asked, not verified), in path order.
    pub listed: Vec<ListedFile>,
    /// Files that could not be read or listed, each with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// With `results`: one per file, in path order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<VerifyOutcome>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A file of a directory, by its path, with its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedFile {
    #[serde(with = "crate::wire_path")]
    pub path: PathBuf,
    pub verdict: Verdict,
}

/// One answer of `verify.many`: a result or an error, in the order asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VerifyOutcome {
    Verified(VerifyResult),
    Failed { error: crate::rpc::RpcError },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyManyResult {
    pub results: Vec<VerifyOutcome>,
    /// What the answer may be missing, such as trusted remotes whose copies look frozen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Several keys counted as one reviewer, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountsAs {
    /// `verify.independent`: every path to it goes through this key, which you trust directly;
    /// all the keys it vouches for count once.
    Through(Fingerprint),
    /// It succeeds this key (a rotation both signed): one person.
    Succeeds(Fingerprint),
}

/// What a new remote's URL publishes, as `remote.add` found it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// Its `key.asc` holds this key: to check with its owner before trusting it.
    Key(KeyInfo),
    /// No Signet repository could be read there (yet): why.
    Problem(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownKey {
    pub fingerprint: Fingerprint,
    pub user_id: String,
    pub own: bool,
    pub trusted: bool,
    /// Where the certificate came from: `own`, or `remote:NAME`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeysListResult {
    pub keys: Vec<KnownKey>,
}

/// `data` of an `AmbiguousKey` error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidates {
    pub candidates: Vec<KeyInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteAddParams {
    pub name: String,
    /// http(s) URL of the directory holding `repo.json` and `key.asc`.
    pub url: String,
    /// The owner's key, when known beforehand (a project's `signet.toml`, `--key`): pinned
    /// from the start, as a discovered remote is, so that a server publishing any other key
    /// is refused at the first fetch instead of pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Fingerprint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteNameParams {
    pub name: String,
}

/// A remote as `sig remote list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteInfo {
    pub name: String,
    pub url: String,
    /// Said by `remote.add` only: what the URL publishes, looked at once without taking
    /// anything from it (the first fetch pins the key), or why there is no repository there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<Probe>,
    /// The pinned owner's key; `None` until the first accepted fetch.
    pub key: Option<KeyInfo>,
    pub serial: Option<u64>,
    /// Attestations of the accepted copy that count (signature checked).
    pub attestations: usize,
    /// Attestations of the accepted copy that were dropped (bad, misfiled, unknown key).
    pub rejected: usize,
    pub last_success: Option<String>,
    pub last_attempt: Option<String>,
    pub last_error: Option<String>,
    /// Seconds until the next scheduled sync.
    pub next_sync_secs: Option<u64>,
    /// When the owner signed the accepted copy (RFC 3339): a server can replay an old copy,
    /// never make an old one look new.
    #[serde(default)]
    pub signed: Option<String>,
    /// The remote's owner is trusted and its copy was signed longer ago than `sync.max_age_secs`:
    /// the server may be serving a frozen copy.
    #[serde(default)]
    pub stale: bool,
    /// Followed because a key in your web of trust is published here (a trust statement's
    /// `url`), pinned to that key from the start.
    #[serde(default)]
    pub discovered: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteListResult {
    pub remotes: Vec<RemoteInfo>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FetchParams {
    /// Remotes to fetch; all of them when empty.
    #[serde(default)]
    pub names: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FetchOutcome {
    /// A new copy was accepted.
    Updated,
    /// The remote has not changed (a 304, or the same copy).
    Unchanged,
    /// The copy was refused by a rule (rollback, wrong key, bad signature…): the last good copy stays.
    Refused,
    /// The fetch did not complete (network, HTTP status, size, time): the last good copy stays.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchReport {
    pub name: String,
    pub url: String,
    pub outcome: FetchOutcome,
    /// Why, for refused and failed fetches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// URLs fetched, each with the HTTP status or what went wrong.
    #[serde(default)]
    pub requests: Vec<String>,
    /// The owner's key, when this fetch saw it for the first time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<KeyInfo>,
    /// The key the remote was pinned to, when this fetch followed its owner's key rotation to
    /// `imported` (both keys signed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_from: Option<Fingerprint>,
    pub serial: Option<u64>,
    pub attestations: usize,
    pub rejected: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchResult {
    pub results: Vec<FetchReport>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PublishParams {
    /// Serve `repo/` over HTTP on this address (`127.0.0.1:8080`); remembered across restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// Stop serving over HTTP.
    #[serde(default)]
    pub stop_http: bool,
    /// Copy `repo/` atomically into this directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<AbsPath>,
    /// Tell the public index at this URL where the repository is, so that it crawls it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce: Option<String>,
    /// The URL others fetch the repository at, for `announce`: by default where it is served
    /// over HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishResult {
    /// Where the repository is served over HTTP, if it is.
    pub http: Option<String>,
    /// Directory the repository was copied to, if asked.
    pub copied_to: Option<std::path::PathBuf>,
    /// The index told of the repository, if asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announced: Option<Announced>,
}

/// What an index said to an announcement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announced {
    pub index: String,
    /// The repository's URL as the index keeps it.
    pub url: String,
    /// False when the index knew it already.
    pub new: bool,
}

/// `watch.add`, `watch.remove`, `subscribe`: a directory (or, for `subscribe`, a file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathParams {
    pub path: AbsPath,
}

/// A watched directory as `sig watch list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchInfo {
    #[serde(with = "crate::wire_path")]
    pub path: PathBuf,
    /// Regular files hashed and kept fresh.
    pub files: usize,
    /// Files under it not hashed: ignored, larger than `watch.max_file_bytes`, special files
    /// (FIFOs, devices, sockets) and symlinks, or unreadable.
    pub skipped: usize,
    pub ok: usize,
    pub unverified: usize,
    pub not_ok: usize,
    /// What is wrong with the watch (the directory is gone, unreadable…), if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long the last full scan took, in milliseconds.
    pub scan_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchListResult {
    pub watches: Vec<WatchInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscribeResult {
    /// The path subscribed to, as given.
    #[serde(with = "crate::wire_path")]
    pub path: PathBuf,
    /// Whether the path lies under a watched directory: only there are edits to files seen as
    /// they happen; elsewhere notifications come from new attestations and trust changes for
    /// files already verified by path.
    pub watched: bool,
}

/// Why a verdict changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeCause {
    /// The file's content changed (or it appeared).
    File,
    /// The attestations or trust behind the verdict changed: a fetch, an attest, `sig trust`.
    Attestations,
    /// The file is gone (or now ignored); `id` and `verdict` are null.
    Removed,
}

/// `verdict.changed` notification params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictChanged {
    #[serde(with = "crate::wire_path")]
    pub path: PathBuf,
    pub id: Option<String>,
    pub verdict: Option<Verdict>,
    pub cause: ChangeCause,
}
