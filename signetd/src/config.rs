//! `config.json`: the daemon's settings. Absent means defaults; malformed stops the daemon with
//! a message naming the file, since a misread policy could change verdicts.

use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use signet_proto::statements::Trust;

use crate::core::web::Level;

/// Largest config file read.
const MAX_CONFIG_LEN: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub verify: VerifyPolicy,
    /// Cap on one protocol message, in bytes.
    pub max_message_bytes: usize,
    /// Connections served at once; more are told the daemon is busy.
    pub max_connections: usize,
    /// Seconds a client may take to finish a message it has started sending, or to take a
    /// response: a slow or stuck client loses its connection, never the daemon's time.
    pub message_timeout_secs: u64,
    pub fetch: FetchConfig,
    pub sync: SyncConfig,
    pub publish: PublishConfig,
    pub watch: WatchConfig,
    pub gpg: GpgConfig,
    pub trust: TrustConfig,
    pub index: IndexConfig,
}

/// Public indexes `sig lookup` asks (docs/INDEX.md). None by default: asking one tells it what
/// you look up.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndexConfig {
    /// Base URLs of indexes, each ending in `/` (as `signet-index serve` prints).
    pub urls: Vec<String>,
}

/// Indexes asked at most.
pub const MAX_INDEXES: usize = 16;

/// The web of trust (docs/FORMATS.md, "Trust statements").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrustConfig {
    /// Hops from you trust flows along published statements (a key you trust directly is 1).
    pub max_depth: u8,
    /// `sig trust add` publishes a trust statement in your repository unless told `--local`.
    pub publish: bool,
    /// Repositories of keys within your trust depth followed at once (discovered remotes).
    pub max_followed: usize,
    /// Attestations the repositories of keys others introduce may hold between them, strongest
    /// and nearest first: what the web can make this daemon hold, whatever keys it names.
    pub max_discovered_attestations: usize,
    /// Let discovered remotes be fetched from loopback, private and link-local addresses (a web
    /// of trust on your own network, or tests). Off: a statement can never make the daemon
    /// send requests to services on this machine or network (`remotes::address`).
    pub follow_private_urls: bool,
}

impl Default for TrustConfig {
    fn default() -> Self {
        TrustConfig {
            max_depth: 2,
            publish: false,
            max_followed: 200,
            max_discovered_attestations: 250_000,
            follow_private_urls: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GpgConfig {
    /// Seconds one `gpg` signing may take, passphrase prompt included; then it is stopped and
    /// the write fails with nothing changed.
    pub sign_timeout_secs: u64,
}

impl Default for GpgConfig {
    fn default() -> Self {
        GpgConfig {
            sign_timeout_secs: 120,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchConfig {
    /// Files larger than this are not hashed by watches (`sig verify` of the file still works).
    pub max_file_bytes: u64,
    /// A watch covering more files than this is refused.
    pub max_files: usize,
    /// gitignore-style patterns left out of every watch, on top of `.gitignore`, `.ignore` and
    /// `.signetignore` files in the tree.
    pub ignore: Vec<String>,
    /// Notifications queued for one subscriber; a subscriber that falls this far behind is
    /// disconnected rather than slowing the daemon.
    pub max_queued_notifications: usize,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            max_file_bytes: 1 << 30,
            max_files: 1_000_000,
            ignore: Vec::new(),
            max_queued_notifications: 4096,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FetchConfig {
    /// Largest `repo.json` accepted from a remote.
    pub max_repo_bytes: u64,
    /// Most bytes of parts downloaded in one fetch of a remote in the large-publisher layout
    /// (docs/FORMATS.md, "Parts"); each part is at most 16 MiB.
    pub max_parts_bytes: u64,
    pub connect_timeout_secs: u64,
    /// Deadline for the answer to begin (its status and headers) once connected: a server that
    /// accepts and never answers is given up on long before `timeout_secs`.
    pub first_byte_timeout_secs: u64,
    /// Deadline for one whole request, body included.
    pub timeout_secs: u64,
    pub max_redirects: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    /// Seconds between scheduled fetches of each remote (jittered); 0 turns scheduling off.
    pub interval_secs: u64,
    /// Remotes fetched at once.
    pub parallel: usize,
    /// A trusted remote whose newest copy was signed longer ago than this is reported as
    /// possibly frozen (a server replaying an old copy looks healthy otherwise); 0 turns the
    /// warning off.
    pub max_age_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublishConfig {
    /// Address on which the daemon serves `repo/` over HTTP (`sig publish --http`).
    pub http: Option<String>,
    /// Past this many attestations the repository is written in the large-publisher layout
    /// (docs/FORMATS.md, "Parts"): followers then download only what changed, but readers of
    /// the seed format alone (the reference implementation) see none of its attestations.
    pub parts_above: usize,
}

impl Default for PublishConfig {
    fn default() -> Self {
        PublishConfig {
            http: None,
            parts_above: 10_000,
        }
    }
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            max_repo_bytes: 64 << 20,
            max_parts_bytes: 2 << 30,
            connect_timeout_secs: 10,
            first_byte_timeout_secs: 20,
            timeout_secs: 120,
            max_redirects: 5,
        }
    }
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            interval_secs: 15 * 60,
            parallel: 4,
            max_age_secs: 7 * 24 * 3600,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerifyPolicy {
    /// How many trusted keys must say ok for a file to be ok.
    pub threshold: usize,
    /// More than this many trusted keys saying not ok make a file NOT ok (the reference's
    /// `not-ok` policy; 0: any one does).
    pub max_not_ok: usize,
    /// The least effective trust level whose word counts: `high`, `medium` or `low`.
    pub min_level: Trust,
    /// Reviewers trusted only through the same key you trust directly count as one.
    pub independent: bool,
    /// An ok counts only when it says it meets each of these (`safe-to-deploy`; cargo-vet's
    /// `safe-to-deploy` meets `safe-to-run` too). A not ok always counts.
    pub criteria: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            verify: VerifyPolicy::default(),
            max_message_bytes: signet_proto::rpc::DEFAULT_MAX_MESSAGE,
            max_connections: 512,
            message_timeout_secs: 10,
            fetch: FetchConfig::default(),
            sync: SyncConfig::default(),
            publish: PublishConfig::default(),
            watch: WatchConfig::default(),
            gpg: GpgConfig::default(),
            trust: TrustConfig::default(),
            index: IndexConfig::default(),
        }
    }
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        VerifyPolicy {
            threshold: 1,
            max_not_ok: 0,
            min_level: Trust::Medium,
            independent: false,
            criteria: Vec::new(),
        }
    }
}

impl VerifyPolicy {
    pub fn rule(&self) -> crate::core::index::Policy {
        crate::core::index::Policy {
            threshold: self.threshold,
            max_not_ok: self.max_not_ok,
            // `check` lets no other level in.
            min_level: Level::of(self.min_level).unwrap_or(Level::High),
            independent: self.independent,
        }
    }
}

impl Config {
    pub fn gpg_deadline(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.gpg.sign_timeout_secs.max(1))
    }

    pub fn http_limits(&self) -> signet_fetch::http::HttpLimits {
        signet_fetch::http::HttpLimits {
            connect_timeout: std::time::Duration::from_secs(self.fetch.connect_timeout_secs),
            first_byte_timeout: std::time::Duration::from_secs(self.fetch.first_byte_timeout_secs),
            total_timeout: std::time::Duration::from_secs(self.fetch.timeout_secs),
            max_redirects: self.fetch.max_redirects,
        }
    }

    /// Writes the config back (after `sig publish` changed it), atomically.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        crate::home::store::write_atomic(path, &bytes, 0o600)
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let Some(bytes) = crate::home::store::read_private(path, MAX_CONFIG_LEN)? else {
            return Ok(Config::default());
        };
        let config: Config = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a valid Signet config", path.display()))?;
        config
            .check()
            .map_err(|why| anyhow::anyhow!("{}: {why}", path.display()))?;
        Ok(config)
    }

    /// What the types cannot say: every number in a range the daemon works in (a value
    /// outside one stopped it at every start, or left it running and useless: a sync interval
    /// of 2^64 seconds overflowed the clock, `max_message_bytes` 0 refused even `daemon
    /// stop`), and the one level that means nothing as a minimum.
    pub fn check(&self) -> Result<(), String> {
        const DAY: u64 = 86_400;
        if self.index.urls.len() > MAX_INDEXES {
            return Err(format!("index.urls: at most {MAX_INDEXES} indexes"));
        }
        for url in &self.index.urls {
            signet_core::accept::check_url(url).map_err(|why| format!("index.urls: {why}"))?;
        }
        signet_proto::formats::About::new(None, self.verify.criteria.clone())
            .map_err(|e| format!("verify.criteria: {e}"))?;
        let n = |v: usize| v as u64;
        let ranges: [(&str, u64, u64, u64, &str); 24] = [
            ("verify.threshold", n(self.verify.threshold), 1, 1_000, ""),
            ("verify.max_not_ok", n(self.verify.max_not_ok), 0, 1_000, ""),
            (
                "max_message_bytes",
                n(self.max_message_bytes),
                64 << 10,
                1 << 30,
                " bytes",
            ),
            ("max_connections", n(self.max_connections), 1, 65_536, ""),
            (
                "message_timeout_secs",
                self.message_timeout_secs,
                1,
                3_600,
                " s",
            ),
            (
                "fetch.max_repo_bytes",
                self.fetch.max_repo_bytes,
                1 << 10,
                1 << 36,
                " bytes",
            ),
            (
                "fetch.max_parts_bytes",
                self.fetch.max_parts_bytes,
                1 << 10,
                1 << 40,
                " bytes",
            ),
            (
                "publish.parts_above",
                n(self.publish.parts_above),
                0,
                100_000_000,
                " attestations",
            ),
            (
                "fetch.connect_timeout_secs",
                self.fetch.connect_timeout_secs,
                1,
                600,
                " s",
            ),
            (
                "fetch.first_byte_timeout_secs",
                self.fetch.first_byte_timeout_secs,
                1,
                600,
                " s",
            ),
            ("fetch.timeout_secs", self.fetch.timeout_secs, 1, DAY, " s"),
            (
                "fetch.max_redirects",
                n(self.fetch.max_redirects),
                0,
                20,
                "",
            ),
            (
                "sync.interval_secs",
                self.sync.interval_secs,
                0,
                365 * DAY,
                " s (0: off)",
            ),
            ("sync.parallel", n(self.sync.parallel), 1, 64, ""),
            (
                "sync.max_age_secs",
                self.sync.max_age_secs,
                0,
                3_650 * DAY,
                " s (0: off)",
            ),
            (
                "watch.max_file_bytes",
                self.watch.max_file_bytes,
                1,
                1 << 50,
                " bytes",
            ),
            (
                "watch.max_files",
                n(self.watch.max_files),
                1,
                100_000_000,
                "",
            ),
            (
                "watch.max_queued_notifications",
                n(self.watch.max_queued_notifications),
                1,
                1 << 20,
                "",
            ),
            (
                "watch.ignore patterns",
                n(self.watch.ignore.len()),
                0,
                10_000,
                "",
            ),
            (
                "gpg.sign_timeout_secs",
                self.gpg.sign_timeout_secs,
                1,
                DAY,
                " s",
            ),
            (
                "trust.max_depth",
                u64::from(self.trust.max_depth),
                1,
                16,
                " (1: your direct trust only)",
            ),
            (
                "trust.max_followed",
                n(self.trust.max_followed),
                0,
                10_000,
                "",
            ),
            (
                "trust.max_discovered_attestations",
                n(self.trust.max_discovered_attestations),
                0,
                100_000_000,
                "",
            ),
            (
                "publish.http address length",
                n(self.publish.http.as_ref().map_or(0, String::len)),
                0,
                256,
                "",
            ),
        ];
        for (name, value, min, max, unit) in ranges {
            if !(min..=max).contains(&value) {
                return Err(format!(
                    "{name} must be at least {min} and at most {max}{unit}; {value} is not"
                ));
            }
        }
        if matches!(self.verify.min_level, Trust::None | Trust::Distrust) {
            return Err("verify.min_level must be high, medium or low".into());
        }
        Ok(())
    }

    /// All settings as one JSON object, every field present.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("the config serializes")
    }

    /// The config with the setting at `key` (dotted: `verify.threshold`, or a whole section
    /// such as `sync`) replaced by `value`, checked as `config.json` is when read.
    pub fn with(&self, key: &str, value: serde_json::Value) -> Result<Config, String> {
        let mut all = self.to_json();
        let slot = setting_mut(&mut all, key)
            .ok_or_else(|| format!("there is no setting {key:?}: `sig config` lists them"))?;
        *slot = value;
        let config: Config = serde_json::from_value(all).map_err(|e| format!("{key}: {e}"))?;
        config.check()?;
        Ok(config)
    }
}

/// The value of a dotted setting name in the config's JSON.
pub fn setting<'a>(all: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    key.split('.')
        .try_fold(all, |v, part| v.as_object()?.get(part))
}

fn setting_mut<'a>(all: &'a mut serde_json::Value, key: &str) -> Option<&'a mut serde_json::Value> {
    key.split('.')
        .try_fold(all, |v, part| v.as_object_mut()?.get_mut(part))
}
