//! The crawler: fetches each repository when it is due, with the daemon's own rules
//! (`signet_core::accept`: pinned to its key on first sight; rollback, equivocation and a
//! changed key refused; every signature checked) and `signet-fetch`'s bounded GETs, and keeps
//! only what checked out. Several crawlers — tasks here, processes elsewhere on the same
//! PostgreSQL — share the work through the database's claims.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use signet_core::accept::{self, Accepted, Refusal, RemoteRecord};
use signet_core::cert;
use signet_core::index::Checked;
use signet_core::keyring::Keyring;
use signet_fetch::http::{self, BodyLimit, Got, HttpLimits};
use signet_proto::formats::{self, Fingerprint, RepoContents};
use signet_proto::json::Value;
use tokio::sync::Notify;

use crate::store::{AcceptedCopy, Claimed, Kept, Store};

/// How the crawler behaves; the defaults suit a public index.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Seconds between two crawls of one repository.
    pub interval: i64,
    /// Repositories crawled at once by this process.
    pub parallel: usize,
    /// The largest `repo.json` fetched.
    pub max_repo_bytes: u64,
    /// Most attestations kept of one repository (the keyserver lesson: one publisher must
    /// not be able to fill the index).
    pub max_per_repository: usize,
    /// Most repositories one repository's trust statements may add.
    pub max_discovered_per_repository: usize,
    /// Peer indexes whose repository lists are crawled (never their data or verdicts: each
    /// repository they list is fetched and checked here).
    pub peers: Vec<String>,
    /// Most repositories taken from one peer's list per round.
    pub max_per_peer: usize,
    pub http: HttpLimits,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            interval: 900,
            parallel: 4,
            max_repo_bytes: 64 << 20,
            max_per_repository: 1_000_000,
            max_discovered_per_repository: 100,
            peers: Vec::new(),
            max_per_peer: 100_000,
            http: HttpLimits {
                connect_timeout: Duration::from_secs(10),
                first_byte_timeout: Duration::from_secs(20),
                total_timeout: Duration::from_secs(120),
                max_redirects: 5,
            },
        }
    }
}

/// `key.asc` is a certificate and a few retired ones.
const KEY_LIMIT: BodyLimit = BodyLimit {
    max: cert::MAX_CERT_LEN as u64,
    what_to_do: "a certificate is far smaller",
};

/// The seconds a claim lasts: a crawler that died gives its repositories back after this.
const LEASE: i64 = 600;

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub struct Crawler {
    pub store: Store,
    pub settings: Settings,
    client: reqwest::Client,
    /// Repositories are fetched from public addresses only (the default): a name is judged
    /// when it resolves (the client's resolver), an address written in the URL here.
    public_only: bool,
    /// Woken by a submission: a new repository is crawled at once, not at the next nap's end.
    pub wake: Notify,
}

impl Crawler {
    pub fn new(store: Store, settings: Settings) -> anyhow::Result<Arc<Self>> {
        // Repositories are named by anyone: their URLs reach public addresses only.
        let client = signet_fetch::address::client(&settings.http)?;
        Ok(Self::with_client(store, settings, client, true))
    }

    /// A crawler whose repositories may be on this machine (tests, a private index).
    pub fn allowing_private(store: Store, settings: Settings) -> anyhow::Result<Arc<Self>> {
        let client = http::client(&settings.http)?;
        Ok(Self::with_client(store, settings, client, false))
    }

    fn with_client(
        store: Store,
        settings: Settings,
        client: reqwest::Client,
        public_only: bool,
    ) -> Arc<Self> {
        Arc::new(Crawler {
            store,
            settings,
            client,
            public_only,
            wake: Notify::new(),
        })
    }

    /// Why this crawler will not fetch `url`, if it will not: an address that is not public
    /// (loopback, private, link-local) written in it, or credentials, for a public-only
    /// crawler. The resolver judges names; an address in the URL never reaches it.
    pub fn refusal(&self, url: &str) -> Option<String> {
        if !self.public_only {
            return None;
        }
        let parsed = reqwest::Url::parse(url).ok()?;
        signet_fetch::address::refusal(&parsed, false).map(|why| {
            let why = why.split("; `").next().unwrap_or(&why).to_owned();
            format!("{why}; this index crawls public addresses only (--allow-private)")
        })
    }

    /// Crawls what is due, for ever, `parallel` repositories in flight: as one finishes the
    /// next due is claimed (no batch waits for its slowest), and when none is due it sleeps
    /// until one is or a submission wakes it.
    pub async fn run(self: Arc<Self>) {
        let mut running = tokio::task::JoinSet::new();
        loop {
            let room = self.settings.parallel.saturating_sub(running.len());
            if room > 0 {
                match self.store.claim_due(room, now(), LEASE).await {
                    Ok(claimed) => {
                        for repository in claimed {
                            let crawler = self.clone();
                            running.spawn(async move { crawler.crawl(repository).await });
                        }
                    }
                    Err(e) => tracing::error!("claiming repositories to crawl: {e:#}"),
                }
            }
            if running.is_empty() {
                let nap = match self.store.next_due().await {
                    Ok(Some(due)) => (due - now()).clamp(1, 60) as u64,
                    _ => 60,
                };
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(nap)) => {}
                    _ = self.wake.notified() => {}
                    _ = self.store.recorded() => {}
                }
                continue;
            }
            tokio::select! {
                _ = running.join_next() => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    /// Reads each peer's repository list every interval, adding what it lists to crawl here.
    pub async fn follow_peers(self: Arc<Self>) {
        loop {
            for peer in &self.settings.peers {
                match self.read_peer(peer).await {
                    Ok(added) if added > 0 => {
                        tracing::info!(%peer, added, "repositories from a peer's list");
                        self.wake.notify_one();
                    }
                    Ok(_) => {}
                    Err(why) => tracing::warn!(%peer, "reading a peer's list: {why}"),
                }
            }
            tokio::time::sleep(Duration::from_secs(self.settings.interval as u64)).await;
        }
    }

    /// Adds the repositories a peer lists (those it has not dropped), a page at a time.
    async fn read_peer(&self, peer: &str) -> Result<usize, String> {
        const PAGE: BodyLimit = BodyLimit {
            max: 8 << 20,
            what_to_do: "a page of repositories is far smaller",
        };
        let peer = accept::check_url(peer)?;
        let (mut after, mut seen, mut added) = (String::new(), 0, 0);
        loop {
            let url = format!(
                "{peer}v1/repositories?limit={}&after={}",
                signet_proto::index::MAX_PAGE,
                percent(&after)
            );
            let got = http::get(
                &self.client,
                &self.settings.http,
                &url,
                &Default::default(),
                PAGE,
            )
            .await
            .map_err(|e| e.to_string())?;
            let Got::Body { bytes, .. } = got else {
                return Err("a 304 to an unconditional GET".into());
            };
            let page: signet_proto::index::Repositories =
                serde_json::from_slice(&bytes).map_err(|e| format!("not a list: {e}"))?;
            for r in page.repositories.iter().filter(|r| r.dropped.is_none()) {
                seen += 1;
                let Ok(url) = accept::check_url(&r.url) else {
                    continue;
                };
                if self
                    .store
                    .add_repository(&url, "peer", now())
                    .await
                    .map_err(|e| format!("{e:#}"))?
                {
                    added += 1;
                }
            }
            match page.next {
                // A next page only past this one: a peer cannot loop the reader.
                Some(next) if next > after && seen < self.settings.max_per_peer => after = next,
                _ => return Ok(added),
            }
        }
    }

    /// One repository: fetched, judged, and what passed kept.
    async fn crawl(&self, claimed: Claimed) {
        let url = claimed.url.clone();
        let started = std::time::Instant::now();
        let outcome = self.fetch_and_check(&claimed).await;
        let checked = started.elapsed();
        let kept = match &outcome {
            Ok(Crawled::Accepted(_, copy)) => copy.kept.len(),
            _ => 0,
        };
        let now = now();
        let result = match outcome {
            Ok(Crawled::Unchanged(record)) => self.keep(&url, &record, None, now).await,
            Ok(Crawled::Accepted(record, copy)) => self.keep(&url, &record, Some(copy), now).await,
            Err(Failure::Hostile(why)) => {
                tracing::warn!(%url, "dropped: {why}");
                self.store.drop_repository(&url, &why).await
            }
            Err(Failure::Failed(why)) => {
                let failures = claimed.failures + 1;
                let backoff = (30i64 << failures.min(10)).min(self.settings.interval);
                tracing::info!(%url, "crawl failed: {why}");
                self.store.failed(&url, &why, failures, now + backoff).await
            }
        };
        if let Err(e) = result {
            tracing::error!(%url, "recording the crawl: {e:#}");
        }
        // Where a crawl's time goes, for whoever runs an index (SIGNET_LOG=signet_index=debug).
        tracing::debug!(
            %url,
            kept,
            fetch_and_check_ms = checked.as_millis() as u64,
            record_ms = (started.elapsed() - checked).as_millis() as u64,
            "crawled"
        );
    }

    /// Records an accepted copy (or that the one held is current): the repositories its
    /// trust statements name are added at once, to be crawled; the rest is handed to the
    /// store, which on SQLite commits it with other crawls' (`store::writer`).
    async fn keep(
        &self,
        url: &str,
        record: &RemoteRecord,
        copy: Option<Copy>,
        now: i64,
    ) -> anyhow::Result<()> {
        if let Some(copy) = &copy {
            for url in copy
                .named
                .iter()
                .take(self.settings.max_discovered_per_repository)
            {
                if self.store.add_repository(url, "discovered", now).await? {
                    self.wake.notify_one();
                }
            }
        }
        let (attestations, certificates) = match copy {
            Some(copy) => (Some(copy.kept), copy.certificates),
            None => (None, Vec::new()),
        };
        self.store
            .accepted(AcceptedCopy {
                url: url.to_owned(),
                record: serde_json::to_string(record)?,
                pinned: record.pinned.as_ref().map_or("", |p| p.as_str()).to_owned(),
                serial: record.serial.unwrap_or(0) as i64,
                when: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
                now,
                next_crawl: now + self.settings.interval,
                attestations,
                certificates,
            })
            .await
    }

    async fn fetch_and_check(&self, claimed: &Claimed) -> Result<Crawled, Failure> {
        // Whichever way it came in (submitted, discovered, a peer's list).
        if let Some(why) = self.refusal(&claimed.url) {
            return Err(Failure::Hostile(why));
        }
        let mut record = claimed
            .record
            .as_deref()
            .and_then(|r| serde_json::from_str::<RemoteRecord>(r).ok())
            .unwrap_or_else(|| {
                RemoteRecord::new("index".into(), claimed.url.clone(), String::new())
            });
        if !record.pending_keys.is_empty() {
            let waiting: Vec<String> = record.pending_keys.iter().map(|k| k.to_string()).collect();
            if self
                .store
                .certificates(&waiting)
                .await
                .is_ok_and(|held| !held.is_empty())
            {
                // A key some of its words waited for is known now: the copy is read and
                // checked again, though it has not changed.
                record.key_sha256 = None;
                record.key_validators = accept::Validators::default();
                record.repo_validators = accept::Validators::default();
            }
        }
        let key_url = format!("{}{}", claimed.url, signet_proto::paths::KEY_FILE);
        let repo_url = format!("{}{}", claimed.url, signet_proto::paths::REPO_FILE);
        let repo_limit = BodyLimit {
            max: self.settings.max_repo_bytes,
            what_to_do: "the index takes repositories up to its max_repo_bytes",
        };
        let get = |url: &str, prior: &accept::Validators, limit| {
            let (client, limits) = (&self.client, &self.settings.http);
            let (url, prior) = (url.to_owned(), prior.clone());
            async move { http::get(client, limits, &url, &prior, limit).await }
        };
        let (key_got, repo_got) = tokio::join!(
            get(&key_url, &record.key_validators, KEY_LIMIT),
            get(&repo_url, &record.repo_validators, repo_limit)
        );
        let (key_got, repo_got) = (fetched(key_got)?, fetched(repo_got)?);
        // The index keeps no copies of the files: when one changed, both are read whole.
        let none = accept::Validators::default();
        let (key, key_validators) = match key_got {
            Got::Body { bytes, validators } => (bytes, validators),
            Got::NotModified if matches!(repo_got, Got::NotModified) => {
                return Ok(Crawled::Unchanged(record));
            }
            Got::NotModified => body(fetched(get(&key_url, &none, KEY_LIMIT).await)?)?,
        };
        let (repo, repo_validators) = match repo_got {
            Got::Body { bytes, validators } => (bytes, validators),
            Got::NotModified => body(fetched(get(&repo_url, &none, repo_limit).await)?)?,
        };
        // Read once: the keys its words name (their certificates are loaded to check them)
        // and the copy `accept` judges.
        let read = tokio::task::spawn_blocking(move || {
            let signed = formats::parse_signed_repo(&repo).map_err(|e| e.to_string())?;
            let keys = keys_named(&signed);
            Ok::<_, String>((signed, keys))
        })
        .await
        .map_err(|e| Failure::Failed(format!("reading the copy died: {e}")))?;
        let (signed, mut keys) =
            read.map_err(|e| Failure::Failed(format!("repo.json is not a valid repository: {e}")))?;
        // In the large-publisher layout, its parts: all of them, as the index keeps no copies,
        // within the bytes one repository may take; none for a refused top document.
        let named = accept::parts_to_fetch(&record, &key, &signed, &Keyring::default())
            .map_err(Failure::of)?;
        let mut parts = BTreeMap::new();
        if !named.is_empty() {
            signet_fetch::parts::download(
                &self.client,
                &self.settings.http,
                &claimed.url,
                &named,
                self.settings.max_repo_bytes,
                self.settings.max_repo_bytes,
                |part, bytes| {
                    let mut skipped = Vec::new();
                    if let Ok((_, lists)) = formats::parse_part(&bytes, &mut skipped) {
                        keys.extend(lists.values().flatten().map(|w| w.key.to_string()));
                    }
                    parts.insert(part.sha256.clone(), bytes);
                    Ok(())
                },
            )
            .await
            .map_err(|why| Failure::Failed(format!("fetching its parts: {why}")))?;
            keys.sort();
            keys.dedup();
        }
        let keyring = self.keyring_for(&keys).await;
        let max = self.settings.max_per_repository;
        let checked = tokio::task::spawn_blocking(move || {
            let (accepted, contents) =
                accept::accept_parsed(&record, &key, signed, &keyring, &mut parts)?;
            if contents.is_some() {
                // Only keys with no certificate: a word whose signature fails stays failed.
                record.pending_keys = accepted
                    .report
                    .pending_keys
                    .iter()
                    .filter(|k| keyring.get(k).is_none() && Some(*k) != record.pinned.as_ref())
                    .cloned()
                    .collect();
            }
            let copy = contents.map(|c| Copy::of(&accepted, c, &keyring, max));
            record.pinned = Some(cert::fingerprint(&accepted.cert));
            record.serial = Some(accepted.serial);
            record.signed_at = Some(accepted.signed_at);
            record.data_sha256 = Some(accepted.data_sha256.clone());
            record.key_sha256 = Some(accept::sha256_hex(&key));
            record.key_validators = key_validators;
            record.repo_validators = repo_validators;
            Ok::<_, Refusal>((record, copy))
        })
        .await
        .map_err(|e| Failure::Failed(format!("the check died: {e}")))?;
        match checked {
            Ok((record, Some(copy))) => Ok(Crawled::Accepted(record, copy)),
            Ok((record, None)) => Ok(Crawled::Unchanged(record)),
            Err(refusal) => Err(Failure::of(refusal)),
        }
    }

    /// The certificates held of these keys, to check a repository's words with (the
    /// owner's own `key.asc` is merged in by `accept`).
    async fn keyring_for(&self, keys: &[String]) -> Keyring {
        let mut keyring = Keyring::default();
        match self.store.certificates(keys).await {
            Ok(held) => {
                for armored in held.values() {
                    if let Ok(cert) = cert::parse_cert(armored.as_bytes()) {
                        keyring.learn(cert);
                    }
                }
            }
            Err(e) => tracing::error!("reading certificates: {e:#}"),
        }
        keyring
    }
}

/// Every key a repository's words name, from its parsed tree.
fn keys_named(signed: &signet_proto::formats::Signed) -> Vec<String> {
    let Ok(data) = signed.data_tree() else {
        return Vec::new();
    };
    let mut keys = BTreeSet::new();
    let lists = data
        .as_object()
        .and_then(|d| d.get("attestations"))
        .and_then(|a| a.as_object());
    // Values the parser kept as compact text are read where they are needed: here, each
    // word's `key`.
    fn tree(value: &Value) -> std::borrow::Cow<'_, Value> {
        match value {
            Value::Canonical(text) => signet_proto::json::parse(text.as_bytes()).map_or(
                std::borrow::Cow::Owned(Value::Null),
                std::borrow::Cow::Owned,
            ),
            other => std::borrow::Cow::Borrowed(other),
        }
    }
    for words in lists.into_iter().flat_map(|l| l.values()) {
        let Value::Array(words) = &*tree(words) else {
            continue;
        };
        for word in words {
            let word = tree(word);
            if let Some(key) = word
                .as_object()
                .and_then(|w| w.get("key"))
                .and_then(|k| k.as_str())
            {
                keys.insert(key.to_owned());
            }
        }
    }
    keys.into_iter().collect()
}

enum Crawled {
    /// The copy held is current: nothing to check again.
    Unchanged(RemoteRecord),
    Accepted(RemoteRecord, Copy),
}

/// What a new copy brings: its checked attestations as published, the certificates to keep,
/// and the repositories its trust statements name.
struct Copy {
    kept: Vec<Kept>,
    certificates: Vec<(String, String)>,
    named: Vec<String>,
}

impl Copy {
    fn of(accepted: &Accepted, contents: RepoContents, keyring: &Keyring, max: usize) -> Copy {
        let empty = Checked::default();
        let checked: &Checked = accepted.entries.as_ref().unwrap_or(&empty);
        // The words that checked, with when each was signed.
        let signed_at: std::collections::HashMap<(String, Fingerprint), u64> = checked
            .files
            .iter()
            .map(|(id, e)| ((id.to_string(), e.key), e.signed_at))
            .chain(checked.vouches.iter().map(|v| {
                let id = signet_proto::statements::TrustStatement::id_of(&v.about);
                ((id, v.key.clone()), v.signed_at)
            }))
            .collect();
        let mut kept = Vec::new();
        for (id, words) in &contents.attestations {
            for word in words {
                let Some(signed_at) = signed_at.get(&(id.clone(), word.key.clone())).copied()
                else {
                    continue;
                };
                if kept.len() >= max {
                    break;
                }
                kept.push(Kept {
                    content_id: id.clone(),
                    key: word.key.to_string(),
                    signed_at: signed_at as i64,
                    envelope: word.to_value().canonical(),
                });
            }
        }
        let mut certificates = Vec::new();
        for c in std::iter::once(&accepted.cert).chain(&accepted.retired) {
            let merged = keyring.merged(c.clone());
            let armored = String::from_utf8_lossy(&cert::armored_public(&merged)).into_owned();
            certificates.push((cert::fingerprint(&merged).to_string(), armored));
        }
        let named = checked
            .vouches
            .iter()
            .filter_map(|v| v.url.as_deref())
            .filter_map(|u| accept::check_url(u).ok())
            .collect();
        Copy {
            kept,
            certificates,
            named,
        }
    }
}

/// Why a crawl kept nothing.
enum Failure {
    /// The repository broke a rule no honest publisher breaks: it is crawled no more.
    Hostile(String),
    /// Unreachable, malformed, too large: tried again later, the copy held stays.
    Failed(String),
}

impl Failure {
    fn of(refusal: Refusal) -> Failure {
        let why = refusal.to_string();
        match refusal {
            Refusal::KeyChanged { .. }
            | Refusal::WrongSigner { .. }
            | Refusal::Rollback { .. }
            | Refusal::Equivocation { .. }
            | Refusal::OlderCopy { .. } => Failure::Hostile(why),
            _ => Failure::Failed(why),
        }
    }
}

fn fetched(got: Result<Got, http::FetchError>) -> Result<Got, Failure> {
    got.map_err(|e| Failure::Failed(e.to_string()))
}

fn body(got: Got) -> Result<(Vec<u8>, accept::Validators), Failure> {
    match got {
        Got::Body { bytes, validators } => Ok((bytes, validators)),
        Got::NotModified => Err(Failure::Failed("a 304 to an unconditional GET".into())),
    }
}

/// A query value, percent-encoded.
fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
