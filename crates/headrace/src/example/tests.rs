//! The codec and the parsers against references: TensorFlow's own records and parse
//! results (`../shared/testdata/tfrecord`), and prost as a protobuf oracle.

use std::collections::BTreeMap;

use bytes::Bytes;
use proptest::prelude::*;
use prost::Message;
use serde_json::Value;

use super::*;
use crate::value::{DType, Tensor};

// --- TensorFlow's reference vectors ------------------------------------------------

fn testdata(name: &str) -> Value {
    crate::testdata::json("tfrecord", name)
}

use crate::testdata::{hex, records};

/// The kind of each feature of `examples.json`, which its JSON lists do not say.
fn reference_kind(name: &str) -> FeatureKind {
    match name {
        "id" | "tags" => FeatureKind::Int64List,
        "emb" | "score" => FeatureKind::FloatList,
        "names" | "raw" => FeatureKind::BytesList,
        other => panic!("unexpected feature {other}"),
    }
}

fn json_ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn json_floats(v: &Value) -> Vec<f32> {
    // The JSON holds each float32 widened to a double, so narrowing it back is exact.
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn json_bytes(v: &Value) -> Vec<Bytes> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| hex(x.as_str().unwrap()))
        .collect()
}

fn json_feature(kind: FeatureKind, v: &Value) -> Feature {
    match kind {
        FeatureKind::Int64List => Feature::Int64List(json_ints(v)),
        FeatureKind::FloatList => Feature::FloatList(json_floats(v)),
        FeatureKind::BytesList => Feature::BytesList(json_bytes(v)),
    }
}

#[test]
fn tensorflow_records_decode_to_their_features() {
    let json = testdata("examples.json");
    let records = records(&json);
    let features = json["features"].as_array().unwrap();
    assert_eq!(records.len(), 66);
    for (i, (record, expected)) in records.iter().zip(features).enumerate() {
        let decoded = decode_example(record).unwrap();
        let expected = expected.as_object().unwrap();
        assert_eq!(decoded.len(), expected.len(), "record {i}");
        for (name, feature) in &decoded {
            let want = json_feature(reference_kind(name), &expected[name.as_str()]);
            assert_eq!(feature, &want, "record {i} feature {name}");
        }
    }
}

#[test]
fn encoding_reproduces_tensorflows_bytes() {
    // TensorFlow's writer orders a record's map entries by a per-process hash (see
    // `encode_example`), so the order is read from each record; the values come from the
    // reference `features`.
    let json = testdata("examples.json");
    let features = json["features"].as_array().unwrap();
    for (i, record) in records(&json).iter().enumerate() {
        let order: Vec<String> = decode_example(record)
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let entries: Vec<(String, Feature)> = order
            .into_iter()
            .map(|name| {
                let f = json_feature(reference_kind(&name), &features[i][name.as_str()]);
                (name, f)
            })
            .collect();
        assert_eq!(encode_example(&entries), record.to_vec(), "record {i}");
    }

    let json = testdata("sequence.json");
    for (i, record) in records(&json).iter().enumerate() {
        let decoded = decode_sequence_example(record).unwrap();
        let bytes = encode_sequence_example(&decoded.context, &decoded.feature_lists);
        assert_eq!(bytes, record.to_vec(), "sequence record {i}");
    }
}

fn fixed(shape: Vec<usize>, dtype: DType, default: Option<Tensor>) -> FeatureSpec {
    FeatureSpec::FixedLen {
        shape,
        dtype,
        default,
    }
}

/// The spec of `examples.json`, in the order TensorFlow's Python layer hands features to
/// its kernel (sorted by name), which decides which missing feature an error names.
fn reference_spec(emb_default: bool) -> ParseSpec {
    let emb_default = emb_default.then(|| Tensor::from_vec(&[4], vec![0.0f32; 4]).unwrap());
    ParseSpec::new([
        ("emb", fixed(vec![4], DType::Float32, emb_default)),
        ("id", fixed(vec![], DType::Int64, None)),
        (
            "names",
            FeatureSpec::Ragged {
                dtype: DType::String,
            },
        ),
        (
            "raw",
            fixed(
                vec![],
                DType::String,
                Some(Tensor::string_scalar(Bytes::new())),
            ),
        ),
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
    ])
    .unwrap()
}

fn ints_2d(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().flat_map(json_ints).collect()
}

#[test]
fn parse_example_matches_tensorflow_on_the_first_64_records() {
    let json = testdata("examples.json");
    assert_eq!(
        json["spec"],
        serde_json::json!({"id": "FixedLen [] int64", "emb": "FixedLen [4] float32",
            "score": "FixedLen [] float32 default -1.0", "tags": "VarLen int64",
            "names": "Ragged string", "raw": "FixedLen [] string default b''"})
    );
    let want = &json["parse_example_first_64"];
    let records = records(&json);
    let parsed: BTreeMap<String, ParsedFeature> =
        parse_example(&records[..64], &reference_spec(false))
            .unwrap()
            .into_iter()
            .collect();

    let dense = |name: &str| match &parsed[name] {
        ParsedFeature::Dense(t) => t.clone(),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(
        dense("id"),
        Tensor::from_vec(&[64], json_ints(&want["id"])).unwrap()
    );
    let emb: Vec<f32> = want["emb"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(json_floats)
        .collect();
    assert_eq!(dense("emb"), Tensor::from_vec(&[64, 4], emb).unwrap());
    assert_eq!(
        dense("score"),
        Tensor::from_vec(&[64], json_floats(&want["score"])).unwrap()
    );
    assert_eq!(
        dense("raw"),
        Tensor::strings(&[64], json_bytes(&want["raw"])).unwrap()
    );

    let ParsedFeature::Sparse {
        indices,
        values,
        dense_shape,
    } = &parsed["tags"]
    else {
        panic!("tags is sparse")
    };
    let tags = &want["tags"];
    let nnz = tags["values"].as_array().unwrap().len();
    assert_eq!(
        indices,
        &Tensor::from_vec(&[nnz, 2], ints_2d(&tags["indices"])).unwrap()
    );
    assert_eq!(
        values,
        &Tensor::from_vec(&[nnz], json_ints(&tags["values"])).unwrap()
    );
    assert_eq!(
        dense_shape,
        &Tensor::from_vec(&[2], json_ints(&tags["dense_shape"])).unwrap()
    );

    let ParsedFeature::Ragged { values, row_splits } = &parsed["names"] else {
        panic!("names is ragged")
    };
    let names = &want["names"];
    let flat = json_bytes(&names["ragged"]);
    assert_eq!(values, &Tensor::strings(&[flat.len()], flat).unwrap());
    assert_eq!(
        row_splits,
        &Tensor::from_vec(&[65], ints_2d(&names["row_splits"])).unwrap()
    );
    // Zero-copy: the strings are slices of the records.
    let first = &values.string_values().unwrap()[0];
    assert!(records[..64]
        .iter()
        .any(|r| r.as_ptr_range().contains(&first.as_ptr())));
}

#[test]
fn a_missing_required_feature_fails_as_in_tensorflow() {
    let json = testdata("examples.json");
    let tf = json["parse_example_missing_required_error"]
        .as_str()
        .unwrap();
    // TensorFlow's message, less the op's wrapping: `{{function_node ...}} ` and ` [Op:...]`.
    let core = tf
        .split("}} ")
        .nth(1)
        .unwrap()
        .split(" [Op:")
        .next()
        .unwrap();
    let err = parse_example(&records(&json), &reference_spec(false)).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
    assert_eq!(err.message(), core);
    // With a default the empty records parse, taking the defaults.
    let parsed = parse_example(&records(&json)[64..], &reference_spec(true));
    assert!(parsed
        .unwrap_err()
        .message()
        .contains("Feature: id (data type: int64)"));
}

#[test]
fn sequence_examples_parse_as_in_tensorflow() {
    let json = testdata("sequence.json");
    let context = ParseSpec::new([("len", fixed(vec![], DType::Int64, None))]).unwrap();
    let seq = |shape: Vec<usize>, dtype| FeatureSpec::FixedLenSequence {
        shape,
        dtype,
        allow_missing: false,
        default: None,
    };
    let sequence = ParseSpec::new([
        ("tok", seq(vec![], DType::Int64)),
        ("vec", seq(vec![2], DType::Float32)),
    ])
    .unwrap();
    let expected = json["parsed"].as_array().unwrap();
    let records = records(&json);
    assert_eq!(records.len(), expected.len());
    for (record, want) in records.iter().zip(expected) {
        let parsed = parse_single_sequence_example(record, &context, &sequence).unwrap();
        let len = want["context"]["len"].as_i64().unwrap();
        assert_eq!(
            parsed.context,
            vec![("len".into(), ParsedFeature::Dense(Tensor::scalar(len)))]
        );
        let tok = json_ints(&want["sequence"]["tok"]);
        let vec: Vec<f32> = want["sequence"]["vec"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(json_floats)
            .collect();
        let steps = tok.len();
        assert_eq!(steps as i64, len);
        assert_eq!(
            parsed.sequence,
            vec![
                (
                    "tok".into(),
                    ParsedFeature::Dense(Tensor::from_vec(&[steps], tok).unwrap())
                ),
                (
                    "vec".into(),
                    ParsedFeature::Dense(Tensor::from_vec(&[steps, 2], vec).unwrap())
                ),
            ]
        );
    }
}

// --- prost as the oracle -----------------------------------------------------------

/// The messages as `example.proto` and `feature.proto` define them, in prost. A map is
/// a `BTreeMap`, so prost writes entries sorted by key.
mod oracle {
    use std::collections::BTreeMap;

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Example {
        #[prost(message, optional, tag = "1")]
        pub features: Option<Features>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Features {
        #[prost(btree_map = "string, message", tag = "1")]
        pub feature: BTreeMap<String, Feature>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Feature {
        #[prost(oneof = "Kind", tags = "1, 2, 3")]
        pub kind: Option<Kind>,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        #[prost(message, tag = "1")]
        Bytes(BytesList),
        #[prost(message, tag = "2")]
        Float(FloatList),
        #[prost(message, tag = "3")]
        Int64(Int64List),
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct BytesList {
        #[prost(bytes = "vec", repeated, tag = "1")]
        pub value: Vec<Vec<u8>>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FloatList {
        #[prost(float, repeated, tag = "1")]
        pub value: Vec<f32>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Int64List {
        #[prost(int64, repeated, tag = "1")]
        pub value: Vec<i64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SequenceExample {
        #[prost(message, optional, tag = "1")]
        pub context: Option<Features>,
        #[prost(message, optional, tag = "2")]
        pub feature_lists: Option<FeatureLists>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FeatureLists {
        #[prost(btree_map = "string, message", tag = "1")]
        pub feature_list: BTreeMap<String, FeatureList>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FeatureList {
        #[prost(message, repeated, tag = "1")]
        pub feature: Vec<Feature>,
    }

    /// The same Example with unpacked numbers (as proto2 writers and some others do).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct UnpackedExample {
        #[prost(message, optional, tag = "1")]
        pub features: Option<UnpackedFeatures>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct UnpackedFeatures {
        #[prost(btree_map = "string, message", tag = "1")]
        pub feature: BTreeMap<String, UnpackedFeature>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct UnpackedFeature {
        #[prost(oneof = "UnpackedKind", tags = "1, 2, 3")]
        pub kind: Option<UnpackedKind>,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum UnpackedKind {
        #[prost(message, tag = "1")]
        Bytes(BytesList),
        #[prost(message, tag = "2")]
        Float(UnpackedFloatList),
        #[prost(message, tag = "3")]
        Int64(UnpackedInt64List),
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct UnpackedFloatList {
        #[prost(float, repeated, packed = "false", tag = "1")]
        pub value: Vec<f32>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct UnpackedInt64List {
        #[prost(int64, repeated, packed = "false", tag = "1")]
        pub value: Vec<i64>,
    }
}

fn to_oracle(feature: &Feature) -> oracle::Feature {
    use oracle::Kind;
    let kind = match feature {
        Feature::Unset => None,
        Feature::BytesList(v) => Some(Kind::Bytes(oracle::BytesList {
            value: v.iter().map(|b| b.to_vec()).collect(),
        })),
        Feature::FloatList(v) => Some(Kind::Float(oracle::FloatList { value: v.clone() })),
        Feature::Int64List(v) => Some(Kind::Int64(oracle::Int64List { value: v.clone() })),
    };
    oracle::Feature { kind }
}

fn to_unpacked(feature: &Feature) -> oracle::UnpackedFeature {
    use oracle::UnpackedKind as Kind;
    let kind = match feature {
        Feature::Unset => None,
        Feature::BytesList(v) => Some(Kind::Bytes(oracle::BytesList {
            value: v.iter().map(|b| b.to_vec()).collect(),
        })),
        Feature::FloatList(v) => Some(Kind::Float(oracle::UnpackedFloatList { value: v.clone() })),
        Feature::Int64List(v) => Some(Kind::Int64(oracle::UnpackedInt64List { value: v.clone() })),
    };
    oracle::UnpackedFeature { kind }
}

/// A feature with its floats as bits, so NaNs compare equal to themselves.
#[derive(PartialEq, Debug)]
enum Canonical {
    Unset,
    Bytes(Vec<Vec<u8>>),
    Float(Vec<u32>),
    Int64(Vec<i64>),
}

fn canonical(feature: &Feature) -> Canonical {
    match feature {
        Feature::Unset => Canonical::Unset,
        Feature::BytesList(v) => Canonical::Bytes(v.iter().map(|b| b.to_vec()).collect()),
        Feature::FloatList(v) => Canonical::Float(v.iter().map(|f| f.to_bits()).collect()),
        Feature::Int64List(v) => Canonical::Int64(v.clone()),
    }
}

fn oracle_canonical(feature: &oracle::Feature) -> Canonical {
    use oracle::Kind;
    match &feature.kind {
        None => Canonical::Unset,
        Some(Kind::Bytes(l)) => Canonical::Bytes(l.value.clone()),
        Some(Kind::Float(l)) => Canonical::Float(l.value.iter().map(|f| f.to_bits()).collect()),
        Some(Kind::Int64(l)) => Canonical::Int64(l.value.clone()),
    }
}

fn feature_strategy(allow_unset: bool) -> BoxedStrategy<Feature> {
    let lists = prop_oneof![
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 0..5)
            .prop_map(|v| Feature::BytesList(v.into_iter().map(Bytes::from).collect())),
        prop::collection::vec(any::<u32>().prop_map(f32::from_bits), 0..8)
            .prop_map(Feature::FloatList),
        prop::collection::vec(any::<i64>(), 0..8).prop_map(Feature::Int64List),
    ];
    if allow_unset {
        prop_oneof![1 => Just(Feature::Unset), 6 => lists].boxed()
    } else {
        lists.boxed()
    }
}

/// Feature maps; `canonical` ones (keys non-empty, every feature set) are those for which
/// prost writes every entry in full, as TensorFlow does.
fn features_strategy(canonical: bool) -> impl Strategy<Value = BTreeMap<String, Feature>> {
    let key = if canonical {
        "[a-z/_]{1,8}"
    } else {
        "[a-z]{0,3}"
    };
    prop::collection::btree_map(key, feature_strategy(!canonical), 0..6)
}

fn oracle_example(features: &BTreeMap<String, Feature>) -> oracle::Example {
    oracle::Example {
        features: (!features.is_empty()).then(|| oracle::Features {
            feature: features
                .iter()
                .map(|(k, f)| (k.clone(), to_oracle(f)))
                .collect(),
        }),
    }
}

fn sorted(features: &BTreeMap<String, Feature>) -> Vec<(String, Feature)> {
    features
        .iter()
        .map(|(k, f)| (k.clone(), f.clone()))
        .collect()
}

fn assert_same(decoded: &[(String, Feature)], want: &BTreeMap<String, Feature>) {
    let decoded: BTreeMap<&str, Canonical> = decoded
        .iter()
        .map(|(k, f)| (k.as_str(), canonical(f)))
        .collect();
    let want: BTreeMap<&str, Canonical> = want
        .iter()
        .map(|(k, f)| (k.as_str(), canonical(f)))
        .collect();
    assert_eq!(decoded, want);
}

fn sequence_strategy(
    canonical: bool,
) -> impl Strategy<Value = (BTreeMap<String, Feature>, BTreeMap<String, Vec<Feature>>)> {
    let key = if canonical {
        "[a-z]{1,6}"
    } else {
        "[a-z]{0,2}"
    };
    let min_steps = usize::from(canonical);
    (
        features_strategy(canonical),
        prop::collection::btree_map(
            key,
            prop::collection::vec(feature_strategy(true), min_steps..4),
            0..4,
        ),
    )
}

fn oracle_sequence(
    context: &BTreeMap<String, Feature>,
    lists: &BTreeMap<String, Vec<Feature>>,
) -> oracle::SequenceExample {
    oracle::SequenceExample {
        context: oracle_example(context).features,
        feature_lists: (!lists.is_empty()).then(|| oracle::FeatureLists {
            feature_list: lists
                .iter()
                .map(|(k, steps)| {
                    let feature = steps.iter().map(to_oracle).collect();
                    (k.clone(), oracle::FeatureList { feature })
                })
                .collect(),
        }),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn prost_encoded_examples_decode_the_same(features in features_strategy(false)) {
        let bytes = Bytes::from(oracle_example(&features).encode_to_vec());
        assert_same(&decode_example(&bytes).unwrap(), &features);
    }

    #[test]
    fn unpacked_examples_decode_the_same(features in features_strategy(false)) {
        let unpacked = oracle::UnpackedExample {
            features: Some(oracle::UnpackedFeatures {
                feature: features.iter().map(|(k, f)| (k.clone(), to_unpacked(f))).collect(),
            }),
        };
        assert_same(&decode_example(&unpacked.encode_to_vec()[..]).unwrap(), &features);
    }

    #[test]
    fn our_encoding_decodes_with_prost(features in features_strategy(false)) {
        let bytes = encode_example(&sorted(&features));
        let back = oracle::Example::decode(&bytes[..]).unwrap();
        let back = back.features.unwrap_or_default().feature;
        let want: BTreeMap<&str, Canonical> =
            features.iter().map(|(k, f)| (k.as_str(), canonical(f))).collect();
        let got: BTreeMap<&str, Canonical> =
            back.iter().map(|(k, f)| (k.as_str(), oracle_canonical(f))).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn sorted_canonical_examples_encode_to_prosts_bytes(features in features_strategy(true)) {
        prop_assert_eq!(encode_example(&sorted(&features)), oracle_example(&features).encode_to_vec());
    }

    #[test]
    fn sequence_examples_agree_with_prost((context, lists) in sequence_strategy(false)) {
        let oracle = oracle_sequence(&context, &lists);
        let decoded = decode_sequence_example(&oracle.encode_to_vec()[..]).unwrap();
        assert_same(&decoded.context, &context);
        let got: BTreeMap<&str, Vec<Canonical>> = decoded.feature_lists.iter()
            .map(|(k, steps)| (k.as_str(), steps.iter().map(canonical).collect()))
            .collect();
        let want: BTreeMap<&str, Vec<Canonical>> = lists.iter()
            .map(|(k, steps)| (k.as_str(), steps.iter().map(canonical).collect()))
            .collect();
        prop_assert_eq!(got, want);

        let lists_vec: Vec<(String, Vec<Feature>)> =
            lists.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let ours = encode_sequence_example(&sorted(&context), &lists_vec);
        let back = oracle::SequenceExample::decode(&ours[..]).unwrap();
        // prost leaves out empty messages, so compare what the two hold, as bytes (NaNs
        // are not equal to themselves).
        let normalize = |m: oracle::SequenceExample| {
            (
                m.context.unwrap_or_default().encode_to_vec(),
                m.feature_lists.unwrap_or_default().encode_to_vec(),
            )
        };
        prop_assert_eq!(normalize(back), normalize(oracle));
    }

    #[test]
    fn canonical_sequence_examples_encode_to_prosts_bytes((context, lists) in sequence_strategy(true)) {
        let lists_vec: Vec<(String, Vec<Feature>)> =
            lists.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        prop_assert_eq!(
            encode_sequence_example(&sorted(&context), &lists_vec),
            oracle_sequence(&context, &lists).encode_to_vec()
        );
    }

    /// VarLen parsing gives every value the decoder sees, for every kind.
    #[test]
    fn var_len_parsing_agrees_with_decoding(features in features_strategy(false)) {
        let record = Bytes::from(encode_example(&sorted(&features)));
        for (name, feature) in &features {
            let Some(kind) = feature.kind() else { continue };
            let spec = ParseSpec::new([(name.clone(), FeatureSpec::VarLen { dtype: kind.dtype() })]).unwrap();
            let parsed = parse_single_example(&record, &spec).unwrap();
            let ParsedFeature::Sparse { values, .. } = &parsed[0].1 else { panic!() };
            let got = match kind {
                FeatureKind::Int64List => Feature::Int64List(values.as_slice::<i64>().unwrap().to_vec()),
                FeatureKind::FloatList => Feature::FloatList(values.as_slice::<f32>().unwrap().to_vec()),
                FeatureKind::BytesList => Feature::BytesList(values.string_values().unwrap().to_vec()),
            };
            prop_assert_eq!(canonical(&got), canonical(feature));
        }
    }

    /// Arbitrary and damaged bytes are errors or results, never panics.
    #[test]
    fn damaged_records_never_panic(
        features in features_strategy(false),
        damage in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
        noise in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = encode_example(&sorted(&features));
        if !bytes.is_empty() {
            for (at, value) in &damage {
                let i = at.index(bytes.len());
                bytes[i] = *value;
            }
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let spec = ParseSpec::new([
            ("a", FeatureSpec::VarLen { dtype: DType::Int64 }),
            ("b", FeatureSpec::Ragged { dtype: DType::String }),
            ("c", fixed(vec![], DType::Float32, Some(Tensor::scalar(0.0f32)))),
        ]).unwrap();
        let seq = ParseSpec::new([
            ("a", FeatureSpec::VarLen { dtype: DType::Int64 }),
            ("b", FeatureSpec::FixedLenSequence { shape: vec![1], dtype: DType::String, allow_missing: true, default: None }),
        ]).unwrap();
        for input in [&bytes[..], &noise[..]] {
            let _ = decode_example(input);
            let _ = decode_sequence_example(input);
            let _ = parse_example(&[input], &spec);
            let _ = parse_single_sequence_example(input, &spec, &seq);
            // What decodes re-encodes to a fixed point (compared as bytes: NaN != NaN).
            if let Ok(features) = decode_example(input) {
                let encoded = encode_example(&features);
                let again = decode_example(&encoded[..]).unwrap();
                prop_assert_eq!(encode_example(&again), encoded);
            }
            if let Ok(s) = decode_sequence_example(input) {
                let encoded = encode_sequence_example(&s.context, &s.feature_lists);
                let again = decode_sequence_example(&encoded[..]).unwrap();
                prop_assert_eq!(encode_sequence_example(&again.context, &again.feature_lists), encoded);
            }
        }
    }
}
