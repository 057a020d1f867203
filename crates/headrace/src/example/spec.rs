//! Parse specs: what to take out of an Example and into which tensors, as
//! `tf.io.FixedLenFeature`, `VarLenFeature`, `RaggedFeature` and
//! `FixedLenSequenceFeature` say it.

use crate::error::{Error, Result};
use crate::value::{DType, Tensor};

use super::codec::FeatureKind;

/// How one feature is parsed.
#[derive(Clone, Debug)]
pub enum FeatureSpec {
    /// Exactly `shape.product()` values per record, parsed to a dense tensor of `shape`
    /// (`[batch, ...shape]` for a batch). A record without the feature takes `default`
    /// (which must have that many elements), or is an error when there is none.
    FixedLen {
        shape: Vec<usize>,
        dtype: DType,
        default: Option<Tensor>,
    },
    /// Any number of values per record, parsed to a sparse tensor.
    VarLen { dtype: DType },
    /// Any number of values per record, parsed to a ragged tensor: flat values and int64
    /// row splits (one ragged dimension).
    Ragged { dtype: DType },
    /// Sequence features only: one `Feature` per time step, each with exactly
    /// `shape.product()` values, parsed to `[steps, ...shape]`. A missing feature list is
    /// an error unless `allow_missing`, when it parses to zero steps. `default` (a scalar)
    /// only pads batches of sequences, as in TensorFlow; a single sequence never uses it.
    FixedLenSequence {
        shape: Vec<usize>,
        dtype: DType,
        allow_missing: bool,
        default: Option<Tensor>,
    },
}

impl FeatureSpec {
    pub fn dtype(&self) -> DType {
        match self {
            FeatureSpec::FixedLen { dtype, .. }
            | FeatureSpec::VarLen { dtype }
            | FeatureSpec::Ragged { dtype }
            | FeatureSpec::FixedLenSequence { dtype, .. } => *dtype,
        }
    }
}

/// One feature of a spec, checked and with what parsing needs at hand.
#[derive(Clone, Debug)]
pub(crate) struct CompiledFeature {
    pub name: String,
    pub spec: FeatureSpec,
    pub kind: FeatureKind,
    /// Values per record (per time step for sequences); 0 for list features.
    pub stride: usize,
}

/// A checked set of named feature specs, with the index that finds a feature by name in
/// a record. Build it once and reuse it: building is what costs.
#[derive(Clone, Debug)]
pub struct ParseSpec {
    features: Vec<CompiledFeature>,
    index: KeyIndex,
}

impl ParseSpec {
    /// Checks the specs: dtypes are int64, float32 or string; defaults have the feature's
    /// dtype and number of elements; names are unique. Parse results list the features in
    /// this order.
    pub fn new<N: Into<String>>(
        features: impl IntoIterator<Item = (N, FeatureSpec)>,
    ) -> Result<ParseSpec> {
        let mut compiled: Vec<CompiledFeature> = Vec::new();
        for (name, spec) in features {
            let name = name.into();
            if compiled.iter().any(|f| f.name == name) {
                return Err(Error::argument(
                    "features",
                    format!("the feature `{name}` is given twice"),
                ));
            }
            compiled.push(compile(name, spec)?);
        }
        let index = KeyIndex::new(&compiled);
        Ok(ParseSpec {
            features: compiled,
            index,
        })
    }

    /// The number of features.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// The names and specs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &FeatureSpec)> {
        self.features.iter().map(|f| (f.name.as_str(), &f.spec))
    }

    pub(crate) fn features(&self) -> &[CompiledFeature] {
        &self.features
    }

    /// The position of the feature named `key`, if the spec has one.
    #[inline]
    pub(crate) fn find(&self, key: &[u8]) -> Option<usize> {
        self.index.find(key, &self.features)
    }

    /// An `Argument` error if a feature's spec is of a kind that `context` cannot parse.
    pub(crate) fn check_kinds(
        &self,
        context: &str,
        allowed: impl Fn(&FeatureSpec) -> bool,
    ) -> Result<()> {
        match self.features.iter().find(|f| !allowed(&f.spec)) {
            None => Ok(()),
            Some(f) => Err(Error::argument(
                "features",
                format!(
                    "the feature `{}` is a {} spec, which {context} does not take",
                    f.name,
                    spec_kind_name(&f.spec)
                ),
            )),
        }
    }
}

fn spec_kind_name(spec: &FeatureSpec) -> &'static str {
    match spec {
        FeatureSpec::FixedLen { .. } => "FixedLen",
        FeatureSpec::VarLen { .. } => "VarLen",
        FeatureSpec::Ragged { .. } => "Ragged",
        FeatureSpec::FixedLenSequence { .. } => "FixedLenSequence",
    }
}

fn compile(name: String, spec: FeatureSpec) -> Result<CompiledFeature> {
    let dtype = spec.dtype();
    let Some(kind) = FeatureKind::for_dtype(dtype) else {
        return Err(Error::argument(
            "features",
            format!(
                "the feature `{name}` has dtype {dtype}; an Example holds int64, float32 or string"
            ),
        ));
    };
    let stride = match &spec {
        FeatureSpec::FixedLen { shape, .. } | FeatureSpec::FixedLenSequence { shape, .. } => shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| {
                Error::argument(
                    "features",
                    format!("the shape {shape:?} of `{name}` has too many elements"),
                )
            })?,
        FeatureSpec::VarLen { .. } | FeatureSpec::Ragged { .. } => 0,
    };
    let (default, expected_elements) = match &spec {
        FeatureSpec::FixedLen { default, .. } => (default, stride),
        FeatureSpec::FixedLenSequence { default, .. } => (default, 1),
        FeatureSpec::VarLen { .. } | FeatureSpec::Ragged { .. } => (&None, 0),
    };
    if let Some(default) = default {
        if default.dtype() != dtype || default.num_elements() != expected_elements {
            return Err(Error::argument(
                "features",
                format!(
                    "the default of `{name}` must be a {dtype} tensor of {expected_elements} \
                     element(s), got a {} tensor of shape {:?}",
                    default.dtype(),
                    default.shape()
                ),
            ));
        }
    }
    Ok(CompiledFeature {
        name,
        spec,
        kind,
        stride,
    })
}

/// An open-addressing hash table from feature name to position in the spec, built once
/// per spec, so that finding a record's key costs one short hash and one comparison of
/// bytes, with no allocation and no UTF-8 check.
#[derive(Clone, Debug)]
struct KeyIndex {
    /// Position in the spec + 1; 0 marks an empty slot.
    slots: Box<[u32]>,
    shift: u32,
}

const HASH_MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

#[inline]
fn hash_key(key: &[u8]) -> u64 {
    let mut h = key.len() as u64;
    let mut words = key.chunks_exact(8);
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        h = (h.rotate_left(23) ^ w).wrapping_mul(HASH_MULTIPLIER);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        let mut last = [0u8; 8];
        last[..tail.len()].copy_from_slice(tail);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(last)).wrapping_mul(HASH_MULTIPLIER);
    }
    // One more round so the top bits, which pick the slot, depend on every input bit.
    (h ^ (h >> 29)).wrapping_mul(HASH_MULTIPLIER)
}

impl KeyIndex {
    fn new(features: &[CompiledFeature]) -> KeyIndex {
        // At most half full, so probes stay short.
        let size = (2 * features.len()).next_power_of_two().max(8);
        let shift = 64 - size.trailing_zeros();
        let mut slots = vec![0u32; size].into_boxed_slice();
        for (i, f) in features.iter().enumerate() {
            let mut at = (hash_key(f.name.as_bytes()) >> shift) as usize;
            while slots[at] != 0 {
                at = (at + 1) & (size - 1);
            }
            slots[at] = i as u32 + 1;
        }
        KeyIndex { slots, shift }
    }

    #[inline]
    fn find(&self, key: &[u8], features: &[CompiledFeature]) -> Option<usize> {
        let mask = self.slots.len() - 1;
        let mut at = (hash_key(key) >> self.shift) as usize;
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                return None;
            }
            let i = slot as usize - 1;
            if features[i].name.as_bytes() == key {
                return Some(i);
            }
            at = (at + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var_len(dtype: DType) -> FeatureSpec {
        FeatureSpec::VarLen { dtype }
    }

    #[test]
    fn the_index_finds_every_name_and_nothing_else() {
        let names: Vec<String> = (0..100).map(|i| format!("feature/{i}/x")).collect();
        let spec =
            ParseSpec::new(names.iter().map(|n| (n.clone(), var_len(DType::Int64)))).unwrap();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(spec.find(n.as_bytes()), Some(i));
        }
        assert_eq!(spec.find(b"feature/100/x"), None);
        assert_eq!(spec.find(b""), None);
        let empty = ParseSpec::new(Vec::<(String, FeatureSpec)>::new()).unwrap();
        assert_eq!(empty.find(b"a"), None);
    }

    #[test]
    fn bad_specs_are_argument_errors() {
        let bad_dtype = ParseSpec::new([("x", var_len(DType::Int32))]).unwrap_err();
        assert_eq!(bad_dtype.kind(), crate::ErrorKind::Argument);
        assert!(bad_dtype.message().contains("dtype int32"), "{bad_dtype}");

        let twice = ParseSpec::new([("x", var_len(DType::Int64)), ("x", var_len(DType::String))])
            .unwrap_err();
        assert!(twice.message().contains("given twice"));

        let wrong_default = ParseSpec::new([(
            "x",
            FeatureSpec::FixedLen {
                shape: vec![2],
                dtype: DType::Float32,
                default: Some(Tensor::scalar(1.0f32)),
            },
        )])
        .unwrap_err();
        assert!(
            wrong_default.message().contains("2 element(s)"),
            "{wrong_default}"
        );

        let ok = ParseSpec::new([(
            "x",
            FeatureSpec::FixedLen {
                shape: vec![2],
                dtype: DType::Float32,
                default: Some(Tensor::from_vec(&[2], vec![1.0f32, 2.0]).unwrap()),
            },
        )]);
        assert!(ok.is_ok());
    }
}
