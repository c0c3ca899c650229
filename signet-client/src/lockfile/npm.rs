//! npm's `package-lock.json` (and `npm-shrinkwrap.json`, the same format) and pnpm's
//! `pnpm-lock.yaml`: each package's `integrity` is Subresource Integrity text,
//! `sha512-<base64>` for every package published since 2017 — the sha512 of the tarball, so a
//! `sha512:` content id. Older entries carry only `sha1-`, too weak to name bytes: shown as
//! such, never checked.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;
use signet_proto::formats::ContentId;

use super::{Dependency, Pin};

/// The strongest usable id in an SRI `integrity` (several space-separated hashes may be
/// given; options after `?` are ignored), or why there is none.
pub fn sri(integrity: &str) -> Pin {
    let mut weak = None;
    let mut best: Option<ContentId> = None;
    for token in integrity.split_ascii_whitespace() {
        let Some((algo, rest)) = token.split_once('-') else {
            continue;
        };
        let b64 = rest.split('?').next().unwrap_or_default();
        let Ok(digest) = base64::engine::general_purpose::STANDARD.decode(b64) else {
            continue;
        };
        match (algo, digest.len()) {
            ("sha512", 64) => {
                let mut d = [0; 64];
                d.copy_from_slice(&digest);
                best = Some(ContentId::sha512(&d));
            }
            ("sha256", 32) if best.is_none() => {
                let mut d = [0; 32];
                d.copy_from_slice(&digest);
                best = Some(ContentId::sha256(&d));
            }
            ("sha1", 20) => weak = Some("only a sha1 digest, too weak to name bytes".to_owned()),
            (other, _) => {
                weak.get_or_insert_with(|| {
                    format!("a {other} digest, which Signet does not match")
                });
            }
        }
    }
    match (best, weak) {
        (Some(id), _) => Pin::Ids(vec![id]),
        (None, Some(why)) => Pin::Unusable(why),
        (None, None) => Pin::Unusable(format!("{integrity:?} is not an integrity value")),
    }
}

#[derive(Deserialize)]
struct PackageLock {
    /// Every package-lock.json says which format it is: 1, 2 or 3.
    #[serde(rename = "lockfileVersion")]
    #[allow(dead_code)] // required, so that any JSON is not read as an empty lockfile
    lockfile_version: u32,
    /// Lockfile versions 2 and 3: every installed package by its path in node_modules.
    #[serde(default)]
    packages: Option<BTreeMap<String, LockEntry>>,
    /// Lockfile version 1 (and 2, for old npm): a nested tree by name.
    #[serde(default)]
    dependencies: Option<BTreeMap<String, TreeEntry>>,
}

/// A package in `packages`, by its path under `node_modules` (its `dependencies` are ranges).
#[derive(Deserialize)]
struct LockEntry {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    resolved: Option<String>,
    #[serde(default)]
    integrity: Option<String>,
    /// A link to a workspace package, listed again under its own path.
    #[serde(default)]
    link: bool,
}

/// A package in version 1's tree, with the packages nested under it.
#[derive(Deserialize)]
struct TreeEntry {
    #[serde(flatten)]
    entry: LockEntry,
    #[serde(default)]
    dependencies: Option<BTreeMap<String, TreeEntry>>,
}

/// The packages a `package-lock.json` installs, each once.
pub fn package_lock(text: &str) -> Result<Vec<Dependency>, String> {
    let lock: PackageLock =
        serde_json::from_str(text).map_err(|e| format!("not a package-lock.json: {e}"))?;
    let mut deps = Vec::new();
    if let Some(packages) = lock.packages {
        for (path, entry) in packages {
            if path.is_empty() || entry.link {
                continue; // the project itself; a link's target is listed on its own
            }
            // `node_modules/a/node_modules/@s/b` is `@s/b`; a workspace's path is its own.
            let from_path = path
                .rsplit_once("node_modules/")
                .map_or(path.as_str(), |(_, n)| n);
            let name = entry.name.clone().unwrap_or_else(|| from_path.to_owned());
            deps.push(npm_dependency(name, &entry));
        }
    } else if let Some(tree) = lock.dependencies {
        walk_v1(tree, &mut deps);
    }
    dedup(&mut deps);
    Ok(deps)
}

fn walk_v1(tree: BTreeMap<String, TreeEntry>, deps: &mut Vec<Dependency>) {
    for (name, tree) in tree {
        deps.push(npm_dependency(name, &tree.entry));
        if let Some(nested) = tree.dependencies {
            // Bounded: serde_json refuses documents nested deeper than 128.
            walk_v1(nested, deps);
        }
    }
}

fn npm_dependency(name: String, entry: &LockEntry) -> Dependency {
    Dependency {
        name,
        version: entry.version.clone().unwrap_or_default(),
        source: entry.resolved.clone(),
        pin: entry.integrity.as_deref().map_or(Pin::Unpinned, sri),
    }
}

/// The same package installed at several places is one dependency.
fn dedup(deps: &mut Vec<Dependency>) {
    deps.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    deps.dedup_by(|a, b| a.name == b.name && a.version == b.version && a.pin == b.pin);
}

#[derive(Deserialize)]
struct PnpmLock {
    #[serde(default, rename = "lockfileVersion")]
    lockfile_version: Option<Scalar>,
    #[serde(default)]
    packages: Option<BTreeMap<String, PnpmPackage>>,
}

/// pnpm wrote `lockfileVersion: 5.4` (a number) before `'6.0'` (text).
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(f64),
}

#[derive(Deserialize)]
struct PnpmPackage {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    resolution: Option<PnpmResolution>,
}

#[derive(Deserialize)]
struct PnpmResolution {
    #[serde(default)]
    integrity: Option<String>,
    #[serde(default)]
    tarball: Option<String>,
}

/// The packages of a `pnpm-lock.yaml` (lockfile versions 5 to 9).
pub fn pnpm_lock(text: &str) -> Result<Vec<Dependency>, String> {
    // serde-saphyr bounds what a document may cost (aliases, depth, events) by default.
    let lock: PnpmLock =
        serde_saphyr::from_str(text).map_err(|e| format!("not a pnpm-lock.yaml: {e}"))?;
    let v5 = match &lock.lockfile_version {
        Some(Scalar::Number(n)) => *n < 6.0,
        Some(Scalar::Text(t)) => t.starts_with('5'),
        None => false,
    };
    let mut deps = Vec::new();
    for (key, package) in lock.packages.unwrap_or_default() {
        let (name, version) = pnpm_key(&key, v5);
        let resolution = package.resolution.as_ref();
        deps.push(Dependency {
            name: package.name.unwrap_or(name),
            version: package.version.unwrap_or(version),
            source: resolution.and_then(|r| r.tarball.clone()),
            pin: resolution
                .and_then(|r| r.integrity.as_deref())
                .map_or(Pin::Unpinned, sri),
        });
    }
    dedup(&mut deps);
    Ok(deps)
}

/// A package's name and version from its key: `@s/n@1.0.0` (9), `/@s/n@1.0.0(peer@2)` (6),
/// `/@s/n/1.0.0_peer@2` (5).
fn pnpm_key(key: &str, v5: bool) -> (String, String) {
    let key = key.strip_prefix('/').unwrap_or(key);
    let key = key.split('(').next().unwrap_or(key);
    let split = if v5 {
        key.rsplit_once('/')
            .map(|(n, v)| (n, v.split('_').next().unwrap_or(v)))
    } else {
        // The version's `@`, not a scope's leading one.
        key.rfind('@')
            .filter(|&at| at > 0)
            .map(|at| (&key[..at], &key[at + 1..]))
    };
    match split {
        Some((name, version)) => (name.to_owned(), version.to_owned()),
        None => (key.to_owned(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    fn find<'a>(deps: &'a [Dependency], name: &str) -> &'a Dependency {
        deps.iter().find(|d| d.name == name).unwrap()
    }

    #[test]
    fn sri_integrity_is_a_sha512_content_id() {
        let Pin::Ids(ids) = sri(fixtures::IS_NUMBER_SRI) else {
            panic!()
        };
        // `sha512sum is-number-7.0.0.tgz`
        assert_eq!(
            ids[0].as_str(),
            "sha512:e350a27e483a7bc4f2952a5db53a5e2d532abd20445734edb47bc4443ef8d7ea6767c00dbf4d34e0c44be3740a3c394af5c1af369e8d6566540656c65d8c719e"
        );
        assert!(
            matches!(sri("sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA="), Pin::Unusable(w) if w.contains("sha1"))
        );
        assert!(matches!(sri("nonsense"), Pin::Unusable(_)));
        // The strongest of several wins, whatever their order.
        let both = format!(
            "sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA= {}",
            fixtures::IS_NUMBER_SRI
        );
        assert!(matches!(sri(&both), Pin::Ids(_)));
    }

    #[test]
    fn reads_a_real_package_lock() {
        let deps = package_lock(fixtures::PACKAGE_LOCK).unwrap();
        let names: Vec<&str> = deps.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["@types/node", "is-number", "undici-types"]);
        let is_number = find(&deps, "is-number");
        assert_eq!(is_number.version, "7.0.0");
        assert_eq!(is_number.pin, sri(fixtures::IS_NUMBER_SRI));
    }

    #[test]
    fn reads_a_version_1_package_lock_tree() {
        let v1 = r#"{"lockfileVersion": 1, "dependencies": {"a": {"version": "1.0.0",
            "integrity": "sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "dependencies": {"b": {"version": "2.0.0"}}}}}"#;
        let deps = package_lock(v1).unwrap();
        assert!(matches!(find(&deps, "a").pin, Pin::Unusable(_)));
        assert_eq!(find(&deps, "b").pin, Pin::Unpinned);
        assert!(
            package_lock("{}")
                .unwrap_err()
                .contains("not a package-lock.json")
        );
    }

    #[test]
    fn reads_a_real_pnpm_lock_and_every_key_form() {
        let deps = pnpm_lock(fixtures::PNPM_LOCK).unwrap();
        let from_npm = package_lock(fixtures::PACKAGE_LOCK).unwrap();
        assert_eq!(
            deps,
            from_npm
                .into_iter()
                .map(|d| Dependency { source: None, ..d })
                .collect::<Vec<_>>()
        );
        for (key, v5, want) in [
            ("@s/n@1.0.0", false, ("@s/n", "1.0.0")),
            ("/@s/n@1.0.0(react@18.0.0)", false, ("@s/n", "1.0.0")),
            ("/@s/n/1.0.0_react@18.0.0", true, ("@s/n", "1.0.0")),
            ("/n/1.0.0", true, ("n", "1.0.0")),
        ] {
            let (n, v) = pnpm_key(key, v5);
            assert_eq!((n.as_str(), v.as_str()), want, "{key}");
        }
        let v5 = "lockfileVersion: 5.4\npackages:\n  /n/1.0.0:\n    resolution: {integrity: sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA=}\n";
        assert_eq!(pnpm_lock(v5).unwrap()[0].version, "1.0.0");
        assert!(
            pnpm_lock("packages: [1, 2]")
                .unwrap_err()
                .contains("not a pnpm-lock.yaml")
        );
    }

    #[test]
    fn an_alias_bomb_is_refused_not_expanded() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for n in 0..12 {
            let prev = if n == 0 {
                "a".to_owned()
            } else {
                format!("b{}", n - 1)
            };
            bomb.push_str(&format!("b{n}: &b{n} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        bomb.push_str("packages: {}\n");
        let err = pnpm_lock(&bomb).unwrap_err();
        assert!(err.contains("not a pnpm-lock.yaml"), "{err}");
        // Aliases themselves are fine: it is the expansion that is bounded.
        assert!(pnpm_lock("a: &a [x]\nb: [*a, *a]\npackages: {}\n").is_ok());
    }
}
