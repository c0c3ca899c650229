//! What is known of every certificate, remembered under `certs/` so that a revocation once
//! seen is never forgotten across restarts.

use std::path::PathBuf;

use sequoia_openpgp::Cert;

use crate::core::keyring::{merge, trim};
use crate::home::{Home, store};
use crate::keys;

/// Where merged certificates are remembered: `certs/FINGERPRINT.asc`.
fn certs_dir(home: &Home) -> PathBuf {
    home.root.join("certs")
}

/// Remembers what is known of a certificate: merged with the copy already remembered, so that
/// two fetches saving copies of one key in either order both leave the union on disk.
pub fn remember(home: &Home, cert: &Cert) -> anyhow::Result<()> {
    // Read, merge and write as one step: concurrent fetches must not lose each other's copy.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = certs_dir(home);
    store::private_dir(&dir)?;
    let path = dir.join(format!("{}.asc", cert.fingerprint().to_hex()));
    let held = store::read_bounded(&path, keys::MAX_CERT_LEN as u64)
        .ok()
        .flatten()
        .and_then(|bytes| keys::parse_cert(&bytes).ok());
    let merged = match held {
        Some(held) => {
            let merged = merge(held.clone(), cert.clone());
            if merged == held {
                return Ok(()); // nothing new: no write, no fsync
            }
            merged
        }
        None => trim(cert.clone()),
    };
    store::write_atomic(&path, &keys::armored_public(&merged), 0o600)
}

/// Every remembered certificate.
pub fn load_saved(home: &Home) -> Vec<Cert> {
    keys::read_cert_dir(&certs_dir(home))
}
