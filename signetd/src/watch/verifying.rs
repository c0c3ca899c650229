//! Verifying: a target's content id (a file hashed, or answered from the path cache or the
//! watched tree's file table) and the verdict on it with the attestations behind it.

use std::path::PathBuf;
use std::sync::Arc;

use signet_proto::api::{Target, Verdict, VerifyResult};
use signet_proto::formats::ContentId;
use signet_proto::wire_path::AbsPath;

use super::{PATH_CACHE_LIMIT, PathEntry, Watches};
use crate::errors::{Failure as _, FileError, blocking};
use crate::hash::{self, FileStamp};
use crate::state::VerifyError;

impl Watches {
    /// The content id of a target, hashing a file when given a path.
    pub async fn resolve(&self, target: &Target) -> Result<ContentId, VerifyError> {
        match target {
            Target::Path(path) => self.hash_path(path.clone()).await,
            Target::Id(id) => Ok(id.clone()),
            Target::Tree(dir) => {
                let dir = dir.to_path_buf();
                // Dropped with this future when the client goes: the hashing stops with it.
                let cancel = hash::Cancel::default();
                let _stop = cancel.stop_on_drop();
                blocking("hashing the tree", move || {
                    super::tree::tree_id(&dir, &cancel)
                })
                .await?
                .map(|(id, _)| id)
                .map_err(VerifyError::Tree)
            }
        }
    }

    /// Hashes a file, or answers from the path cache when its stamp is unchanged.
    async fn hash_path(&self, path: AbsPath) -> Result<ContentId, VerifyError> {
        let path = path.into_path_buf();
        let cached = self
            .path_cache()
            .get(&path)
            .map(|e| (e.stamp, e.id.clone()));
        let hashed = path.clone();
        // Dropped with this future when the client goes: the hashing stops with it.
        let cancel = hash::Cancel::default();
        let _stop = cancel.stop_on_drop();
        // The stat too is done off the async threads (a stat can hang on a network mount).
        let (id, stamp) = blocking("hashing", move || {
            let stamp = hash::stamp(&hashed)?;
            match cached {
                Some((held, id)) if held == stamp => Ok((id, stamp)),
                _ => hash::hash_file_until(&hashed, hash::Follow::Yes, &cancel),
            }
        })
        .await?
        .map_err(FileError)?;
        let mut paths = self.path_cache();
        if paths.len() >= PATH_CACHE_LIMIT {
            paths.clear();
        }
        match paths.get_mut(&path) {
            // The same bytes: the verdict last told to subscribers stays with them.
            Some(held) if held.id == id => held.stamp = stamp,
            _ => {
                let entry = PathEntry {
                    stamp,
                    id: id.clone(),
                    verdict: None,
                };
                paths.insert(path, entry);
            }
        }
        Ok(id)
    }

    pub async fn verify(&self, target: &Target) -> Result<VerifyResult, VerifyError> {
        if let Some(result) = self.verify_watched(target) {
            return Ok(result);
        }
        let id = self.resolve(target).await?;
        Ok(self.verdict_by_path(&id, target.path()))
    }

    /// The verdict on `id`, the contents of `path` if one is given: a subscriber's file keeps
    /// the verdict last answered, so that a change to it is told.
    fn verdict_by_path(&self, id: &ContentId, path: Option<&AbsPath>) -> VerifyResult {
        let result = self.verdict_on(id, path.map(|p| p.to_path_buf()));
        if let Some(path) = path {
            self.remember_told(&result, path);
        }
        result
    }

    /// A subscriber's file keeps the verdict last answered about it, so that a change is told.
    fn remember_told(&self, result: &VerifyResult, path: &AbsPath) {
        if self.subscribers.covers(path)
            && let Some(entry) = self.path_cache().get_mut(path.as_path())
            && entry.id.as_str() == result.id
        {
            entry.verdict = Some(result.verdict);
        }
    }

    /// For each path, the verdict from the path cache when one stat shows the file unchanged
    /// since it was hashed; `None` where it must be hashed (or could not be stat'ed: the full
    /// verify says why). One trip to a blocking thread for them all: a tree verified again
    /// costs a stat per file, not a task and a thread hop each.
    pub async fn verify_unchanged(&self, paths: &[AbsPath]) -> Vec<Option<VerifyResult>> {
        let held: Vec<Option<(FileStamp, ContentId)>> = {
            let cache = self.path_cache();
            paths
                .iter()
                .map(|p| cache.get(p.as_path()).map(|e| (e.stamp, e.id.clone())))
                .collect()
        };
        let files: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
        let unchanged = blocking("checking files", move || {
            use rayon::prelude::*;
            // A stat each, on every core: the one cost of a file unchanged.
            files
                .par_iter()
                .zip(held)
                .map(|(file, held)| {
                    let (stamp, id) = held?;
                    (hash::stamp(file).ok()? == stamp).then_some(id)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        // Judged under one read of the state and one copy of the rules, not one per file.
        let config = self.shared.config();
        let rules = crate::state::Rules::user(&config.verify);
        let results: Vec<Option<VerifyResult>> = {
            let s = self.shared.read();
            paths
                .iter()
                .zip(unchanged)
                .map(|(path, id)| {
                    let id = id?;
                    let path = Some(path.to_path_buf());
                    Some(judged(&s, &id, path, &rules, config.trust.max_depth))
                })
                .collect()
        };
        if !self.subscribers.is_empty() {
            for (path, result) in paths.iter().zip(&results) {
                if let Some(r) = result {
                    self.remember_told(r, path);
                }
            }
        }
        results
    }

    /// Answers a path under a watched directory from memory alone: no I/O, no task.
    pub fn verify_watched(&self, target: &Target) -> Option<VerifyResult> {
        let path = target.path()?;
        let id = self.watched_id(path)?;
        Some(self.verdict_on(&id, Some(path.to_path_buf())))
    }

    /// The verdict on `id` with the attestations behind it.
    fn verdict_on(&self, id: &ContentId, path: Option<PathBuf>) -> VerifyResult {
        self.verdict_under(
            id,
            path,
            &crate::state::Rules::user(&self.shared.config().verify),
        )
    }

    /// Judges each answer of `verify_many` again by a project's rules (`signet.toml`): the
    /// ids were found as for anyone; whose word counts is the project's.
    pub fn judge_again(
        &self,
        results: &mut [signet_proto::api::VerifyOutcome],
        policy: &signet_proto::api::ProjectPolicy,
    ) {
        let rules = crate::state::Rules::project(policy);
        for outcome in results {
            if let signet_proto::api::VerifyOutcome::Verified(r) = outcome
                && let Ok(id) = ContentId::parse(&r.id)
            {
                *r = self.verdict_under(&id, r.path.take(), &rules);
            }
        }
    }

    /// Judges each target that goes by other names too (`also`: an npm tarball's sha512) over
    /// the words about all its names at once: the same bytes, so per key only the newest word
    /// about any of them counts.
    pub fn judge_also(
        &self,
        results: &mut [signet_proto::api::VerifyOutcome],
        also: &[signet_proto::api::AlsoNamed],
        policy: Option<&signet_proto::api::ProjectPolicy>,
    ) {
        if also.is_empty() {
            return;
        }
        let config = self.shared.config();
        let rules = crate::state::Rules::asked(policy, &config);
        let s = self.shared.read();
        for (n, outcome) in results.iter_mut().enumerate() {
            let signet_proto::api::VerifyOutcome::Verified(r) = outcome else {
                continue;
            };
            let names: Vec<&ContentId> = also
                .iter()
                .filter(|a| a.target == n && a.id.as_str() != r.id)
                .map(|a| &a.id)
                .collect();
            let Ok(id) = ContentId::parse(&r.id) else {
                continue;
            };
            if names.is_empty() {
                continue;
            }
            let mut entries = s.index.get(&id);
            for name in &names {
                entries.extend(s.index.get(name));
            }
            let (verdict, tally, attestations) =
                s.view_of(&entries, &rules, config.trust.max_depth);
            r.verdict = verdict;
            r.attestations = attestations;
            r.reviewers = tally.ok;
        }
    }

    /// The verdict on `id` under `rules`.
    fn verdict_under(
        &self,
        id: &ContentId,
        path: Option<PathBuf>,
        rules: &crate::state::Rules,
    ) -> VerifyResult {
        let config = self.shared.config();
        let s = self.shared.read();
        judged(&s, id, path, rules, config.trust.max_depth)
    }

    /// Verifies every target, hashing several files at once (one per core, plus one to overlap
    /// I/O), answering in the order asked.
    pub async fn verify_many(
        self: &Arc<Self>,
        targets: Vec<signet_proto::api::Lenient<signet_proto::api::Target>>,
    ) -> Vec<signet_proto::api::VerifyOutcome> {
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get() + 1);
        let slots = Arc::new(tokio::sync::Semaphore::new(parallel));
        let mut tasks = tokio::task::JoinSet::new();
        let mut results: Vec<Option<signet_proto::api::VerifyOutcome>> = Vec::new();
        results.resize_with(targets.len(), || None);
        // Files unchanged since they were hashed are answered after one stat each, in one trip to
        // a blocking thread; only the rest get a task.
        // (A watched file is in no path cache: it falls through to the file table below.)
        let (at, paths): (Vec<usize>, Vec<AbsPath>) = targets
            .iter()
            .enumerate()
            .filter_map(|(n, t)| match t {
                signet_proto::api::Lenient::Valid(signet_proto::api::Target::Path(p)) => {
                    Some((n, p.clone()))
                }
                _ => None,
            })
            .unzip();
        for (n, answer) in at.into_iter().zip(self.verify_unchanged(&paths).await) {
            if let Some(result) = answer {
                results[n] = Some(signet_proto::api::VerifyOutcome::Verified(result));
            }
        }
        for (n, target) in targets.into_iter().enumerate() {
            if results[n].is_some() {
                continue;
            }
            let target = match target {
                signet_proto::api::Lenient::Valid(target) => target,
                signet_proto::api::Lenient::Invalid { why, .. } => {
                    let error = signet_proto::rpc::RpcError::new(
                        signet_proto::rpc::ErrorCode::InvalidParams,
                        why,
                    );
                    results[n] = Some(signet_proto::api::VerifyOutcome::Failed { error });
                    continue;
                }
            };
            // Files of watched directories are answered from memory, without a task each.
            if let Some(result) = self.verify_watched(&target) {
                results[n] = Some(signet_proto::api::VerifyOutcome::Verified(result));
                continue;
            }
            let (watches, slots) = (self.clone(), slots.clone());
            tasks.spawn(async move {
                let _slot = slots.acquire_owned().await;
                let outcome = match watches.verify(&target).await {
                    Ok(r) => signet_proto::api::VerifyOutcome::Verified(r),
                    Err(error) => signet_proto::api::VerifyOutcome::Failed {
                        error: error.to_rpc(),
                    },
                };
                (n, outcome)
            });
        }
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok((n, outcome)) => results[n] = Some(outcome),
                Err(e) => tracing::error!("a verify task failed: {e}"),
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| signet_proto::api::VerifyOutcome::Failed {
                    error: signet_proto::rpc::RpcError::new(
                        signet_proto::rpc::ErrorCode::Internal,
                        "verification task failed",
                    ),
                })
            })
            .collect()
    }

    /// `verify.dir`: every file under a directory, walked here (as `attest.many` walks one)
    /// and judged as `verify_many` judges paths, counted here. A file unchanged since it was
    /// hashed (the path cache) or since its watch saw it (the file table) costs one stat —
    /// all of them on every core, in one trip to a blocking thread — and one verdict, all under
    /// one read of the state: no result built for it unless `results` asks. Only the rest are
    /// hashed, through `verify_many`.
    pub async fn verify_dir(
        self: &Arc<Self>,
        p: signet_proto::api::VerifyDirParams,
    ) -> Result<signet_proto::api::VerifyDirResult, VerifyError> {
        use signet_proto::api::{ListedFile, VerifyDirResult, VerifyOutcome};
        let started = std::time::Instant::now();
        let config = self.shared.config();
        let rules = crate::state::Rules::asked(p.policy.as_ref(), &config);
        let (this, dir, judging) = (self.clone(), p.path.to_path_buf(), rules.clone());
        let (files, unchanged, mut verdicts, problems, listed) =
            blocking("verifying the directory", move || {
                let (stamped, problems) = super::tree::stamped_files_under(&dir);
                let listed = started.elapsed();
                let unchanged = this.unchanged_ids(&stamped);
                let verdicts = this.verdicts_on(&unchanged, &judging);
                let files: Vec<PathBuf> = stamped.into_iter().map(|(f, _)| f).collect();
                (files, unchanged, verdicts, problems, listed)
            })
            .await?;
        // A subscriber's file keeps the verdict last answered about it (as `verify` keeps it).
        if !self.subscribers.is_empty() {
            let mut cache = self.path_cache();
            for ((file, id), verdict) in files.iter().zip(&unchanged).zip(&verdicts) {
                if let (Some(id), Some(verdict)) = (id, verdict)
                    && self.subscribers.covers(file)
                    && let Some(entry) = cache.get_mut(file)
                    && &entry.id == id
                {
                    entry.verdict = Some(*verdict);
                }
            }
        }
        // The rest (new, changed, never verified): hashed, each answered in full.
        let rest: Vec<usize> = (0..files.len())
            .filter(|n| verdicts[*n].is_none())
            .collect();
        let targets = rest
            .iter()
            .filter_map(|n| AbsPath::new(files[*n].clone()).ok())
            .map(|f| Target::Path(f).into())
            .collect();
        let mut outcomes = self.verify_many(targets).await;
        if let Some(policy) = &p.policy {
            self.judge_again(&mut outcomes, policy);
        }
        let mut result = VerifyDirResult {
            ok: 0,
            unverified: 0,
            not_ok: 0,
            listed: Vec::new(),
            errors: problems,
            results: Vec::new(),
            warnings: Vec::new(),
        };
        for (n, outcome) in rest.iter().zip(&outcomes) {
            match outcome {
                VerifyOutcome::Verified(r) => verdicts[*n] = Some(r.verdict),
                VerifyOutcome::Failed { error } => {
                    result
                        .errors
                        .push(format!("{}: {}", files[*n].display(), error.message))
                }
            }
        }
        for (file, verdict) in files.iter().zip(&verdicts) {
            let Some(verdict) = *verdict else { continue };
            match verdict {
                Verdict::Ok => result.ok += 1,
                Verdict::Unverified => result.unverified += 1,
                Verdict::NotOk => result.not_ok += 1,
            }
            if verdict == Verdict::NotOk || (p.unverified && verdict == Verdict::Unverified) {
                result.listed.push(ListedFile {
                    path: file.clone(),
                    verdict,
                });
            }
        }
        tracing::debug!(
            files = files.len(),
            hashed = rest.len(),
            listed_ms = listed.as_millis() as u64,
            judged_ms = (started.elapsed() - listed).as_millis() as u64,
            "verify.dir"
        );
        if p.results {
            // Every file's whole answer (`--json`), in path order: the unchanged judged from
            // the ids just found, the rest as `verify_many` answered them.
            let mut answered = rest.into_iter().zip(outcomes);
            let mut next = answered.next();
            let s = self.shared.read();
            for (n, (file, id)) in files.iter().zip(&unchanged).enumerate() {
                if let Some(id) = id {
                    let path = Some(file.clone());
                    let r = judged(&s, id, path, &rules, config.trust.max_depth);
                    result.results.push(VerifyOutcome::Verified(r));
                } else if let Some((_, outcome)) = next.take_if(|(at, _)| *at == n) {
                    result.results.push(outcome);
                    next = answered.next();
                }
            }
        }
        Ok(result)
    }

    /// The id held of each file whose stamp the walk took and that still matches it: from the
    /// path cache, or from the watch's file table (a table entry is an `lstat`'s, as the
    /// walk's). On this thread, not rayon's: with the locks held, a wait behind a large
    /// fetch's check on the workers would stall every verify that needs them.
    fn unchanged_ids(&self, stamped: &[(PathBuf, Option<FileStamp>)]) -> Vec<Option<ContentId>> {
        let (cache, table) = (self.path_cache(), self.table.files());
        stamped
            .iter()
            .map(|(f, now)| {
                let now = (*now)?;
                match cache.get(f) {
                    Some(e) if e.stamp == now => Some(e.id.clone()),
                    _ => table
                        .get(f)
                        .filter(|t| t.stamp == now)
                        .map(|t| t.id.clone()),
                }
            })
            .collect()
    }

    /// The verdict on each id held, under one read of the state (on this thread, for the
    /// reason above: a state writer waiting on it would stall every reader).
    fn verdicts_on(
        &self,
        ids: &[Option<ContentId>],
        rules: &crate::state::Rules,
    ) -> Vec<Option<Verdict>> {
        let s = self.shared.read();
        ids.iter()
            .map(|id| id.as_ref().map(|id| s.verdict(id, rules)))
            .collect()
    }

    /// Every target's content id for `attest.many`: a directory stands for each file under
    /// it (`tree::files_under`), files are hashed several at a time (one per core, plus one to
    /// overlap I/O), each with the file it is (when there is one), in order.
    pub async fn resolve_many(
        self: &Arc<Self>,
        targets: Vec<Target>,
    ) -> Result<Vec<(Option<PathBuf>, Result<ContentId, VerifyError>)>, VerifyError> {
        let mut expanded: Vec<Target> = Vec::with_capacity(targets.len());
        for target in targets {
            let dir = match &target {
                Target::Path(p) => {
                    let p = p.to_path_buf();
                    blocking("looking at the path", move || p.is_dir().then_some(p)).await?
                }
                Target::Id(_) | Target::Tree(_) => None,
            };
            let Some(dir) = dir else {
                expanded.push(target);
                continue;
            };
            let (files, problems) = blocking("listing the directory", move || {
                super::tree::files_under(&dir)
            })
            .await?;
            if let Some(problem) = problems.into_iter().next() {
                return Err(VerifyError::Tree(problem));
            }
            expanded.extend(
                files
                    .into_iter()
                    .filter_map(|f| AbsPath::new(f).ok())
                    .map(Target::Path),
            );
        }
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get() + 1);
        let slots = Arc::new(tokio::sync::Semaphore::new(parallel));
        let mut tasks = tokio::task::JoinSet::new();
        for (n, target) in expanded.iter().cloned().enumerate() {
            let (watches, slots) = (self.clone(), slots.clone());
            tasks.spawn(async move {
                let _slot = slots.acquire_owned().await;
                (n, watches.resolve(&target).await)
            });
        }
        let mut ids: Vec<Option<Result<ContentId, VerifyError>>> =
            expanded.iter().map(|_| None).collect();
        while let Some(done) = tasks.join_next().await {
            if let Ok((n, id)) = done {
                ids[n] = Some(id);
            }
        }
        Ok(expanded
            .iter()
            .zip(ids)
            .map(|(target, id)| {
                let id = id.unwrap_or_else(|| {
                    Err(VerifyError::Task(crate::errors::TaskFailed {
                        what: "hashing".into(),
                        why: "the task died".into(),
                    }))
                });
                (target.path().map(|p| p.to_path_buf()), id)
            })
            .collect())
    }
}

/// The verdict on `id` under `rules`, with the attestations behind it, from the state as read.
fn judged(
    s: &crate::state::State,
    id: &ContentId,
    path: Option<PathBuf>,
    rules: &crate::state::Rules,
    max_depth: u8,
) -> VerifyResult {
    let (verdict, tally, attestations) = s.view(id, rules, max_depth);
    let (unknown, invalid) = s
        .remotes
        .values()
        .filter_map(|r| r.report.unchecked.get(id.as_str()))
        .fold((0, 0), |(u, i), c| {
            (u + c.unknown as usize, i + c.invalid as usize)
        });
    VerifyResult {
        id: id.to_string(),
        verdict,
        attestations,
        reviewers: tally.ok,
        threshold: rules.policy.threshold,
        unknown,
        invalid,
        path,
    }
}
