#![no_main]
//! Arbitrary bytes as `tf.train.Example` and `SequenceExample` records: decoding and
//! parsing must return a result or an error, never panic or allocate beyond the input, and
//! what decodes must re-encode to bytes that decode to the same thing.

use std::sync::OnceLock;

use headrace::example::{
    decode_example, decode_sequence_example, encode_example, encode_sequence_example,
    parse_example, parse_single_example, parse_single_sequence_example, FeatureSpec, ParseSpec,
};
use headrace::{DType, Tensor};
use libfuzzer_sys::fuzz_target;

struct Specs {
    example: ParseSpec,
    sequence: ParseSpec,
}

/// One spec of each kind and dtype, with short names that random bytes can hit.
fn specs() -> &'static Specs {
    static SPECS: OnceLock<Specs> = OnceLock::new();
    SPECS.get_or_init(|| Specs {
        example: ParseSpec::new([
            (
                "a",
                FeatureSpec::FixedLen {
                    shape: vec![2],
                    dtype: DType::Float32,
                    default: None,
                },
            ),
            (
                "b",
                FeatureSpec::FixedLen {
                    shape: vec![],
                    dtype: DType::Int64,
                    default: Some(Tensor::scalar(-1i64)),
                },
            ),
            (
                "c",
                FeatureSpec::VarLen {
                    dtype: DType::String,
                },
            ),
            (
                "d",
                FeatureSpec::Ragged {
                    dtype: DType::Int64,
                },
            ),
            (
                "",
                FeatureSpec::VarLen {
                    dtype: DType::Float32,
                },
            ),
        ])
        .expect("valid spec"),
        sequence: ParseSpec::new([
            (
                "a",
                FeatureSpec::FixedLenSequence {
                    shape: vec![1],
                    dtype: DType::Int64,
                    allow_missing: true,
                    default: None,
                },
            ),
            (
                "c",
                FeatureSpec::VarLen {
                    dtype: DType::String,
                },
            ),
            (
                "d",
                FeatureSpec::Ragged {
                    dtype: DType::Float32,
                },
            ),
        ])
        .expect("valid spec"),
    })
}

fuzz_target!(|data: &[u8]| {
    let specs = specs();
    let _ = parse_example(&[data, data], &specs.example);
    let _ = parse_single_example(data, &specs.example);
    let _ = parse_single_sequence_example(data, &specs.example, &specs.sequence);

    // encode(decode(x)) is a fixed point of encode ∘ decode (compared as bytes, since NaN
    // floats are not equal to themselves).
    if let Ok(features) = decode_example(data) {
        let encoded = encode_example(&features);
        let again = decode_example(&encoded[..]).expect("our own encoding decodes");
        assert_eq!(encode_example(&again), encoded);
    }
    if let Ok(sequence) = decode_sequence_example(data) {
        let encoded = encode_sequence_example(&sequence.context, &sequence.feature_lists);
        let again = decode_sequence_example(&encoded[..]).expect("our own encoding decodes");
        assert_eq!(
            encode_sequence_example(&again.context, &again.feature_lists),
            encoded
        );
    }
});
