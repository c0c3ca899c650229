//! A project's own policy, `signet.toml`: whose words count for this project and how many,
//! kept in the project's repository so that CI and every developer judge its dependencies
//! alike, with no `sig trust add` and no state of their own (docs/POLICY.md).
//!
//! ```toml
//! [[trust]]
//! key = "DFDD705124843F878C6183EBD8C1B99DB32780D9"
//! level = "high"                                  # high, medium (the default) or low
//! url = "https://alice.example.org/signet/"       # where the key's repository is
//!
//! remotes = ["https://mirror.example.org/signet/"]   # more repositories to follow
//!
//! [verify]
//! threshold = 2           # trusted reviewers who must say ok (default 1)
//! max_not_ok = 0          # more trusted NOT oks than this fail (default 0)
//! criteria = ["safe-to-deploy"]
//!
//! [index]
//! urls = ["https://index.example.org/"]           # asked by `sig deps --index`
//! ```
//!
//! The file is read from the project's own directory only, never from a directory above it
//! (`/tmp/signet.toml` is anyone's), and only when owned by the user or root.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use signet_proto::api::{ProjectPolicy, TrustedKey};
use signet_proto::formats::{About, Fingerprint};
use signet_proto::statements::Trust;

pub const FILE: &str = "signet.toml";
const MAX_FILE: u64 = 1 << 20;
/// More than a project would list; an answer judged by thousands of keys is not a policy.
const MAX_KEYS: usize = 1_000;

/// A project's policy and where its keys publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub path: PathBuf,
    pub policy: ProjectPolicy,
    /// Repositories to follow: each trusted key's `url`, pinned to that key, and the
    /// `remotes`, pinned at their first fetch.
    pub repositories: Vec<(Option<Fingerprint>, String)>,
    /// The public indexes `--index` asks, in place of `index.urls`.
    pub indexes: Vec<String>,
}

/// What a `signet.toml` says, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub policy: ProjectPolicy,
    pub repositories: Vec<(Option<Fingerprint>, String)>,
    pub indexes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    trust: Vec<TrustEntry>,
    /// Repositories to follow beside the keys' own (a mirror, a team's shared one): their
    /// words count only when signed by a key listed.
    #[serde(default)]
    remotes: Vec<String>,
    #[serde(default)]
    verify: VerifySection,
    #[serde(default)]
    index: IndexSection,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct IndexSection {
    #[serde(default)]
    urls: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustEntry {
    key: String,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct VerifySection {
    #[serde(default)]
    threshold: Option<usize>,
    #[serde(default)]
    max_not_ok: Option<usize>,
    #[serde(default)]
    criteria: Vec<String>,
}

/// The policy of the project at `dir` (a directory, or a file in one), if it has one.
pub fn find(dir: &Path) -> anyhow::Result<Option<Project>> {
    let dir = if dir.is_dir() {
        dir
    } else {
        dir.parent().unwrap_or(Path::new("."))
    };
    let path = dir.join(FILE);
    match path.symlink_metadata() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        _ => read(&path).map(Some),
    }
}

/// Reads and checks the policy file at `path`.
pub fn read(path: &Path) -> anyhow::Result<Project> {
    use std::io::Read as _;
    use std::os::unix::fs::MetadataExt as _;
    let shown = signet_proto::text::shown(&path.to_string_lossy()).to_string();
    let file = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("{}", signet_proto::text::file_error(&shown, &e)))?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        anyhow::bail!("{shown}: not a regular file");
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me && meta.uid() != 0 {
        anyhow::bail!(
            "{shown} belongs to another user (uid {}): a policy anyone else can write is not \
             this project's; give one with --policy, or --no-policy",
            meta.uid()
        );
    }
    let mut text = String::new();
    file.take(MAX_FILE + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE {
        anyhow::bail!("{shown}: larger than 1 MiB, more than any policy");
    }
    parse(&text)
        .map(|p| Project {
            path: path.to_owned(),
            policy: p.policy,
            repositories: p.repositories,
            indexes: p.indexes,
        })
        .map_err(|e| anyhow::anyhow!("{shown}: {e}"))
}

/// The policy a `signet.toml` says, checked whole: a mistake is said, never half-applied.
pub fn parse(text: &str) -> Result<Parsed, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    if file.trust.is_empty() {
        return Err("no [[trust]] keys: nothing could ever be ok".into());
    }
    if file.trust.len() > MAX_KEYS {
        return Err(format!(
            "{} [[trust]] keys, more than {MAX_KEYS}",
            file.trust.len()
        ));
    }
    let mut trusted: Vec<TrustedKey> = Vec::new();
    let mut repositories = Vec::new();
    for t in file.trust {
        let key =
            crate::commands::full_fingerprint(&t.key).map_err(|e| format!("[[trust]] key: {e}"))?;
        let level = match t.level.as_deref().unwrap_or("medium") {
            "high" => Trust::High,
            "medium" => Trust::Medium,
            "low" => Trust::Low,
            other => {
                return Err(format!(
                    "[[trust]] {key}: level {other:?} is not high, medium or low"
                ));
            }
        };
        if trusted.iter().any(|k| k.key == key) {
            return Err(format!("[[trust]] {key} is listed twice"));
        }
        if let Some(url) = t.url {
            let url = normalise_url(&url).map_err(|e| format!("[[trust]] {key}: url: {e}"))?;
            repositories.push((Some(key.clone()), url));
        }
        trusted.push(TrustedKey { key, level });
    }
    let threshold = file.verify.threshold.unwrap_or(1);
    if !(1..=1_000).contains(&threshold) {
        return Err(format!("[verify] threshold {threshold}: from 1 to 1000"));
    }
    let max_not_ok = file.verify.max_not_ok.unwrap_or(0);
    if max_not_ok > 1_000 {
        return Err(format!("[verify] max_not_ok {max_not_ok}: at most 1000"));
    }
    let criteria = About::new(None, file.verify.criteria)
        .map_err(|e| format!("[verify] criteria: {e}"))?
        .criteria;
    for url in file.remotes {
        let url = normalise_url(&url).map_err(|e| format!("remotes: {e}"))?;
        if !repositories.iter().any(|(_, u)| *u == url) {
            repositories.push((None, url));
        }
    }
    if file.index.urls.len() > 16 {
        return Err("[index] urls: at most 16 indexes".into());
    }
    let indexes = file
        .index
        .urls
        .iter()
        .map(|u| normalise_url(u).map_err(|e| format!("[index] urls: {e}")))
        .collect::<Result<_, _>>()?;
    Ok(Parsed {
        policy: ProjectPolicy {
            trusted,
            threshold,
            max_not_ok,
            criteria,
        },
        repositories,
        indexes,
    })
}

/// A repository URL as `sig remote add` takes it: http(s), ending in `/`.
fn normalise_url(url: &str) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url:?}: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("{url:?} is not http or https"));
    }
    Ok(if url.ends_with('/') {
        url.to_owned()
    } else {
        format!("{url}/")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "DFDD705124843F878C6183EBD8C1B99DB32780D9";

    #[test]
    fn reads_a_policy_with_its_defaults() {
        let text = format!(
            "[[trust]]\nkey = \"{}\"\nurl = \"https://a.example.org/signet\"\n\n\
             [[trust]]\nkey = \"0x{}\"\nlevel = \"high\"\n\n[verify]\nthreshold = 2\n\
             criteria = [\"safe-to-deploy\"]\n",
            ALICE.to_lowercase(),
            "A".repeat(40)
        );
        let Parsed {
            policy,
            repositories,
            indexes,
        } = parse(&text).unwrap();
        assert!(indexes.is_empty());
        assert_eq!(policy.trusted.len(), 2);
        assert_eq!(policy.trusted[0].key.as_str(), ALICE);
        assert_eq!(policy.trusted[0].level, Trust::Medium);
        assert_eq!(policy.trusted[1].level, Trust::High);
        assert_eq!((policy.threshold, policy.max_not_ok), (2, 0));
        assert_eq!(policy.criteria, ["safe-to-deploy"]);
        assert_eq!(
            repositories,
            [(
                Some(policy.trusted[0].key.clone()),
                "https://a.example.org/signet/".into()
            )]
        );
    }

    #[test]
    fn refuses_a_policy_with_any_mistake_saying_which() {
        let key = format!("[[trust]]\nkey = \"{ALICE}\"\n");
        for (text, says) in [
            (String::new(), "no [[trust]] keys"),
            (
                "[[trust]]\nkey = \"B32780D9\"\n".into(),
                "not a full fingerprint",
            ),
            (
                format!("{key}level = \"ultimate\"\n"),
                "not high, medium or low",
            ),
            (format!("{key}{key}"), "listed twice"),
            (
                format!("{key}url = \"file:///etc/\"\n"),
                "not http or https",
            ),
            (format!("{key}[verify]\nthreshold = 0\n"), "threshold 0"),
            (
                format!("{key}[verify]\ncriteria = [\"A B\"]\n"),
                "not a criterion",
            ),
            (format!("{key}[verify]\nthreshhold = 2\n"), "unknown field"),
            (format!("remotes = [\"ftp://x/\"]\n{key}"), "remotes"),
            (format!("{key}[index]\nurls = [\"nope\"]\n"), "[index] urls"),
        ] {
            let err = parse(&text).unwrap_err();
            assert!(err.contains(says), "{text:?}: {err}");
        }
    }

    #[test]
    fn only_the_projects_own_directory_is_looked_in() {
        let outer = tempfile::tempdir().unwrap();
        std::fs::write(
            outer.path().join(FILE),
            format!("[[trust]]\nkey = \"{ALICE}\"\n"),
        )
        .unwrap();
        let inner = outer.path().join("project");
        std::fs::create_dir(&inner).unwrap();
        assert_eq!(
            find(&inner).unwrap(),
            None,
            "a policy above is not this one's"
        );
        let found = find(outer.path()).unwrap().unwrap();
        assert_eq!(found.policy.trusted.len(), 1);
        // A lockfile's path finds the policy beside it.
        let lock = outer.path().join("Cargo.lock");
        assert!(find(&lock).unwrap().is_some());
    }
}
