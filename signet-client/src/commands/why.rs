//! How a key stands in the web of trust, in words: `sig verify --why`, `sig trust why`,
//! `sig trust list --all` and the editor's hover share these.

use signet_proto::api::{EffectiveLevel, KeyStanding, PathStep, WhyNot};
use signet_proto::formats::Fingerprint;
use signet_proto::text::shown;

/// A key by its name (the user id before its address) and short id, control characters
/// neutralised: `Alice [3A9F0C12]`.
fn named(fpr: &Fingerprint, user_id: &str) -> String {
    let name = user_id.split(" <").next().unwrap_or_default().trim();
    if name.is_empty() {
        format!("[{}]", fpr.short())
    } else {
        format!("{} [{}]", shown(name), fpr.short())
    }
}

fn level_text(level: EffectiveLevel) -> &'static str {
    match level {
        EffectiveLevel::Ultimate => "ultimate",
        EffectiveLevel::High => "high",
        EffectiveLevel::Medium => "medium",
        EffectiveLevel::Low => "low",
        EffectiveLevel::None => "none",
    }
}

/// `via you → Alice (high) → Bob (medium)`.
pub fn path_text(path: &[PathStep]) -> String {
    let mut text = "via you".to_owned();
    for step in path {
        let said = if step.successor {
            format!("its successor, {}", step.level)
        } else {
            step.level.to_string()
        };
        text.push_str(&format!(
            " → {} ({said})",
            named(&step.fingerprint, &step.user_id)
        ));
    }
    text
}

/// Why a key's word does not count, in words.
pub fn reason_text(why: &WhyNot) -> String {
    match why {
        WhyNot::NoPath => "no key you trust vouches for it".into(),
        WhyNot::TooDeep { depth, max_depth } => {
            format!("it is {depth} hops from you, deeper than trust.max_depth ({max_depth})")
        }
        WhyNot::BelowMinLevel { min_level } => {
            format!("its level is below verify.min_level ({min_level})")
        }
        WhyNot::DistrustedByYou => "you distrust it".into(),
        WhyNot::NotInPolicy => "the project's signet.toml does not trust it".into(),
        WhyNot::Distrusted { by, by_user_id, at } => format!(
            "distrusted by {} at level {at}, no weaker than every path to it",
            named(by, by_user_id)
        ),
        WhyNot::Revoked => "its key is revoked".into(),
    }
}

/// The whole explanation: the path that makes its word count, or why it does not (callers say
/// which, from `counts`), and every distrust of it seen in the web.
pub fn standing_text(s: &KeyStanding) -> String {
    let mut text = match (s.level, &s.why_not) {
        (Some(EffectiveLevel::Ultimate), _) => "your own key (ultimate)".to_owned(),
        (Some(_), None) => path_text(&s.path),
        (Some(_), Some(why)) => format!("{}, but {}", path_text(&s.path), reason_text(why)),
        (None, Some(why)) => reason_text(why),
        (None, None) => "no key you trust vouches for it".to_owned(),
    };
    for d in &s.distrusted_by {
        let at = level_text(d.at);
        text.push_str(&format!(
            "; distrusted by {} ({at})",
            named(&d.by, &d.by_user_id)
        ));
        if !d.comment.is_empty() {
            text.push_str(&format!(": {:?}", shown(&d.comment).to_string()));
        }
    }
    if s.other_distrusts > 0 {
        text.push_str(&format!(
            "; {} more distrust(s), by keys outside your web or beyond the strongest {}",
            s.other_distrusts,
            s.distrusted_by.len()
        ));
    }
    text
}

/// [`standing_text`] with whether its word counts: `via you → …`, or
/// `does not count: …`.
pub fn verdict_text(s: &KeyStanding) -> String {
    if s.counts {
        standing_text(s)
    } else {
        format!("does not count: {}", standing_text(s))
    }
}

/// A key's effective level in a column: `ultimate`, `high`, …, or `-` when not trusted.
pub fn level_column(s: &KeyStanding) -> &'static str {
    s.level.map_or("-", level_text)
}
