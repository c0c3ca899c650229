//! Replacing the home's key (`sig setup --force`) as a transaction that a failure or a kill -9
//! at any instant recovers from, never losing a key or an attestation.
//!
//! 1. The caller proves the new key signs: it signs the next version of the repository in
//!    memory. Nothing on disk has changed when that fails (a public-only key, a passphrase with
//!    no terminal, a cancelled or hung pinentry).
//! 2. [`replace`] keeps the old key: its public certificate in `keys/retired/FPR.asc` (its
//!    attestations keep verifying) and, for a key Signet holds itself, its secret in
//!    `keys/retired/FPR.secret` (a secret key is never destroyed). Harmless if what follows
//!    never happens: the old key is then both current and retired, one certificate.
//! 3. The new key's files and the re-signed `repo.json` are written into a fresh
//!    `keys/.rekey.tmp-*` directory, which is renamed to `keys/rekey`: the commit point.
//! 4. [`roll_forward`] installs what `keys/rekey` holds (key files, then `repo.json`, then
//!    `repo/key.asc`) and removes it. Each step is an atomic write of a file whose final
//!    contents are known, so running it again after a crash, at the next start ([`recover`]),
//!    finishes the same transaction. A `.rekey.tmp-*` directory (a crash before the commit) is
//!    removed: the old key was never replaced.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sequoia_openpgp::Cert;

use crate::home::{Home, store};

/// The committed transaction, when one is in progress.
fn committed_dir(home: &Home) -> PathBuf {
    home.keys_dir().join("rekey")
}

pub fn retired_dir(home: &Home) -> PathBuf {
    home.keys_dir().join("retired")
}

/// Files of a key Signet holds itself.
pub const SECRET_FILE: &str = "secret.asc";
/// Files of a key that stays in GnuPG: which key, and its public certificate.
pub const GPG_SETUP_FILE: &str = "gpg.json";
pub const GPG_PUBLIC_FILE: &str = "gpg-public.asc";
/// The re-signed repository and the public key to publish, staged beside the key files.
const REPO_FILE: &str = "repo.json";
const PUBLIC_FILE: &str = "key.asc";

/// What a new key writes under `keys/`: `(file name, bytes)`.
pub type KeyFiles = Vec<(&'static str, Vec<u8>)>;

/// Kills this process, as `kill -9` would, where a test asks for it (`SIGNET_TEST_CRASH_AT`
/// naming the point). Only with the `test-hooks` feature: it proves every step of a transaction
/// recovers.
pub fn crash_point(name: &str) {
    #[cfg(feature = "test-hooks")]
    if std::env::var_os("SIGNET_TEST_CRASH_AT").is_some_and(|at| at == name) {
        tracing::warn!("crash point {name}: killing this process as asked");
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    }
    let _ = name;
}

/// Replaces the home's key: `old` (with its secret, when Signet holds it) is retired, `new`
/// and the repository it signed take its place. See the module comment for the order.
pub fn replace(
    home: &Home,
    old: Option<&Cert>,
    new: KeyFiles,
    new_public: &[u8],
    repo: &[u8],
) -> anyhow::Result<()> {
    if let Some(old) = old {
        retire(home, old)?;
    }
    crash_point("rekey:retired");
    let keys = home.keys_dir();
    store::private_dir(&keys)?;
    let staging = tempdir_in(&keys)?;
    let staged = (|| {
        for (name, bytes) in new
            .iter()
            .map(|(n, b)| (*n, b.as_slice()))
            .chain([(REPO_FILE, repo), (PUBLIC_FILE, new_public)])
        {
            store::write_atomic(&staging.join(name), bytes, 0o600)?;
        }
        crash_point("rekey:staged");
        std::fs::rename(&staging, committed_dir(home))
            .with_context(|| format!("committing {}", staging.display()))?;
        store::sync_dir(&keys)?;
        Ok::<_, anyhow::Error>(())
    })();
    if let Err(e) = staged {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    crash_point("rekey:committed");
    roll_forward(home)
}

/// Finishes a committed re-key and clears an uncommitted one; run before the home is read.
/// Returns whether a committed one was finished.
pub fn recover(home: &Home) -> anyhow::Result<bool> {
    let keys = home.keys_dir();
    if let Ok(entries) = std::fs::read_dir(&keys) {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(".rekey.tmp-")
            {
                tracing::warn!(
                    "a key replacement was interrupted before it took effect: the old key stays"
                );
                std::fs::remove_dir_all(entry.path())
                    .with_context(|| format!("removing {}", entry.path().display()))?;
            }
        }
    }
    if !committed_dir(home).exists() {
        return Ok(false);
    }
    tracing::warn!("finishing a key replacement that was interrupted after it took effect");
    roll_forward(home)?;
    Ok(true)
}

/// Installs the committed transaction's files; idempotent.
fn roll_forward(home: &Home) -> anyhow::Result<()> {
    let dir = committed_dir(home);
    let read = |name: &str| store::read_bounded(&dir.join(name), 64 << 20);
    let keys = home.keys_dir();
    // The new key's files first, the other kind's last: until `secret.asc` goes (or arrives),
    // the files of one whole key are what a start reads (`secret.asc` wins when both exist).
    let mut is_embedded = false;
    for name in [GPG_PUBLIC_FILE, GPG_SETUP_FILE, SECRET_FILE] {
        if let Some(bytes) = read(name)? {
            store::write_atomic(&keys.join(name), &bytes, 0o600)?;
            is_embedded |= name == SECRET_FILE;
            crash_point("rekey:key-file");
        }
    }
    let stale: &[&str] = if is_embedded {
        &[GPG_SETUP_FILE, GPG_PUBLIC_FILE]
    } else {
        &[SECRET_FILE]
    };
    for name in stale {
        store::remove_if_present(&keys.join(name))?;
    }
    store::sync_dir(&keys)?;
    crash_point("rekey:keys-installed");
    let repo = read(REPO_FILE)?.context("the staged re-key has no repo.json")?;
    std::fs::create_dir_all(home.repo_dir())?;
    store::write_atomic(&home.repo_file(), &repo, 0o644)?;
    crash_point("rekey:repo-installed");
    if let Some(public) = read(PUBLIC_FILE)? {
        store::write_atomic(&home.public_key_file(), &public, 0o644)?;
    }
    std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    store::sync_dir(&keys)?;
    Ok(())
}

/// Keeps a replaced key: its public certificate, and its secret when the home holds it.
fn retire(home: &Home, old: &Cert) -> anyhow::Result<()> {
    let dir = retired_dir(home);
    store::private_dir(&dir)?;
    let fpr = old.fingerprint().to_hex();
    store::write_atomic(
        &dir.join(format!("{fpr}.asc")),
        &crate::keys::armored_public(old),
        0o600,
    )?;
    if let Some(secret) = store::read_bounded(&home.secret_key_file(), 64 << 20)?
        && crate::keys::parse_cert(&secret).is_ok_and(|c| c.fingerprint() == old.fingerprint())
    {
        store::write_atomic(&dir.join(format!("{fpr}.secret")), &secret, 0o600)?;
    }
    Ok(())
}

/// A new private directory `.rekey.tmp-*` under `parent`.
fn tempdir_in(parent: &Path) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt as _;
    for _ in 0..8 {
        let dir = parent.join(format!(".rekey.tmp-{:016x}", store::unpredictable()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    anyhow::bail!(
        "could not create a staging directory in {}",
        parent.display()
    )
}
