#![no_main]
//! Arbitrary bytes as `tf.train.Example` and `SequenceExample` records: decoding and
//! parsing must return a result or an error, never panic or allocate beyond the input;
//! a batch of a record twice parses exactly when the record alone does; and what decodes
//! must re-encode to bytes that decode to the same thing.

use std::sync::OnceLock;

use bytes::Bytes;
use headrace::example::{
    decode_example, decode_sequence_example, encode_example, encode_sequence_example,
    parse_example, parse_single_example, parse_single_sequence_example, FeatureSpec, ParseSpec,
};
use headrace::{DType, Tensor};
use libfuzzer_sys::fuzz_target;

/// An Example spec (also used for a SequenceExample's context) and a feature-list spec.
struct Specs {
    example: ParseSpec,
    sequence: ParseSpec,
}

/// Two sets of specs: one of each kind and dtype with short names that random bytes can
/// hit, and one with the names and types of the seed records (the TFRecord reference
/// files), so that mutations of real records reach the paths that fill tensors.
fn specs() -> &'static [Specs; 2] {
    static SPECS: OnceLock<[Specs; 2]> = OnceLock::new();
    SPECS.get_or_init(|| [short_specs(), testdata_specs()])
}

fn short_specs() -> Specs {
    Specs {
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
    }
}

/// The spec of `examples.json` and the SequenceExamples of `sequence.tfrecord`.
fn testdata_specs() -> Specs {
    let fixed = |shape: Vec<usize>, dtype, default| FeatureSpec::FixedLen {
        shape,
        dtype,
        default,
    };
    Specs {
        example: ParseSpec::new([
            ("id", fixed(vec![], DType::Int64, None)),
            ("emb", fixed(vec![4], DType::Float32, None)),
            (
                "score",
                fixed(vec![], DType::Float32, Some(Tensor::scalar(-1.0f32))),
            ),
            (
                "tags",
                FeatureSpec::VarLen {
                    dtype: DType::Int64,
                },
            ),
            (
                "names",
                FeatureSpec::Ragged {
                    dtype: DType::String,
                },
            ),
            (
                "raw",
                fixed(vec![], DType::String, Some(Tensor::string_scalar(""))),
            ),
            (
                "len",
                fixed(vec![], DType::Int64, Some(Tensor::scalar(0i64))),
            ),
        ])
        .expect("valid spec"),
        sequence: ParseSpec::new([
            (
                "tok",
                FeatureSpec::FixedLenSequence {
                    shape: vec![],
                    dtype: DType::Int64,
                    allow_missing: false,
                    default: None,
                },
            ),
            (
                "vec",
                FeatureSpec::FixedLenSequence {
                    shape: vec![2],
                    dtype: DType::Float32,
                    allow_missing: true,
                    default: None,
                },
            ),
        ])
        .expect("valid spec"),
    }
}

fuzz_target!(|data: &[u8]| {
    // As a borrowed slice and as `Bytes` (whose string values are slices of the record).
    let shared = Bytes::copy_from_slice(data);
    for specs in specs() {
        let single = parse_single_example(data, &specs.example);
        let batch = parse_example(&[data, data], &specs.example);
        // A batch of one record twice parses exactly when the record does.
        assert_eq!(
            single.is_ok(),
            batch.is_ok(),
            "single: {:?}\nbatch: {:?}",
            single.as_ref().err(),
            batch.as_ref().err()
        );
        let _ = parse_example(&[shared.clone()], &specs.example);
        let _ = parse_single_sequence_example(data, &specs.example, &specs.sequence);
        let _ = parse_single_sequence_example(&shared, &specs.example, &specs.sequence);
    }

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
