//! Telling a public index where the repository is (`sig publish --announce INDEX`): one POST
//! of the repository's URL to the index's `v1/repositories`, bounded in time and in what is
//! read back. The index crawls the repository on its own; nothing it says is believed beyond
//! its acknowledgement.

use std::time::Duration;

use signet_proto::api::Announced;
use signet_proto::index::{Submission, Submitted};

/// The most read of an index's acknowledgement.
const MAX_ANSWER: usize = 64 << 10;
const DEADLINE: Duration = Duration::from_secs(20);

/// Announces `url` to the index at `index`; what the index said, or why it did not answer.
pub async fn announce(
    client: &reqwest::Client,
    index: &str,
    url: &str,
) -> Result<Announced, String> {
    let index = signet_core::accept::check_url(index).map_err(|why| format!("the index: {why}"))?;
    let url =
        signet_core::accept::check_url(url).map_err(|why| format!("the repository: {why}"))?;
    let body = serde_json::to_vec(&Submission { url: url.clone() }).expect("serializes");
    let exchange = async {
        let mut response = client
            .post(format!("{index}v1/repositories"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let mut answer = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            answer.extend_from_slice(&chunk);
            if answer.len() > MAX_ANSWER {
                return Err("its answer is too long".to_owned());
            }
        }
        if !status.is_success() {
            let said = String::from_utf8_lossy(&answer);
            return Err(format!(
                "HTTP {status}: {}",
                said.chars().take(300).collect::<String>()
            ));
        }
        serde_json::from_slice::<Submitted>(&answer)
            .map_err(|e| format!("not an index's answer: {e}"))
    };
    let submitted = tokio::time::timeout(DEADLINE, exchange)
        .await
        .map_err(|_| format!("no answer within {}s", DEADLINE.as_secs()))??;
    Ok(Announced {
        index,
        url: submitted.url,
        new: submitted.new,
    })
}
