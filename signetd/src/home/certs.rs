//! What is known of every certificate, remembered under `certs/` so that a revocation once
//! seen is never forgotten across restarts.

use std::path::PathBuf;

use sequoia_openpgp::Cert;

use crate::core::cert;
use crate::core::keyring::{merge, trim};
use crate::home::{Home, store};

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
    let held = store::read_bounded(&path, cert::MAX_CERT_LEN as u64)
        .ok()
        .flatten()
        .and_then(|bytes| cert::parse_cert(&bytes).ok());
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
    store::write_atomic(&path, &cert::armored_public(&merged), 0o600)
}

/// Every remembered certificate.
pub fn load_saved(home: &Home) -> Vec<Cert> {
    read_cert_dir(&certs_dir(home))
}

/// Every certificate in `dir`'s `*.asc` files (`certs/`, `keys/retired/`). One that cannot be
/// read is skipped with a warning: these are copies of what other files or sources also hold.
pub fn read_cert_dir(dir: &std::path::Path) -> Vec<Cert> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut certs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "asc") {
            continue;
        }
        match store::read_bounded(&path, cert::MAX_CERT_LEN as u64)
            .and_then(|b| b.map(|b| cert::parse_cert(&b)).transpose())
        {
            Ok(Some(cert)) => certs.push(cert),
            Ok(None) => {}
            Err(e) => tracing::warn!("ignoring {}: {e:#}", path.display()),
        }
    }
    certs
}
