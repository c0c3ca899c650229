//! What the editor shows: the diagnostic of an open file and the hover, in words. Text from
//! outside (user ids, comments) is escaped: plain for diagnostics, Markdown for the hover.

use signet_proto::api::{self, Verdict, VerifyResult};
use signet_proto::text::{markdown, shown};

/// Who made an attestation, for a diagnostic (plain text): the user id from outside escaped.
fn who(a: &api::AttestationView) -> String {
    let short = a.key.as_str();
    let short = &short[short.len().saturating_sub(16)..];
    if a.user_id.is_empty() {
        format!("[{short}]")
    } else {
        format!("{} [{short}]", shown(&a.user_id))
    }
}

/// A dependency's diagnostic: its verdict, name and version, and who said NOT ok and why.
pub(super) fn dependency_message(j: &crate::commands::deps::Judged) -> String {
    let name = format!("{} {}", shown(&j.dep.name), shown(&j.dep.version));
    let against = against(j.deciding.iter().flat_map(|r| &r.attestations));
    if against.is_empty() {
        format!("Signet: {name} is not reviewed — no trusted key vouched for its bytes")
    } else {
        format!("Signet: {name} is NOT ok ({})", against.join("; "))
    }
}

/// The line (from 0) of `text` that pins one of `ids`: a lockfile writes a sha256 as hex
/// (`checksum = "…"`, `--hash=sha256:…`) and a sha512 as base64 (`sha512-…`).
pub(super) fn line_pinning(text: &str, ids: &[signet_proto::formats::ContentId]) -> Option<usize> {
    use base64::Engine as _;
    let needles: Vec<String> = ids
        .iter()
        .filter_map(|id| {
            let (algo, hex) = id.as_str().split_once(':')?;
            if algo != "sha512" {
                return Some(hex.to_owned());
            }
            let bytes: Option<Vec<u8>> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
                .collect();
            Some(base64::engine::general_purpose::STANDARD.encode(bytes?))
        })
        .collect();
    text.lines()
        .position(|line| needles.iter().any(|n| line.contains(n.as_str())))
}

pub(super) fn unverified_message(r: &VerifyResult) -> String {
    let untrusted = r.attestations.iter().filter(|a| !a.trusted).count();
    let mut message = "Signet: not verified — no trusted key vouched for this file".to_owned();
    if untrusted > 0 {
        message.push_str(&format!(
            " ({untrusted} attestation(s) by keys you do not trust)"
        ));
    }
    message
}

/// Each trusted NOT ok among `attestations`: who said it, and why when they said.
fn against<'a>(attestations: impl Iterator<Item = &'a api::AttestationView>) -> Vec<String> {
    attestations
        .filter(|a| a.counts() && !a.ok)
        .map(|a| {
            if a.comment.is_empty() {
                who(a)
            } else {
                format!("{}: {}", who(a), shown(&a.comment))
            }
        })
        .collect()
}

pub(super) fn not_ok_message(r: &VerifyResult) -> String {
    let against = against(r.attestations.iter());
    format!(
        "Signet: NOT ok — a trusted key says this file is not ok ({})",
        against.join("; ")
    )
}

pub(super) fn hover_text(r: &VerifyResult) -> String {
    let verdict = match r.verdict {
        Verdict::Ok => "ok",
        Verdict::Unverified => "not verified",
        Verdict::NotOk => "NOT ok",
    };
    let mut text = format!("**Signet: {verdict}**\n\n`{}`\n", r.id);
    if r.attestations.is_empty() {
        text.push_str("\nNobody has attested this file.\n");
    }
    // User ids and comments come from anyone: Markdown-escaped, so that a remote cannot put
    // links, images or formatting in the user's editor.
    for a in &r.attestations {
        text.push_str(&format!(
            "\n- {} {}: {}{}{}{}{}{}",
            if a.trusted { "trusted" } else { "untrusted" },
            markdown(&who(a)),
            if a.ok { "ok" } else { "NOT ok" },
            a.about_text()
                .map_or_else(String::new, |t| format!(" ({})", markdown(&t))),
            if a.reviewed { ", reviewed" } else { "" },
            if a.revoked { " (key revoked)" } else { "" },
            if a.superseded {
                " (superseded by its key's newer word)"
            } else {
                ""
            },
            if a.comment.is_empty() {
                String::new()
            } else {
                format!(" — {}", markdown(&a.comment))
            }
        ));
        // How its key is trusted (the path), or why its word does not count.
        if let Some(standing) = &a.standing {
            let why = crate::commands::why::verdict_text(standing);
            text.push_str(&format!("\n  - {}", markdown(&why)));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_proto::api::{AttestationView, Source};
    use signet_proto::formats::Fingerprint;

    fn word(key: char, reviewed: bool, comment: &str) -> AttestationView {
        AttestationView {
            key: Fingerprint::parse(&key.to_string().repeat(40)).unwrap(),
            user_id: format!("{key} <{key}@example.org>"),
            trusted: true,
            ok: false,
            reviewed,
            comment: comment.into(),
            subject: None,
            criteria: Vec::new(),
            source: Source::Own,
            revoked: false,
            revocation: None,
            superseded: false,
            also_from: Vec::new(),
            counts_as: None,
            standing: None,
        }
    }

    /// The diagnostic names the words that made the verdict NOT ok, and only those: an
    /// unreviewed NOT ok by a trusted key does not count, so it is not a reason.
    #[test]
    fn a_not_ok_names_only_the_words_that_count() {
        let result = VerifyResult {
            id: format!("sha256:{}", "a".repeat(64)),
            verdict: Verdict::NotOk,
            attestations: vec![
                word('A', true, "backdoor in install()"),
                word('B', false, "looks odd"),
            ],
            reviewers: 0,
            threshold: 1,
            unknown: 0,
            invalid: 0,
            path: None,
        };
        let message = not_ok_message(&result);
        assert!(message.contains("backdoor in install()"), "{message}");
        assert!(!message.contains("looks odd"), "{message}");
    }
}
