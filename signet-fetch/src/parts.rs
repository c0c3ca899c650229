//! Downloading the parts a repository's `repo.json` names (the large-publisher layout,
//! docs/FORMATS.md "Parts"): a few at a time, each bounded and checked against its digest as it
//! arrives, all of them within one byte budget. What a part holds is checked by
//! `signet_core::parts::expand`; here only that its bytes are the ones named.

use std::time::Duration;

use futures_util::StreamExt as _;
use signet_core::accept::sha256_hex;
use signet_proto::formats::PartRef;

use crate::http::{self, BodyLimit, FetchError, Got, HttpLimits};

/// Parts requested at once from one server: half of what a Signet publisher serves one peer
/// at once (`signetd::publish::http::MAX_PER_PEER`), leaving the rest to other programs
/// behind the same address and to connections whose slot is not yet given back.
pub const PARALLEL: usize = 4;

/// The pauses before asking again for a part whose connection closed unanswered
/// ([`FetchError::is_transient`]); one more failure after the last ends the download.
const RETRY_AFTER: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(500)];

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
                let mut answer =
                    http::get(&client, &limits, &url, &Default::default(), limit).await;
                for pause in RETRY_AFTER {
                    if !answer.as_ref().is_err_and(FetchError::is_transient) {
                        break;
                    }
                    tokio::time::sleep(pause).await;
                    answer = http::get(&client, &limits, &url, &Default::default(), limit).await;
                }
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use signet_core::accept::sha256_hex;
    use signet_proto::formats::PartRef;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use crate::http::{self, HttpLimits};

    /// A server on 127.0.0.1 that closes the first connection for each path without a word (as
    /// a publisher over its per-peer limit does) and answers the next: 200 with `body` for a
    /// known path, 404 otherwise. Returns its base URL and the requests it saw for each path.
    async fn closes_first(
        bodies: HashMap<String, Vec<u8>>,
    ) -> (String, Arc<Mutex<HashMap<String, usize>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
        let counted = seen.clone();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = stream.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    head.extend_from_slice(&buf[..n]);
                }
                let head = String::from_utf8_lossy(&head);
                let path = head.split(' ').nth(1).unwrap_or_default().to_owned();
                let times = {
                    let mut seen = counted.lock().unwrap();
                    let times = seen.entry(path.clone()).or_default();
                    *times += 1;
                    *times
                };
                if times == 1 {
                    drop(stream);
                    continue;
                }
                let answer = match bodies.get(&path) {
                    Some(body) => {
                        let mut answer = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        answer.extend_from_slice(body);
                        answer
                    }
                    None => {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                };
                stream.write_all(&answer).await.unwrap();
            }
        });
        (base, seen)
    }

    fn limits() -> HttpLimits {
        HttpLimits {
            connect_timeout: Duration::from_secs(5),
            first_byte_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(10),
            max_redirects: 0,
        }
    }

    fn part(bytes: &[u8], bin: &str) -> PartRef {
        PartRef {
            bin: bin.to_owned(),
            sha256: sha256_hex(bytes),
            count: 1,
        }
    }

    #[tokio::test]
    async fn a_part_whose_connection_closes_unanswered_is_asked_for_again() {
        let parts: Vec<(PartRef, Vec<u8>)> = (0..12u8)
            .map(|i| {
                let bytes = format!("part {i}\n").into_bytes();
                (part(&bytes, &format!("{i:x}")), bytes)
            })
            .collect();
        let bodies = parts
            .iter()
            .map(|(p, b)| (format!("/{}", p.path()), b.clone()))
            .collect();
        let (base, seen) = closes_first(bodies).await;
        let client = http::client(&limits()).unwrap();
        let named: Vec<PartRef> = parts.iter().map(|(p, _)| p.clone()).collect();
        let mut kept = Vec::new();
        let done = super::download(&client, &limits(), &base, &named, 1024, 1 << 20, |p, b| {
            kept.push((p.clone(), b));
            Ok(())
        })
        .await
        .expect("every part, on its second asking");
        assert_eq!(done.parts, 12);
        kept.sort_by(|a, b| a.0.bin.cmp(&b.0.bin));
        let mut want = parts.clone();
        want.sort_by(|a, b| a.0.bin.cmp(&b.0.bin));
        assert_eq!(kept, want);
        assert!(seen.lock().unwrap().values().all(|&n| n == 2), "{seen:?}");
    }

    #[tokio::test]
    async fn an_answer_is_never_asked_for_again() {
        let (base, seen) = closes_first(HashMap::new()).await;
        let client = http::client(&limits()).unwrap();
        let missing = part(b"nobody has this\n", "0");
        let why = super::download(
            &client,
            &limits(),
            &base,
            std::slice::from_ref(&missing),
            1024,
            1 << 20,
            |_, _| Ok(()),
        )
        .await
        .expect_err("a 404 is an answer");
        assert!(why.contains("HTTP 404"), "{why}");
        // Once closed unanswered, once answered 404: an answer is never asked for again.
        assert_eq!(seen.lock().unwrap()[&format!("/{}", missing.path())], 2);
    }
}
