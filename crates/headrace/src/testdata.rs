//! Finding TensorFlow's reference vectors for tests: `$HEADRACE_TESTDATA`, else
//! `../shared/testdata` beside the checkout, else the workplace's `/work/shared/testdata`
//! (for clones made elsewhere).

use std::path::PathBuf;

use bytes::Bytes;
use serde_json::Value;

/// The reference directory `kind` (e.g. `tfrecord`).
pub fn dir(kind: &str) -> PathBuf {
    let candidates = [
        std::env::var("HEADRACE_TESTDATA").unwrap_or_default(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata").to_string(),
        "/work/shared/testdata".to_string(),
    ];
    let root = candidates
        .iter()
        .find(|d| !d.is_empty() && std::path::Path::new(d).join(kind).is_dir())
        .unwrap_or(&candidates[1]);
    PathBuf::from(root).join(kind)
}

/// The JSON file `name` of the reference directory `kind`.
pub fn json(kind: &str, name: &str) -> Value {
    let path = dir(kind).join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the reference vectors {}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// Bytes written as hex digits.
pub fn hex(s: &str) -> Bytes {
    assert!(s.len().is_multiple_of(2));
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
        .collect::<Vec<u8>>()
        .into()
}

/// The records of `examples.json` (or any JSON with `records_hex`).
pub fn records(json: &Value) -> Vec<Bytes> {
    json["records_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| hex(r.as_str().unwrap()))
        .collect()
}
