//! `headrace._native.Graph`: a traced function, built by the Python tracer
//! (`python/headrace/tracing.py`) from a node list, and run by the engine without the GIL.

use std::sync::Arc;

use headrace::ops::arithmetic::BinaryOp;
use headrace::ops::array::{ArrayOp, SliceItem};
use headrace::ops::compare::CompareOp;
use headrace::ops::graph::{Graph, MultiOp, Node, Output};
use headrace::ops::random::Distribution;
use headrace::ops::reduce::Reduction;
use headrace::ops::text::TextOp;
use headrace::ops::unary::UnaryOp;
use headrace::DType;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::convert::to_tensor;
use crate::errors::to_py;

#[pyclass(module = "headrace._native", name = "Graph", frozen)]
pub struct NativeGraph {
    pub graph: Arc<Graph>,
}

pub(crate) fn bad(message: String) -> PyErr {
    PyValueError::new_err(message)
}

fn node_from_py(item: &Bound<'_, PyAny>) -> PyResult<Node> {
    let t = item.cast::<PyTuple>()?;
    let kind: String = t.get_item(0)?.extract()?;
    let idx = |i: usize| -> PyResult<usize> { t.get_item(i)?.extract() };
    let name = || -> PyResult<String> { t.get_item(1)?.extract() };
    Ok(match kind.as_str() {
        "input" => Node::Input(idx(1)?),
        "const" => Node::Const(to_tensor(&t.get_item(1)?)?),
        "binary" => {
            let n = name()?;
            if let Some(op) = BinaryOp::from_name(&n) {
                Node::Binary(op, idx(2)?, idx(3)?)
            } else if let Some(op) = CompareOp::from_name(&n) {
                Node::Compare(op, idx(2)?, idx(3)?)
            } else {
                return Err(bad(format!("graph: no binary op named {n:?}")));
            }
        }
        "unary" => {
            let n = name()?;
            if n == "logical_not" {
                Node::LogicalNot(idx(2)?)
            } else {
                let op = UnaryOp::from_name(&n)
                    .ok_or_else(|| bad(format!("graph: no unary op named {n:?}")))?;
                Node::Unary(op, idx(2)?)
            }
        }
        "cast" => {
            let d: String = t.get_item(2)?.extract()?;
            let dtype =
                DType::from_name(&d).ok_or_else(|| bad(format!("graph: unknown dtype {d:?}")))?;
            Node::Cast(idx(1)?, dtype)
        }
        "reduce" => {
            let n = name()?;
            let r = Reduction::from_name(&n)
                .ok_or_else(|| bad(format!("graph: no reduction named {n:?}")))?;
            Node::Reduce(
                r,
                idx(2)?,
                t.get_item(3)?.extract()?,
                t.get_item(4)?.extract()?,
            )
        }
        "arg" => Node::ArgReduce(name()? == "argmax", idx(2)?, t.get_item(3)?.extract()?),
        "random" => random_node(t)?,
        "text" => Node::Text(
            text_op_from_py(&name()?, &t.get_item(2)?)?,
            t.get_item(3)?.extract()?,
        ),
        "image" => Node::Image(
            crate::image::image_op_from_py(t.py(), &name()?, &t.get_item(2)?)?,
            t.get_item(3)?.extract()?,
        ),
        "random_image" => {
            let inputs: Vec<usize> = t.get_item(3)?.extract()?;
            Node::RandomImage {
                op: crate::image::random_image_op_from_py(t.py(), &name()?, &t.get_item(2)?)?,
                seed: t.get_item(4)?.extract()?,
                input: *inputs
                    .first()
                    .ok_or_else(|| bad("random_image: needs an input".into()))?,
            }
        }
        "array" => Node::Array(
            array_op_from_py(&name()?, &t.get_item(2)?)?,
            t.get_item(3)?.extract()?,
        ),
        "multi" => Node::Multi(
            multi_op_from_py(&name()?, &t.get_item(2)?)?,
            t.get_item(3)?.extract()?,
        ),
        "part" => Node::Part(idx(1)?, idx(2)?),
        other => return Err(bad(format!("graph: unknown node kind {other:?}"))),
    })
}

/// An op with several outputs, from its name and attributes.
fn multi_op_from_py(name: &str, attrs: &Bound<'_, PyAny>) -> PyResult<MultiOp> {
    Ok(match name {
        "split" => MultiOp::Split(attrs.extract()?),
        "parse" => MultiOp::Parse(crate::example::parse_op_from_py(attrs)?),
        other => return Err(bad(format!("no multi-output op named {other:?}"))),
    })
}

/// A string or file op from its name and attributes, as `python/headrace/tracing.py`
/// encodes them.
pub fn text_op_from_py(name: &str, attrs: &Bound<'_, PyAny>) -> PyResult<TextOp> {
    let dtype =
        |d: String| DType::from_name(&d).ok_or_else(|| bad(format!("{name}: unknown dtype {d:?}")));
    Ok(match name {
        "length" => TextOp::Length(attrs.extract()?),
        "substr" => {
            let (pos, len): (i64, i64) = attrs.extract()?;
            TextOp::Substr(pos, len)
        }
        "join" => TextOp::Join(attrs.extract()?),
        "to_number" => TextOp::ToNumber(dtype(attrs.extract()?)?),
        "regex_full_match" => TextOp::RegexFullMatch(attrs.extract()?),
        "lower" => TextOp::Lower,
        "upper" => TextOp::Upper,
        "read_file" => TextOp::ReadFile,
        "decode_raw" => {
            let (d, little, fixed): (String, bool, Option<usize>) = attrs.extract()?;
            TextOp::DecodeRaw(dtype(d)?, little, fixed)
        }
        other => return Err(bad(format!("no string or file op named {other:?}"))),
    })
}

/// An array op from its name and attributes, as `python/headrace/tracing.py` encodes them.
pub fn array_op_from_py(name: &str, attrs: &Bound<'_, PyAny>) -> PyResult<ArrayOp> {
    Ok(match name {
        "reshape" => ArrayOp::Reshape(attrs.extract()?),
        "transpose" => ArrayOp::Transpose(attrs.extract()?),
        "expand_dims" => ArrayOp::ExpandDims(attrs.extract()?),
        "squeeze" => ArrayOp::Squeeze(attrs.extract()?),
        "stack" => ArrayOp::Stack(attrs.extract()?),
        "concat" => ArrayOp::Concat(attrs.extract()?),
        "tile" => ArrayOp::Tile(attrs.extract()?),
        "gather" => ArrayOp::Gather(attrs.extract()?),
        "one_hot" => {
            let (depth, d): (i64, String) = attrs.extract()?;
            let dtype =
                DType::from_name(&d).ok_or_else(|| bad(format!("one_hot: unknown dtype {d:?}")))?;
            ArrayOp::OneHot(depth, dtype)
        }
        "where" => ArrayOp::Where,
        "fill" => ArrayOp::Fill(attrs.extract()?),
        "shape" => ArrayOp::Shape,
        "slice" => {
            let mut items = Vec::new();
            for item in attrs.cast::<PyList>()?.iter() {
                let t = item.cast::<PyTuple>()?;
                let kind: String = t.get_item(0)?.extract()?;
                items.push(match kind.as_str() {
                    "index" => SliceItem::Index(t.get_item(1)?.extract()?),
                    "range" => SliceItem::Range {
                        start: t.get_item(1)?.extract()?,
                        stop: t.get_item(2)?.extract()?,
                        step: t.get_item(3)?.extract()?,
                    },
                    "newaxis" => SliceItem::NewAxis,
                    "ellipsis" => SliceItem::Ellipsis,
                    other => return Err(bad(format!("slice: unknown item {other:?}"))),
                });
            }
            ArrayOp::Slice(items)
        }
        other => return Err(bad(format!("no array op named {other:?}"))),
    })
}

/// `("random", "uniform"|"normal", shape, dtype_name, seed, a, b)`: (low, high) or
/// (mean, stddev).
fn random_node(t: &Bound<'_, PyTuple>) -> PyResult<Node> {
    let kind: String = t.get_item(1)?.extract()?;
    let (a, b): (f64, f64) = (t.get_item(5)?.extract()?, t.get_item(6)?.extract()?);
    let dist = match kind.as_str() {
        "uniform" => Distribution::Uniform { low: a, high: b },
        "normal" => Distribution::Normal { mean: a, stddev: b },
        other => return Err(bad(format!("graph: no random distribution {other:?}"))),
    };
    let d: String = t.get_item(3)?.extract()?;
    Ok(Node::Random {
        dist,
        shape: t.get_item(2)?.extract()?,
        dtype: DType::from_name(&d).ok_or_else(|| bad(format!("graph: unknown dtype {d:?}")))?,
        seed: t.get_item(4)?.extract()?,
    })
}

fn output_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Output> {
    if let Ok(l) = obj.cast::<PyList>() {
        return Ok(Output::Tuple(
            l.iter()
                .map(|x| output_from_py(&x))
                .collect::<PyResult<_>>()?,
        ));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut items: Vec<(Arc<str>, Output)> = Vec::new();
        for (k, v) in d.iter() {
            items.push((k.extract::<String>()?.into(), output_from_py(&v)?));
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        return Ok(Output::Dict(items));
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        // ("ragged", [values, splits…]) or ("sparse", [indices, values, dense_shape]).
        let kind: String = t.get_item(0)?.extract()?;
        let nodes: Vec<usize> = t.get_item(1)?.extract()?;
        return match (kind.as_str(), nodes.as_slice()) {
            ("ragged", [_, ..]) => Ok(Output::Ragged(nodes)),
            ("sparse", &[i, v, s]) => Ok(Output::Sparse([i, v, s])),
            _ => Err(bad(format!(
                "graph: bad composite output {kind:?} {nodes:?}"
            ))),
        };
    }
    Ok(Output::Node(obj.extract()?))
}

#[pymethods]
impl NativeGraph {
    /// `nodes`: `("input", i)`, `("const", value)`, `("binary", op, a, b)`,
    /// `("unary", op, a)`, `("cast", a, dtype_name)`; `output`: node indices nested in lists
    /// (tuples) and dicts.
    #[new]
    fn new(
        py: Python<'_>,
        nodes: &Bound<'_, PyList>,
        output: &Bound<'_, PyAny>,
        name: String,
    ) -> PyResult<Self> {
        let nodes = nodes
            .iter()
            .map(|n| node_from_py(&n))
            .collect::<PyResult<Vec<_>>>()?;
        let graph = Graph::new(nodes, output_from_py(output)?, name).map_err(|e| to_py(py, e))?;
        Ok(NativeGraph {
            graph: Arc::new(graph),
        })
    }

    fn __repr__(&self) -> String {
        use headrace::dataset::MapFn;
        format!("<Graph {}>", self.graph.describe())
    }
}
