//! `tf.train.Example` and `tf.train.SequenceExample`: the protobuf wire codec and the
//! parse specs (FixedLen, VarLen, Ragged, FixedLenSequence) that turn records into tensors.
//!
//! - [`decode_example`] / [`decode_sequence_example`] read a record into owned
//!   [`Feature`]s; [`encode_example`] / [`encode_sequence_example`] write one.
//! - [`parse_example`], [`parse_single_example`] and [`parse_single_sequence_example`] do
//!   what `tf.io`'s functions of those names do, with a [`ParseSpec`] built once.
//!
//! The wire reader is written by hand for just these messages: it borrows from the record
//! (bytes values are slices of it when it is a [`bytes::Bytes`]), allocates nothing per
//! value, and follows protobuf's reading rules (any field order, unknown fields skipped,
//! packed or unpacked numbers, last duplicate map key wins). Malformed input is an
//! `InvalidArgument` error that says what was wrong and at which byte of the record.

mod codec;
mod parse;
mod sequence;
mod spec;
mod wire;

#[cfg(test)]
mod tests;

pub use codec::{
    decode_example, decode_sequence_example, encode_example, encode_sequence_example, Feature,
    FeatureKind, RecordBytes, SequenceExample,
};
pub use parse::{parse_example, parse_single_example, ParsedFeature};
pub use sequence::{parse_single_sequence_example, ParsedSequence};
pub use spec::{FeatureSpec, ParseSpec};
