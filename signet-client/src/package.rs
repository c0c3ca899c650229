//! What a package file says it is: a `.crate`'s `Cargo.toml`, a wheel's `METADATA`, an npm
//! tarball's `package.json` — read to name the package in an attestation
//! (`crates.io/serde@1.0.200`). The file is input from outside: every archive is read with
//! bounds on entries and bytes, and what it says is only a name the reviewer signs, never a
//! path to write to.

use std::io::Read;
use std::path::Path;

use sha2::Digest as _;
use signet_proto::formats::ContentId;

use crate::lockfile::{Ecosystem, python};

/// At most this many archive entries are looked at for the manifest.
const MAX_ENTRIES: usize = 10_000;
/// At most this many bytes of a manifest are read.
const MAX_MANIFEST: u64 = 1 << 20;
/// At most this many decompressed bytes are read looking for it.
const MAX_UNPACKED: u64 = 512 << 20;

/// A package, as its file names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
    /// An npm tarball's sha512: the id package-lock.json's `integrity` names it by.
    pub npm_id: Option<ContentId>,
}

impl Package {
    /// As `--subject` writes it: `crates.io/serde@1.0.200`.
    pub fn subject(&self) -> String {
        format!("{}/{}@{}", self.ecosystem.prefix(), self.name, self.version)
    }
}

/// The package `path` is, when its name says it is one (`.crate`, `.whl`, `.tgz`) and its
/// manifest says which; `None` for any other file, or an archive without a manifest.
pub fn inspect(path: &Path) -> anyhow::Result<Option<Package>> {
    inspect_within(path, MAX_UNPACKED)
}

/// [`inspect`], reading at most `max` bytes of the file.
fn inspect_within(path: &Path, max: u64) -> anyhow::Result<Option<Package>> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let kind = if name.ends_with(".crate") {
        Ecosystem::Crates
    } else if name.ends_with(".whl") {
        Ecosystem::PyPI
    } else if name.ends_with(".tgz") {
        Ecosystem::Npm
    } else {
        return Ok(None);
    };
    let bytes_of = || -> anyhow::Result<Vec<u8>> {
        let file = std::fs::File::open(path)?;
        let mut bytes = Vec::new();
        file.take(max + 1).read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    let bytes = bytes_of().map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if bytes.len() as u64 > max {
        // Larger than is read: its manifest may be read, but a digest of part of it would
        // name other bytes. It is attested as a file, without a package name.
        return Ok(None);
    }
    let found = match kind {
        Ecosystem::Crates => crate_manifest(&bytes),
        Ecosystem::PyPI => wheel_metadata(&bytes),
        Ecosystem::Npm => npm_manifest(&bytes).map(|p| {
            p.map(|mut p| {
                let digest: [u8; 64] = sha2::Sha512::digest(&bytes).into();
                p.npm_id = Some(ContentId::sha512(&digest));
                p
            })
        }),
    };
    // An archive Signet cannot read is still a file to attest: it just names no package.
    Ok(found.ok().flatten())
}

/// The one entry of a gzipped tar at `TOP/NAME` (any top directory), bounded.
fn tar_entry(bytes: &[u8], wanted: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let gz = flate2::read::GzDecoder::new(bytes).take(MAX_UNPACKED);
    let mut archive = tar::Archive::new(gz);
    for entry in archive.entries()?.take(MAX_ENTRIES) {
        let entry = entry?;
        let path = entry.path()?;
        let mut parts = path.components();
        let (Some(_top), Some(file), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if file.as_os_str() != wanted || !entry.header().entry_type().is_file() {
            continue;
        }
        let mut text = Vec::new();
        entry.take(MAX_MANIFEST).read_to_end(&mut text)?;
        return Ok(Some(text));
    }
    Ok(None)
}

fn crate_manifest(bytes: &[u8]) -> anyhow::Result<Option<Package>> {
    #[derive(serde::Deserialize)]
    struct Manifest {
        package: Section,
    }
    #[derive(serde::Deserialize)]
    struct Section {
        name: String,
        version: String,
    }
    let Some(text) = tar_entry(bytes, "Cargo.toml")? else {
        return Ok(None);
    };
    // The normalized manifest cargo publishes: name and version are plain strings.
    let m: Manifest = toml::from_str(std::str::from_utf8(&text)?)?;
    Ok(Some(Package {
        ecosystem: Ecosystem::Crates,
        name: m.package.name,
        version: m.package.version,
        npm_id: None,
    }))
}

fn npm_manifest(bytes: &[u8]) -> anyhow::Result<Option<Package>> {
    #[derive(serde::Deserialize)]
    struct Manifest {
        name: String,
        version: String,
    }
    let Some(text) = tar_entry(bytes, "package.json")? else {
        return Ok(None);
    };
    let m: Manifest = serde_json::from_slice(&text)?;
    Ok(Some(Package {
        ecosystem: Ecosystem::Npm,
        name: m.name,
        version: m.version,
        npm_id: None,
    }))
}

fn wheel_metadata(bytes: &[u8]) -> anyhow::Result<Option<Package>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))?;
    let Some(index) = (0..archive.len().min(MAX_ENTRIES)).find(|&i| {
        archive
            .name_for_index(i)
            .and_then(Result::ok)
            .is_some_and(|n| {
                n.strip_suffix(".dist-info/METADATA")
                    .is_some_and(|top| !top.contains('/'))
            })
    }) else {
        return Ok(None);
    };
    let mut text = String::new();
    archive
        .by_index(index)?
        .take(MAX_MANIFEST)
        .read_to_string(&mut text)?;
    // Core metadata is email headers: `Name:` and `Version:` before the first blank line.
    let header = |field: &str| {
        text.lines()
            .take_while(|l| !l.is_empty())
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .map(|v| v.trim().to_owned())
    };
    let (Some(name), Some(version)) = (header("Name"), header("Version")) else {
        return Ok(None);
    };
    Ok(Some(Package {
        ecosystem: Ecosystem::PyPI,
        name: python::normalize(&name),
        version,
        npm_id: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/packages")
            .join(name)
    }

    #[test]
    fn a_real_npm_tarball_names_itself_and_its_integrity() {
        let p = inspect(&fixture("is-number-7.0.0.tgz")).unwrap().unwrap();
        assert_eq!(p.subject(), "npm/is-number@7.0.0");
        let crate::lockfile::Pin::Ids(ids) =
            crate::lockfile::sri(crate::lockfile::fixtures::IS_NUMBER_SRI)
        else {
            panic!()
        };
        assert_eq!(p.npm_id.as_ref(), Some(&ids[0]));
    }

    /// A file larger than what is read names no package: the sha512 of a prefix is no id of
    /// the file.
    #[test]
    fn a_file_larger_than_what_is_read_names_nothing() {
        let path = fixture("is-number-7.0.0.tgz");
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(inspect_within(&path, size).unwrap().is_some());
        for max in [size - 1, size / 2, 1200] {
            assert_eq!(
                inspect_within(&path, max).unwrap(),
                None,
                "{max} bytes read"
            );
        }
    }

    #[test]
    fn a_real_wheel_names_itself() {
        let p = inspect(&fixture("six-1.16.0-py2.py3-none-any.whl"))
            .unwrap()
            .unwrap();
        assert_eq!(p.subject(), "pypi/six@1.16.0");
        assert_eq!(p.npm_id, None);
    }

    #[test]
    fn other_files_and_unreadable_archives_name_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("fake.crate");
        std::fs::write(&fake, b"not gzip").unwrap();
        assert_eq!(inspect(&fake).unwrap(), None);
        let plain = dir.path().join("notes.txt");
        std::fs::write(&plain, b"hello").unwrap();
        assert_eq!(inspect(&plain).unwrap(), None);
    }
}
