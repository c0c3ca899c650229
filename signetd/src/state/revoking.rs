//! `sig revoke`: the owner's word that their key must no longer be relied on, published in
//! `key.asc` for every follower. A key Signet holds is revoked here, with the reason asked; a
//! key in GnuPG is revoked by GnuPG (the user imports its revocation certificate), and what
//! GnuPG then holds is published. Either way the home signs nothing more until a new key is
//! set up.

use sequoia_openpgp as openpgp;

use openpgp::Cert;
use openpgp::cert::CertRevocationBuilder;
use openpgp::types::ReasonForRevocation;
use signet_proto::api::{RevocationReason, RevokeParams, RevokeResult};
use signet_proto::rpc::ErrorCode;

use super::Shared;
use super::writes::{gpg_public_file, gpg_setup_file, load_embedded_key};
use crate::core::index::Source;
use crate::errors::{Failure, NotSaved, TaskFailed, Unavailable, blocking};
use crate::home::{Home, store};
use crate::keys::{self, SignWith};

/// Why `revoke` changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error("GnuPG holds no revocation of your key {0}")]
    GpgNotRevoked(String),
    #[error("a key in GnuPG is revoked by GnuPG, with the reason its revocation gives")]
    GpgReason,
    #[error("revoking the key: {0}")]
    Key(String),
    #[error(transparent)]
    NotSaved(#[from] NotSaved),
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

impl Failure for RevokeError {
    fn code(&self) -> ErrorCode {
        match self {
            RevokeError::Unavailable(e) => e.code(),
            RevokeError::GpgNotRevoked(_) | RevokeError::GpgReason => ErrorCode::InvalidParams,
            RevokeError::Key(_) => ErrorCode::Signing,
            RevokeError::NotSaved(e) => e.code(),
            RevokeError::Task(e) => e.code(),
        }
    }
    fn hint(&self) -> Option<String> {
        match self {
            RevokeError::Unavailable(e) => e.hint(),
            RevokeError::GpgNotRevoked(fpr) => Some(format!(
                "revoke it in GnuPG first: import the revocation certificate gpg made with the \
                 key (`gpg --import ~/.gnupg/openpgp-revocs.d/{fpr}.rev`, after deleting the ':' \
                 before its BEGIN line), or make one with `gpg --gen-revoke {fpr}`; then run \
                 `sig revoke` again"
            )),
            RevokeError::GpgReason => Some(
                "leave out --reason; `gpg --gen-revoke` asks for the reason when you make the \
                 revocation"
                    .into(),
            ),
            RevokeError::NotSaved(e) => e.hint(),
            RevokeError::Key(_) | RevokeError::Task(_) => None,
        }
    }
}

impl Shared {
    pub async fn revoke(&self, p: RevokeParams) -> Result<RevokeResult, RevokeError> {
        let _writer = self.writer.lock().await;
        let (signer, own) = {
            let s = self.read();
            match (&s.signer, &s.own, &s.key_damage) {
                (Some(signer), Some(own), _) => (signer.clone(), own.clone()),
                (_, _, Some(damage)) => return Err(Unavailable::Damaged(damage.clone()).into()),
                _ => return Err(Unavailable::NotSetUp.into()),
            }
        };
        let already = self.read().own_revocation().is_some();
        let home = self.home.clone();
        let (revoked, signer) = blocking("revoking the key", move || {
            let revoked = revoked_cert(&home, &*signer, p)?;
            write_revoked(&home, &revoked)?;
            // The signer as it now loads: with the revocation, so that a re-key retires the
            // revoked certificate.
            let signer = load_embedded_key(&home)
                .map_err(|damage| RevokeError::Key(damage.to_string()))?
                .ok_or_else(|| RevokeError::Key("the key files went away".into()))?;
            Ok::<_, RevokeError>((revoked, signer))
        })
        .await??;
        let remembered = {
            let mut s = self.write();
            let merged = s.keyring.insert(revoked, Source::Own);
            s.signer = Some(signer);
            merged
        };
        if let Some(cert) = remembered {
            let home = self.home.clone();
            blocking("remembering the key", move || {
                crate::home::certs::remember(&home, &cert)
            })
            .await?
            .map_err(|e| NotSaved::new("certs/", e, "key.asc already holds the revocation"))?;
        }
        self.events.published_changed();
        let s = self.read();
        let revocation = s
            .own_revocation()
            .ok_or_else(|| RevokeError::Key("the revocation did not take".into()))?
            .view();
        Ok(RevokeResult {
            key: own,
            revocation,
            already,
        })
    }
}

/// The own certificate with its revocation: made now with the key Signet holds, or, for a key
/// in GnuPG, as GnuPG holds it (which must be revoked already).
fn revoked_cert(home: &Home, signer: &dyn SignWith, p: RevokeParams) -> Result<Cert, RevokeError> {
    let refused = |e: anyhow::Error| RevokeError::Key(format!("{e:#}"));
    let fpr = keys::fingerprint(signer.cert());
    if !home.secret_key_file().exists() {
        if p.reason.is_some() {
            return Err(RevokeError::GpgReason);
        }
        // Read as the key's files are at start: bounded, the user's own, never through a link.
        let unreadable = |e: String| RevokeError::Key(format!("reading keys/gpg.json: {e}"));
        let bytes = store::read_private(&gpg_setup_file(home), 1 << 20)
            .map_err(|e| unreadable(format!("{e:#}")))?
            .ok_or_else(|| unreadable("it is missing".into()))?;
        let setup: crate::keys::gpg::GpgSetup =
            serde_json::from_slice(&bytes).map_err(|e| unreadable(e.to_string()))?;
        let held = crate::keys::gpg::export_cert(fpr.as_str(), setup.gnupghome.as_ref())
            .map_err(refused)?;
        if crate::keys::signature::Revocations::of(&held)
            .cert
            .is_none()
        {
            return Err(RevokeError::GpgNotRevoked(fpr.to_string()));
        }
        return Ok(held);
    }
    let cert = signer.cert().clone();
    let reason = match p.reason.unwrap_or(RevocationReason::Compromised) {
        RevocationReason::Compromised => ReasonForRevocation::KeyCompromised,
        RevocationReason::Superseded => ReasonForRevocation::KeySuperseded,
        RevocationReason::Retired => ReasonForRevocation::KeyRetired,
        RevocationReason::Unspecified => ReasonForRevocation::Unspecified,
    };
    let comment = p.comment.unwrap_or_default();
    let mut primary = cert
        .primary_key()
        .key()
        .clone()
        .parts_into_secret()
        .and_then(|k| k.into_keypair())
        .map_err(refused)?;
    let revocation = CertRevocationBuilder::new()
        .set_reason_for_revocation(reason, comment.as_bytes())
        .and_then(|b| b.set_signature_creation_time(crate::clock::now()))
        .and_then(|b| b.build(&mut primary, &cert, None))
        .map_err(refused)?;
    let (revoked, _) = cert.insert_packets(revocation).map_err(refused)?;
    Ok(revoked)
}

/// Writes the revoked certificate where the key lives (`keys/secret.asc` with its secret, or
/// `keys/gpg-public.asc`), then publishes it (`repo/key.asc`). Each write is atomic; a crash
/// between them leaves the key revoked at home, and the next start publishes it
/// (`publish_public_key`).
fn write_revoked(home: &Home, revoked: &Cert) -> Result<(), RevokeError> {
    let not_saved = |e| NotSaved::new("the revoked key", e, "the key is as it was");
    if home.secret_key_file().exists() {
        store::write_atomic(
            &home.secret_key_file(),
            &keys::armored_secret(revoked),
            0o600,
        )
    } else {
        store::write_atomic(
            &gpg_public_file(home),
            &keys::armored_public(revoked),
            0o600,
        )
    }
    .map_err(not_saved)?;
    let retired = super::writes::load_retired_keys(home);
    super::writes::publish_public_key(home, revoked, &retired).map_err(not_saved)?;
    Ok(())
}
