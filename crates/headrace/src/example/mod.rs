//! `tf.train.Example` and `tf.train.SequenceExample`: the protobuf wire codec and the
//! parse specs (FixedLen, VarLen, Ragged, FixedLenSequence) that turn records into tensors.
