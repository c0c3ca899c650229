//! The user's own repository on disk: `repo/repo.json`, read and checked at start, written
//! atomically after every change.

use signet_proto::formats::{self, RepoContents, Signed, Skipped};

use crate::core::check::MAX_OWN_REPO_LEN;
use crate::core::keyring::Keyring;
use crate::core::signature;
use crate::home::{Home, store};

/// The user's repository as read from disk.
pub struct OwnRepo {
    pub contents: RepoContents,
    pub skipped: Vec<Skipped>,
}

/// Reads and checks `repo/repo.json` against the owner's certificate. `Ok(None)` when there is
/// none yet; `Err` says what is wrong with it, for a person to repair.
pub fn load_own(
    home: &Home,
    keyring: &Keyring,
    owner: Option<&signet_proto::formats::Fingerprint>,
) -> Result<Option<OwnRepo>, String> {
    let path = home.repo_file();
    let bytes = match store::read_bounded(&path, MAX_OWN_REPO_LEN) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(e) => return Err(format!("{e:#}")),
    };
    let signed = formats::parse_signed_repo(&bytes).map_err(|e| e.to_string())?;
    let owner = owner.ok_or_else(|| {
        format!(
            "it is signed by {} but this home has no key (keys/ is missing)",
            signed.key
        )
    })?;
    if &signed.key != owner {
        return Err(format!(
            "it is signed by {}, not by this home's key {owner}",
            signed.key
        ));
    }
    let cert = &keyring
        .get(owner)
        .ok_or_else(|| format!("the certificate of {owner} is missing"))?
        .cert;
    signature::check(&signed, cert).map_err(|e| format!("its signature does not verify: {e}"))?;
    let (contents, skipped) = RepoContents::read(signed.data).map_err(|e| e.to_string())?;
    Ok(Some(OwnRepo { contents, skipped }))
}

/// The bytes of `repo.json` for a signed repository: its canonical form, one line.
pub fn file_bytes(signed: &Signed) -> Vec<u8> {
    let mut bytes = signed.to_value().canonical().into_bytes();
    bytes.push(b'\n');
    bytes
}

/// Writes the signed repository to `repo/repo.json`, atomically and durably.
pub fn write_own(home: &Home, signed: &Signed) -> anyhow::Result<()> {
    std::fs::create_dir_all(home.repo_dir())?;
    store::write_atomic(&home.repo_file(), &file_bytes(signed), 0o644)
}
