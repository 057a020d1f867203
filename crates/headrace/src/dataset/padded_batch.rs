//! `padded_batch(batch_size, padded_shapes, padding_values, drop_remainder)`: batches
//! elements whose components differ in shape, padding each to a common shape.
//!
//! `padded_shapes` and `padding_values` are per component, in `Element::leaves` order. A
//! known dimension in `padded_shapes` is the exact size (an element larger than it is an
//! error element); an unknown one (or no `padded_shapes`) pads to the largest in the
//! batch. Each batch is written once into its final buffer: every innermost row of an
//! element, then the padding after it.
//!
//! Beyond tf.data, which raises at the call in these cases: an entry of unknown rank in
//! `padded_shapes`, and no `padded_shapes` for a component whose spec has an unknown rank,
//! pad every dimension to the largest in the batch (headrace's specs can be less precise
//! than TensorFlow's shape inference, and padding to the batch is what such a pipeline
//! means).

use std::ops::Range;

use bytes::Bytes;

use super::batch::{batched_cardinality, check_batch_size, Gather, Gathered};
use super::{BoxIterator, Cardinality, Context, Dataset, DatasetNode, ElementIterator};
use crate::error::{Error, Result};
use crate::value::{AlignedBuf, DType, Element, ElementSpec, PartialShape, Tensor, TensorSpec};

struct PaddedBatchNode {
    input: Dataset,
    batch_size: usize,
    drop_remainder: bool,
    padded_shapes: Option<Vec<PartialShape>>,
    padding_values: Option<Vec<Tensor>>,
}

/// The specs of the leaves of `spec`, in `Element::leaves` order (`None` if unknown).
fn leaf_specs(spec: &ElementSpec) -> Option<Vec<TensorSpec>> {
    match spec {
        ElementSpec::Unknown | ElementSpec::Ragged(_) | ElementSpec::Sparse(_) => None,
        ElementSpec::Tensor(t) => Some(vec![t.clone()]),
        ElementSpec::Tuple(items) => items
            .iter()
            .map(leaf_specs)
            .collect::<Option<Vec<_>>>()
            .map(|v| v.concat()),
        ElementSpec::Dict(items) => items
            .iter()
            .map(|(_, s)| leaf_specs(s))
            .collect::<Option<Vec<_>>>()
            .map(|v| v.concat()),
    }
}

/// Rewrites the leaf specs of `spec` in order with `f(index, leaf)`.
fn map_leaves(
    spec: &ElementSpec,
    next: &mut usize,
    f: &impl Fn(usize, &TensorSpec) -> TensorSpec,
) -> ElementSpec {
    match spec {
        ElementSpec::Unknown | ElementSpec::Ragged(_) | ElementSpec::Sparse(_) => spec.clone(),
        ElementSpec::Tensor(t) => {
            *next += 1;
            ElementSpec::Tensor(f(*next - 1, t))
        }
        ElementSpec::Tuple(items) => {
            ElementSpec::Tuple(items.iter().map(|s| map_leaves(s, next, f)).collect())
        }
        ElementSpec::Dict(items) => ElementSpec::Dict(
            items
                .iter()
                .map(|(k, s)| (k.clone(), map_leaves(s, next, f)))
                .collect(),
        ),
    }
}

impl DatasetNode for PaddedBatchNode {
    fn kind(&self) -> &'static str {
        "PaddedBatch"
    }

    fn describe(&self) -> String {
        format!(
            "batch_size={}, drop_remainder={}",
            self.batch_size, self.drop_remainder
        )
    }

    fn inputs(&self) -> Vec<&Dataset> {
        vec![&self.input]
    }

    fn element_spec(&self) -> ElementSpec {
        let batch_dim = self.drop_remainder.then_some(self.batch_size);
        let spec = map_leaves(&self.input.element_spec(), &mut 0, &|i, leaf| {
            let padded = match self.padded_shapes.as_ref().and_then(|s| s.get(i)) {
                Some(p) if p.0.is_some() => p.clone(),
                // Dimensions the input fixes stay fixed: padding to the batch's largest
                // gives exactly them.
                _ => leaf.shape.clone(),
            };
            TensorSpec {
                dtype: leaf.dtype,
                shape: padded,
            }
        });
        spec.batched(batch_dim)
    }

    fn cardinality(&self) -> Cardinality {
        batched_cardinality(
            self.input.cardinality(),
            self.batch_size,
            self.drop_remainder,
        )
    }

    fn iterate(&self, ctx: &Context) -> Result<BoxIterator> {
        Ok(Box::new(PaddedBatchIter {
            gather: Gather::new(
                self.input.make_iterator(ctx)?,
                self.batch_size,
                self.drop_remainder,
            ),
            padded_shapes: self.padded_shapes.clone(),
            padding_values: self.padding_values.clone(),
        }))
    }
}

struct PaddedBatchIter {
    gather: Gather,
    padded_shapes: Option<Vec<PartialShape>>,
    padding_values: Option<Vec<Tensor>>,
}

impl PaddedBatchIter {
    fn pad(&self, group: &[Element]) -> Result<Element> {
        // The call checked these counts when the spec was known; here they are checked
        // for elements whose structure was only known when they came.
        let leaves = group[0].leaves().len();
        let counts = [
            (
                "padded_shapes",
                "shapes",
                self.padded_shapes.as_ref().map(Vec::len),
            ),
            (
                "padding_values",
                "values",
                self.padding_values.as_ref().map(Vec::len),
            ),
        ];
        for (name, what, n) in counts {
            if let Some(n) = n.filter(|&n| n != leaves) {
                return Err(Error::invalid_argument(format!(
                    "padded_batch: {name} gives {n} {what}, but the elements have {leaves} components"
                )));
            }
        }
        let mut leaf = 0usize;
        Element::try_zip_tensors(group, &mut |tensors| {
            let index = leaf;
            leaf += 1;
            let padded = self.padded_shapes.as_ref().map(|s| &s[index]);
            let value = self.padding_values.as_ref().map(|v| &v[index]);
            pad_component(index, tensors, padded, value)
        })
    }
}

/// The shape every element of a batch is padded to: each known dimension of `padded`
/// exactly, every other the largest in the batch.
fn target_shape(
    index: usize,
    tensors: &[&Tensor],
    padded: Option<&PartialShape>,
) -> Result<Vec<usize>> {
    let first = tensors[0];
    let rank = first.rank();
    for (i, t) in tensors.iter().enumerate().skip(1) {
        if t.rank() != rank || t.dtype() != first.dtype() {
            return Err(Error::invalid_argument(format!(
                "padded_batch: component {index} of element {i} is {} {:?}, but element 0's is {} {:?}: all elements in a batch must have the same rank and dtype",
                t.dtype(),
                t.shape(),
                first.dtype(),
                first.shape()
            )));
        }
    }
    let mut target: Vec<usize> = (0..rank)
        .map(|d| tensors.iter().map(|t| t.shape()[d]).max().unwrap_or(0))
        .collect();
    if let Some(shape @ PartialShape(Some(dims))) = padded {
        if dims.len() != rank {
            return Err(Error::invalid_argument(format!(
                "padded_batch: component {index} has shape {:?}, but its padded shape {shape} has rank {}: they must have the same rank",
                first.shape(),
                dims.len()
            )));
        }
        for (d, want) in dims.iter().enumerate() {
            let Some(want) = *want else { continue };
            if let Some(big) = tensors.iter().find(|t| t.shape()[d] > want) {
                return Err(Error::invalid_argument(format!(
                    "padded_batch: component {index} has shape {:?}, larger than its padded shape {shape}",
                    big.shape()
                )));
            }
            target[d] = want;
        }
    }
    Ok(target)
}

/// Calls `emit(source, fill)` for each innermost row of an element of shape `src` padded
/// to `target`, in row-major order: `source` is the range of the element's values that
/// starts the row (`None` for a row that is all padding), `fill` the padding after it.
fn for_each_row(
    src: &[usize],
    target: &[usize],
    mut emit: impl FnMut(Option<Range<usize>>, usize),
) {
    let per_element: usize = target.iter().product();
    if per_element == 0 {
        return;
    }
    if src == target {
        // Nothing to pad: one contiguous copy.
        emit(Some(0..per_element), 0);
        return;
    }
    let rank = target.len();
    let (outer, last_target, last_src) = (&target[..rank - 1], target[rank - 1], src[rank - 1]);
    // Odometer over the outer dimensions of the padded element.
    let mut idx = vec![0usize; rank - 1];
    for _ in 0..per_element / last_target {
        if idx.iter().zip(src).all(|(i, s)| i < s) {
            let row = idx.iter().zip(src).fold(0, |acc, (i, s)| acc * s + i);
            emit(
                Some(row * last_src..(row + 1) * last_src),
                last_target - last_src,
            );
        } else {
            emit(None, last_target);
        }
        for d in (0..rank - 1).rev() {
            idx[d] += 1;
            if idx[d] < outer[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// Pads and stacks the `index`-th component of a batch, writing each value once into
/// the batch's buffer.
fn pad_component(
    index: usize,
    tensors: &[&Tensor],
    padded: Option<&PartialShape>,
    value: Option<&Tensor>,
) -> Result<Tensor> {
    let target = target_shape(index, tensors, padded)?;
    let dtype = tensors[0].dtype();
    if let Some(v) = value {
        if v.dtype() != dtype || v.rank() != 0 {
            return Err(Error::invalid_argument(format!(
                "padded_batch: the padding value of component {index} is a {} of shape {:?}; it must be a {dtype} scalar",
                v.dtype(),
                v.shape()
            )));
        }
    }
    let per_element: usize = target.iter().product();
    let mut out_shape = Vec::with_capacity(target.len() + 1);
    out_shape.push(tensors.len());
    out_shape.extend_from_slice(&target);

    if dtype == DType::String {
        let fill = match value {
            Some(v) => v.string_values()?[0].clone(),
            None => Bytes::new(),
        };
        let mut values = Vec::with_capacity(per_element * tensors.len());
        for t in tensors {
            let src = t.string_values()?;
            for_each_row(t.shape(), &target, |source, n| {
                if let Some(r) = source {
                    values.extend_from_slice(&src[r]);
                }
                values.extend(std::iter::repeat_n(fill.clone(), n));
            });
        }
        return Tensor::strings(&out_shape, values);
    }
    let size = dtype.size();
    let mut buf = AlignedBuf::zeroed(per_element * tensors.len() * size);
    let out = buf.as_mut_bytes();
    // The buffer starts zeroed: a zero padding value needs no writes.
    let pattern = value
        .and_then(|v| v.data_bytes())
        .filter(|p| p.iter().any(|&b| b != 0));
    let mut pos = 0;
    for t in tensors {
        let src = t.data_bytes().expect("numeric tensors have bytes");
        for_each_row(t.shape(), &target, |source, n| {
            if let Some(r) = source {
                let bytes = &src[r.start * size..r.end * size];
                out[pos..pos + bytes.len()].copy_from_slice(bytes);
                pos += bytes.len();
            }
            if let Some(p) = pattern {
                for chunk in out[pos..pos + n * size].chunks_exact_mut(size) {
                    chunk.copy_from_slice(p);
                }
            }
            pos += n * size;
        });
    }
    Tensor::from_aligned(dtype, &out_shape, buf)
}

impl ElementIterator for PaddedBatchIter {
    fn next(&mut self) -> Option<Result<Element>> {
        match self.gather.next_group() {
            Gathered::Batch(group) => Some(self.pad(&group)),
            Gathered::Error(e) => Some(Err(e)),
            Gathered::End => None,
        }
    }
}

/// Whether a padded shape can hold an input component's shape (tf.data's check at the
/// call: same rank, and no known padded dimension smaller than a known input dimension).
fn compatible(padded: &PartialShape, input: &PartialShape) -> bool {
    match (&padded.0, &input.0) {
        (Some(p), Some(i)) => {
            p.len() == i.len()
                && p.iter()
                    .zip(i)
                    .all(|(p, i)| !matches!((p, i), (Some(p), Some(i)) if p < i))
        }
        _ => true,
    }
}

impl Dataset {
    /// Batches `batch_size` elements, padding each component to a common shape: a known
    /// dimension of its `padded_shapes` entry exactly, every other dimension (all of them
    /// without `padded_shapes`) to the largest in the batch. Padding is `padding_values`
    /// (one scalar of the component's dtype each; default zero, or the empty string).
    ///
    /// Both lists have one entry per component in `Element::leaves` order. Mistakes the
    /// element spec reveals (counts, ranks, a padded dimension smaller than the input's,
    /// dtypes) raise here; the rest surface as error elements.
    pub fn padded_batch(
        &self,
        batch_size: i64,
        padded_shapes: Option<Vec<PartialShape>>,
        padding_values: Option<Vec<Tensor>>,
        drop_remainder: bool,
    ) -> Result<Dataset> {
        let batch_size = check_batch_size(batch_size)?;
        if self.element_spec().has_composite() {
            return Err(Error::argument(
                "padded_batch",
                "RaggedTensor and SparseTensor components cannot be padded: use batch",
            ));
        }
        for (i, v) in padding_values.iter().flatten().enumerate() {
            if v.rank() != 0 {
                return Err(Error::argument(
                    "padding_values",
                    format!(
                        "values must be scalars, but the value for component {i} has shape {:?}",
                        v.shape()
                    ),
                ));
            }
        }
        if let Some(leaves) = leaf_specs(&self.element_spec()) {
            if let Some(shapes) = &padded_shapes {
                if shapes.len() != leaves.len() {
                    return Err(Error::argument(
                        "padded_shapes",
                        format!(
                            "gives {} shapes for elements with {} components",
                            shapes.len(),
                            leaves.len()
                        ),
                    ));
                }
                for (i, (s, l)) in shapes.iter().zip(&leaves).enumerate() {
                    if !compatible(s, &l.shape) {
                        return Err(Error::argument(
                            "padded_shapes",
                            format!(
                                "the padded shape {s} of component {i} is not compatible with the component's shape {}",
                                l.shape
                            ),
                        ));
                    }
                }
            }
            if let Some(values) = &padding_values {
                if values.len() != leaves.len() {
                    return Err(Error::argument(
                        "padding_values",
                        format!(
                            "gives {} values for elements with {} components",
                            values.len(),
                            leaves.len()
                        ),
                    ));
                }
                for (i, (v, l)) in values.iter().zip(&leaves).enumerate() {
                    if v.dtype() != l.dtype {
                        return Err(Error::type_error(
                            "padding_values",
                            format!(
                                "the value for component {i} is a {}, which does not match the component's dtype {}",
                                v.dtype(),
                                l.dtype
                            ),
                        ));
                    }
                }
            }
        }
        Ok(Dataset::from_node(PaddedBatchNode {
            input: self.clone(),
            batch_size,
            drop_remainder,
            padded_shapes,
            padding_values,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use proptest::prelude::*;

    /// range(1, n) mapped to fill([x], x), as in tf.data's padded_batch documentation.
    fn ragged(n: i64) -> Dataset {
        Dataset::range(1, n).map(|e| {
            let v = e.into_tensor()?.scalar_value::<i64>()?;
            Ok(Tensor::from_vec(&[v as usize], vec![v; v as usize])?.into())
        })
    }

    /// A source of `elements` whose spec is unknown until they come.
    fn source(elements: Vec<Element>) -> Dataset {
        Dataset::from_generator(move || elements.clone().into_iter().map(Ok))
    }

    fn t<T: crate::value::Scalar>(shape: &[usize], v: Vec<T>) -> Element {
        Tensor::from_vec(shape, v).unwrap().into()
    }

    fn i64s(e: &Element) -> (Vec<usize>, Vec<i64>) {
        let t = e.as_tensor().unwrap();
        (t.shape().to_vec(), t.as_slice::<i64>().unwrap().to_vec())
    }

    #[test]
    fn pads_to_the_longest_in_the_batch() {
        let got = ragged(5)
            .padded_batch(2, None, None, false)
            .unwrap()
            .collect()
            .unwrap();
        assert_eq!(i64s(&got[0]), (vec![2, 2], vec![1, 0, 2, 2]));
        assert_eq!(i64s(&got[1]), (vec![2, 4], vec![3, 3, 3, 0, 4, 4, 4, 4]));
    }

    #[test]
    fn explicit_shape_and_value() {
        let ds = ragged(5)
            .padded_batch(
                2,
                Some(vec![PartialShape::known(&[5])]),
                Some(vec![Tensor::scalar(-1i64)]),
                true,
            )
            .unwrap();
        let got = ds.collect().unwrap();
        assert_eq!(
            i64s(&got[0]),
            (vec![2, 5], vec![1, -1, -1, -1, -1, 2, 2, -1, -1, -1])
        );
        assert_eq!(
            i64s(&got[1]),
            (vec![2, 5], vec![3, 3, 3, -1, -1, 4, 4, 4, 4, -1])
        );
    }

    #[test]
    fn an_element_larger_than_its_padded_shape_is_an_error_element() {
        let too_small = ragged(7)
            .padded_batch(2, Some(vec![PartialShape::known(&[3])]), None, false)
            .unwrap();
        let items: Vec<_> = too_small.iter().unwrap().collect();
        assert_eq!(items.len(), 3);
        assert!(items[0].is_ok());
        let err = items[1].as_ref().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert_eq!(
            err.to_string(),
            "padded_batch: component 0 has shape [4], larger than its padded shape (3,)"
        );
        // Later batches are not lost: batch 2 is [5], [6], also too large.
        assert!(items[2].is_err());
        let fits = ragged(4)
            .padded_batch(2, Some(vec![PartialShape::known(&[3])]), None, false)
            .unwrap()
            .collect()
            .unwrap();
        assert_eq!(i64s(&fits[1]), (vec![1, 3], vec![3, 3, 3]));
    }

    #[test]
    fn unknown_dimensions_pad_to_the_batch_and_known_ones_exactly() {
        // Elements of shape (n, 2): pad the first dimension to 3, the second to the batch.
        let elements = vec![t(&[1, 2], vec![1i64, 2]), t(&[2, 1], vec![3i64, 4])];
        let ds = source(elements)
            .padded_batch(
                2,
                Some(vec![PartialShape(Some(vec![Some(3), None]))]),
                Some(vec![Tensor::scalar(9i64)]),
                false,
            )
            .unwrap();
        let got = ds.collect().unwrap();
        #[rustfmt::skip]
        let expected = vec![
            1, 2,  9, 9,  9, 9,
            3, 9,  4, 9,  9, 9,
        ];
        assert_eq!(i64s(&got[0]), (vec![2, 3, 2], expected));
    }

    #[test]
    fn three_dimensions_and_other_dtypes() {
        let a = Tensor::from_vec(&[1, 2, 1], vec![1.5f32, 2.5]).unwrap();
        let b = Tensor::from_vec(&[2, 1, 2], vec![3f32, 4., 5., 6.]).unwrap();
        let ds = source(vec![a.into(), b.into()])
            .padded_batch(2, None, Some(vec![Tensor::scalar(-0.5f32)]), false)
            .unwrap();
        let got = ds.collect().unwrap();
        let t = got[0].as_tensor().unwrap();
        assert_eq!(t.shape(), &[2, 2, 2, 2]);
        #[rustfmt::skip]
        let expected = [
            1.5, -0.5,  2.5, -0.5,   -0.5, -0.5,  -0.5, -0.5,
            3.0, 4.0,   -0.5, -0.5,   5.0, 6.0,   -0.5, -0.5,
        ];
        assert_eq!(t.as_slice::<f32>().unwrap(), expected);
        let bools = source(vec![
            Tensor::from_vec(&[1], vec![crate::value::Bool(1)])
                .unwrap()
                .into(),
            Tensor::from_vec(&[0], Vec::<crate::value::Bool>::new())
                .unwrap()
                .into(),
        ])
        .padded_batch(3, None, Some(vec![Tensor::bool_scalar(true)]), false)
        .unwrap()
        .collect()
        .unwrap();
        let t = bools[0].as_tensor().unwrap();
        assert_eq!(t.shape(), &[2, 1]);
        assert_eq!(t.data_bytes().unwrap(), &[1, 1]);
    }

    #[test]
    fn scalars_and_empty_components() {
        let got = Dataset::range(0, 5)
            .padded_batch(2, None, None, false)
            .unwrap()
            .collect()
            .unwrap();
        assert_eq!(i64s(&got[2]), (vec![1], vec![4]));
        let empty = source(vec![
            t(&[0, 3], Vec::<i64>::new()),
            t(&[0, 1], Vec::<i64>::new()),
        ])
        .padded_batch(2, None, None, false)
        .unwrap()
        .collect()
        .unwrap();
        assert_eq!(i64s(&empty[0]), (vec![2, 0, 3], vec![]));
    }

    #[test]
    fn nested_structures_pad_each_component_in_leaves_order() {
        // {"b": strings, "a": (ints, scalar)}: leaves are a.0, a.1, b (dict keys sorted).
        let element = |n: usize| {
            Element::dict([
                (
                    "b",
                    Element::from(Tensor::strings(&[n], vec![bytes::Bytes::from("s"); n]).unwrap()),
                ),
                (
                    "a",
                    Element::Tuple(vec![
                        t(&[n], vec![n as i32; n]),
                        Tensor::scalar(n as i32).into(),
                    ]),
                ),
            ])
            .unwrap()
        };
        let ds = source(vec![element(1), element(2)])
            .padded_batch(
                2,
                Some(vec![
                    PartialShape::known(&[3]),
                    PartialShape::known(&[]),
                    PartialShape(Some(vec![None])),
                ]),
                Some(vec![
                    Tensor::scalar(-1i32),
                    Tensor::scalar(0i32),
                    Tensor::string_scalar("-"),
                ]),
                false,
            )
            .unwrap();
        let got = ds.collect().unwrap();
        let leaves = got[0].leaves();
        assert_eq!(leaves[0].shape(), &[2, 3]);
        assert_eq!(leaves[0].as_slice::<i32>().unwrap(), &[1, -1, -1, 2, 2, -1]);
        assert_eq!(leaves[1].as_slice::<i32>().unwrap(), &[1, 2]);
        let s: Vec<&[u8]> = leaves[2]
            .string_values()
            .unwrap()
            .iter()
            .map(|b| &b[..])
            .collect();
        assert_eq!(s, [&b"s"[..], b"-", b"s", b"s"]);
    }

    #[test]
    fn strings_pad_with_the_empty_string_by_default() {
        let e = |rows: usize, cols: usize| -> Element {
            let v: Vec<bytes::Bytes> = (0..rows * cols)
                .map(|i| bytes::Bytes::from(format!("s{i}")))
                .collect();
            Tensor::strings(&[rows, cols], v).unwrap().into()
        };
        let padded = |value: Option<Vec<Tensor>>| {
            let got = source(vec![e(1, 2), e(2, 1)])
                .padded_batch(2, None, value, false)
                .unwrap()
                .collect()
                .unwrap();
            let t = got[0].as_tensor().unwrap();
            assert_eq!(t.shape(), &[2, 2, 2]);
            t.string_values()
                .unwrap()
                .iter()
                .map(|b| String::from_utf8(b.to_vec()).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            padded(Some(vec![Tensor::string_scalar("-")])),
            ["s0", "s1", "-", "-", "s0", "-", "s1", "-"]
        );
        assert_eq!(padded(None), ["s0", "s1", "", "", "s0", "", "s1", ""]);
    }

    #[test]
    fn spec_has_the_padded_shape() {
        let rows = Tensor::from_vec(&[4, 3], vec![0i64; 12]).unwrap();
        let ds = Dataset::from_tensor_slices(rows.into()).unwrap();
        let spec = |shapes: Option<Vec<PartialShape>>, drop: bool| {
            ds.padded_batch(2, shapes, None, drop)
                .unwrap()
                .element_spec()
                .to_string()
        };
        assert_eq!(
            spec(Some(vec![PartialShape::known(&[5])]), true),
            "TensorSpec(shape=(2, 5), dtype=int64)"
        );
        assert_eq!(
            spec(None, false),
            "TensorSpec(shape=(None, 3), dtype=int64)"
        );
        // As in tf.data, an unknown padded dimension is unknown in the spec even where the
        // input's is known.
        assert_eq!(
            spec(Some(vec![PartialShape(Some(vec![None]))]), false),
            "TensorSpec(shape=(None, None), dtype=int64)"
        );
        let padded = ds.padded_batch(3, None, None, false).unwrap();
        assert_eq!(padded.cardinality(), Cardinality::Finite(2));
        let dropped = ds.padded_batch(3, None, None, true).unwrap();
        assert_eq!(dropped.cardinality(), Cardinality::Finite(1));
        assert_eq!(
            ragged(5)
                .padded_batch(2, None, None, false)
                .unwrap()
                .element_spec(),
            ElementSpec::Unknown
        );
    }

    #[test]
    fn bad_arguments_raise_at_the_call() {
        let rows = Tensor::from_vec(&[4, 3], vec![0i64; 12]).unwrap();
        let ds = Dataset::from_tensor_slices(rows.into()).unwrap();
        let err = |r: Result<Dataset>| {
            let e = r.unwrap_err();
            (e.kind(), e.to_string())
        };
        let (kind, msg) = err(ds.padded_batch(0, None, None, false));
        assert_eq!(kind, ErrorKind::Argument);
        assert!(msg.starts_with("batch_size"), "{msg}");
        let (kind, msg) = err(ds.padded_batch(2, None, Some(vec![Tensor::scalar(1.0f32)]), false));
        assert_eq!(kind, ErrorKind::Type);
        assert!(
            msg.starts_with("padding_values") && msg.contains("float32") && msg.contains("int64"),
            "{msg}"
        );
        // A padding value must be a scalar, whatever the spec.
        let vector = Tensor::from_vec(&[2], vec![1i64, 2]).unwrap();
        for d in [&ds, &ragged(3)] {
            let (kind, msg) = err(d.padded_batch(2, None, Some(vec![vector.clone()]), false));
            assert_eq!(kind, ErrorKind::Argument);
            assert!(
                msg.contains("must be scalars") && msg.contains("[2]"),
                "{msg}"
            );
        }
        let (kind, msg) = err(ds.padded_batch(
            2,
            Some(vec![PartialShape::known(&[1]), PartialShape::known(&[1])]),
            None,
            false,
        ));
        assert_eq!(kind, ErrorKind::Argument);
        assert!(
            msg.contains("gives 2 shapes for elements with 1 components"),
            "{msg}"
        );
        let (_, msg) = err(ds.padded_batch(2, None, Some(vec![]), false));
        assert!(msg.contains("gives 0 values"), "{msg}");
        // A padded shape of another rank, or smaller than the input's known dimension.
        let (kind, msg) =
            err(ds.padded_batch(2, Some(vec![PartialShape::known(&[3, 1])]), None, false));
        assert_eq!(kind, ErrorKind::Argument);
        assert!(
            msg.contains("(3, 1) of component 0 is not compatible with the component's shape (3,)"),
            "{msg}"
        );
        let (_, msg) = err(ds.padded_batch(2, Some(vec![PartialShape::known(&[2])]), None, false));
        assert!(
            msg.contains("(2,) of component 0 is not compatible"),
            "{msg}"
        );
    }

    #[test]
    fn mistakes_only_the_elements_reveal_are_error_elements() {
        let first = |ds: Result<Dataset>| -> String {
            let item = ds.unwrap().iter().unwrap().next().unwrap();
            let e = item.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            e.to_string()
        };
        let msg = first(ragged(3).padded_batch(2, Some(vec![]), None, false));
        assert!(
            msg.contains("padded_shapes gives 0 shapes, but the elements have 1 components"),
            "{msg}"
        );
        let msg = first(ragged(3).padded_batch(2, None, Some(vec![Tensor::scalar(0i32)]), false));
        assert!(
            msg.contains("padding value of component 0 is a int32"),
            "{msg}"
        );
        let msg =
            first(ragged(3).padded_batch(2, Some(vec![PartialShape::known(&[2, 2])]), None, false));
        assert!(msg.contains("padded shape (2, 2) has rank 2"), "{msg}");
        let mixed = source(vec![t(&[2], vec![1i64, 2]), t(&[1, 1], vec![3i64])]);
        let msg = first(mixed.padded_batch(2, None, None, false));
        assert!(
            msg.contains("element 1 is int64 [1, 1], but element 0's is int64 [2]"),
            "{msg}"
        );
    }

    proptest! {
        #[test]
        fn each_padded_row_is_the_element_then_padding(
            shapes in proptest::collection::vec((0usize..4, 0usize..4), 1..12),
            b in 1i64..5,
            pad in -3i32..3,
        ) {
            let elements: Vec<Element> = shapes
                .iter()
                .enumerate()
                .map(|(k, &(r, c))| t(&[r, c], (0..r * c).map(|i| (k * 100 + i) as i32 + 10).collect()))
                .collect();
            let batches = source(elements.clone())
                .padded_batch(b, None, Some(vec![Tensor::scalar(pad)]), false)
                .unwrap()
                .collect()
                .unwrap();
            let mut k = 0;
            for batch in &batches {
                let t = batch.as_tensor().unwrap();
                let n = t.shape()[0];
                let group = &shapes[k..k + n];
                // Padded to the largest in the batch, dimension by dimension.
                let rows = group.iter().map(|s| s.0).max().unwrap();
                let cols = group.iter().map(|s| s.1).max().unwrap();
                prop_assert_eq!(t.shape(), &[n, rows, cols]);
                let v = t.as_slice::<i32>().unwrap();
                for (j, &(r, c)) in group.iter().enumerate() {
                    let src = elements[k + j].as_tensor().unwrap().as_slice::<i32>().unwrap();
                    for y in 0..rows {
                        for x in 0..cols {
                            let want = if y < r && x < c { src[y * c + x] } else { pad };
                            prop_assert_eq!(v[(j * rows + y) * cols + x], want);
                        }
                    }
                }
                k += n;
            }
            prop_assert_eq!(k, shapes.len());
        }
    }
}
