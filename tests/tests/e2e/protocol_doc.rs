//! docs/PROTOCOL.md stays honest: every method has a section, and any change to the protocol
//! types (proto/src/api.rs) fails this test until the document is reviewed and its recorded
//! hash of api.rs updated.

use sha2::Digest as _;
use signet_proto::api::method;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn every_method_is_documented() {
    let doc = std::fs::read_to_string(root().join("docs/PROTOCOL.md")).unwrap();
    let headings: Vec<&str> = doc.lines().filter(|l| l.starts_with("### ")).collect();
    for m in method::ALL {
        assert!(
            headings.iter().any(|h| h.contains(&format!("`{m}`"))),
            "docs/PROTOCOL.md has no section for `{m}`"
        );
    }
}

#[test]
fn the_document_was_reviewed_against_the_current_types() {
    let api = std::fs::read(root().join("proto/src/api.rs")).unwrap();
    let sha = signet_proto::formats::hex_lower(&sha2::Sha256::digest(&api));
    let doc = std::fs::read_to_string(root().join("docs/PROTOCOL.md")).unwrap();
    assert!(
        doc.contains(&format!("proto/src/api.rs sha256 {sha}")),
        "proto/src/api.rs changed (sha256 {sha}): update docs/PROTOCOL.md for the change, then \
         the hash in its first comment"
    );
}
