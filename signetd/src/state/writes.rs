//! Writes that sign: `attest` and `setup` (a re-key is `rekey.rs`'s transaction). Signing
//! happens outside the writer lock (`sign_next`); the key files a home holds are read here.

use std::path::PathBuf;
use std::sync::Arc;

use signet_proto::api::{
    AttestManyParams, AttestParams, AttestResult, KeyChoice, SetupParams, SetupResult, Word,
};
use signet_proto::formats::{About, ContentId, RepoContents, Signed, Statement};
use signet_proto::json::Value;
use signet_proto::rpc::ErrorCode;

use super::{Shared, State, VerifyError, now_rfc3339};
use crate::core::index::{Entry, Source};
use crate::errors::{Failure, NotSaved, TaskFailed, Unavailable, blocking};
use crate::home::damage::{Damage, Loaded};
use crate::home::own_repo;
use crate::home::{Home, store};
use crate::keys::signature::Genuine;
use crate::keys::{self, EmbeddedKey, SignWith};

/// A signed word filed in the own repository.
pub(crate) struct Filed {
    pub(crate) attestation: Signed,
    pub(crate) serial: u64,
    /// The key's earlier word under the same id was replaced.
    pub(crate) replaced: bool,
}

/// Why the own repository's next version could not be written. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error("signing the repository: {0}")]
    Signing(String),
    #[error("the repository changed under the writer lock; nothing was saved")]
    Overtaken,
    #[error(transparent)]
    NotSaved(#[from] NotSaved),
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

impl Failure for WriteError {
    fn code(&self) -> ErrorCode {
        match self {
            WriteError::Unavailable(e) => e.code(),
            WriteError::Signing(_) => ErrorCode::Signing,
            WriteError::Overtaken => ErrorCode::Internal,
            WriteError::NotSaved(e) => e.code(),
            WriteError::Task(e) => e.code(),
        }
    }
    fn hint(&self) -> Option<String> {
        match self {
            WriteError::Unavailable(e) => e.hint(),
            WriteError::Overtaken => Some("try again".into()),
            WriteError::NotSaved(e) => e.hint(),
            WriteError::Signing(_) | WriteError::Task(_) => None,
        }
    }
}

/// Why `attest` saved nothing.
#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    #[error(transparent)]
    Target(#[from] VerifyError),
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error("the attestation would be {size} bytes, over the {max} bytes others accept")]
    TooLarge { size: usize, max: usize },
    #[error("signing the attestation: {0}")]
    Signing(String),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Task(#[from] TaskFailed),
    #[error(transparent)]
    About(#[from] signet_proto::formats::AboutError),
}

impl Failure for AttestError {
    fn code(&self) -> ErrorCode {
        match self {
            AttestError::Target(e) => e.code(),
            AttestError::Unavailable(e) => e.code(),
            AttestError::TooLarge { .. } => ErrorCode::InvalidParams,
            AttestError::Signing(_) => ErrorCode::Signing,
            AttestError::Write(e) => e.code(),
            AttestError::Task(e) => e.code(),
            AttestError::About(_) => ErrorCode::InvalidParams,
        }
    }
    fn hint(&self) -> Option<String> {
        match self {
            AttestError::Target(e) => e.hint(),
            AttestError::Unavailable(e) => e.hint(),
            AttestError::TooLarge { .. } => Some("shorten the comment".into()),
            AttestError::Write(e) => e.hint(),
            AttestError::Signing(_) | AttestError::Task(_) | AttestError::About(_) => None,
        }
    }
}

/// Why `setup` left the home's key as it was.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("this home already has key {fingerprint} ({user_id})")]
    AlreadySetUp {
        fingerprint: signet_proto::formats::Fingerprint,
        user_id: String,
    },
    #[error("{0}")]
    Key(String),
    #[error("{}: no such file", .0.display())]
    NoSuchFile(PathBuf),
    #[error("preparing the key files: {0}")]
    KeyFiles(String),
    #[error("could not replace the key: {0}")]
    NotReplaced(String),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

impl Failure for SetupError {
    fn code(&self) -> ErrorCode {
        match self {
            SetupError::AlreadySetUp { .. } => ErrorCode::AlreadySetUp,
            SetupError::Key(_) => ErrorCode::Signing,
            SetupError::NoSuchFile(_) => ErrorCode::File,
            SetupError::KeyFiles(_) => ErrorCode::Internal,
            SetupError::NotReplaced(_) => ErrorCode::Storage,
            SetupError::Write(e) => e.code(),
            SetupError::Task(e) => e.code(),
        }
    }
    fn hint(&self) -> Option<String> {
        match self {
            SetupError::AlreadySetUp { .. } => {
                Some("`sig setup --force` replaces it and re-signs the repository".into())
            }
            SetupError::NotReplaced(_) => {
                Some("the previous key stays in place (or is restored at the next start)".into())
            }
            SetupError::Write(e) => e.hint(),
            _ => None,
        }
    }
}

impl Shared {
    /// The repository's current contents, to build its next version (shared, not copied); a
    /// damaged one is re-read first (off the async threads), in case it was repaired.
    async fn repo_contents(&self) -> Result<Arc<RepoContents>, WriteError> {
        let own = self.read().own.clone();
        let damaged = self.read().repo.damage().is_some();
        if let (true, Some(own)) = (damaged, own) {
            let (home, keyring) = (self.home.clone(), self.read().keyring.clone());
            let reread = blocking("reading the repository", move || {
                own_repo::load_own(&home, &keyring, Some(&own.fingerprint))
            })
            .await?;
            let mut s = self.write();
            match reread {
                Ok(repaired) => {
                    tracing::info!("{} reads correctly again", self.home.repo_file().display());
                    let contents = repaired.map(|r| r.contents).unwrap_or_default();
                    s.set_own_repo(Loaded::Ready(Arc::new(contents)));
                    s.reindex_own();
                }
                Err(why) => s.set_own_repo(Loaded::Damaged(Damage {
                    file: self.home.repo_file(),
                    why,
                })),
            }
        }
        let s = self.read();
        Ok(s.repo.ready().map_err(Unavailable::from)?.clone())
    }

    /// Signs the next version of the repository (the current one with each `(filed_under,
    /// word)` of `words` replacing its key's earlier word there, its serial bumped) and
    /// returns it with the writer lock held, once no other write has landed since it was
    /// read. Signing happens outside the lock: a passphrase prompt can take minutes, and no
    /// other write waits for it. When another write landed meanwhile, the new contents are
    /// signed again, this time under the lock. The contents are not copied: the change is
    /// the lists it replaces, made into the held contents when it is committed.
    async fn sign_next(
        &self,
        signer: &Arc<dyn SignWith>,
        words: &[(String, Signed)],
    ) -> Result<SignedNext<'_>, WriteError> {
        // First outside the lock (where a prompt may wait); if another write landed meanwhile,
        // once more under it, which cannot be overtaken (gpg-agent has the passphrase by then,
        // and every gpg call has its deadline).
        for locked in [false, true] {
            let held = if locked {
                Some(self.writer.lock().await)
            } else {
                None
            };
            let own = self.read().own.as_ref().map(|o| o.fingerprint.clone());
            let base = self.repo_contents().await?;
            let (count, known) = {
                let s = self.read();
                (s.own_count, s.own_parts.clone())
            };
            let read_at = base.serial;
            let (change, replaced) = own_repo::Change::filing(&base, count, words, now_rfc3339());
            let signing = signer.clone();
            let (home, parts_above) = (self.home.clone(), self.config().publish.parts_above);
            let (laid, change) = blocking("signing", move || {
                let started = std::time::Instant::now();
                let laid =
                    own_repo::layout_next(&home, &base, known.as_ref(), &change, parts_above)?;
                // `base` goes here: the commit changes the held contents in place.
                drop(base);
                let laid_out = started.elapsed();
                let mut files = laid.files;
                files.repo = own_repo::file_bytes(&keys::sign_value(&*signing, laid.data)?);
                tracing::debug!(
                    layout_us = laid_out.as_micros() as u64,
                    sign_us = (started.elapsed() - laid_out).as_micros() as u64,
                    "the repository's next version"
                );
                Ok::<_, anyhow::Error>(((files, laid.on_disk), change))
            })
            .await?
            .map_err(|e| WriteError::Signing(format!("{e:#}")))?;
            let writer = match held {
                Some(writer) => writer,
                None => self.writer.lock().await,
            };
            let unchanged = {
                let s = self.read();
                s.own.as_ref().map(|o| &o.fingerprint) == own.as_ref()
                    && s.repo.ready_opt().map(|r| r.serial) == Some(read_at)
            };
            if unchanged {
                let (files, on_disk) = laid;
                return Ok(SignedNext {
                    _writer: writer,
                    change,
                    replaced,
                    files,
                    on_disk,
                });
            }
        }
        Err(WriteError::Overtaken)
    }

    /// Signs and files the word of `p` on `id`, the content id its target resolved to (the
    /// watches hash files: `Watches::resolve`).
    pub async fn attest(
        &self,
        id: ContentId,
        p: AttestParams,
    ) -> Result<AttestResult, AttestError> {
        let (w, about) = (&p.word, p.word.about()?);
        let data = Statement::to_data_about(&id, w.ok, w.reviewed, &w.comment, &about);
        let filed = self
            .file_word(w.tty.clone(), data, id.to_string(), |s, signed, genuine| {
                s.index
                    .upsert(id.clone(), own_entry(w, &about, signed, &genuine));
            })
            .await?;
        let raw =
            serde_json::value::RawValue::from_string(filed.attestation.to_value().canonical())
                .expect("canonical JSON is JSON");
        Ok(AttestResult {
            id: id.to_string(),
            attestation: raw,
            serial: filed.serial,
            replaced: filed.replaced,
        })
    }

    /// One word (`ok`, `reviewed`, `comment`) on every id, filed in one signed write: the
    /// repository's serial rises by one however many there are. An id given twice is one word.
    pub async fn attest_many(
        &self,
        ids: &[ContentId],
        p: &AttestManyParams,
    ) -> Result<(Vec<bool>, u64), AttestError> {
        let mut unique: Vec<&ContentId> = ids.iter().collect();
        unique.sort();
        unique.dedup();
        let (w, about) = (&p.word, p.word.about()?);
        let words = unique
            .iter()
            .map(|id| {
                let data = Statement::to_data_about(id, w.ok, w.reviewed, &w.comment, &about);
                (data, id.to_string())
            })
            .collect();
        let (filed, serial) = self
            .file_words(w.tty.clone(), words, |s, signed| {
                for (id, (word, genuine)) in unique.iter().zip(signed) {
                    s.index
                        .upsert((*id).clone(), own_entry(w, &about, word, genuine));
                }
            })
            .await?;
        let replaced: std::collections::HashMap<&ContentId, bool> = unique
            .iter()
            .copied()
            .zip(filed.iter().map(|(_, r)| *r))
            .collect();
        Ok((ids.iter().map(|id| replaced[id]).collect(), serial))
    }

    /// Signs `data` with the own key and files it under `filed_under` in the own repository,
    /// replacing the key's earlier word there. `index` puts it into the index in the same
    /// write as the repository, so that no reader sees the two disagree. Then publishes.
    pub(crate) async fn file_word(
        &self,
        tty: Option<String>,
        data: Value,
        filed_under: String,
        index: impl FnOnce(&mut State, &Signed, Genuine),
    ) -> Result<Filed, AttestError> {
        let (mut filed, serial) = self
            .file_words(tty, vec![(data, filed_under)], |s, words| {
                let (signed, genuine) = &words[0];
                index(s, signed, genuine.clone());
            })
            .await?;
        let (attestation, replaced) = filed.pop().expect("one word filed");
        Ok(Filed {
            attestation,
            serial,
            replaced,
        })
    }

    /// Signs each `(data, filed_under)` with the own key and files them all in **one** new
    /// version of the own repository (one signature over it, one durable write), each
    /// replacing the key's earlier word under its id. `index` puts them into the index in the
    /// same state write. Returns each signed word with whether it replaced one, and the
    /// repository's serial.
    pub(crate) async fn file_words(
        &self,
        tty: Option<String>,
        words: Vec<(Value, String)>,
        index: impl FnOnce(&mut State, &[(Signed, Genuine)]),
    ) -> Result<(Vec<(Signed, bool)>, u64), AttestError> {
        let (signer, own) = self.read().signer()?;
        let signer = signer.for_request(tty, self.config().gpg_deadline());
        for (data, _) in &words {
            let size = data.canonical().len();
            if size > signet_proto::formats::MAX_ATTESTATION_DATA {
                return Err(AttestError::TooLarge {
                    size,
                    max: signet_proto::formats::MAX_ATTESTATION_DATA,
                });
            }
        }
        // The attestations first, where a passphrase prompt waits: no lock is held.
        let started = std::time::Instant::now();
        let signing = signer.clone();
        let (filed_under, data): (Vec<String>, Vec<Value>) =
            words.into_iter().map(|(d, f)| (f, d)).unzip();
        let signed: Vec<(Signed, Genuine)> = blocking("signing", move || {
            data.into_iter()
                .map(|d| keys::sign_checked(&*signing, d))
                .collect::<anyhow::Result<Vec<_>>>()
        })
        .await?
        .map_err(|e| AttestError::Signing(format!("{e:#}")))?;
        let words: Vec<(String, Signed)> = filed_under
            .into_iter()
            .zip(signed.iter().map(|(attestation, _)| attestation.clone()))
            .collect();
        debug_assert!(words.iter().all(|(_, w)| w.key == own.fingerprint));
        let words_signed = started.elapsed();
        let next = self.sign_next(&signer, &words).await?;
        let next_signed = started.elapsed();
        if let Err(e) = self.commit_repo(&next.files).await {
            // Some of its parts may be on disk: the next write lists the directory.
            self.write().own_parts = None;
            return Err(e.into());
        }
        let written = started.elapsed();
        let serial = next.change.serial;
        {
            let mut s = self.write();
            s.commit_own(&next.change, Some(next.on_disk));
            index(&mut s, &signed);
        }
        // Where a write's time goes (issue 24: one attest into a million ≤ 20 ms).
        tracing::debug!(
            words = signed.len(),
            words_us = words_signed.as_micros() as u64,
            next_us = (next_signed - words_signed).as_micros() as u64,
            write_us = (written - next_signed).as_micros() as u64,
            hold_us = (started.elapsed() - written).as_micros() as u64,
            "filed"
        );
        let replaced = next.replaced;
        drop(next._writer);
        self.events.published_changed();
        let filed = signed
            .into_iter()
            .zip(replaced)
            .map(|((attestation, _), r)| (attestation, r))
            .collect();
        Ok((filed, serial))
    }

    /// Writes the own repository's next version durably.
    async fn commit_repo(&self, files: &own_repo::OwnFiles) -> Result<(), WriteError> {
        let (home, files) = (self.home.clone(), files.clone());
        blocking("saving the repository", move || {
            own_repo::write_files(&home, &files)
        })
        .await?
        .map_err(|e| NotSaved::new("the repository", e, "it is unchanged on disk").into())
    }

    pub async fn setup(&self, p: SetupParams) -> Result<SetupResult, SetupError> {
        let choice = p.key;
        let refuse_if_set_up = |s: &State| match (&s.own, p.force) {
            (Some(own), false) => Err(SetupError::AlreadySetUp {
                fingerprint: own.fingerprint.clone(),
                user_id: own.user_id.clone(),
            }),
            _ => Ok(()),
        };
        refuse_if_set_up(&self.read())?;
        let signer = blocking("reading the key", move || {
            signer_for(&choice).map(|s| (choice, s))
        })
        .await??;
        let (choice, signer) = signer;
        let deadline = self.config().gpg_deadline();
        // Replacing a key: the old one names the new one its successor, the new one names it
        // back, so that followers follow (nothing when there was no key).
        let (transition, replaced) = self.sign_transition(&signer, p.tty.clone()).await;
        // The new key proves it signs before anything on disk changes: it signs the re-signed
        // repository here, outside the writer lock.
        let halves = transition.as_ref().map(|t| t.halves()).unwrap_or_default();
        let next = self
            .sign_next(&signer.for_request(p.tty.clone(), deadline), &halves)
            .await?;
        let previous = {
            let s = self.read();
            refuse_if_set_up(&s)?;
            s.signer.as_ref().map(|k| k.cert().clone())
        };
        let home = self.home.clone();
        let files =
            key_files(&choice, &*signer).map_err(|e| SetupError::KeyFiles(format!("{e:#}")))?;
        // Published with the retired keys, the one replaced now among them: a follower who
        // never saw them can check their words and learns of their revocations.
        let retired: Vec<_> = {
            let s = self.read();
            s.keyring
                .iter()
                .filter(|c| c.is_own())
                .map(|c| c.cert.clone())
                .collect()
        };
        let public = keys::armored_published(signer.cert(), &retired);
        let repo = next.files.clone();
        blocking("replacing the key", move || {
            // The parts first: named by their digests, they change nothing until the
            // `repo.json` that names them is installed.
            own_repo::PartDir::of(&home.repo_dir()).write(&repo.parts, 0o644)?;
            crate::keys::rekey::replace(&home, previous.as_ref(), files, &public, &repo.repo)
        })
        .await?
        .map_err(|e| SetupError::NotReplaced(format!("{e:#}")))?;

        let info = keys::key_info(signer.cert());
        // Read before the state's lock is taken: no file is read under it.
        let home = self.home.clone();
        let retired =
            blocking("reading the retired keys", move || load_retired_keys(&home)).await?;
        {
            let mut s = self.write();
            if let Some(old) = s.signer.take() {
                let old = old.cert().clone();
                s.keyring.remove_source(&Source::Own);
                for cert in retired.into_iter().chain([old]) {
                    s.keyring.insert(cert, Source::Own);
                }
            }
            s.keyring.insert(signer.cert().clone(), Source::Own);
            s.signer = Some(signer);
            s.own = Some(info.clone());
            s.key_damage = None;
            // Its stale parts are not known: the re-key wrote no list of them.
            s.commit_own(&next.change, None);
            s.reindex_own();
        }
        drop(next._writer);
        self.events.published_changed();
        Ok(SetupResult {
            key: info,
            home: self.home.root.clone(),
            repo: self.home.repo_dir(),
            replaced,
        })
    }
}

/// Marks a new version of the repository: a higher serial and the time of writing.
/// The next version of the own repository, signed, with the writer lock held until it is
/// committed and visible.
struct SignedNext<'a> {
    _writer: tokio::sync::MutexGuard<'a, ()>,
    change: own_repo::Change,
    /// Per word filed, whether it replaced its key's earlier word.
    replaced: Vec<bool>,
    /// `repo.json` (and its parts) as they will be written.
    files: own_repo::OwnFiles,
    /// The parts on disk once they are.
    on_disk: own_repo::PartsOnDisk,
}

pub(super) fn gpg_setup_file(home: &Home) -> PathBuf {
    home.keys_dir().join(crate::keys::rekey::GPG_SETUP_FILE)
}

pub(super) fn gpg_public_file(home: &Home) -> PathBuf {
    home.keys_dir().join(crate::keys::rekey::GPG_PUBLIC_FILE)
}

/// The signer a `setup` choice names, read or made now.
fn signer_for(choice: &KeyChoice) -> Result<Arc<dyn SignWith>, SetupError> {
    let refused = |e: anyhow::Error| SetupError::Key(format!("{e:#}"));
    Ok(match choice {
        KeyChoice::Generate { user_id } => {
            Arc::new(EmbeddedKey::new(keys::generate(user_id).map_err(refused)?).map_err(refused)?)
        }
        KeyChoice::Import { file: path } => {
            let bytes = store::read_bounded(path, keys::MAX_CERT_LEN as u64)
                .map_err(refused)?
                .ok_or_else(|| SetupError::NoSuchFile(path.to_path_buf()))?;
            let cert = crate::keys::gpg::import_secret(&bytes).map_err(refused)?;
            Arc::new(EmbeddedKey::new(cert).map_err(refused)?)
        }
        KeyChoice::Gpg {
            key: keyid,
            gnupghome,
        } => {
            let cert = crate::keys::gpg::find_cert(keyid, gnupghome.as_ref()).map_err(refused)?;
            let setup = crate::keys::gpg::GpgSetup {
                fingerprint: cert.fingerprint().to_hex(),
                gnupghome: gnupghome.clone(),
            };
            Arc::new(crate::keys::gpg::GpgKey::new(cert, setup))
        }
    })
}

/// What the key keeps under `keys/`: the secret for an embedded key; for a GnuPG key,
/// only which key and its public certificate.
fn key_files(
    choice: &KeyChoice,
    signer: &dyn SignWith,
) -> anyhow::Result<crate::keys::rekey::KeyFiles> {
    use crate::keys::rekey::{GPG_PUBLIC_FILE, GPG_SETUP_FILE, SECRET_FILE};
    Ok(match choice {
        KeyChoice::Generate { .. } | KeyChoice::Import { .. } => {
            vec![(SECRET_FILE, keys::armored_secret(signer.cert()))]
        }
        KeyChoice::Gpg { gnupghome, .. } => {
            let setup = crate::keys::gpg::GpgSetup {
                fingerprint: signer.cert().fingerprint().to_hex(),
                gnupghome: gnupghome.clone(),
            };
            vec![
                (GPG_PUBLIC_FILE, keys::armored_public(signer.cert())),
                (GPG_SETUP_FILE, serde_json::to_vec_pretty(&setup)?),
            ]
        }
    })
}

fn load_gpg_key(home: &Home) -> Result<Option<Arc<dyn SignWith>>, Damage> {
    let path = gpg_setup_file(home);
    let damage = |why: String| Damage {
        file: path.clone(),
        why,
    };
    let Some(bytes) = store::read_private(&path, 1 << 20).map_err(|e| damage(format!("{e:#}")))?
    else {
        return Ok(None);
    };
    let setup: crate::keys::gpg::GpgSetup =
        serde_json::from_slice(&bytes).map_err(|e| damage(e.to_string()))?;
    let public = store::read_private(&gpg_public_file(home), keys::MAX_CERT_LEN as u64)
        .map_err(|e| damage(format!("{e:#}")))?
        .ok_or_else(|| damage("keys/gpg-public.asc is missing".into()))?;
    let cert = keys::parse_cert(&public).map_err(|e| damage(format!("{e:#}")))?;
    Ok(Some(Arc::new(crate::keys::gpg::GpgKey::new(cert, setup))))
}

pub(super) fn load_embedded_key(home: &Home) -> Result<Option<Arc<dyn SignWith>>, Damage> {
    if !home.secret_key_file().exists() {
        return load_gpg_key(home);
    }
    let path = home.secret_key_file();
    let damage = |why: String| Damage {
        file: path.clone(),
        why,
    };
    let Some(bytes) = store::read_private(&path, keys::MAX_CERT_LEN as u64)
        .map_err(|e| damage(format!("{e:#}")))?
    else {
        return Ok(None);
    };
    let cert = keys::parse_cert(&bytes).map_err(|e| damage(format!("{e:#}")))?;
    let key = EmbeddedKey::new(cert).map_err(|e| damage(format!("{e:#}")))?;
    Ok(Some(Arc::new(key)))
}

/// Writes `repo/key.asc` when it is missing or is not the current key's certificate followed
/// by the retired keys (with their revocations), so that a crash between writing a new key and
/// publishing it heals at the next start.
pub(super) fn publish_public_key(
    home: &Home,
    cert: &sequoia_openpgp::Cert,
    retired: &[sequoia_openpgp::Cert],
) -> anyhow::Result<()> {
    let armored = keys::armored_published(cert, retired);
    let path = home.public_key_file();
    if std::fs::read(&path).ok().as_deref() != Some(armored.as_slice()) {
        std::fs::create_dir_all(home.repo_dir())?;
        store::write_atomic(&path, &armored, 0o644)?;
    }
    Ok(())
}

pub(super) fn load_retired_keys(home: &Home) -> Vec<sequoia_openpgp::Cert> {
    crate::home::certs::read_cert_dir(&crate::keys::rekey::retired_dir(home))
}

/// The index's entry for a word just signed with the own key.
fn own_entry(word: &Word, about: &About, signed: &Signed, genuine: &Genuine) -> Entry {
    Entry {
        key: signed.key.clone(),
        signer: genuine.signer.clone(),
        signed_at: genuine.signed_at,
        ok: word.ok,
        reviewed: word.reviewed,
        comment: word.comment.clone(),
        about: about.clone(),
        source: Source::Own,
    }
}
