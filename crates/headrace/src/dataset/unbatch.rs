//! `unbatch()`: splits every element along its first axis into that many elements. The
//! rows share the batch's buffers.
//!
//! tf.data raises at the call when the spec shows a scalar component or two different
//! leading dimensions; `unbatch` cannot fail here, so those (and the cases only the
//! elements reveal) are error elements at the batch's position, as tf.data reports them
//! at run time.

use super::{BoxIterator, Cardinality, Context, Dataset, DatasetNode, ElementIterator};
use crate::error::{Error, Result};
use crate::value::{Element, ElementSpec, PartialShape};

struct UnbatchNode {
    input: Dataset,
}

/// The leading dimension the spec fixes, from the first component that knows it (what
/// tf.data's Unbatch takes as its batch size); `None` when no component does.
fn known_batch_size(spec: &ElementSpec) -> Option<usize> {
    match spec {
        ElementSpec::Unknown => None,
        ElementSpec::Tensor(t) | ElementSpec::Sparse(t) => match &t.shape {
            PartialShape(Some(dims)) => dims.first().copied().flatten(),
            PartialShape(None) => None,
        },
        ElementSpec::Ragged(r) => match &r.shape {
            PartialShape(Some(dims)) => dims.first().copied().flatten(),
            PartialShape(None) => None,
        },
        ElementSpec::Tuple(items) => items.iter().find_map(known_batch_size),
        ElementSpec::Dict(items) => items.iter().find_map(|(_, s)| known_batch_size(s)),
    }
}

impl DatasetNode for UnbatchNode {
    fn kind(&self) -> &'static str {
        "Unbatch"
    }

    fn inputs(&self) -> Vec<&Dataset> {
        vec![&self.input]
    }

    fn element_spec(&self) -> ElementSpec {
        self.input.element_spec().unbatched()
    }

    /// As tf.data computes it: n batches of a statically known size b are n * b elements;
    /// anything else finite is unknown.
    fn cardinality(&self) -> Cardinality {
        match self.input.cardinality() {
            Cardinality::Finite(n) => match known_batch_size(&self.input.element_spec()) {
                Some(b) if b > 0 => n
                    .checked_mul(b as u64)
                    .map_or(Cardinality::Unknown, Cardinality::Finite),
                _ => Cardinality::Unknown,
            },
            other => other,
        }
    }

    fn iterate(&self, ctx: &Context) -> Result<BoxIterator> {
        Ok(Box::new(UnbatchIter {
            input: self.input.make_iterator(ctx)?,
            current: None,
            next_row: 0,
            rows: 0,
        }))
    }
}

/// The number of rows of `batch`, which every component must share.
fn rows_of(batch: &Element) -> Result<usize> {
    let components = batch.component_rows();
    let mut rows = None;
    for (i, r) in components.iter().enumerate() {
        let Some(r) = *r else {
            return Err(Error::invalid_argument(format!(
                "unbatch: input element must have a non-scalar value in each component, but component {i} is a scalar"
            )));
        };
        match rows {
            None => rows = Some(r),
            Some(first) if first != r => {
                return Err(Error::invalid_argument(format!(
                    "unbatch: input element must have the same batch size in each component: component 0 has {first} rows and component {i} has {r}"
                )))
            }
            Some(_) => {}
        }
    }
    rows.ok_or_else(|| Error::invalid_argument("unbatch: input element has no components"))
}

struct UnbatchIter {
    input: BoxIterator,
    current: Option<Element>,
    next_row: usize,
    rows: usize,
}

impl ElementIterator for UnbatchIter {
    fn next(&mut self) -> Option<Result<Element>> {
        loop {
            if let Some(batch) = &self.current {
                if self.next_row < self.rows {
                    self.next_row += 1;
                    return Some(batch.row(self.next_row - 1));
                }
                self.current = None;
            }
            let batch = match self.input.next()? {
                Ok(b) => b,
                Err(e) => return Some(Err(e)),
            };
            match rows_of(&batch) {
                Ok(rows) => {
                    self.rows = rows;
                    self.next_row = 0;
                    self.current = Some(batch);
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl Dataset {
    /// Splits each element along its first axis into that many elements (the inverse of
    /// `batch`). An element whose components are scalars or differ in their first
    /// dimension is an error element.
    pub fn unbatch(&self) -> Dataset {
        Dataset::from_node(UnbatchNode {
            input: self.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Tensor;
    use proptest::prelude::*;

    fn ints(shape: &[usize], v: Vec<i64>) -> Element {
        Tensor::from_vec(shape, v).unwrap().into()
    }

    proptest! {
        #[test]
        fn batch_then_unbatch_is_identity(n in 0i64..100, b in 1i64..20, drop in any::<bool>()) {
            let ds = Dataset::range(0, n);
            let unbatched = ds.batch(b, drop).unwrap().unbatch();
            let kept = if drop { (n / b) * b } else { n };
            prop_assert_eq!(unbatched.collect().unwrap(), Dataset::range(0, kept).collect().unwrap());
            let expected = if drop { Cardinality::Finite(kept as u64) } else { Cardinality::Unknown };
            prop_assert_eq!(unbatched.cardinality(), expected);
        }
    }

    #[test]
    fn splits_every_component_and_shares_buffers() {
        let x = Tensor::from_vec(&[3, 2], vec![0i64, 1, 2, 3, 4, 5]).unwrap();
        let y = Tensor::strings(&[3], vec!["a".into(), "b".into(), "c".into()]).unwrap();
        let batch = Element::dict([("x", Element::from(x.clone())), ("y", y.into())]).unwrap();
        let ds = Dataset::from_tensors(batch).unbatch();
        let got = ds.collect().unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[2],
            Element::dict([
                ("x", ints(&[2], vec![4, 5])),
                ("y", Tensor::string_scalar("c").into())
            ])
            .unwrap()
        );
        assert!(!x.is_exclusive(), "the rows are windows on the batch");
        assert_eq!(
            ds.element_spec().to_string(),
            r#"{"x": TensorSpec(shape=(2,), dtype=int64), "y": TensorSpec(shape=(), dtype=string)}"#
        );
        // from_tensors fixes the leading dimension: 1 batch of 3.
        assert_eq!(ds.cardinality(), Cardinality::Finite(3));
    }

    #[test]
    fn cardinality_follows_tf_data() {
        let r = Dataset::range(0, 10);
        let batched = r.batch(4, true).unwrap();
        assert_eq!(batched.unbatch().cardinality(), Cardinality::Finite(8));
        assert_eq!(
            r.batch(4, false).unwrap().unbatch().cardinality(),
            Cardinality::Unknown
        );
        let infinite = batched.repeat(-1).unwrap().unbatch();
        assert_eq!(infinite.cardinality(), Cardinality::Infinite);
        let unknown_spec = Dataset::from_generator(std::iter::empty).unbatch();
        assert_eq!(unknown_spec.cardinality(), Cardinality::Unknown);
        assert_eq!(unknown_spec.element_spec(), ElementSpec::Unknown);
        // A known leading dimension of zero gives no count (tf.data reports unknown too).
        let empty = Dataset::from_tensors(ints(&[0], vec![])).unbatch();
        assert_eq!(empty.cardinality(), Cardinality::Unknown);
        assert!(empty.collect().unwrap().is_empty());
    }

    #[test]
    fn empty_batches_are_skipped() {
        let batches = vec![
            ints(&[0], vec![]),
            ints(&[2], vec![1, 2]),
            ints(&[0], vec![]),
            ints(&[1], vec![3]),
        ];
        let ds = Dataset::from_generator(move || batches.clone().into_iter().map(Ok));
        assert_eq!(
            crate::dataset::testing::values(&ds.unbatch()),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn bad_batches_are_error_elements_and_iteration_goes_on() {
        let batches = vec![
            Ok(ints(&[1], vec![1])),
            Ok(Tensor::scalar(5i64).into()),
            Ok(Element::Tuple(vec![
                ints(&[2], vec![1, 2]),
                ints(&[3], vec![1, 2, 3]),
            ])),
            Err(Error::data_loss("upstream")),
            Ok(ints(&[1], vec![2])),
        ];
        let ds = Dataset::from_generator(move || batches.clone().into_iter()).unbatch();
        let got: Vec<std::result::Result<i64, String>> = ds
            .iter()
            .unwrap()
            .map(|r| {
                r.map(|e| e.into_tensor().unwrap().scalar_value::<i64>().unwrap())
                    .map_err(|e| e.to_string())
            })
            .collect();
        assert_eq!(
            got,
            vec![
                Ok(1),
                Err("unbatch: input element must have a non-scalar value in each component, but component 0 is a scalar".into()),
                Err("unbatch: input element must have the same batch size in each component: component 0 has 2 rows and component 1 has 3".into()),
                Err("upstream".into()),
                Ok(2),
            ]
        );
    }
}
