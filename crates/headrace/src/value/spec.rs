//! Specs: the dtype and (partly known) shape of each component of a dataset's elements,
//! as `tf.TensorSpec` and `Dataset.element_spec` describe them.

use std::fmt;
use std::sync::Arc;

use super::dtype::DType;
use super::element::Element;

/// A shape whose rank or dimensions may be unknown (`None`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PartialShape(pub Option<Vec<Option<usize>>>);

impl PartialShape {
    pub fn unknown() -> Self {
        PartialShape(None)
    }

    pub fn known(dims: &[usize]) -> Self {
        PartialShape(Some(dims.iter().map(|&d| Some(d)).collect()))
    }

    /// The shape both `self` and `other` satisfy (dimensions that differ become unknown).
    pub fn common(&self, other: &PartialShape) -> PartialShape {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) if a.len() == b.len() => PartialShape(Some(
                a.iter()
                    .zip(b)
                    .map(|(x, y)| if x == y { *x } else { None })
                    .collect(),
            )),
            _ => PartialShape(None),
        }
    }

    /// True when a tensor of shape `dims` satisfies this shape.
    pub fn accepts(&self, dims: &[usize]) -> bool {
        match &self.0 {
            None => true,
            Some(s) => {
                s.len() == dims.len() && s.iter().zip(dims).all(|(a, b)| a.is_none_or(|a| a == *b))
            }
        }
    }

    /// This shape with a leading dimension `dim` (unknown when `None`).
    pub fn prepend(&self, dim: Option<usize>) -> PartialShape {
        PartialShape(self.0.as_ref().map(|s| {
            let mut v = Vec::with_capacity(s.len() + 1);
            v.push(dim);
            v.extend_from_slice(s);
            v
        }))
    }

    /// This shape without its leading dimension.
    pub fn drop_first(&self) -> PartialShape {
        PartialShape(self.0.as_ref().map(|s| s.iter().skip(1).copied().collect()))
    }
}

impl fmt::Display for PartialShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("<unknown>"),
            Some(dims) => {
                f.write_str("(")?;
                for (i, d) in dims.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match d {
                        Some(d) => write!(f, "{d}")?,
                        None => f.write_str("None")?,
                    }
                }
                if dims.len() == 1 {
                    f.write_str(",")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// The dtype and shape of one component.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TensorSpec {
    pub dtype: DType,
    pub shape: PartialShape,
}

/// A ragged component: its dtype, its shape with ragged dimensions unknown, and how many
/// of its dimensions are ragged (`tf.RaggedTensorSpec`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RaggedSpec {
    pub dtype: DType,
    pub shape: PartialShape,
    pub ragged_rank: usize,
}

/// The structure of a dataset's elements. `Unknown` is what a Python function that was not
/// traced returns: its output is only known when it runs.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ElementSpec {
    Tensor(TensorSpec),
    Ragged(RaggedSpec),
    /// A sparse component: its dtype and dense shape (`tf.SparseTensorSpec`).
    Sparse(TensorSpec),
    Tuple(Vec<ElementSpec>),
    Dict(Vec<(Arc<str>, ElementSpec)>),
    Unknown,
}

impl ElementSpec {
    /// The exact spec of `element`.
    pub fn of(element: &Element) -> ElementSpec {
        match element {
            Element::Tensor(t) => ElementSpec::Tensor(TensorSpec {
                dtype: t.dtype(),
                shape: PartialShape::known(t.shape()),
            }),
            Element::Ragged(r) => ElementSpec::Ragged(RaggedSpec {
                dtype: r.dtype(),
                shape: PartialShape(Some(r.shape())),
                ragged_rank: r.ragged_rank(),
            }),
            Element::Sparse(s) => ElementSpec::Sparse(TensorSpec {
                dtype: s.dtype(),
                shape: PartialShape(Some(
                    s.dense_shape()
                        .as_slice::<i64>()
                        .map(|d| d.iter().map(|&d| Some(d as usize)).collect())
                        .unwrap_or_default(),
                )),
            }),
            Element::Tuple(items) => {
                ElementSpec::Tuple(items.iter().map(ElementSpec::of).collect())
            }
            Element::Dict(items) => ElementSpec::Dict(
                items
                    .iter()
                    .map(|(k, v)| (k.clone(), ElementSpec::of(v)))
                    .collect(),
            ),
        }
    }

    /// Applies `f` to every component's spec (tensor, ragged or sparse), keeping the
    /// nesting.
    pub fn map_components(&self, f: &impl Fn(&ElementSpec) -> ElementSpec) -> ElementSpec {
        match self {
            ElementSpec::Tuple(items) => {
                ElementSpec::Tuple(items.iter().map(|s| s.map_components(f)).collect())
            }
            ElementSpec::Dict(items) => ElementSpec::Dict(
                items
                    .iter()
                    .map(|(k, s)| (k.clone(), s.map_components(f)))
                    .collect(),
            ),
            ElementSpec::Unknown => ElementSpec::Unknown,
            component => f(component),
        }
    }

    /// Whether any component is ragged or sparse.
    pub fn has_composite(&self) -> bool {
        match self {
            ElementSpec::Ragged(_) | ElementSpec::Sparse(_) => true,
            ElementSpec::Tuple(items) => items.iter().any(ElementSpec::has_composite),
            ElementSpec::Dict(items) => items.iter().any(|(_, s)| s.has_composite()),
            ElementSpec::Tensor(_) | ElementSpec::Unknown => false,
        }
    }

    /// Applies `f` to every component's shape.
    pub fn map_shapes(&self, f: &impl Fn(&PartialShape) -> PartialShape) -> ElementSpec {
        self.map_components(&|c| match c {
            ElementSpec::Tensor(t) => ElementSpec::Tensor(TensorSpec {
                dtype: t.dtype,
                shape: f(&t.shape),
            }),
            ElementSpec::Sparse(t) => ElementSpec::Sparse(TensorSpec {
                dtype: t.dtype,
                shape: f(&t.shape),
            }),
            ElementSpec::Ragged(r) => ElementSpec::Ragged(RaggedSpec {
                shape: f(&r.shape),
                ..r.clone()
            }),
            other => other.clone(),
        })
    }

    /// The spec after batching: every component gains a leading dimension (a ragged one
    /// also gains a ragged dimension).
    pub fn batched(&self, batch: Option<usize>) -> ElementSpec {
        self.map_components(&|c| match c {
            ElementSpec::Ragged(r) => ElementSpec::Ragged(RaggedSpec {
                dtype: r.dtype,
                shape: r.shape.prepend(batch),
                ragged_rank: r.ragged_rank + 1,
            }),
            other => other.map_shapes(&|s| s.prepend(batch)),
        })
    }

    /// The spec after unbatching: every component loses its leading dimension (a ragged
    /// one of ragged rank 1 becomes a ragged-rank-0 value, whose rows are dense).
    pub fn unbatched(&self) -> ElementSpec {
        self.map_components(&|c| match c {
            ElementSpec::Ragged(r) if r.ragged_rank == 0 => ElementSpec::Tensor(TensorSpec {
                dtype: r.dtype,
                shape: r.shape.drop_first(),
            }),
            ElementSpec::Ragged(r) => ElementSpec::Ragged(RaggedSpec {
                dtype: r.dtype,
                shape: r.shape.drop_first(),
                ragged_rank: r.ragged_rank - 1,
            }),
            other => other.map_shapes(&|s| s.drop_first()),
        })
    }

    /// The most specific spec that both satisfy, or `None` when their structures or dtypes
    /// differ (what `concatenate` and `from_generator` check).
    pub fn common(&self, other: &ElementSpec) -> Option<ElementSpec> {
        Some(match (self, other) {
            (ElementSpec::Unknown, x) | (x, ElementSpec::Unknown) => {
                let _ = x;
                ElementSpec::Unknown
            }
            (ElementSpec::Tensor(a), ElementSpec::Tensor(b)) if a.dtype == b.dtype => {
                ElementSpec::Tensor(TensorSpec {
                    dtype: a.dtype,
                    shape: a.shape.common(&b.shape),
                })
            }
            (ElementSpec::Sparse(a), ElementSpec::Sparse(b)) if a.dtype == b.dtype => {
                ElementSpec::Sparse(TensorSpec {
                    dtype: a.dtype,
                    shape: a.shape.common(&b.shape),
                })
            }
            (ElementSpec::Ragged(a), ElementSpec::Ragged(b))
                if a.dtype == b.dtype && a.ragged_rank == b.ragged_rank =>
            {
                ElementSpec::Ragged(RaggedSpec {
                    shape: a.shape.common(&b.shape),
                    ..a.clone()
                })
            }
            (ElementSpec::Tuple(a), ElementSpec::Tuple(b)) if a.len() == b.len() => {
                ElementSpec::Tuple(
                    a.iter()
                        .zip(b)
                        .map(|(x, y)| x.common(y))
                        .collect::<Option<_>>()?,
                )
            }
            (ElementSpec::Dict(a), ElementSpec::Dict(b))
                if a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.0 == y.0) =>
            {
                ElementSpec::Dict(
                    a.iter()
                        .zip(b)
                        .map(|(x, y)| Some((x.0.clone(), x.1.common(&y.1)?)))
                        .collect::<Option<_>>()?,
                )
            }
            _ => return None,
        })
    }

    /// True when `element` has this structure, these dtypes and compatible shapes.
    pub fn accepts(&self, element: &Element) -> bool {
        match (self, element) {
            (ElementSpec::Unknown, _) => true,
            (ElementSpec::Tensor(s), Element::Tensor(t)) => {
                s.dtype == t.dtype() && s.shape.accepts(t.shape())
            }
            (ElementSpec::Ragged(s), Element::Ragged(r)) => {
                s.dtype == r.dtype()
                    && s.ragged_rank == r.ragged_rank()
                    && match &s.shape.0 {
                        None => true,
                        Some(dims) => {
                            let got = r.shape();
                            dims.len() == got.len()
                                && dims.iter().zip(&got).all(|(a, b)| a.is_none() || a == b)
                        }
                    }
            }
            (ElementSpec::Sparse(s), Element::Sparse(t)) => {
                let dims: Vec<usize> = t
                    .dense_shape()
                    .as_slice::<i64>()
                    .map(|d| d.iter().map(|&d| d as usize).collect())
                    .unwrap_or_default();
                s.dtype == t.dtype() && s.shape.accepts(&dims)
            }
            (ElementSpec::Tuple(s), Element::Tuple(e)) => {
                s.len() == e.len() && s.iter().zip(e).all(|(s, e)| s.accepts(e))
            }
            (ElementSpec::Dict(s), Element::Dict(e)) => {
                s.len() == e.len()
                    && s.iter()
                        .zip(e)
                        .all(|((ks, s), (ke, e))| ks == ke && s.accepts(e))
            }
            _ => false,
        }
    }
}

impl fmt::Display for ElementSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElementSpec::Tensor(t) => write!(f, "TensorSpec(shape={}, dtype={})", t.shape, t.dtype),
            ElementSpec::Ragged(r) => write!(
                f,
                "RaggedTensorSpec(shape={}, dtype={}, ragged_rank={})",
                r.shape, r.dtype, r.ragged_rank
            ),
            ElementSpec::Sparse(t) => {
                write!(f, "SparseTensorSpec(shape={}, dtype={})", t.shape, t.dtype)
            }
            ElementSpec::Tuple(items) => {
                f.write_str("(")?;
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{s}")?;
                }
                f.write_str(")")
            }
            ElementSpec::Dict(items) => {
                f.write_str("{")?;
                for (i, (k, s)) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k:?}: {s}")?;
                }
                f.write_str("}")
            }
            ElementSpec::Unknown => f.write_str("<unknown until run>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Tensor;

    #[test]
    fn common_widens_shapes_and_rejects_dtypes() {
        let a = ElementSpec::of(&Element::Tensor(
            Tensor::from_vec(&[2], vec![1i64, 2]).unwrap(),
        ));
        let b = ElementSpec::of(&Element::Tensor(
            Tensor::from_vec(&[3], vec![1i64, 2, 3]).unwrap(),
        ));
        let c = a.common(&b).unwrap();
        assert_eq!(c.to_string(), "TensorSpec(shape=(None,), dtype=int64)");
        let f = ElementSpec::of(&Element::Tensor(Tensor::scalar(1.0f32)));
        assert!(a.common(&f).is_none());
    }

    #[test]
    fn batched_prepends() {
        let s = ElementSpec::of(&Element::Tensor(Tensor::scalar(1i32)));
        assert_eq!(
            s.batched(Some(4)).to_string(),
            "TensorSpec(shape=(4,), dtype=int32)"
        );
        assert_eq!(s.batched(None).unbatched(), s);
    }
}
