//! Downloading the parts a repository's `repo.json` names (the large-publisher layout,
//! docs/FORMATS.md "Parts"): a few at a time, each bounded and checked against its digest as it
//! arrives, all of them within one byte budget. What a part holds is checked by
//! `signet_core::parts::expand`; here only that its bytes are the ones named.

use futures_util::StreamExt as _;
use signet_core::accept::sha256_hex;
use signet_proto::formats::PartRef;

use crate::http::{self, BodyLimit, Got, HttpLimits};

/// Parts requested at once from one server.
pub const PARALLEL: usize = 8;

/// What downloading parts cost.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Downloaded {
    pub parts: usize,
    pub bytes: u64,
}

/// GETs `base_url` + each part's path, handing each to `keep` once its digest is checked.
/// Stops at the first failure: a part missing, too large, not the bytes named, or the bytes of
/// all of them past `max_total`.
pub async fn download(
    client: &reqwest::Client,
    limits: &HttpLimits,
    base_url: &str,
    parts: &[PartRef],
    max_each: u64,
    max_total: u64,
    mut keep: impl FnMut(&PartRef, Vec<u8>) -> Result<(), String>,
) -> Result<Downloaded, String> {
    // Owned values in each request's future: a future borrowing from the closure's argument
    // is not `Send` for every lifetime, which a spawned fetch needs.
    let requests: Vec<_> = parts
        .iter()
        .map(|part| {
            let (client, limits, part) = (client.clone(), limits.clone(), part.clone());
            let url = format!("{base_url}{}", part.path());
            async move {
                let limit = BodyLimit {
                    max: max_each,
                    what_to_do: "a part holds one bin of a repository; this one is too large",
                };
                let answer = http::get(&client, &limits, &url, &Default::default(), limit).await;
                (part, answer)
            }
        })
        .collect();
    let mut got = futures_util::stream::iter(requests).buffer_unordered(PARALLEL);
    let mut done = Downloaded::default();
    while let Some((part, answer)) = got.next().await {
        let bytes = match answer.map_err(|e| e.to_string())? {
            Got::Body { bytes, .. } => bytes,
            Got::NotModified => {
                return Err(format!("{}: 304 to an unconditional GET", part.path()));
            }
        };
        let digest = sha256_hex(&bytes);
        if digest != part.sha256 {
            return Err(format!(
                "{}: the bytes served have sha256 {digest}: not the part repo.json names",
                part.path()
            ));
        }
        done.parts += 1;
        done.bytes += bytes.len() as u64;
        if done.bytes > max_total {
            return Err(format!(
                "the parts of this repository come to more than {max_total} bytes, the most \
                 taken in one fetch"
            ));
        }
        keep(&part, bytes)?;
    }
    Ok(done)
}
