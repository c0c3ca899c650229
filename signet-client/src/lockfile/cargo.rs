//! `Cargo.lock`, whose `checksum` is the sha256 of the `.crate` file (the crates.io index's
//! `cksum`) — a `sha256:` content id as Signet's own. Packages without one (path and git
//! dependencies, the workspace's own crates) pin no bytes.

use serde::Deserialize;

use super::{Dependency, Pin, hex_id};

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
            let pin = match &p.checksum {
                Some(hex) => {
                    Pin::Ids(vec![hex_id(&format!("sha256:{hex}")).map_err(|e| {
                        format!("{} {}: its checksum: {e}", p.name, p.version)
                    })?])
                }
                None => Pin::Unpinned,
            };
            Ok(Dependency {
                name: p.name,
                version: p.version,
                source: p.source,
                pin,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This project's own lockfile: real, hundreds of packages, registry and workspace ones.
    const OURS: &str = include_str!("../../../Cargo.lock");

    #[test]
    fn reads_this_projects_cargo_lock() {
        let deps = cargo_lock(OURS).unwrap();
        assert!(deps.len() > 300, "{}", deps.len());
        let serde = deps.iter().find(|d| d.name == "serde").unwrap();
        assert!(serde.source.as_deref().unwrap().starts_with("registry+"));
        assert!(serde.ids()[0].as_str().starts_with("sha256:"));
        // The workspace's own crates pin no bytes.
        let ours = deps.iter().find(|d| d.name == "signet-proto").unwrap();
        assert_eq!(ours.pin, Pin::Unpinned);
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
