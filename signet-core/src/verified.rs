//! Signatures verified before, by the exact bytes they were verified over. A repository in
//! the seed format is one file: an update re-downloads every attestation, and before this
//! every signature of the new copy was verified again — 17 s of the follower's CPU for one
//! new word in 300,000. Now only envelopes whose bytes are new are verified; the others take
//! the verdict their bytes had (`Verified`), as a remote's checked cache does for a copy whose
//! bytes are unchanged, under the same rule: a check stands while the certificate it was made
//! against still holds the key that signed (certificates only grow; revocation is judged at
//! each query, never here).

use std::collections::HashMap;

use sha2::{Digest as _, Sha256};
use signet_proto::formats::{Fingerprint, Signed};

use crate::keyring::Keyring;
use crate::signature::Genuine;

/// An envelope as its signature was verified: its key, its signature and the bytes signed,
/// each prefixed with its length so that no two different envelopes are hashed alike.
/// SHA-256 cut to 128 bits: taking a remembered verdict for other bytes would need a second
/// preimage of an envelope its key really signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnvelopeDigest([u8; 16]);

impl EnvelopeDigest {
    /// `signed` is `att.signed_bytes()`, which the caller has at hand.
    pub fn of(att: &Signed, signed: &str) -> Self {
        let mut hasher = Sha256::new();
        for part in [att.key.as_str(), att.sig.as_str(), signed] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let digest: [u8; 32] = hasher.finalize().into();
        EnvelopeDigest(digest[..16].try_into().expect("16 of 32 bytes"))
    }
}

/// One genuine envelope: 24 bytes, sorted by digest.
#[derive(Debug, Clone, Copy)]
struct Genuinely {
    digest: EnvelopeDigest,
    /// Its (key, signer) pair, as an index into `Verified::signers`.
    pair: u32,
    /// The signature's creation time (OpenPGP's is 32 bits).
    signed_at: u32,
}

/// The envelopes of one copy whose signatures were found genuine, and by whom and when:
/// 24 bytes an envelope, held while the copy is (a million: 24 MB).
#[derive(Debug, Default)]
pub struct Verified {
    genuine: Box<[Genuinely]>,
    /// `(key, signer)`: the key an envelope names, and the (sub)key that made its signature.
    signers: Vec<(Fingerprint, Fingerprint)>,
}

impl Verified {
    pub fn len(&self) -> usize {
        self.genuine.len()
    }

    pub fn is_empty(&self) -> bool {
        self.genuine.is_empty()
    }

    /// What may be taken from this memo against `keyring` as it is now: the words whose
    /// key's certificate still holds the key that signed them (`Keyring::signs_with`).
    pub fn against(&self, keyring: &Keyring) -> Usable<'_> {
        Usable {
            reused: Default::default(),
            holds: self
                .signers
                .iter()
                .map(|(key, signer)| keyring.signs_with(key, signer))
                .collect(),
            verified: self,
        }
    }
}

impl Verified {
    const MAGIC: &'static [u8] = b"signet verified envelopes 1\n";

    /// The memo as a file holds it: a header, the pairs (two length-prefixed fingerprints
    /// each), then 24 bytes an envelope in digest order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::MAGIC.len() + 16 + self.genuine.len() * 24);
        out.extend_from_slice(Self::MAGIC);
        out.extend_from_slice(&(self.signers.len() as u32).to_le_bytes());
        for (key, signer) in &self.signers {
            for fpr in [key, signer] {
                out.push(fpr.as_str().len() as u8);
                out.extend_from_slice(fpr.as_str().as_bytes());
            }
        }
        out.extend_from_slice(&(self.genuine.len() as u64).to_le_bytes());
        for g in self.genuine.iter() {
            out.extend_from_slice(&g.digest.0);
            out.extend_from_slice(&g.pair.to_le_bytes());
            out.extend_from_slice(&g.signed_at.to_le_bytes());
        }
        out
    }

    /// Reads [`Verified::to_bytes`]; `None` for anything else (the memo is then not used:
    /// every envelope is verified).
    pub fn from_bytes(bytes: &[u8]) -> Option<Verified> {
        struct Reader<'a>(&'a [u8]);
        impl<'a> Reader<'a> {
            fn take(&mut self, n: usize) -> Option<&'a [u8]> {
                let (head, rest) = self.0.split_at_checked(n)?;
                self.0 = rest;
                Some(head)
            }
            fn u32(&mut self) -> Option<u32> {
                Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
            }
            fn fingerprint(&mut self) -> Option<Fingerprint> {
                let len = *self.take(1)?.first()?;
                let text = std::str::from_utf8(self.take(len.into())?).ok()?;
                Fingerprint::parse(text).ok()
            }
        }
        let mut r = Reader(bytes.strip_prefix(Self::MAGIC)?);
        let pairs = r.u32()? as usize;
        // Every pair takes at least two bytes: a count past what is left is not believed.
        if pairs > r.0.len() / 2 {
            return None;
        }
        let signers = (0..pairs)
            .map(|_| Some((r.fingerprint()?, r.fingerprint()?)))
            .collect::<Option<Vec<_>>>()?;
        let count = u64::from_le_bytes(r.take(8)?.try_into().ok()?);
        if Some(r.0.len()) != usize::try_from(count).ok()?.checked_mul(24) {
            return None;
        }
        let genuine =
            r.0.chunks_exact(24)
                .map(|g| {
                    let pair = u32::from_le_bytes(g[16..20].try_into().ok()?);
                    if pair as usize >= signers.len() {
                        return None;
                    }
                    Some(Genuinely {
                        digest: EnvelopeDigest(g[..16].try_into().ok()?),
                        pair,
                        signed_at: u32::from_le_bytes(g[20..24].try_into().ok()?),
                    })
                })
                .collect::<Option<Box<[_]>>>()?;
        // Looked up by binary search: out of order, it would miss, never mislead; refused.
        if !genuine.is_sorted_by_key(|g| g.digest) {
            return None;
        }
        Some(Verified { genuine, signers })
    }
}

/// A [`Verified`] being filled, one envelope at a time.
#[derive(Debug, Default)]
pub struct Remembering {
    genuine: Vec<Genuinely>,
    signers: Vec<(Fingerprint, Fingerprint)>,
    /// Where each pair is in `signers` (a copy may name any number of keys).
    signer_at: HashMap<(Fingerprint, Fingerprint), u32>,
}

impl Remembering {
    /// Remembers that the envelope `digest`, naming `key`, was found signed by `signer` at
    /// `signed_at`. A time past OpenPGP's 32 bits cannot be a signature's: not remembered.
    pub fn insert(
        &mut self,
        digest: EnvelopeDigest,
        key: &Fingerprint,
        signer: &Fingerprint,
        signed_at: u64,
    ) {
        let Ok(signed_at) = u32::try_from(signed_at) else {
            return;
        };
        // Most of a copy's words are its owner's: the last pair is looked at first.
        let pair = match self.signers.last() {
            Some((k, s)) if k == key && s == signer => self.signers.len() as u32 - 1,
            _ => {
                let next = self.signers.len() as u32;
                let pair = (key.clone(), signer.clone());
                let at = *self.signer_at.entry(pair.clone()).or_insert(next);
                if at == next {
                    self.signers.push(pair);
                }
                at
            }
        };
        self.genuine.push(Genuinely {
            digest,
            pair,
            signed_at,
        });
    }

    /// Adds what another worker remembered.
    pub fn append(&mut self, other: Remembering) {
        let pairs: Vec<u32> = other
            .signers
            .into_iter()
            .map(|pair| {
                let next = self.signers.len() as u32;
                let at = *self.signer_at.entry(pair.clone()).or_insert(next);
                if at == next {
                    self.signers.push(pair);
                }
                at
            })
            .collect();
        self.genuine
            .extend(other.genuine.into_iter().map(|g| Genuinely {
                pair: pairs[g.pair as usize],
                ..g
            }));
    }

    pub fn done(mut self) -> Verified {
        self.genuine.sort_unstable_by_key(|g| g.digest);
        Verified {
            genuine: self.genuine.into_boxed_slice(),
            signers: self.signers,
        }
    }
}

/// [`Verified`] as a keyring stands.
#[derive(Debug)]
pub struct Usable<'a> {
    verified: &'a Verified,
    /// By index into `verified.signers`.
    holds: Vec<bool>,
    /// How many verdicts were taken.
    reused: std::sync::atomic::AtomicUsize,
}

impl Usable<'_> {
    /// The verdict the envelope `digest` had, if it was genuine and its signer still holds.
    pub fn get(&self, digest: &EnvelopeDigest) -> Option<Genuine> {
        let genuine = &self.verified.genuine;
        let at = genuine.binary_search_by_key(digest, |g| g.digest).ok()?;
        let Genuinely {
            pair, signed_at, ..
        } = genuine[at];
        if !self.holds[pair as usize] {
            return None;
        }
        self.reused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(Genuine {
            signer: self.verified.signers[pair as usize].1.clone(),
            signed_at: signed_at.into(),
        })
    }

    /// How many verdicts [`Usable::get`] gave.
    pub fn reused(&self) -> usize {
        self.reused.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fpr(c: char) -> Fingerprint {
        Fingerprint::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn envelope(comment: &str) -> (Signed, String) {
        let data = format!(r#"{{"comment":"{comment}"}}"#);
        let att = Signed {
            data: signet_proto::json::Value::Canonical(data.clone().into_boxed_str()),
            key: fpr('A'),
            sig: "c2ln".into(),
        };
        (att, data)
    }

    #[test]
    fn a_remembered_verdict_is_found_only_for_the_same_bytes_while_its_signer_holds() {
        let (att, data) = envelope("read");
        let digest = EnvelopeDigest::of(&att, &data);
        let mut remembering = Remembering::default();
        remembering.insert(digest, &fpr('A'), &fpr('B'), 1_700_000_000);
        let verified = remembering.done();
        // A keyring that knows nothing of A: nothing may be taken.
        let usable = verified.against(&Keyring::default());
        assert_eq!(usable.get(&digest), None);
        // Other bytes, other digests: one character of the data, the signature, the key.
        let (other, other_data) = envelope("reae");
        assert_ne!(EnvelopeDigest::of(&other, &other_data), digest);
        let resigned = Signed {
            sig: "c2lo".into(),
            ..att.clone()
        };
        assert_ne!(EnvelopeDigest::of(&resigned, &data), digest);
        let rekeyed = Signed {
            key: fpr('C'),
            ..att.clone()
        };
        assert_ne!(EnvelopeDigest::of(&rekeyed, &data), digest);
    }

    #[test]
    fn the_file_form_reads_back_and_refuses_what_it_did_not_write() {
        let mut remembering = Remembering::default();
        for i in 0..100u32 {
            let (att, data) = envelope(&i.to_string());
            let signer = if i % 3 == 0 { fpr('B') } else { fpr('C') };
            remembering.insert(
                EnvelopeDigest::of(&att, &data),
                &fpr('A'),
                &signer,
                i.into(),
            );
        }
        let verified = remembering.done();
        let bytes = verified.to_bytes();
        let back = Verified::from_bytes(&bytes).expect("reads back");
        assert_eq!(back.len(), 100);
        assert_eq!(back.signers, verified.signers);
        assert_eq!(back.to_bytes(), bytes);
        // Cut short, lengthened, another pair than those listed, out of order: refused.
        assert!(Verified::from_bytes(&bytes[..bytes.len() - 1]).is_none());
        assert!(Verified::from_bytes(&[bytes.as_slice(), &[0]].concat()).is_none());
        let mut bad_pair = bytes.clone();
        let last = bad_pair.len() - 8;
        bad_pair[last..last + 4].copy_from_slice(&7u32.to_le_bytes());
        assert!(Verified::from_bytes(&bad_pair).is_none());
        let mut swapped = bytes.clone();
        let first = swapped.len() - 100 * 24;
        swapped[first..first + 16].copy_from_slice(&[0xff; 16]);
        assert!(Verified::from_bytes(&swapped).is_none());
        assert!(Verified::from_bytes(b"{}").is_none());
    }
}
