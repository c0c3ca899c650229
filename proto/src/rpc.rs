//! JSON-RPC 2.0 envelopes, Signet's error codes, and NDJSON framing with a size cap.
//!
//! The framing is sans-I/O: the daemon and the client feed it bytes however they read them.

use serde::{Deserialize, Serialize};
use serde_json::Value as JsonValue;

/// Default cap on one protocol message, newline excluded (configurable in the daemon).
pub const DEFAULT_MAX_MESSAGE: usize = 1 << 20;

/// A request id: JSON-RPC allows numbers and strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    Number(i64),
    String(String),
}

/// The literal `"2.0"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct V2;

impl Serialize for V2 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("2.0")
    }
}

impl<'de> Deserialize<'de> for V2 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match String::deserialize(d)?.as_str() {
            "2.0" => Ok(V2),
            other => Err(serde::de::Error::custom(format!(
                "jsonrpc must be \"2.0\", not {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub jsonrpc: V2,
    /// Absent for a notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RequestId>,
    pub method: String,
    #[serde(default, skip_serializing_if = "JsonValue::is_null")]
    pub params: JsonValue,
}

impl Request {
    pub fn new(id: i64, method: &str, params: JsonValue) -> Self {
        Request {
            jsonrpc: V2,
            id: Some(RequestId::Number(id)),
            method: method.to_owned(),
            params,
        }
    }
}

/// A response, or a notification from the server (`method` set, no `id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub jsonrpc: V2,
    /// `null` when the request's id could not be read.
    pub id: Option<RequestId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<JsonValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcError>,
}

impl Response {
    pub fn ok(id: Option<RequestId>, result: JsonValue) -> Self {
        Response {
            jsonrpc: V2,
            id,
            result: Some(result),
            error: None,
        }
    }
    pub fn err(id: Option<RequestId>, error: RpcError) -> Self {
        Response {
            jsonrpc: V2,
            id,
            result: None,
            error: Some(error),
        }
    }
}

/// A server-initiated message (sent only after `subscribe`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub jsonrpc: V2,
    pub method: String,
    pub params: JsonValue,
}

/// An error a person can act on, with a stable code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct RpcError {
    pub code: i32,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<JsonValue>,
}

impl RpcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RpcError {
            code: code as i32,
            message: message.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, data: JsonValue) -> Self {
        self.data = Some(data);
        self
    }

    pub fn kind(&self) -> Option<ErrorCode> {
        ErrorCode::from_i32(self.code)
    }
}

macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident = $code:expr,)*) => {
        /// Error codes: JSON-RPC's own, then Signet's (in JSON-RPC's server-error range).
        /// Stable: clients match on them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum ErrorCode { $($(#[$doc])* $name = $code,)* }

        impl ErrorCode {
            pub fn from_i32(code: i32) -> Option<Self> {
                match code { $($code => Some(ErrorCode::$name),)* _ => None }
            }
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$name,)*];
        }
    };
}

error_codes! {
    ParseError = -32700,
    InvalidRequest = -32600,
    MethodNotFound = -32601,
    InvalidParams = -32602,
    Internal = -32603,
    /// `hello` missing, or a protocol major version the server does not speak.
    Protocol = -32000,
    /// No key yet: run `sig setup`.
    NotSetUp = -32001,
    /// `setup` on a home that already has a key.
    AlreadySetUp = -32002,
    /// A file could not be read or hashed.
    File = -32003,
    /// A file changed while it was being hashed.
    FileChanged = -32004,
    /// No known key matches.
    UnknownKey = -32005,
    /// A short key id matches several keys; `data.candidates` lists them.
    AmbiguousKey = -32006,
    /// A file under the home is damaged; reads go on, writes wait for a repair.
    Damaged = -32007,
    /// Writing to disk failed; nothing was changed.
    Storage = -32008,
    /// Signing failed.
    Signing = -32009,
    /// The daemon is at its connection limit.
    Busy = -32010,
    /// No such remote, or a remote by that name exists already.
    Remote = -32011,
    /// A fetch was refused or failed.
    Fetch = -32012,
    /// A directory cannot be watched (it is `/`, too large, gone, or over the inotify limit).
    Watch = -32013,
    /// The home's key is revoked: it signs nothing until a new key is set up.
    Revoked = -32014,
}

/// Why a line could not be taken as a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("message larger than {max} bytes; it was discarded up to its end of line")]
    TooLarge { max: usize },
}

/// Splits a byte stream into newline-terminated frames of at most `max` bytes.
///
/// An oversized frame is reported once and its bytes are dropped up to the next newline, so
/// the connection can go on with the message after it.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    /// How far `buf` has been searched for a newline.
    scanned: usize,
    max: usize,
    discarding: bool,
}

impl FrameDecoder {
    pub fn new(max: usize) -> Self {
        FrameDecoder {
            buf: Vec::new(),
            scanned: 0,
            max,
            discarding: false,
        }
    }

    /// Takes bytes read from the stream.
    pub fn push(&mut self, mut bytes: &[u8]) {
        if self.discarding {
            match bytes.iter().position(|&b| b == b'\n') {
                None => return,
                Some(nl) => {
                    self.discarding = false;
                    bytes = &bytes[nl + 1..];
                }
            }
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame (without its newline, and without a trailing `\r`), if any.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        loop {
            if self.discarding {
                return None;
            }
            match self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                Some(offset) => {
                    let end = self.scanned + offset;
                    let mut frame: Vec<u8> = self.buf.drain(..=end).collect();
                    self.scanned = 0;
                    frame.pop();
                    if frame.last() == Some(&b'\r') {
                        frame.pop();
                    }
                    if frame.len() > self.max {
                        return Some(Err(FrameError::TooLarge { max: self.max }));
                    }
                    if frame.iter().all(u8::is_ascii_whitespace) {
                        continue; // blank lines are keep-alives, not messages
                    }
                    return Some(Ok(frame));
                }
                // A frame of `max` bytes may still be followed by `\r` before its newline.
                None if self.buf.len() > self.max + 1 => {
                    self.buf.clear();
                    self.scanned = 0;
                    self.discarding = true;
                    return Some(Err(FrameError::TooLarge { max: self.max }));
                }
                None => {
                    self.scanned = self.buf.len();
                    return None;
                }
            }
        }
    }

    /// Bytes of an unfinished frame held so far.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// Encodes a message as one line.
pub fn encode_line<T: Serialize>(message: &T) -> Vec<u8> {
    let mut line = serde_json::to_vec(message).expect("protocol types always serialize");
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_on_newlines_across_pushes() {
        let mut d = FrameDecoder::new(16);
        d.push(b"{\"a\"");
        assert_eq!(d.next_frame(), None);
        d.push(b":1}\n\n{}\r\n{");
        assert_eq!(d.next_frame(), Some(Ok(b"{\"a\":1}".to_vec())));
        assert_eq!(d.next_frame(), Some(Ok(b"{}".to_vec())));
        assert_eq!(d.next_frame(), None);
        assert_eq!(d.pending(), 1);
    }

    #[test]
    fn oversized_frames_are_reported_once_and_skipped() {
        let mut d = FrameDecoder::new(4);
        d.push(b"0123456789");
        assert_eq!(d.next_frame(), Some(Err(FrameError::TooLarge { max: 4 })));
        d.push(b"more bytes of it");
        assert_eq!(d.next_frame(), None);
        d.push(b"end\n{}\n");
        assert_eq!(d.next_frame(), Some(Ok(b"{}".to_vec())));
        // A whole oversized line arriving at once.
        d.push(b"0123456789\n{}\n");
        assert_eq!(d.next_frame(), Some(Err(FrameError::TooLarge { max: 4 })));
        assert_eq!(d.next_frame(), Some(Ok(b"{}".to_vec())));
    }

    /// Found by the `frame_decoder` fuzz target: a frame of exactly `max` bytes ending in
    /// `\r\n` was refused when the `\r` arrived before the newline, accepted otherwise.
    #[test]
    fn a_full_size_frame_with_crlf_is_accepted_however_it_arrives() {
        let mut frame = vec![b'x'; 4];
        frame.extend(b"\r\n");
        for split in 1..frame.len() {
            let mut d = FrameDecoder::new(4);
            d.push(&frame[..split]);
            assert_eq!(d.next_frame(), None, "split at {split}");
            d.push(&frame[split..]);
            assert_eq!(
                d.next_frame(),
                Some(Ok(b"xxxx".to_vec())),
                "split at {split}"
            );
        }
    }

    #[test]
    fn error_codes_round_trip() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_i32(*code as i32), Some(*code));
        }
    }

    #[test]
    fn requests_require_jsonrpc_2() {
        let ok: Request = serde_json::from_str(r#"{"jsonrpc":"2.0","id":1,"method":"x"}"#).unwrap();
        assert_eq!(ok.id, Some(RequestId::Number(1)));
        assert!(
            serde_json::from_str::<Request>(r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#).is_err()
        );
    }
}
