//! Python's lockfiles: pip's `requirements.txt` in `--require-hashes` form (as `pip-compile
//! --generate-hashes` and `uv export` write it), `uv.lock` and `poetry.lock`. Each pins a
//! package by the sha256 of *every* file it may install — the sdist and one wheel per
//! platform — so a dependency has several ids, and the one installed is one of them.

use serde::Deserialize;

use super::{Dependency, pin_of};

/// A package name as PyPI compares them (PEP 503): `Foo_Bar.baz` is `foo-bar-baz`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The requirements of a pip requirements file. Lines pinned with `==` give a version;
/// `--hash=sha256:…` options give the ids. Options lines (`-r`, `--index-url`, `-e`) are not
/// dependencies and are passed over: a file they include is read by naming it.
pub fn requirements(text: &str) -> Result<Vec<Dependency>, String> {
    let mut deps = Vec::new();
    for (number, line) in logical_lines(text) {
        let line = strip_comment(&line);
        let line = line.trim();
        if line.is_empty() || line.starts_with('-') {
            continue;
        }
        let mut spec = Vec::new();
        let mut hashes = Vec::new();
        let mut words = line.split_whitespace();
        while let Some(word) = words.next() {
            if let Some(h) = word.strip_prefix("--hash=") {
                hashes.push(h.to_owned());
            } else if word == "--hash" {
                hashes.extend(words.next().map(str::to_owned));
            } else if word.starts_with("--") {
                // A per-requirement option (`--config-settings`…): not part of the name.
            } else {
                spec.push(word);
            }
        }
        let spec = spec.join(" ");
        let spec = spec.split(';').next().unwrap_or_default().trim();
        let name_end = spec
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(spec.len());
        if name_end == 0 {
            return Err(format!("line {number}: {spec:?} is not a requirement"));
        }
        let rest = spec[name_end..].trim_start();
        let rest = match rest.strip_prefix('[') {
            Some(extras) => extras.split_once(']').map_or("", |(_, r)| r).trim_start(),
            None => rest,
        };
        let (version, source) = if let Some(url) = rest.strip_prefix('@') {
            (String::new(), Some(url.trim().to_owned()))
        } else {
            let pinned = rest
                .strip_prefix("===")
                .or_else(|| rest.strip_prefix("=="))
                .map(|v| v.split(',').next().unwrap_or(v).trim().to_owned());
            (pinned.unwrap_or_default(), None)
        };
        deps.push(Dependency {
            name: normalize(&spec[..name_end]),
            version,
            source,
            pin: pin_of(hashes.iter().map(String::as_str)),
        });
    }
    Ok(deps)
}

/// Lines joined where one ends in `\`, each with the number of its first physical line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut open = false;
    for (n, line) in text.lines().enumerate() {
        let (body, continues) = match line.strip_suffix('\\') {
            Some(body) => (body, true),
            None => (line, false),
        };
        match out.last_mut() {
            Some((_, joined)) if open => {
                joined.push(' ');
                joined.push_str(body);
            }
            _ => out.push((n + 1, body.to_owned())),
        }
        open = continues;
    }
    out
}

/// A line without its comment: pip's comments start at a `#` at the start of the line or
/// after whitespace (a `#` inside a URL's fragment is not one).
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

#[derive(Deserialize)]
struct UvLock {
    #[serde(default)]
    package: Vec<UvPackage>,
}

#[derive(Deserialize)]
struct UvPackage {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    source: Option<toml::Table>,
    #[serde(default)]
    sdist: Option<Hashed>,
    #[serde(default)]
    wheels: Vec<Hashed>,
}

#[derive(Deserialize)]
struct Hashed {
    #[serde(default)]
    hash: Option<String>,
}

/// The packages of a `uv.lock`: each by its sdist's and wheels' hashes.
pub fn uv_lock(text: &str) -> Result<Vec<Dependency>, String> {
    let lock: UvLock = toml::from_str(text).map_err(|e| format!("not a uv.lock: {e}"))?;
    Ok(lock
        .package
        .into_iter()
        .map(|p| {
            let hashes: Vec<String> = p
                .sdist
                .iter()
                .chain(&p.wheels)
                .filter_map(|h| h.hash.clone())
                .collect();
            Dependency {
                name: normalize(&p.name),
                version: p.version.unwrap_or_default(),
                // `{ registry = "https://pypi.org/simple" }`, `{ virtual = "." }`, `{ git = … }`
                source: p.source.and_then(|s| {
                    let (kind, value) = s.into_iter().next()?;
                    Some(format!("{kind}+{}", value.as_str().unwrap_or_default()))
                }),
                pin: pin_of(hashes.iter().map(String::as_str)),
            }
        })
        .collect())
}

#[derive(Deserialize)]
struct PoetryLock {
    #[serde(default)]
    package: Vec<PoetryPackage>,
    /// Poetry before 1.5 kept the files' hashes apart, by package name.
    #[serde(default)]
    metadata: Option<PoetryMetadata>,
}

#[derive(Deserialize)]
struct PoetryPackage {
    name: String,
    version: String,
    #[serde(default)]
    files: Vec<Hashed>,
    #[serde(default)]
    source: Option<PoetrySource>,
}

#[derive(Deserialize)]
struct PoetrySource {
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct PoetryMetadata {
    #[serde(default)]
    files: std::collections::BTreeMap<String, Vec<Hashed>>,
}

/// The packages of a `poetry.lock` (lock versions 1.1 to 2.1).
pub fn poetry_lock(text: &str) -> Result<Vec<Dependency>, String> {
    let lock: PoetryLock = toml::from_str(text).map_err(|e| format!("not a poetry.lock: {e}"))?;
    let old_files = lock.metadata.map(|m| m.files).unwrap_or_default();
    Ok(lock
        .package
        .into_iter()
        .map(|p| {
            let name = normalize(&p.name);
            let files = if p.files.is_empty() {
                old_files
                    .iter()
                    .find(|(n, _)| normalize(n) == name)
                    .map(|(_, f)| f.as_slice())
                    .unwrap_or_default()
            } else {
                &p.files
            };
            Dependency {
                pin: pin_of(files.iter().filter_map(|f| f.hash.as_deref())),
                name,
                version: p.version,
                source: p.source.and_then(|s| s.url),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::{Pin, fixtures};
    use super::*;
    use signet_proto::formats::ContentId;

    fn find<'a>(deps: &'a [Dependency], name: &str) -> &'a Dependency {
        deps.iter().find(|d| d.name == name).unwrap()
    }

    #[test]
    fn names_compare_as_pypi_compares_them() {
        assert_eq!(normalize("Foo_Bar.baz"), "foo-bar-baz");
        assert_eq!(normalize("zope.interface"), "zope-interface");
        assert_eq!(normalize("six"), "six");
    }

    /// One lockfile, three tools: the same packages with the same files.
    #[test]
    fn real_requirements_uv_and_poetry_locks_agree() {
        let six_wheel = ContentId::parse(fixtures::SIX_WHEEL).unwrap();
        let from_requirements = requirements(fixtures::REQUIREMENTS).unwrap();
        let from_uv = uv_lock(fixtures::UV_LOCK).unwrap();
        let from_poetry = poetry_lock(fixtures::POETRY_LOCK).unwrap();
        for deps in [&from_requirements, &from_uv, &from_poetry] {
            let six = find(deps, "six");
            assert_eq!(six.version, "1.16.0");
            assert_eq!(six.ids().len(), 2, "the sdist and the wheel");
            assert!(six.ids().contains(&six_wheel));
            assert_eq!(find(deps, "idna").ids().len(), 2);
        }
        // uv's own project pins nothing.
        assert_eq!(find(&from_uv, "demo").pin, Pin::Unpinned);
        assert_eq!(from_requirements.len(), 2);
    }

    #[test]
    fn requirements_lines_in_every_form_pip_reads() {
        let a = "a".repeat(64);
        let text = format!(
            "# a comment\n--index-url https://pypi.org/simple\n-r other.txt\n\
             Foo_Bar[extra1,extra2] == 1.0 ; python_version >= '3.8' \\\n    --hash=sha256:{a} # why\n\
             pinned-nowhere>=2\n\
             direct @ https://example.org/direct.whl#sha256=00 --hash sha256:{a}\n\
             weak==1 --hash=sha384:00\n"
        );
        let deps = requirements(&text).unwrap();
        let names: Vec<&str> = deps.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["foo-bar", "pinned-nowhere", "direct", "weak"]);
        assert_eq!(deps[0].version, "1.0");
        assert_eq!(deps[0].ids().len(), 1);
        assert_eq!(deps[1].pin, Pin::Unpinned);
        assert_eq!(deps[1].version, "");
        assert_eq!(
            deps[2].source.as_deref(),
            Some("https://example.org/direct.whl#sha256=00")
        );
        assert!(matches!(&deps[3].pin, Pin::Unusable(w) if w.contains("sha384")));
        assert!(requirements("==1.0\n").unwrap_err().contains("line 1"));
    }

    #[test]
    fn old_poetry_locks_keep_hashes_apart() {
        let a = "a".repeat(64);
        let old = format!(
            "[[package]]\nname = \"Six\"\nversion = \"1.16.0\"\n\n[metadata.files]\nsix = [\n  {{file = \"six.whl\", hash = \"sha256:{a}\"}},\n]\n"
        );
        assert_eq!(poetry_lock(&old).unwrap()[0].ids().len(), 1);
        assert!(
            poetry_lock("package = 1")
                .unwrap_err()
                .contains("not a poetry.lock")
        );
    }
}
