//! Lockfiles read as lists of dependencies with the content ids they pin. Pure: bytes in,
//! dependencies out; every lockfile is input from outside (a repository anyone can write), so
//! each is bounded and read with a well-kept parser, never by hand.
//!
//! Today: `Cargo.lock`, whose `checksum` is the sha256 of the `.crate` file (the crates.io
//! index's `cksum`) — a `sha256:` content id as Signet's own. Packages without one (path and
//! git dependencies, the workspace's own crates) are listed as such: nothing pins their bytes.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use signet_proto::formats::ContentId;

/// The largest lockfile read: a lockfile of 10,000 dependencies is about 2 MB.
pub const MAX_LOCKFILE: u64 = 16 << 20;

/// One dependency as a lockfile pins it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// As the ecosystem names packages: `serde`.
    pub name: String,
    pub version: String,
    /// Where it comes from, as the lockfile says (`registry+https://…`), if it says.
    pub source: Option<String>,
    /// The content id its bytes must have, when the lockfile pins them.
    pub id: Option<ContentId>,
}

/// A lockfile found and read.
#[derive(Debug)]
pub struct Lockfile {
    pub path: PathBuf,
    pub kind: &'static str,
    pub dependencies: Vec<Dependency>,
}

/// The lockfile at `path`, or the one in the directory `path` names.
pub fn find(path: &Path) -> anyhow::Result<Lockfile> {
    let file = if path.is_dir() {
        let cargo = path.join("Cargo.lock");
        if !cargo.is_file() {
            anyhow::bail!(
                "{}: no lockfile here (Signet reads Cargo.lock); give the lockfile's path",
                path.display()
            );
        }
        cargo
    } else {
        path.to_owned()
    };
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name != "Cargo.lock" {
        anyhow::bail!(
            "{}: not a lockfile Signet reads (Cargo.lock)",
            file.display()
        );
    }
    let bytes = read_bounded(&file)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| anyhow::anyhow!("{}: not UTF-8, so not a Cargo.lock", file.display()))?;
    let dependencies = cargo_lock(text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    Ok(Lockfile {
        path: file,
        kind: "Cargo.lock",
        dependencies,
    })
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

#[derive(Deserialize)]
struct CargoLock {
    #[serde(default)]
    package: Vec<CargoPackage>,
}

#[derive(Deserialize)]
struct CargoPackage {
    name: String,
    version: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    checksum: Option<String>,
}

/// The packages of a `Cargo.lock` (format versions 1 to 4: version 1 kept checksums in a
/// `[metadata]` table, which is not read: such lockfiles predate 2019's Rust 1.41, and
/// `cargo update` rewrites them).
pub fn cargo_lock(text: &str) -> Result<Vec<Dependency>, String> {
    let lock: CargoLock = toml::from_str(text).map_err(|e| format!("not a Cargo.lock: {e}"))?;
    lock.package
        .into_iter()
        .map(|p| {
            let id = match &p.checksum {
                Some(hex) => Some(
                    ContentId::parse(&format!("sha256:{hex}"))
                        .map_err(|e| format!("{} {}: its checksum: {e}", p.name, p.version))?,
                ),
                None => None,
            };
            Ok(Dependency {
                name: p.name,
                version: p.version,
                source: p.source,
                id,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This project's own lockfile: real, hundreds of packages, registry and workspace ones.
    const OURS: &str = include_str!("../../Cargo.lock");

    #[test]
    fn reads_this_projects_cargo_lock() {
        let deps = cargo_lock(OURS).unwrap();
        assert!(deps.len() > 300, "{}", deps.len());
        let serde = deps.iter().find(|d| d.name == "serde").unwrap();
        assert!(serde.source.as_deref().unwrap().starts_with("registry+"));
        assert!(serde.id.as_ref().unwrap().as_str().starts_with("sha256:"));
        // The workspace's own crates pin no bytes.
        let ours = deps.iter().find(|d| d.name == "signet-proto").unwrap();
        assert_eq!(ours.id, None);
        assert_eq!(ours.source, None);
    }

    #[test]
    fn refuses_what_is_not_a_cargo_lock_saying_why() {
        assert!(
            cargo_lock("[[package]]\nname = 1\n")
                .unwrap_err()
                .contains("not a Cargo.lock")
        );
        let bad = "[[package]]\nname = \"x\"\nversion = \"1\"\nchecksum = \"zz\"\n";
        assert!(cargo_lock(bad).unwrap_err().contains("x 1: its checksum"));
        assert_eq!(cargo_lock("").unwrap(), Vec::new());
    }
}
