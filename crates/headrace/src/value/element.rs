//! `Element`: what a dataset yields — a tensor, or nested tuples and dicts of tensors.

use std::sync::Arc;

use super::composite::{RaggedTensor, SparseTensor};
use super::tensor::Tensor;
use crate::error::{Error, Result};

/// One element of a dataset. Dict entries are kept sorted by key, as `tf.nest` orders them.
#[derive(Clone, PartialEq, Debug)]
pub enum Element {
    Tensor(Tensor),
    /// Shared: composite values are rare and large, and should not make every element
    /// bigger.
    Ragged(Arc<RaggedTensor>),
    Sparse(Arc<SparseTensor>),
    Tuple(Vec<Element>),
    Dict(Vec<(Arc<str>, Element)>),
}

impl From<Tensor> for Element {
    fn from(t: Tensor) -> Element {
        Element::Tensor(t)
    }
}

impl Element {
    /// A dict element; keys are sorted, and a repeated key is an error.
    pub fn dict(
        entries: impl IntoIterator<Item = (impl Into<Arc<str>>, Element)>,
    ) -> Result<Element> {
        let mut entries: Vec<(Arc<str>, Element)> =
            entries.into_iter().map(|(k, v)| (k.into(), v)).collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::invalid_argument(format!(
                "dict element has key {:?} twice",
                w[0].0
            )));
        }
        Ok(Element::Dict(entries))
    }

    /// The tensor, when this element is a single tensor.
    pub fn as_tensor(&self) -> Option<&Tensor> {
        match self {
            Element::Tensor(t) => Some(t),
            _ => None,
        }
    }

    /// Unwraps a single tensor, or says what the element is instead.
    pub fn into_tensor(self) -> Result<Tensor> {
        match self {
            Element::Tensor(t) => Ok(t),
            other => Err(Error::invalid_argument(format!(
                "expected a single tensor, got {}",
                other.structure_name()
            ))),
        }
    }

    /// The component tensors in `tf.nest.flatten(…, expand_composites=True)` order: a
    /// ragged value gives its values then its row splits, a sparse value its indices,
    /// values and dense shape.
    pub fn leaves(&self) -> Vec<&Tensor> {
        let mut out = Vec::new();
        self.collect_leaves(&mut out);
        out
    }

    fn collect_leaves<'a>(&'a self, out: &mut Vec<&'a Tensor>) {
        match self {
            Element::Tensor(t) => out.push(t),
            Element::Ragged(r) => {
                out.push(r.values());
                out.extend(r.row_splits());
            }
            Element::Sparse(s) => out.extend([s.indices(), s.values(), s.dense_shape()]),
            Element::Tuple(items) => items.iter().for_each(|e| e.collect_leaves(out)),
            Element::Dict(items) => items.iter().for_each(|(_, e)| e.collect_leaves(out)),
        }
    }

    /// A short description of the nesting, e.g. `(tensor, {a: tensor})`.
    pub fn structure_name(&self) -> String {
        match self {
            Element::Tensor(_) => "tensor".into(),
            Element::Ragged(_) => "ragged".into(),
            Element::Sparse(_) => "sparse".into(),
            Element::Tuple(items) => format!(
                "({})",
                items
                    .iter()
                    .map(Element::structure_name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Element::Dict(items) => format!(
                "{{{}}}",
                items
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", v.structure_name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Applies `f` to every tensor, keeping the nesting; a ragged or sparse component is
    /// an error (`f` would see its parts, not its value).
    pub fn try_map_tensors(
        &self,
        f: &mut impl FnMut(&Tensor) -> Result<Tensor>,
    ) -> Result<Element> {
        Ok(match self {
            Element::Tensor(t) => Element::Tensor(f(t)?),
            Element::Ragged(_) | Element::Sparse(_) => return Err(composite_error(self)),
            Element::Tuple(items) => Element::Tuple(
                items
                    .iter()
                    .map(|e| e.try_map_tensors(f))
                    .collect::<Result<_>>()?,
            ),
            Element::Dict(items) => Element::Dict(
                items
                    .iter()
                    .map(|(k, e)| Ok((k.clone(), e.try_map_tensors(f)?)))
                    .collect::<Result<_>>()?,
            ),
        })
    }

    /// Combines elements of one nesting component-wise: `f` gets the i-th tensor of each
    /// (by reference: batching copies each tensor once, into the batch). Ragged and sparse
    /// components are an error.
    pub fn try_zip_tensors(
        elements: &[Element],
        f: &mut impl FnMut(&[&Tensor]) -> Result<Tensor>,
    ) -> Result<Element> {
        let refs: Vec<&Element> = elements.iter().collect();
        Element::zip_refs(&refs, f, &mut |column| Err(composite_error(column[0])))
    }

    /// Like `try_zip_tensors`, with `composite` combining each ragged or sparse column.
    fn zip_refs(
        elements: &[&Element],
        f: &mut impl FnMut(&[&Tensor]) -> Result<Tensor>,
        composite: &mut impl FnMut(&[&Element]) -> Result<Element>,
    ) -> Result<Element> {
        let first = *elements
            .first()
            .ok_or_else(|| Error::invalid_argument("no elements to combine"))?;
        match first {
            Element::Tensor(_) => {
                let tensors = elements
                    .iter()
                    .enumerate()
                    .map(|(i, e)| match e {
                        Element::Tensor(t) => Ok(t),
                        other => Err(structure_error(first, other, i)),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Element::Tensor(f(&tensors)?))
            }
            Element::Ragged(_) | Element::Sparse(_) => {
                if let Some((i, other)) = elements
                    .iter()
                    .enumerate()
                    .find(|(_, e)| std::mem::discriminant(**e) != std::mem::discriminant(first))
                {
                    return Err(structure_error(first, other, i));
                }
                composite(elements)
            }
            Element::Tuple(items) => {
                let mut out = Vec::with_capacity(items.len());
                for pos in 0..items.len() {
                    let column = elements
                        .iter()
                        .enumerate()
                        .map(|(i, e)| match e {
                            Element::Tuple(v) if v.len() == items.len() => Ok(&v[pos]),
                            other => Err(structure_error(first, other, i)),
                        })
                        .collect::<Result<Vec<_>>>()?;
                    out.push(Element::zip_refs(&column, f, composite)?);
                }
                Ok(Element::Tuple(out))
            }
            Element::Dict(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (pos, (key, _)) in items.iter().enumerate() {
                    let column = elements
                        .iter()
                        .enumerate()
                        .map(|(i, e)| match e {
                            Element::Dict(v) if v.len() == items.len() && v[pos].0 == *key => {
                                Ok(&v[pos].1)
                            }
                            other => Err(structure_error(first, other, i)),
                        })
                        .collect::<Result<Vec<_>>>()?;
                    out.push((key.clone(), Element::zip_refs(&column, f, composite)?));
                }
                Ok(Element::Dict(out))
            }
        }
    }

    /// Stacks elements of one nesting into a batch (each tensor gains a first axis; ragged
    /// values gain a ragged dimension, sparse values a batch dimension).
    pub fn stack(elements: &[Element]) -> Result<Element> {
        let refs: Vec<&Element> = elements.iter().collect();
        // `zip_refs` hands `composite` columns of one kind only.
        Element::zip_refs(&refs, &mut |ts| Tensor::stack(ts), &mut |column| {
            Ok(match column[0] {
                Element::Ragged(_) => {
                    let parts: Vec<&RaggedTensor> = column
                        .iter()
                        .filter_map(|e| match e {
                            Element::Ragged(r) => Some(&**r),
                            _ => None,
                        })
                        .collect();
                    Element::Ragged(Arc::new(RaggedTensor::stack(&parts)?))
                }
                _ => {
                    let parts: Vec<&SparseTensor> = column
                        .iter()
                        .filter_map(|e| match e {
                            Element::Sparse(s) => Some(&**s),
                            _ => None,
                        })
                        .collect();
                    Element::Sparse(Arc::new(SparseTensor::stack(&parts)?))
                }
            })
        })
    }

    /// The number of rows of each component (tensor, ragged or sparse), in order; `None`
    /// for a scalar.
    pub fn component_rows(&self) -> Vec<Option<usize>> {
        let mut out = Vec::new();
        self.collect_component_rows(&mut out);
        out
    }

    fn collect_component_rows(&self, out: &mut Vec<Option<usize>>) {
        match self {
            Element::Tensor(t) => out.push(t.shape().first().copied()),
            Element::Ragged(r) => out.push(Some(r.nrows())),
            Element::Sparse(s) => out.push(s.nrows()),
            Element::Tuple(items) => items.iter().for_each(|e| e.collect_component_rows(out)),
            Element::Dict(items) => items
                .iter()
                .for_each(|(_, e)| e.collect_component_rows(out)),
        }
    }

    /// The number of rows along the first axis, shared by every component.
    pub fn num_rows(&self) -> Result<usize> {
        let mut rows = None;
        for r in self.component_rows() {
            let r = r.ok_or_else(|| {
                Error::invalid_argument("cannot slice a scalar component: it needs rank >= 1")
            })?;
            match rows {
                None => rows = Some(r),
                Some(prev) if prev != r => {
                    return Err(Error::invalid_argument(format!(
                        "components have different first dimensions: {prev} and {r}"
                    )))
                }
                _ => {}
            }
        }
        rows.ok_or_else(|| Error::invalid_argument("element has no components"))
    }

    /// Row `index` of every component (the inverse of `stack`).
    pub fn row(&self, index: usize) -> Result<Element> {
        Ok(match self {
            Element::Tensor(t) => Element::Tensor(t.row(index)?),
            Element::Ragged(r) if r.ragged_rank() == 0 => Element::Tensor(r.values().row(index)?),
            Element::Ragged(r) => Element::Ragged(Arc::new(r.row(index)?)),
            Element::Sparse(s) => Element::Sparse(Arc::new(s.row(index)?)),
            Element::Tuple(items) => {
                Element::Tuple(items.iter().map(|e| e.row(index)).collect::<Result<_>>()?)
            }
            Element::Dict(items) => Element::Dict(
                items
                    .iter()
                    .map(|(k, e)| Ok((k.clone(), e.row(index)?)))
                    .collect::<Result<_>>()?,
            ),
        })
    }

    /// Total payload bytes of all components.
    pub fn nbytes(&self) -> usize {
        self.leaves().iter().map(|t| t.nbytes()).sum()
    }
}

fn composite_error(element: &Element) -> Error {
    Error::invalid_argument(format!(
        "this operation takes dense tensors, and a component is a {} value",
        element.structure_name()
    ))
}

fn structure_error(first: &Element, other: &Element, index: usize) -> Error {
    Error::invalid_argument(format!(
        "elements have different structures: element 0 is {} and element {index} is {}",
        first.structure_name(),
        other.structure_name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: i64) -> Element {
        Element::Tensor(Tensor::scalar(v))
    }

    #[test]
    fn dict_keys_sorted_and_unique() {
        let d = Element::dict([("b", t(1)), ("a", t(2))]).unwrap();
        let Element::Dict(items) = &d else { panic!() };
        assert_eq!(&*items[0].0, "a");
        assert!(Element::dict([("a", t(1)), ("a", t(2))]).is_err());
    }

    #[test]
    fn stack_and_row_invert() {
        let elems: Vec<Element> = (0..4)
            .map(|i| Element::Tuple(vec![t(i), Element::dict([("x", t(i * 10))]).unwrap()]))
            .collect();
        let batch = Element::stack(&elems).unwrap();
        assert_eq!(batch.num_rows().unwrap(), 4);
        for (i, e) in elems.iter().enumerate() {
            assert_eq!(&batch.row(i).unwrap(), e);
        }
    }

    #[test]
    fn stack_rejects_mixed_structures() {
        let err = Element::stack(&[t(1), Element::Tuple(vec![t(1)])]).unwrap_err();
        assert!(err.to_string().contains("element 1"), "{err}");
    }
}
