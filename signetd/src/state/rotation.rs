//! A key rotation's transition (docs/FORMATS.md, "Key rotation"): when `sig setup --force`
//! replaces a key, the old key names the new one its successor and the new key names the old
//! one its predecessor, two trust statements filed in the repository the new key signs. A
//! follower pinned to the old key follows the new one only through them
//! (`core::accept::rotation`), and the web of trust puts the successor where the old key stood.

use std::sync::Arc;

use signet_proto::api::{KeyInfo, Replaced};
use signet_proto::formats::Signed;
use signet_proto::statements::{Succession, Trust, TrustStatement};

use super::Shared;
use crate::errors::blocking;
use crate::keys::{self, SignWith};

/// Both halves of a transition, signed, with where each is filed.
pub(super) struct Transition {
    halves: Vec<(String, Signed)>,
}

impl Transition {
    /// Both halves, with where each is filed (each replaces its key's earlier word there).
    pub(super) fn halves(&self) -> Vec<(String, Signed)> {
        self.halves.clone()
    }
}

impl Shared {
    /// The transition from the home's current key to `new`, signed by both; `None` (with why,
    /// for the answer) when there is no old key, it is revoked (a revoked key vouches for no
    /// successor: a thief could have made it), or it could not sign.
    pub(super) async fn sign_transition(
        &self,
        new: &Arc<dyn SignWith>,
        tty: Option<String>,
    ) -> (Option<Transition>, Option<Replaced>) {
        let (old, old_info) = {
            let s = self.read();
            let Some(info) = s.own.clone() else {
                return (None, None);
            };
            (s.signer().map(|(signer, _)| signer), info)
        };
        let refused = |why: String| {
            (
                None,
                Some(Replaced {
                    key: old_info.clone(),
                    transition: false,
                    why_not: Some(why),
                }),
            )
        };
        let old = match old {
            Ok(old) => old,
            Err(e) => return refused(e.to_string()),
        };
        let new_info = keys::key_info(new.cert());
        if new_info.fingerprint == old_info.fingerprint {
            return (None, None);
        }
        let deadline = self.config().gpg_deadline();
        let halves = [
            (
                old.for_request(tty.clone(), deadline),
                &new_info,
                Succession::Successor,
            ),
            (
                new.for_request(tty, deadline),
                &old_info,
                Succession::Predecessor,
            ),
        ];
        let mut signed = Vec::new();
        for (signer, about, succession) in halves {
            let data = half(about, succession).to_data();
            let made = blocking("signing the key transition", move || {
                keys::sign_checked(&*signer, data)
            })
            .await;
            match made {
                Ok(Ok((half, _))) => signed.push((TrustStatement::id_of(&about.fingerprint), half)),
                Ok(Err(e)) => return refused(format!("signing the transition: {e:#}")),
                Err(e) => return refused(e.to_string()),
            }
        }
        (
            Some(Transition { halves: signed }),
            Some(Replaced {
                key: old_info,
                transition: true,
                why_not: None,
            }),
        )
    }
}

/// One half: `high`, so that a reader that knows nothing of rotations still reads the old key
/// vouching for the new one as strongly as it can.
fn half(about: &KeyInfo, succession: Succession) -> TrustStatement {
    let comment = match succession {
        Succession::Successor => "my new key",
        Succession::Predecessor => "my previous key",
    };
    TrustStatement {
        key: about.fingerprint.clone(),
        trust: Trust::High,
        url: None,
        comment: comment.into(),
        succession: Some(succession),
        withdrawn: false,
    }
}
