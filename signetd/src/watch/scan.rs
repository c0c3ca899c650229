//! Watched directories, the file-system half: which files a watch covers (ignore rules, size
//! cap, regular files only) and scanning a tree into content ids in parallel. The daemon half
//! (events, verdicts, subscribers) is in `mod.rs` and its siblings.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::{WalkBuilder, WalkState};
use signet_proto::formats::ContentId;

use crate::config::WatchConfig;
use crate::hash::{self, FileStamp};

/// Per-directory ignore files, in the order they take precedence (as in ripgrep):
/// `.signetignore` for rules only Signet should follow, then the usual two.
pub const IGNORE_FILES: [&str; 3] = [".signetignore", ".ignore", ".gitignore"];

/// What a watch leaves out: the config's `watch.ignore` patterns, `.git/`, and the ignore
/// files found in the tree.
pub struct Rules {
    root: PathBuf,
    configured: Gitignore,
    /// Ignore files per directory, read when an event first needs them; dropped when one of
    /// them changes.
    per_dir: Mutex<HashMap<PathBuf, Arc<Vec<Gitignore>>>>,
}

impl Rules {
    pub fn new(root: &Path, patterns: &[String]) -> Result<Self, String> {
        let mut builder = GitignoreBuilder::new(root);
        for pattern in patterns {
            builder
                .add_line(None, pattern)
                .map_err(|e| format!("watch.ignore pattern {pattern:?}: {e}"))?;
        }
        let configured = builder.build().map_err(|e| e.to_string())?;
        Ok(Rules {
            root: root.to_owned(),
            configured,
            per_dir: Mutex::default(),
        })
    }

    /// Forgets the ignore files read so far (one of them changed).
    pub fn reload(&self) {
        self.per_dir
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Whether `path` (under the root) is ignored, by the same rules the scan follows.
    pub fn is_ignored(&self, path: &Path, is_dir: bool) -> bool {
        let Ok(relative) = path.strip_prefix(&self.root) else {
            return true;
        };
        if relative.components().any(|c| c.as_os_str() == ".git") {
            return true;
        }
        if self
            .configured
            .matched_path_or_any_parents(path, is_dir)
            .is_ignore()
        {
            return true;
        }
        // The deepest directory's rules win, as in git.
        for dir in path.ancestors().skip(1) {
            if !dir.starts_with(&self.root) {
                break;
            }
            for rules in self.rules_in(dir).iter() {
                let matched = rules.matched_path_or_any_parents(path, is_dir);
                if matched.is_ignore() {
                    return true;
                }
                if matched.is_whitelist() {
                    return false;
                }
            }
        }
        false
    }

    fn rules_in(&self, dir: &Path) -> Arc<Vec<Gitignore>> {
        let mut cache = self.per_dir.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(dir.to_owned())
            .or_insert_with(|| {
                Arc::new(
                    IGNORE_FILES
                        .iter()
                        .map(|name| dir.join(name))
                        .filter(|file| file.is_file())
                        .map(|file| Gitignore::new(file).0)
                        .collect(),
                )
            })
            .clone()
    }
}

/// A file a scan found and hashed (or recognised unchanged).
#[derive(Debug, Clone)]
pub struct Found {
    pub path: PathBuf,
    pub stamp: FileStamp,
    pub id: ContentId,
}

/// What a scan of one directory tree found.
#[derive(Debug, Default)]
pub struct Scan {
    pub files: Vec<Found>,
    /// Every directory entered: each needs an inotify watch.
    pub dirs: Vec<PathBuf>,
    /// Files left out: too large, special files, symlinks, unreadable, changing while read.
    pub skipped: usize,
    /// Problems met on the way (an unreadable directory…), a few of them.
    pub problems: Vec<String>,
    pub millis: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{}", signet_proto::text::file_error(path, source))]
    Root { path: String, source: io::Error },
    #[error(
        "{path} holds more than {max} files; watch a smaller directory, add ignore rules, or \
         raise watch.max_files in config.json"
    )]
    TooManyFiles { path: String, max: usize },
}

/// Scans `dir` (the root or a directory under it) on every core. `known` gives the stamp and
/// id a file had: files whose stamp is unchanged are not read again.
pub fn scan(
    dir: &Path,
    rules: &Rules,
    config: &WatchConfig,
    known: &(dyn Fn(&Path) -> Option<(FileStamp, ContentId)> + Sync),
) -> Result<Scan, ScanError> {
    let started = Instant::now();
    let meta = std::fs::symlink_metadata(dir).map_err(|source| ScanError::Root {
        path: dir.display().to_string(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(ScanError::Root {
            path: dir.display().to_string(),
            source: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
        });
    }
    // Opening it proves it is readable: an unreadable root is an error, not an empty tree.
    std::fs::read_dir(dir).map_err(|source| ScanError::Root {
        path: dir.display().to_string(),
        source,
    })?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let seen = AtomicUsize::new(0);
    let result = Mutex::new(Scan::default());
    let too_many = std::sync::atomic::AtomicBool::new(false);
    let configured = rules.configured.clone();
    let walker = WalkBuilder::new(dir)
        .hidden(false)
        .parents(false)
        .ignore(true)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(false)
        .require_git(false)
        .follow_links(false)
        .add_custom_ignore_filename(IGNORE_FILES[0])
        .threads(threads)
        .filter_entry(move |entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            entry.file_name() != ".git" && !configured.matched(entry.path(), is_dir).is_ignore()
        })
        .build_parallel();
    walker.run(|| {
        let mut worker = Worker {
            local: Scan::default(),
            into: &result,
        };
        let (seen, too_many) = (&seen, &too_many);
        Box::new(move |entry| {
            let state = visit(entry, config, known, &mut worker.local, seen, too_many);
            if worker.local.files.len() >= 256 {
                merge(worker.into, &mut worker.local);
            }
            state
        })
    });
    let mut scan = result.into_inner().unwrap_or_else(|e| e.into_inner());
    if too_many.load(Ordering::Relaxed) {
        return Err(ScanError::TooManyFiles {
            path: dir.display().to_string(),
            max: config.max_files,
        });
    }
    scan.millis = started.elapsed().as_millis() as u64;
    Ok(scan)
}

fn visit(
    entry: Result<ignore::DirEntry, ignore::Error>,
    config: &WatchConfig,
    known: &(dyn Fn(&Path) -> Option<(FileStamp, ContentId)> + Sync),
    local: &mut Scan,
    seen: &AtomicUsize,
    too_many: &std::sync::atomic::AtomicBool,
) -> WalkState {
    let entry = match entry {
        Ok(entry) => entry,
        Err(e) => {
            local.skipped += 1;
            local.problems.push(e.to_string());
            return WalkState::Continue;
        }
    };
    // From readdir: a symlink is a symlink here (never followed), a FIFO is never opened.
    let Some(kind) = entry.file_type() else {
        return WalkState::Continue;
    };
    if kind.is_dir() {
        local.dirs.push(entry.into_path());
        return WalkState::Continue;
    }
    if !kind.is_file() {
        local.skipped += 1;
        return WalkState::Continue;
    }
    if seen.fetch_add(1, Ordering::Relaxed) >= config.max_files {
        too_many.store(true, Ordering::Relaxed);
        return WalkState::Quit;
    }
    let path = entry.into_path();
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_file() && meta.len() <= config.max_file_bytes => {
            let stamp = FileStamp::of(&meta);
            if let Some((known_stamp, id)) = known(&path)
                && known_stamp == stamp
            {
                local.files.push(Found { path, stamp, id });
                return WalkState::Continue;
            }
            match hash::hash_file(&path, hash::Follow::No) {
                Ok((id, stamp)) => local.files.push(Found { path, stamp, id }),
                // It changed, vanished or is unreadable: the event that follows a change
                // brings it back; the others are counted.
                Err(_) => local.skipped += 1,
            }
        }
        _ => local.skipped += 1,
    }
    WalkState::Continue
}

/// One walker thread's findings, merged into the whole in batches and when the walk ends.
struct Worker<'a> {
    local: Scan,
    into: &'a Mutex<Scan>,
}

impl Drop for Worker<'_> {
    fn drop(&mut self) {
        merge(self.into, &mut self.local);
    }
}

fn merge(into: &Mutex<Scan>, local: &mut Scan) {
    let mut into = into.lock().unwrap_or_else(|e| e.into_inner());
    into.files.append(&mut local.files);
    into.dirs.append(&mut local.dirs);
    into.skipped += std::mem::take(&mut local.skipped);
    if into.problems.len() < 10 {
        into.problems.append(&mut local.problems);
    }
    local.problems.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, text) in [
            (".gitignore", "target/\n*.log\n"),
            ("src/.gitignore", "!keep.log\ngenerated.rs\n"),
            ("src/deep/.signetignore", "secret\n"),
            ("src/main.rs", "fn main() {}"),
            ("src/keep.log", "kept"),
            ("src/noise.log", "noise"),
            ("src/generated.rs", "// generated"),
            ("src/deep/secret", "s"),
            ("src/deep/open", "o"),
            ("target/debug/bin", "b"),
            ("scratch.tmp", "t"),
            (".git/HEAD", "ref"),
        ] {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    /// Events and scans must agree on what a watch covers.
    #[test]
    fn events_and_scans_follow_the_same_ignore_rules() {
        let dir = tree();
        let root = dir.path();
        let rules = Rules::new(root, &["*.tmp".to_owned()]).unwrap();
        let config = WatchConfig::default();
        let scan = scan(root, &rules, &config, &|_| None).unwrap();
        let mut scanned: Vec<String> = scan
            .files
            .iter()
            .map(|f| f.path.strip_prefix(root).unwrap().display().to_string())
            .collect();
        scanned.sort();
        assert_eq!(
            scanned,
            [
                ".gitignore",
                "src/.gitignore",
                "src/deep/.signetignore",
                "src/deep/open",
                "src/keep.log",
                "src/main.rs"
            ]
        );
        for (path, ignored) in [
            ("src/main.rs", false),
            ("src/keep.log", false),
            ("src/noise.log", true),
            ("src/generated.rs", true),
            ("src/deep/secret", true),
            ("src/deep/open", false),
            ("target/debug/bin", true),
            ("scratch.tmp", true),
            (".git/HEAD", true),
        ] {
            assert_eq!(rules.is_ignored(&root.join(path), false), ignored, "{path}");
        }
        assert!(rules.is_ignored(&root.join("target"), true));
        assert!(rules.is_ignored(Path::new("/elsewhere/file"), false));
    }

    #[test]
    fn scans_reuse_unchanged_files_and_respect_the_caps() {
        let dir = tree();
        let root = dir.path();
        let rules = Rules::new(root, &[]).unwrap();
        let first = scan(root, &rules, &WatchConfig::default(), &|_| None).unwrap();
        let bogus = ContentId::sha256(&[7; 32]);
        // A stamp that matches is trusted: the file is not read again.
        let known: HashMap<PathBuf, FileStamp> = first
            .files
            .iter()
            .map(|f| (f.path.clone(), f.stamp))
            .collect();
        let again = scan(root, &rules, &WatchConfig::default(), &|p| {
            known.get(p).map(|s| (*s, bogus.clone()))
        })
        .unwrap();
        assert!(again.files.iter().all(|f| f.id == bogus));

        let small = WatchConfig {
            max_file_bytes: 5,
            ..WatchConfig::default()
        };
        let capped = scan(root, &rules, &small, &|_| None).unwrap();
        assert!(capped.files.iter().all(|f| f.stamp.size <= 5));
        assert!(capped.skipped > 0);
        let few = WatchConfig {
            max_files: 2,
            ..WatchConfig::default()
        };
        assert!(matches!(
            scan(root, &rules, &few, &|_| None),
            Err(ScanError::TooManyFiles { max: 2, .. })
        ));
    }
}
