//! Datasets made by a traced `flat_map`/`interleave` function.
//!
//! Tracing `lambda x: Dataset.from_tensor_slices(x["tokens"]).batch(2)` gives two parts:
//! a graph computing the values the inner dataset is made from (its *parameters*,
//! `x["tokens"]` here), and a *template*: the inner pipeline built once, whose source reads
//! parameters instead of constants. [`TemplateFn`] runs the graph on each element and binds
//! its outputs to the template; nothing calls Python. The parameters travel in the
//! [`Context`] of the iterator being built, so any transformation can sit between the
//! source and the template's end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{
    BoxIterator, Cardinality, Context, Dataset, DatasetFn, DatasetNode, InstanceState, MapFn,
};
use crate::error::{Error, Result};
use crate::value::{DType, Element, ElementSpec, PartialShape, TensorSpec};

/// Which parameters a source uses, in the structure of its argument.
#[derive(Clone, Debug)]
pub enum ParamTree {
    Leaf(usize),
    Tuple(Vec<ParamTree>),
    Dict(Vec<(Arc<str>, ParamTree)>),
}

impl ParamTree {
    fn bind(&self, params: &[Element]) -> Result<Element> {
        Ok(match self {
            ParamTree::Leaf(i) => params.get(*i).cloned().ok_or_else(|| {
                Error::internal(format!(
                    "template parameter {i} is not bound ({} bound)",
                    params.len()
                ))
            })?,
            ParamTree::Tuple(items) => Element::Tuple(
                items
                    .iter()
                    .map(|t| t.bind(params))
                    .collect::<Result<_>>()?,
            ),
            ParamTree::Dict(items) => Element::Dict(
                items
                    .iter()
                    .map(|(k, t)| Ok((k.clone(), t.bind(params)?)))
                    .collect::<Result<_>>()?,
            ),
        })
    }
}

/// The source datasets a template can start from, as their tf.data constructors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamSourceKind {
    /// `from_tensors(param)`.
    Tensors,
    /// `from_tensor_slices(param)`.
    Slices,
    /// `range(start, stop, step)`, three int64 scalar parameters in a tuple.
    Range,
}

struct ParamSourceNode {
    kind: ParamSourceKind,
    args: ParamTree,
    spec: ElementSpec,
}

impl ParamSourceNode {
    fn build(&self, args: Element) -> Result<Dataset> {
        match self.kind {
            ParamSourceKind::Tensors => Ok(Dataset::from_tensors(args)),
            ParamSourceKind::Slices => Dataset::from_tensor_slices(args),
            ParamSourceKind::Range => {
                let scalar = |e: &Element, name: &str| -> Result<i64> {
                    let t = e
                        .as_tensor()
                        .ok_or_else(|| Error::argument(name, "expected a scalar"))?;
                    crate::ops::cast::cast(t, DType::Int64)?
                        .scalar_value::<i64>()
                        .map_err(|e| Error::argument(name, e))
                };
                let Element::Tuple(v) = &args else {
                    return Err(Error::internal("range template: expected three arguments"));
                };
                let [start, stop, step] = v.as_slice() else {
                    return Err(Error::internal("range template: expected three arguments"));
                };
                Dataset::range_with_step(
                    scalar(start, "start")?,
                    scalar(stop, "stop")?,
                    scalar(step, "step")?,
                )
            }
        }
    }
}

impl DatasetNode for ParamSourceNode {
    fn kind(&self) -> &'static str {
        match self.kind {
            ParamSourceKind::Tensors => "FromTensors",
            ParamSourceKind::Slices => "TensorSlices",
            ParamSourceKind::Range => "Range",
        }
    }

    fn describe(&self) -> String {
        "of the traced function's outputs".into()
    }

    fn element_spec(&self) -> ElementSpec {
        self.spec.clone()
    }

    fn cardinality(&self) -> Cardinality {
        Cardinality::Unknown
    }

    fn iterate(&self, ctx: &Context) -> Result<BoxIterator> {
        let params = ctx.params.as_deref().ok_or_else(|| {
            Error::invalid_argument(
                "this dataset was made while tracing a flat_map/interleave function and \
                 can only be iterated inside it",
            )
        })?;
        let dataset = self.build(self.args.bind(params)?)?;
        dataset.make_iterator(ctx)
    }
}

impl Dataset {
    /// A source of a template: `kind` applied to the parameters `args` will name, whose
    /// spec is `args_spec`.
    pub fn param_source(kind: ParamSourceKind, args: ParamTree, args_spec: ElementSpec) -> Dataset {
        let spec = match kind {
            ParamSourceKind::Tensors => args_spec,
            ParamSourceKind::Slices => args_spec.unbatched(),
            ParamSourceKind::Range => ElementSpec::Tensor(TensorSpec {
                dtype: DType::Int64,
                shape: PartialShape::known(&[]),
            }),
        };
        Dataset::from_node(ParamSourceNode { kind, args, spec })
    }
}

/// A template with its parameters bound: the dataset one element made.
struct BoundNode {
    template: Dataset,
    params: Arc<[Element]>,
    /// What the template's nodes keep across iterators, for this dataset alone.
    instance: Arc<InstanceState>,
}

impl DatasetNode for BoundNode {
    fn kind(&self) -> &'static str {
        "Bound"
    }

    fn inputs(&self) -> Vec<&Dataset> {
        vec![&self.template]
    }

    fn element_spec(&self) -> ElementSpec {
        self.template.element_spec()
    }

    fn cardinality(&self) -> Cardinality {
        self.template.cardinality()
    }

    fn iterate(&self, ctx: &Context) -> Result<BoxIterator> {
        self.template
            .make_iterator(&ctx.bind(self.params.clone(), self.instance.clone()))
    }
}

/// A traced dataset function: `parameters` computes the template's parameters (a tuple,
/// one per parameter) from an element.
pub struct TemplateFn {
    parameters: Arc<dyn MapFn>,
    template: Dataset,
    /// How many times a stage running this function was built; the instance for one
    /// build knows its number (see `instantiate`).
    builds: AtomicU64,
    epoch: u64,
}

/// A binding's id (never 0): (epoch, position) mixed.
fn binding_id(epoch: u64, position: u64) -> u64 {
    crate::ops::random::epoch_seed(position, epoch.wrapping_add(1)) | 1
}

impl TemplateFn {
    pub fn new(parameters: Arc<dyn MapFn>, template: Dataset) -> TemplateFn {
        TemplateFn {
            parameters,
            template,
            builds: AtomicU64::new(0),
            epoch: 0,
        }
    }

    /// The spec of the datasets it makes.
    pub fn element_spec(&self) -> ElementSpec {
        self.template.element_spec()
    }
}

impl DatasetFn for TemplateFn {
    fn call(&self, element: Element) -> Result<Dataset> {
        self.call_at(element, 0)
    }

    /// The parameters are computed as the element at `position` (their random ops draw
    /// from its stream), and the binding is told (epoch, position), so that the random ops
    /// of its stages draw their own streams, not every binding the same ones.
    fn call_at(&self, element: Element, position: u64) -> Result<Dataset> {
        let params: Arc<[Element]> = match self.parameters.call_at(element, position)? {
            Element::Tuple(v) => v.into(),
            other => Arc::new([other]),
        };
        Ok(Dataset::from_node(BoundNode {
            template: self.template.clone(),
            params,
            instance: Arc::new(InstanceState::with_id(binding_id(self.epoch, position))),
        }))
    }

    fn skip_iterations(&self, count: u64) {
        self.builds.fetch_add(count, Ordering::Relaxed);
        self.parameters.skip_iterations(count);
    }

    /// Each build of the stage gets the next epoch, and the parameters' graph its own
    /// instance (random ops draw anew each epoch, as in a map).
    fn instantiate(&self, ctx: &Context) -> Result<Option<Arc<dyn DatasetFn>>> {
        let epoch = self.builds.fetch_add(1, Ordering::Relaxed);
        let parameters = self.parameters.instantiate(ctx)?;
        if epoch == 0 && parameters.is_none() {
            return Ok(None);
        }
        Ok(Some(Arc::new(TemplateFn {
            parameters: parameters.unwrap_or_else(|| self.parameters.clone()),
            template: self.template.clone(),
            builds: AtomicU64::new(0),
            epoch,
        })))
    }

    fn describe(&self) -> String {
        format!("{} making {}", self.parameters.describe(), self.template)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Tensor;
    use crate::ErrorKind;

    fn i64s(ds: &Dataset) -> Vec<i64> {
        ds.collect()
            .unwrap()
            .iter()
            .map(|e| e.as_tensor().unwrap().scalar_value::<i64>().unwrap())
            .collect()
    }

    /// The parameters: a tuple of (0, x, 1) for a range template.
    struct RangeArgs;
    impl MapFn for RangeArgs {
        fn call(&self, element: Element) -> Result<Element> {
            Ok(Element::Tuple(vec![
                Tensor::scalar(0i64).into(),
                element,
                Tensor::scalar(1i64).into(),
            ]))
        }
        fn describe(&self) -> String {
            "range args".into()
        }
    }

    #[test]
    fn a_range_template_is_bound_per_element() {
        let args = ParamTree::Tuple(vec![
            ParamTree::Leaf(0),
            ParamTree::Leaf(1),
            ParamTree::Leaf(2),
        ]);
        let template = Dataset::param_source(ParamSourceKind::Range, args, ElementSpec::Unknown)
            .map(|e: Element| {
                let v = e.into_tensor()?.scalar_value::<i64>()?;
                Ok(Tensor::scalar(v * 10).into())
            });
        let f = Arc::new(TemplateFn::new(Arc::new(RangeArgs), template));
        let ds = Dataset::range(0, 4).flat_map_with(f, ElementSpec::Unknown);
        assert_eq!(i64s(&ds), vec![0, 0, 10, 0, 10, 20]);
    }

    #[test]
    fn a_slices_template_reports_bad_arguments_at_the_element() {
        struct Same;
        impl MapFn for Same {
            fn call(&self, element: Element) -> Result<Element> {
                Ok(element)
            }
            fn describe(&self) -> String {
                "same".into()
            }
        }
        let template = Dataset::param_source(
            ParamSourceKind::Slices,
            ParamTree::Leaf(0),
            ElementSpec::Unknown,
        );
        let f = Arc::new(TemplateFn::new(Arc::new(Same), template));
        let input = Dataset::from_tensor_slices(Element::Tuple(vec![Element::Tensor(
            Tensor::from_vec(&[2], vec![5i64, 6]).unwrap(),
        )]))
        .unwrap();
        // A scalar parameter cannot be sliced: the error surfaces at each element.
        let ds = input.flat_map_with(f, ElementSpec::Unknown);
        let out = ds.iter().unwrap().collect::<Vec<_>>();
        assert_eq!(out.len(), 2);
        for r in out {
            assert_eq!(r.unwrap_err().kind(), ErrorKind::Argument);
        }
    }

    #[test]
    fn a_slices_template_yields_the_rows_of_each_parameter() {
        struct Doubled;
        impl MapFn for Doubled {
            fn call(&self, element: Element) -> Result<Element> {
                let v = element.into_tensor()?.scalar_value::<i64>()?;
                Ok(Tensor::from_vec(&[2], vec![v, 2 * v])?.into())
            }
            fn describe(&self) -> String {
                "doubled".into()
            }
        }
        let template = Dataset::param_source(
            ParamSourceKind::Slices,
            ParamTree::Leaf(0),
            ElementSpec::Unknown,
        );
        let f = Arc::new(TemplateFn::new(Arc::new(Doubled), template));
        let ds = Dataset::range(1, 4).flat_map_with(f, ElementSpec::Unknown);
        assert_eq!(i64s(&ds), vec![1, 2, 2, 4, 3, 6]);
    }

    /// Each element's dataset is a new dataset: a seeded shuffle repeats its first order
    /// for every element (as tf.data's does for datasets a function makes), and a cache
    /// holds one element's values, not the first element's.
    #[test]
    fn each_binding_is_a_new_dataset_for_stateful_stages() {
        let args = ParamTree::Tuple(vec![
            ParamTree::Leaf(0),
            ParamTree::Leaf(1),
            ParamTree::Leaf(2),
        ]);
        let range = Dataset::param_source(ParamSourceKind::Range, args, ElementSpec::Unknown);
        let shuffled = range.shuffle(8, Some(7), true).unwrap().take(8).unwrap();
        let f = Arc::new(TemplateFn::new(Arc::new(ConstRange(8)), shuffled));
        let out = i64s(&Dataset::range(0, 3).flat_map_with(f, ElementSpec::Unknown));
        assert_eq!(out[..8], out[8..16]);
        assert_eq!(out[8..16], out[16..]);

        let cached = range.cache("").repeat(2).unwrap();
        let f = Arc::new(TemplateFn::new(Arc::new(RangeArgs), cached));
        let out = i64s(&Dataset::range(1, 3).flat_map_with(f, ElementSpec::Unknown));
        assert_eq!(out, vec![0, 0, 0, 1, 0, 1]);
    }

    /// The parameters (0, n, 1) whatever the element.
    struct ConstRange(i64);
    impl MapFn for ConstRange {
        fn call(&self, _element: Element) -> Result<Element> {
            Ok(Element::Tuple(vec![
                Tensor::scalar(0i64).into(),
                Tensor::scalar(self.0).into(),
                Tensor::scalar(1i64).into(),
            ]))
        }
        fn describe(&self) -> String {
            "const range".into()
        }
    }

    #[test]
    fn a_template_iterated_on_its_own_says_why_it_cannot_be() {
        let template = Dataset::param_source(
            ParamSourceKind::Tensors,
            ParamTree::Leaf(0),
            ElementSpec::Unknown,
        );
        let err = template
            .iter()
            .err()
            .expect("an unbound template fails to start");
        assert!(err.to_string().contains("tracing"), "{err}");
    }
}
