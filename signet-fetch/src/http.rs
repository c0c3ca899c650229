//! HTTP GET of a remote's files, hostile-server-proof: bodies capped while streaming (never
//! trusting Content-Length), deadlines on connecting and on the whole exchange, a bounded
//! number of redirects, and conditional requests so an unchanged remote costs a 304.

use std::time::Duration;

use reqwest::header::{DATE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::{StatusCode, redirect};

use signet_core::accept::Validators;

/// Limits on talking to remotes.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    pub connect_timeout: Duration,
    /// From the request sent to the answer's status and headers.
    pub first_byte_timeout: Duration,
    /// For one whole request, body included: a server trickling bytes cannot hold a fetch.
    pub total_timeout: Duration,
    pub max_redirects: usize,
}

pub fn client(limits: &HttpLimits) -> anyhow::Result<reqwest::Client> {
    Ok(builder(limits)
        .redirect(redirect::Policy::limited(limits.max_redirects))
        .build()?)
}

/// What every client to remotes shares: the user agent and the deadlines.
pub(crate) fn builder(limits: &HttpLimits) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("signet/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(limits.connect_timeout)
        .timeout(limits.total_timeout)
}

/// What a GET brought back.
#[derive(Debug)]
pub enum Got {
    /// 304: the copy held is current.
    NotModified,
    Body {
        bytes: Vec<u8>,
        validators: Validators,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: larger than {max} bytes ({what_to_do})")]
    TooLarge {
        url: String,
        max: u64,
        what_to_do: &'static str,
    },
    #[error("{url}: no complete answer within {secs}s")]
    Timeout { url: String, secs: u64 },
    #[error("{url}: connected, but no answer began within {secs}s (fetch.first_byte_timeout_secs)")]
    NoAnswer { url: String, secs: u64 },
    #[error("{url}: too many redirects")]
    Redirects { url: String },
    #[error("{url}: redirect refused: {message}")]
    RedirectRefused { url: String, message: String },
    /// No answer: the connection was refused, reset or closed, or the answer broke off.
    #[error("{url}: {message}")]
    Network { url: String, message: String },
}

impl FetchError {
    /// Whether asking again may succeed: the connection failed before an answer was whole. A
    /// publisher over its per-peer limit closes new connections unanswered (the client is to
    /// retry), and one that has just served a request may still hold its slot. An answer (a
    /// status, a body too large) or a deadline is never retried: it would only multiply what
    /// a hostile server can hold.
    pub fn is_transient(&self) -> bool {
        matches!(self, FetchError::Network { .. })
    }
}

fn classify(url: &str, limits: &HttpLimits, e: reqwest::Error) -> FetchError {
    let url = url.to_owned();
    if e.is_timeout() {
        return FetchError::Timeout {
            url,
            secs: limits.total_timeout.as_secs(),
        };
    }
    // What happened is the innermost cause (refused, reset, no such host); the layers around
    // it repeat the URL and name hyper's internals. Said once, with what was being done.
    let mut cause: &dyn std::error::Error = &e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    // A redirect past the limit; one the policy refused says why (a private address).
    if e.is_redirect() && cause.to_string().contains("too many redirects") {
        return FetchError::Redirects { url };
    }
    let cause = signet_proto::text::system_words(&cause.to_string());
    if e.is_redirect() {
        return FetchError::RedirectRefused {
            url,
            message: cause,
        };
    }
    let what = if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    FetchError::Network {
        url,
        message: format!("{what}: {cause}"),
    }
}

/// The most a body may hold, and what to do about a larger one.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    pub max: u64,
    pub what_to_do: &'static str,
}

/// GETs `url`, conditionally on `prior`, reading at most `limit.max` bytes of body.
pub async fn get(
    client: &reqwest::Client,
    limits: &HttpLimits,
    url: &str,
    prior: &Validators,
    limit: BodyLimit,
) -> Result<Got, FetchError> {
    let max = limit.max;
    let mut request = client.get(url);
    if let Some(etag) = &prior.etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    if let Some(date) = &prior.last_modified {
        request = request.header(IF_MODIFIED_SINCE, date);
    }
    let mut response = send(request, url, limits).await?;
    let status = response.status();
    if status == StatusCode::NOT_MODIFIED && (prior.etag.is_some() || prior.last_modified.is_some())
    {
        return Ok(Got::NotModified);
    }
    if !status.is_success() {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
        });
    }
    let too_large = || FetchError::TooLarge {
        url: url.to_owned(),
        max,
        what_to_do: limit.what_to_do,
    };
    if response.content_length().is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let validators = Validators {
        etag: header(ETAG),
        last_modified: header(LAST_MODIFIED)
            .filter(|lm| settled(lm, header(DATE).as_deref(), std::time::SystemTime::now())),
    };
    let bytes = read_body(url, limits, &mut response, limit).await?;
    Ok(Got::Body { bytes, validators })
}

/// POSTs `json` (a JSON document) to `url` (an index's `POST /v1/ids`), reading at most
/// `limit.max` bytes of the answer, with the deadlines of a GET.
pub async fn post_json(
    client: &reqwest::Client,
    limits: &HttpLimits,
    url: &str,
    json: Vec<u8>,
    limit: BodyLimit,
) -> Result<Vec<u8>, FetchError> {
    let request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(json);
    let mut response = send(request, url, limits).await?;
    if !response.status().is_success() {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status: response.status().as_u16(),
        });
    }
    if response.content_length().is_some_and(|n| n > limit.max) {
        return Err(FetchError::TooLarge {
            url: url.to_owned(),
            max: limit.max,
            what_to_do: limit.what_to_do,
        });
    }
    read_body(url, limits, &mut response, limit).await
}

/// Sends `request` for `url` and waits for its answer's head: a server that accepts and says
/// nothing is given up on well before the whole deadline.
async fn send(
    request: reqwest::RequestBuilder,
    url: &str,
    limits: &HttpLimits,
) -> Result<reqwest::Response, FetchError> {
    tokio::time::timeout(limits.first_byte_timeout, request.send())
        .await
        .map_err(|_| FetchError::NoAnswer {
            url: url.to_owned(),
            secs: limits.first_byte_timeout.as_secs(),
        })?
        .map_err(|e| classify(url, limits, e))
}

/// The body of `response`, at most `limit.max` bytes.
async fn read_body(
    url: &str,
    limits: &HttpLimits,
    response: &mut reqwest::Response,
    limit: BodyLimit,
) -> Result<Vec<u8>, FetchError> {
    // Sized once when the length is announced (already checked against `max`): no doubling.
    let mut bytes = Vec::with_capacity(response.content_length().unwrap_or(0) as usize);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| classify(url, limits, e))?
    {
        if (bytes.len() + chunk.len()) as u64 > limit.max {
            return Err(FetchError::TooLarge {
                url: url.to_owned(),
                max: limit.max,
                what_to_do: limit.what_to_do,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Whether a `Last-Modified` can serve as a validator: only when it is more than a second
/// before the response's `Date` (or, without one, the time it arrived). The header has
/// one-second resolution: a file written again within the second it was fetched keeps the same
/// `Last-Modified`, and every later conditional GET would be answered 304 — the update (or a
/// revocation in `key.asc`) hidden until the next change. Such a copy is fetched in full next
/// time instead; an `ETag` is kept regardless.
fn settled(last_modified: &str, date: Option<&str>, now: std::time::SystemTime) -> bool {
    let Ok(modified) = httpdate::parse_http_date(last_modified) else {
        return false;
    };
    let served = date
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .unwrap_or(now);
    served
        .duration_since(modified)
        .is_ok_and(|age| age > Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::settled;

    #[test]
    fn a_last_modified_within_a_second_of_the_answer_is_no_validator() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let http = |t: SystemTime| httpdate::fmt_http_date(t);
        let date = http(at);
        let secs = |n| Duration::from_secs(n);
        assert!(settled(&http(at - secs(2)), Some(&date), at));
        assert!(!settled(&http(at - secs(1)), Some(&date), at));
        assert!(!settled(&http(at), Some(&date), at));
        assert!(
            !settled(&http(at + secs(60)), Some(&date), at),
            "from the future"
        );
        // Without a Date, the time it arrived.
        assert!(settled(&http(at - secs(5)), None, at));
        assert!(!settled(&http(at), None, at));
        assert!(!settled("yesterday", Some(&date), at));
    }
}
