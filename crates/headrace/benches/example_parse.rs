//! `tf.train.Example` parsing figures (run with
//! `cargo bench -p headrace --bench example_parse`).
//!
//! The case is the one the design targets: batches of 1024 records, each with 32 floats,
//! 8 int64s and an int64 label, all `FixedLen`. TensorFlow 2.21's `tf.io.parse_example`
//! does about 310,000 records/s on one core of the project's machines. Prints one JSON line
//! per figure, the median of several runs.

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use headrace::example::{
    encode_example, parse_example, parse_single_example, Feature, FeatureSpec, ParseSpec,
};
use headrace::DType;

const BATCH: usize = 1024;

fn records(n: usize) -> Vec<Bytes> {
    (0..n)
        .map(|i| {
            let floats = (0..32).map(|j| (i * 32 + j) as f32 * 0.25).collect();
            let ints = (0..8).map(|j| (i * 8 + j) as i64 * 7919).collect();
            Bytes::from(encode_example(&[
                ("embedding", Feature::FloatList(floats)),
                ("ids", Feature::Int64List(ints)),
                ("label", Feature::Int64List(vec![(i % 10) as i64])),
            ]))
        })
        .collect()
}

fn spec() -> ParseSpec {
    let fixed = |shape: Vec<usize>, dtype| FeatureSpec::FixedLen {
        shape,
        dtype,
        default: None,
    };
    ParseSpec::new([
        ("embedding", fixed(vec![32], DType::Float32)),
        ("ids", fixed(vec![8], DType::Int64)),
        ("label", fixed(vec![], DType::Int64)),
    ])
    .expect("valid spec")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Records per second of `work`, which parses `per_call` records, over about `seconds`.
fn rate(per_call: usize, seconds: f64, mut work: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut calls = 0usize;
    while start.elapsed().as_secs_f64() < seconds {
        work();
        calls += 1;
    }
    (calls * per_call) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let spec = spec();
    let data = records(BATCH);
    let bytes_per_record = data.iter().map(Bytes::len).sum::<usize>() / BATCH;

    let batch = || {
        black_box(parse_example(black_box(&data), &spec).expect("parses"));
    };
    rate(BATCH, 0.3, batch); // warm-up
    let runs: Vec<f64> = (0..7).map(|_| rate(BATCH, 0.5, batch)).collect();
    println!(
        "{{\"figure\": \"rust_parse_example_batch1024_32f_8i_1label\", \"bytes_per_record\": {bytes_per_record}, \"records_per_s\": {:.0}, \"vs_tensorflow_310k\": {:.2}, \"runs\": {:?}}}",
        median(runs.clone()),
        median(runs.clone()) / 310_000.0,
        runs.iter().map(|r| r.round()).collect::<Vec<_>>()
    );

    let single = || {
        for record in &data {
            black_box(parse_single_example(black_box(record), &spec).expect("parses"));
        }
    };
    let runs: Vec<f64> = (0..7).map(|_| rate(BATCH, 0.5, single)).collect();
    println!(
        "{{\"figure\": \"rust_parse_single_example_32f_8i_1label\", \"records_per_s\": {:.0}, \"runs\": {:?}}}",
        median(runs.clone()),
        runs.iter().map(|r| r.round()).collect::<Vec<_>>()
    );
}
