//! Lockfiles read as lists of dependencies with the content ids they pin. Pure: bytes in,
//! dependencies out; every lockfile is input from outside (a repository anyone can write), so
//! each is bounded and read with a well-kept parser (toml, serde_json, serde-saphyr), never by
//! hand — except pip's requirements format, which has no parser of its own outside pip.
//!
//! | lockfile | what pins the bytes | id |
//! |---|---|---|
//! | `Cargo.lock` | `checksum`, the sha256 of the `.crate` | `sha256:` |
//! | `requirements.txt`, `uv.lock`, `poetry.lock` | `--hash=sha256:…`, `hash = "sha256:…"` | `sha256:` |
//! | `package-lock.json`, `pnpm-lock.yaml` | `integrity`, SRI `sha512-<base64>` | `sha512:` |

mod cargo;
mod npm;
pub mod python;

use std::path::{Path, PathBuf};

use signet_proto::formats::ContentId;

pub use cargo::cargo_lock;
pub use npm::{package_lock, pnpm_lock, sri};
pub use python::{poetry_lock, requirements, uv_lock};

/// The largest lockfile read: a lockfile of 10,000 dependencies is about 2 MB (package-lock's
/// entries are larger: about 5 MB).
pub const MAX_LOCKFILE: u64 = 16 << 20;

/// Where a package comes from, for naming it (`crates.io/serde@1.0.200`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ecosystem {
    Crates,
    Npm,
    PyPI,
}

impl Ecosystem {
    /// The prefix of a package's subject, as `sig attest --subject` writes it.
    pub fn prefix(self) -> &'static str {
        match self {
            Ecosystem::Crates => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "pypi",
        }
    }
}

/// What a lockfile says about a dependency's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// The ids its files may have: one for a crate or an npm package, one per file (the sdist
    /// and every wheel) for a Python package. Whichever is installed must be one of these.
    Ids(Vec<ContentId>),
    /// Nothing pins its bytes: a path or git dependency, the project's own package.
    Unpinned,
    /// A digest Signet cannot match (npm's old `sha1-`, pip's `sha384`): named, not checked.
    Unusable(String),
}

/// One dependency as a lockfile pins it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// As the ecosystem names packages: `serde`, `@types/node`.
    pub name: String,
    pub version: String,
    /// Where it comes from, as the lockfile says (`registry+https://…`), if it says.
    pub source: Option<String>,
    pub pin: Pin,
}

impl Dependency {
    pub fn ids(&self) -> &[ContentId] {
        match &self.pin {
            Pin::Ids(ids) => ids,
            _ => &[],
        }
    }
}

/// The lockfiles Signet reads, by their file names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    CargoLock,
    PackageLock,
    PnpmLock,
    UvLock,
    PoetryLock,
    Requirements,
}

impl Kind {
    /// Looked for in a project directory, in this order.
    const IN_A_PROJECT: [(&'static str, Kind); 7] = [
        ("Cargo.lock", Kind::CargoLock),
        ("package-lock.json", Kind::PackageLock),
        ("npm-shrinkwrap.json", Kind::PackageLock),
        ("pnpm-lock.yaml", Kind::PnpmLock),
        ("uv.lock", Kind::UvLock),
        ("poetry.lock", Kind::PoetryLock),
        ("requirements.txt", Kind::Requirements),
    ];

    /// The kind of a lockfile by its name: any `*.txt` is read as pip requirements, as pip
    /// reads `-r FILE` of any name.
    pub fn of(file: &Path) -> Option<Kind> {
        let name = file.file_name()?.to_str()?;
        Self::IN_A_PROJECT
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
            .or_else(|| name.ends_with(".txt").then_some(Kind::Requirements))
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::CargoLock => "Cargo.lock",
            Kind::PackageLock => "package-lock.json",
            Kind::PnpmLock => "pnpm-lock.yaml",
            Kind::UvLock => "uv.lock",
            Kind::PoetryLock => "poetry.lock",
            Kind::Requirements => "requirements.txt",
        }
    }

    pub fn ecosystem(self) -> Ecosystem {
        match self {
            Kind::CargoLock => Ecosystem::Crates,
            Kind::PackageLock | Kind::PnpmLock => Ecosystem::Npm,
            Kind::UvLock | Kind::PoetryLock | Kind::Requirements => Ecosystem::PyPI,
        }
    }

    /// The dependencies `text` pins, as this kind of lockfile.
    pub fn read(self, text: &str) -> Result<Vec<Dependency>, String> {
        match self {
            Kind::CargoLock => cargo_lock(text),
            Kind::PackageLock => package_lock(text),
            Kind::PnpmLock => pnpm_lock(text),
            Kind::UvLock => uv_lock(text),
            Kind::PoetryLock => poetry_lock(text),
            Kind::Requirements => requirements(text),
        }
    }
}

/// A lockfile found and read.
#[derive(Debug)]
pub struct Lockfile {
    pub path: PathBuf,
    pub kind: Kind,
    pub dependencies: Vec<Dependency>,
}

/// The lockfile at `path`, or every lockfile Signet reads in the directory `path` names.
pub fn find(path: &Path) -> anyhow::Result<Vec<Lockfile>> {
    if !path.is_dir() {
        let kind = Kind::of(path).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: not a lockfile Signet reads ({})",
                path.display(),
                known_names()
            )
        })?;
        return Ok(vec![read(path, kind)?]);
    }
    let found: Vec<Lockfile> = Kind::IN_A_PROJECT
        .iter()
        .map(|(name, kind)| (path.join(name), *kind))
        // `symlink_metadata`: a lockfile that is a link elsewhere is not this project's.
        .filter(|(file, _)| file.symlink_metadata().is_ok_and(|m| m.is_file()))
        .map(|(file, kind)| read(&file, kind))
        .collect::<anyhow::Result<_>>()?;
    if found.is_empty() {
        anyhow::bail!(
            "{}: no lockfile here (Signet reads {}); give the lockfile's path",
            path.display(),
            known_names()
        );
    }
    Ok(found)
}

/// Reads one lockfile as `kind`.
pub fn read(file: &Path, kind: Kind) -> anyhow::Result<Lockfile> {
    let bytes = read_bounded(file)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| anyhow::anyhow!("{}: not UTF-8, so not a {}", file.display(), kind.name()))?;
    let dependencies = kind
        .read(text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    Ok(Lockfile {
        path: file.to_owned(),
        kind,
        dependencies,
    })
}

fn known_names() -> String {
    let names: Vec<&str> = Kind::IN_A_PROJECT.iter().map(|(n, _)| *n).collect();
    names.join(", ")
}

fn read_bounded(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| {
        anyhow::anyhow!(
            "{}",
            signet_proto::text::file_error(&path.display().to_string(), &e)
        )
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_LOCKFILE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_LOCKFILE {
        anyhow::bail!(
            "{}: larger than {} MiB, more than any lockfile",
            path.display(),
            MAX_LOCKFILE >> 20
        );
    }
    Ok(bytes)
}

/// A `sha256:` or `sha512:` id from a lockfile's `algo:hex` text, or why it cannot be one.
fn hex_id(text: &str) -> Result<ContentId, String> {
    let (algo, _) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not algorithm:digest"))?;
    if algo != "sha256" && algo != "sha512" {
        return Err(format!("a {algo} digest, which Signet does not match"));
    }
    ContentId::parse(&text.to_ascii_lowercase()).map_err(|e| e.to_string())
}

/// A pin from the digests a lockfile lists for a package: the usable ones as ids, or, when
/// none is, why.
fn pin_of<'a>(digests: impl IntoIterator<Item = &'a str>) -> Pin {
    let mut ids = Vec::new();
    let mut unusable = None;
    for text in digests {
        match hex_id(text) {
            Ok(id) if !ids.contains(&id) => ids.push(id),
            Ok(_) => {}
            Err(why) => unusable = Some(why),
        }
    }
    match (ids.is_empty(), unusable) {
        (false, _) => Pin::Ids(ids),
        (true, Some(why)) => Pin::Unusable(why),
        (true, None) => Pin::Unpinned,
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Real lockfiles, made by their own tools (tests/fixtures/README.md).
    pub const PACKAGE_LOCK: &str =
        include_str!("../../../tests/fixtures/lockfiles/npm/package-lock.json");
    pub const PNPM_LOCK: &str =
        include_str!("../../../tests/fixtures/lockfiles/pnpm/pnpm-lock.yaml");
    pub const UV_LOCK: &str = include_str!("../../../tests/fixtures/lockfiles/uv/uv.lock");
    pub const REQUIREMENTS: &str =
        include_str!("../../../tests/fixtures/lockfiles/uv/requirements.txt");
    pub const POETRY_LOCK: &str =
        include_str!("../../../tests/fixtures/lockfiles/poetry/poetry.lock");
    /// `sha512-41Cifkg6…` of `packages/is-number-7.0.0.tgz`, as npm names it.
    pub const IS_NUMBER_SRI: &str = "sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==";
    /// The sha256 of `packages/six-1.16.0-py2.py3-none-any.whl`.
    pub const SIX_WHEEL: &str =
        "sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_name() {
        for (name, kind) in [
            ("Cargo.lock", Kind::CargoLock),
            ("npm-shrinkwrap.json", Kind::PackageLock),
            ("pnpm-lock.yaml", Kind::PnpmLock),
            ("requirements-dev.txt", Kind::Requirements),
            ("poetry.lock", Kind::PoetryLock),
        ] {
            assert_eq!(Kind::of(Path::new(name)), Some(kind), "{name}");
        }
        assert_eq!(Kind::of(Path::new("yarn.lock")), None);
    }

    #[test]
    fn pins_keep_usable_digests_and_say_why_when_none_is() {
        let a = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            pin_of([a.as_str(), "sha384:00", a.as_str()]),
            Pin::Ids(vec![ContentId::parse(&a).unwrap()])
        );
        assert!(matches!(pin_of(["sha384:00"]), Pin::Unusable(w) if w.contains("sha384")));
        assert_eq!(pin_of([]), Pin::Unpinned);
        // Upper-case hex, as some tools print it, is the same digest.
        assert_eq!(
            pin_of([a.to_uppercase().replace("SHA256", "sha256").as_str()]),
            Pin::Ids(vec![ContentId::parse(&a).unwrap()])
        );
    }

    #[test]
    fn a_project_directory_yields_every_lockfile_in_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("uv.lock"), fixtures::UV_LOCK).unwrap();
        std::fs::write(dir.path().join("package-lock.json"), fixtures::PACKAGE_LOCK).unwrap();
        let found = find(dir.path()).unwrap();
        let kinds: Vec<Kind> = found.iter().map(|l| l.kind).collect();
        assert_eq!(kinds, [Kind::PackageLock, Kind::UvLock]);
        let empty = tempfile::tempdir().unwrap();
        let err = find(empty.path()).unwrap_err().to_string();
        assert!(
            err.contains("no lockfile here") && err.contains("pnpm-lock.yaml"),
            "{err}"
        );
        let err = find(&dir.path().join("yarn.lock")).unwrap_err().to_string();
        assert!(err.contains("not a lockfile Signet reads"), "{err}");
    }
}
