//! A traced function: a list of kernel calls over an element's components, run natively.
//!
//! The Python layer builds one by calling the user's function on symbolic placeholders;
//! nodes are appended in the order the function made them, so every node's inputs come
//! before it and the graph runs front to back. A graph implements `MapFn` and `PredicateFn`,
//! so map and filter run it on engine threads without the GIL.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::arithmetic::{binary, binary_owned, BinaryOp};
use super::array::{apply, ArrayOp};
use super::cast::cast;
use super::compare::{compare, logical_not, CompareOp};
use super::fusion;
use super::image::{self, ImageOp, RandomImageOp};
use super::random::{self, random, stream, Distribution};
use super::reduce::{arg_reduce, reduce, Reduction};
use super::text::{self, TextOp};
use super::unary::{unary, UnaryOp};
use crate::dataset::{Context, MapFn, Options, PredicateFn};
use crate::error::{Error, Result};
use crate::value::{Bool, DType, Element, RaggedTensor, SparseTensor, Tensor};

/// One kernel call; operands are indices of earlier nodes.
#[derive(Clone, Debug)]
pub enum Node {
    /// The `i`-th component of the input element (`Element::leaves` order).
    Input(usize),
    Const(Tensor),
    Binary(BinaryOp, usize, usize),
    Compare(CompareOp, usize, usize),
    Unary(UnaryOp, usize),
    LogicalNot(usize),
    Cast(usize, DType),
    /// A reduction over axes (all when empty), keeping reduced axes when the flag is set.
    Reduce(Reduction, usize, Vec<i64>, bool),
    /// argmax (true) or argmin (false) along an axis.
    ArgReduce(bool, usize, i64),
    /// An array op over several earlier nodes.
    Array(ArrayOp, Vec<usize>),
    /// A string or file op over earlier nodes.
    Text(TextOp, Vec<usize>),
    /// An image op over an earlier node.
    Image(ImageOp, Vec<usize>),
    /// A random image op (random_crop …) over an earlier node, drawing from a seeded stream
    /// per element.
    RandomImage {
        op: RandomImageOp,
        seed: u64,
        input: usize,
    },
    /// Random values of a shape and dtype, from a seeded stream per element.
    Random {
        dist: Distribution,
        shape: Vec<usize>,
        dtype: DType,
        seed: u64,
    },
    /// An op with several outputs: its value is the first; `Part` reads the others.
    Multi(MultiOp, Vec<usize>),
    /// Output `k` of an earlier `Multi` node.
    Part(usize, usize),
}

/// The ops with several outputs (the parts of ragged or sparse results).
#[derive(Clone, Debug)]
pub enum MultiOp {
    /// `strings.split(x, sep)`: pieces (and, for a vector, row splits).
    Split(Option<Vec<u8>>),
    /// Example parsing: each feature's tensors in spec order.
    Parse(super::parse::ParseOp),
}

impl MultiOp {
    fn apply(&self, inputs: &[&Tensor]) -> Result<Vec<Tensor>> {
        match (self, inputs) {
            (MultiOp::Split(sep), [x]) => super::strings::split_to_tensors(x, sep.as_deref()),
            (MultiOp::Parse(op), [x]) => super::parse::parse(op, x),
            (op, _) => Err(Error::internal(format!(
                "{op:?} got {} inputs",
                inputs.len()
            ))),
        }
    }
}

/// Where the graph's outputs come from, nested as the function's result was.
#[derive(Clone, Debug)]
pub enum Output {
    Node(usize),
    /// A ragged value: its values node, then its row splits nodes, outermost first.
    Ragged(Vec<usize>),
    /// A sparse value: its indices, values and dense shape nodes.
    Sparse([usize; 3]),
    Tuple(Vec<Output>),
    Dict(Vec<(Arc<str>, Output)>),
}

/// Every operand refers to an earlier node, and every output to a node.
fn check(nodes: &[Node], output: &Output) -> Result<()> {
    for (i, node) in nodes.iter().enumerate() {
        if let Some(bad) = fusion::operands(node).into_iter().find(|&o| o >= i) {
            return Err(Error::internal(format!(
                "graph node {i} uses node {bad}, which is not before it"
            )));
        }
    }
    let mut outputs = Vec::new();
    fusion::output_nodes(output, &mut outputs);
    match outputs.into_iter().find(|&i| i >= nodes.len()) {
        Some(i) => Err(Error::internal(format!(
            "graph output uses node {i} of {}",
            nodes.len()
        ))),
        None => Ok(()),
    }
}

#[derive(Debug)]
pub struct Graph {
    nodes: Vec<Node>,
    output: Output,
    name: String,
    /// Whether a node's value is needed (the others are not run).
    live: Vec<bool>,
    /// The values to drop after each node has run (see `fusion.rs`).
    drops: Vec<Vec<usize>>,
    /// Which build of its stage this graph runs for (see `MapFn::instantiate` below): its
    /// random ops draw from streams of (seed, epoch, position), epoch 0 from (seed,
    /// position) as an eager call does.
    epoch: u64,
    /// How many times a stage running this graph was built: each epoch of `repeat`, and
    /// each new iteration of the dataset, draws anew, as `shuffle` reshuffles.
    builds: AtomicU64,
}

impl Graph {
    /// Checks that every operand refers to an earlier node and every output to a node,
    /// then applies the rewrites of `fusion.rs`.
    pub fn new(mut nodes: Vec<Node>, output: Output, name: String) -> Result<Graph> {
        check(&nodes, &output)?;
        fusion::fuse_decode_and_crop(&mut nodes, &output);
        Ok(Graph::scheduled(nodes, output, name))
    }

    /// The graph as traced, without fusions: the reference the fused graph is tested
    /// against.
    pub fn exact(nodes: Vec<Node>, output: Output, name: String) -> Result<Graph> {
        check(&nodes, &output)?;
        Ok(Graph::scheduled(nodes, output, name))
    }

    /// The graph with what running it needs: which nodes are live, and when each value may
    /// be dropped.
    fn scheduled(nodes: Vec<Node>, output: Output, name: String) -> Graph {
        let live = fusion::live_nodes(&nodes, &output);
        let drops = fusion::last_uses(&nodes, &output);
        Graph {
            nodes,
            output,
            name,
            live,
            drops,
            epoch: 0,
            builds: AtomicU64::new(0),
        }
    }

    /// Whether the graph draws random numbers.
    fn has_random_ops(&self) -> bool {
        self.nodes
            .iter()
            .any(|n| matches!(n, Node::Random { .. } | Node::RandomImage { .. }))
    }

    /// The graph to run for a new build of its stage: `ctx.options` applied, and a new
    /// epoch for the random ops (none when the graph has none: the same graph serves).
    /// Inside a template binding (the inner dataset of a traced flat_map or interleave) the
    /// builds are counted per binding, from 0: bindings are built on whichever thread opens
    /// them, and a shared count would make their values depend on that.
    fn instance(&self, ctx: &Context) -> Option<Graph> {
        let approximated = self.approximated(&ctx.options);
        let epoch = if self.has_random_ops() {
            let key = self as *const Graph as usize;
            match ctx.binding_state(key, || AtomicU64::new(0)) {
                // Its own streams for each binding (from its element's position and the
                // template stage's epoch), and each build in it.
                Some(builds) => {
                    let k = builds.fetch_add(1, Ordering::Relaxed);
                    random::epoch_seed(ctx.binding_id().unwrap_or(0), k.wrapping_add(1))
                }
                None => self.builds.fetch_add(1, Ordering::Relaxed),
            }
        } else {
            0
        };
        if epoch == 0 {
            return approximated;
        }
        let base = approximated.as_ref().unwrap_or(self);
        let mut graph =
            Graph::scheduled(base.nodes.clone(), base.output.clone(), base.name.clone());
        graph.epoch = epoch;
        Some(graph)
    }

    /// Counts `count` builds more (see `DatasetNode::skip_iterations`).
    fn skip_builds(&self, count: u64) {
        if self.has_random_ops() {
            self.builds.fetch_add(count, Ordering::Relaxed);
        }
    }

    /// The seed a random op of this graph's epoch draws from.
    fn epoch_seed(&self, seed: u64) -> u64 {
        if self.epoch == 0 {
            seed
        } else {
            random::epoch_seed(seed, self.epoch)
        }
    }

    /// The nodes, after the rewrites.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn num_ops(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| !matches!(n, Node::Input(_) | Node::Const(_) | Node::Part(..)))
            .count()
    }

    /// Runs the graph on one element (as the element at input position 0).
    pub fn run(&self, element: &Element) -> Result<Element> {
        self.run_at(element, 0)
    }

    /// Runs the graph on the element at input `position`: random ops draw from streams
    /// derived from their seed and the position.
    pub fn run_at(&self, element: &Element, position: u64) -> Result<Element> {
        let inputs = element.leaves();
        let mut values: Vec<Tensor> = Vec::with_capacity(self.nodes.len());
        // The outputs of Multi nodes (empty for the others: no allocation).
        let mut parts: Vec<Vec<Tensor>> = Vec::with_capacity(self.nodes.len());
        // Stands for the value of a node not run, or dropped after its last use.
        let none = Tensor::scalar(0u8);
        for (j, node) in self.nodes.iter().enumerate() {
            if !self.live[j] {
                values.push(none.clone());
                parts.push(Vec::new());
                continue;
            }
            let mut node_parts = Vec::new();
            let v = match node {
                Node::Input(i) => (*inputs.get(*i).ok_or_else(|| {
                    Error::invalid_argument(format!(
                        "{}: the element has {} components, the traced function expects more",
                        self.name,
                        inputs.len()
                    ))
                })?)
                .clone(),
                Node::Const(t) => t.clone(),
                Node::Binary(op, a, b) if a != b && self.drops[j].contains(a) => {
                    // The first operand's last use: its buffer may take the result (when
                    // nothing else holds it), as TensorFlow forwards an input buffer.
                    let owned = std::mem::replace(&mut values[*a], none.clone());
                    binary_owned(*op, owned, &values[*b])?
                }
                Node::Binary(op, a, b) => binary(*op, &values[*a], &values[*b])?,
                Node::Compare(op, a, b) => compare(*op, &values[*a], &values[*b])?,
                Node::Unary(op, a) => unary(*op, &values[*a])?,
                Node::LogicalNot(a) => logical_not(&values[*a])?,
                Node::Cast(a, dtype) => cast(&values[*a], *dtype)?,
                Node::Reduce(r, a, axes, keepdims) => reduce(*r, &values[*a], axes, *keepdims)?,
                Node::ArgReduce(max, a, axis) => arg_reduce(*max, &values[*a], *axis)?,
                Node::Array(op, inputs) => {
                    let args: Vec<&Tensor> = inputs.iter().map(|&i| &values[i]).collect();
                    apply(op, &args)?
                }
                Node::Text(op, inputs) => {
                    let args: Vec<&Tensor> = inputs.iter().map(|&i| &values[i]).collect();
                    text::apply(op, &args)?
                }
                Node::Image(op, inputs) => {
                    let args: Vec<&Tensor> = inputs.iter().map(|&i| &values[i]).collect();
                    image::apply(op, &args)?
                }
                Node::RandomImage { op, seed, input } => {
                    let mut rng = stream(self.epoch_seed(*seed), position, values.len() as u64);
                    if self.drops[j].contains(input) {
                        // The image's last use: a flip may write over it (see Binary).
                        let owned = std::mem::replace(&mut values[*input], none.clone());
                        image::apply_random_owned(op, owned, &mut rng)?
                    } else {
                        image::apply_random(op, &values[*input], &mut rng)?
                    }
                }
                Node::Random {
                    dist,
                    shape,
                    dtype,
                    seed,
                } => {
                    let mut rng = stream(self.epoch_seed(*seed), position, values.len() as u64);
                    random(*dist, shape, *dtype, &mut rng)?
                }
                Node::Multi(op, inputs) => {
                    let args: Vec<&Tensor> = inputs.iter().map(|&i| &values[i]).collect();
                    node_parts = op.apply(&args)?;
                    node_parts
                        .first()
                        .cloned()
                        .ok_or_else(|| Error::internal(format!("{op:?} gave no outputs")))?
                }
                Node::Part(a, k) => parts[*a].get(*k).cloned().ok_or_else(|| {
                    Error::invalid_argument(format!(
                        "{}: node {a} has no output {k} for this input",
                        self.name
                    ))
                })?,
            };
            values.push(v);
            parts.push(node_parts);
            for &i in &self.drops[j] {
                values[i] = none.clone();
                parts[i] = Vec::new();
            }
        }
        self.assemble(&self.output, &values)
    }

    fn assemble(&self, o: &Output, values: &[Tensor]) -> Result<Element> {
        Ok(match o {
            Output::Node(i) => Element::Tensor(values[*i].clone()),
            Output::Ragged(v) => Element::Ragged(
                RaggedTensor::new(
                    values[v[0]].clone(),
                    v[1..].iter().map(|&i| values[i].clone()).collect(),
                )?
                .into(),
            ),
            Output::Sparse([i, v, s]) => Element::Sparse(
                SparseTensor::new(values[*i].clone(), values[*v].clone(), values[*s].clone())?
                    .into(),
            ),
            Output::Tuple(v) => Element::Tuple(
                v.iter()
                    .map(|o| self.assemble(o, values))
                    .collect::<Result<_>>()?,
            ),
            Output::Dict(v) => Element::Dict(
                v.iter()
                    .map(|(k, o)| Ok((k.clone(), self.assemble(o, values)?)))
                    .collect::<Result<_>>()?,
            ),
        })
    }
}

impl Graph {
    /// This graph with `approximate_image_ops` applied, when the options ask for it and a
    /// decode it rewrites is there (see `fusion.rs`).
    pub(super) fn approximated(&self, options: &Options) -> Option<Graph> {
        if options.approximate_image_ops != Some(true) {
            return None;
        }
        let mut nodes = self.nodes.clone();
        if !fusion::decode_at_reduced_scale(&mut nodes, &self.output) {
            return None;
        }
        Some(Graph::scheduled(
            nodes,
            self.output.clone(),
            self.name.clone(),
        ))
    }
}

impl MapFn for Graph {
    fn call(&self, element: Element) -> Result<Element> {
        self.run(&element)
    }

    /// An error names the function and the element's position in the map's input (a
    /// corrupt image among thousands is then found at once).
    fn call_at(&self, element: Element, position: u64) -> Result<Element> {
        self.run_at(&element, position).map_err(|e| {
            if e.is_interruption() {
                e
            } else {
                e.context(format_args!("{} on element {position}", self.name))
            }
        })
    }

    fn specialize(&self, options: &Options) -> Option<Arc<dyn MapFn>> {
        Some(Arc::new(self.approximated(options)?))
    }

    /// Each build of the stage gets the next epoch: random ops draw anew each epoch of
    /// `repeat` and each iteration, deterministically (two pipelines traced with the same
    /// seeds draw the same values), whatever the parallelism.
    fn instantiate(&self, ctx: &Context) -> Result<Option<Arc<dyn MapFn>>> {
        Ok(self.instance(ctx).map(|g| Arc::new(g) as Arc<dyn MapFn>))
    }

    fn skip_iterations(&self, count: u64) {
        self.skip_builds(count);
    }

    fn describe(&self) -> String {
        format!("{} (traced, {} ops)", self.name, self.num_ops())
    }
}

impl PredicateFn for Graph {
    fn call(&self, element: &Element) -> Result<bool> {
        PredicateFn::call_at(self, element, 0)
    }

    fn call_at(&self, element: &Element, position: u64) -> Result<bool> {
        let out = self.run_at(element, position)?;
        match out.as_tensor() {
            Some(t) if t.dtype() == DType::Bool && t.rank() == 0 => {
                Ok(t.scalar_value::<Bool>()?.0 != 0)
            }
            _ => Err(Error::invalid_argument(format!(
                "filter: the predicate {} must return a scalar bool, got {}",
                self.name,
                out.structure_name()
            ))),
        }
    }

    fn instantiate(&self, ctx: &Context) -> Result<Option<Arc<dyn PredicateFn>>> {
        Ok(self
            .instance(ctx)
            .map(|g| Arc::new(g) as Arc<dyn PredicateFn>))
    }

    fn skip_iterations(&self, count: u64) {
        self.skip_builds(count);
    }

    fn describe(&self) -> String {
        MapFn::describe(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dataset;

    /// uniform([4], seed=9)
    fn draw() -> Graph {
        Graph::new(
            vec![Node::Random {
                dist: Distribution::Uniform {
                    low: 0.0,
                    high: 1.0,
                },
                shape: vec![4],
                dtype: DType::Float32,
                seed: 9,
            }],
            Output::Node(0),
            "draw".into(),
        )
        .unwrap()
    }

    #[test]
    fn each_build_of_a_stage_draws_a_new_epoch() {
        let element = Element::Tensor(Tensor::scalar(0i64));
        let graph = draw();
        let ctx = Context::root(Arc::new(Options::default()));
        // The first build runs the graph itself: epoch 0, the values of an eager call.
        assert!(graph.instance(&ctx).is_none());
        let epochs: Vec<Graph> = (1..4).map(|_| graph.instance(&ctx).unwrap()).collect();
        let at = |g: &Graph, p| g.run_at(&element, p).unwrap();
        let firsts: Vec<_> = std::iter::once(&graph)
            .chain(&epochs)
            .map(|g| format!("{:?}", at(g, 5)))
            .collect();
        let distinct: std::collections::HashSet<_> = firsts.iter().collect();
        assert_eq!(distinct.len(), 4, "each epoch draws anew: {firsts:?}");
        // A graph traced again with the same seed repeats every epoch.
        let again = draw();
        assert!(again.instance(&ctx).is_none());
        assert_eq!(
            format!("{:?}", at(&again.instance(&ctx).unwrap(), 5)),
            firsts[1]
        );
        // A copy that skips two builds catches up: its next build is epoch 2.
        let copy = draw();
        copy.skip_builds(2);
        assert_eq!(
            format!("{:?}", at(&copy.instance(&ctx).unwrap(), 5)),
            firsts[2]
        );
        // Without random ops, every build runs the same graph.
        let plain = affine();
        assert!((0..3).all(|_| plain.instance(&ctx).is_none()));
    }

    /// x * 2 + 1
    fn affine() -> Graph {
        Graph::new(
            vec![
                Node::Input(0),
                Node::Const(Tensor::scalar(2i64)),
                Node::Binary(BinaryOp::Multiply, 0, 1),
                Node::Const(Tensor::scalar(1i64)),
                Node::Binary(BinaryOp::Add, 2, 3),
            ],
            Output::Node(4),
            "affine".into(),
        )
        .unwrap()
    }

    #[test]
    fn runs_in_a_pipeline_and_on_batches() {
        let g: Arc<dyn MapFn> = Arc::new(affine());
        let ds = Dataset::range(0, 5).map_with(g.clone(), None, None, crate::ElementSpec::Unknown);
        assert_eq!(crate::dataset::testing::values(&ds), vec![1, 3, 5, 7, 9]);
        let batched = Dataset::range(0, 5).batch(5, false).unwrap().map_with(
            g,
            None,
            None,
            crate::ElementSpec::Unknown,
        );
        let out = batched.collect().unwrap();
        assert_eq!(
            out[0].as_tensor().unwrap().as_slice::<i64>().unwrap(),
            &[1, 3, 5, 7, 9]
        );
    }

    /// The in-place path (an operand's last use takes the result) never writes over the
    /// caller's element and gives the allocating path's values.
    #[test]
    fn in_place_arithmetic_leaves_the_input_alone() {
        let input = Tensor::from_vec(&[4], vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
        let element = Element::Tensor(input.clone());
        // ((x * 2) + 1) / 4: node 2 reads the input (shared: allocates), 4 and 6 reuse.
        let nodes = vec![
            Node::Input(0),
            Node::Const(Tensor::scalar(2.0f32)),
            Node::Binary(BinaryOp::Multiply, 0, 1),
            Node::Const(Tensor::scalar(1.0f32)),
            Node::Binary(BinaryOp::Add, 2, 3),
            Node::Const(Tensor::scalar(4.0f32)),
            Node::Binary(BinaryOp::Divide, 4, 5),
        ];
        for build in [Graph::new, Graph::exact] {
            let g = build(nodes.clone(), Output::Node(6), "inplace".into()).unwrap();
            let out = g.run(&element).unwrap().into_tensor().unwrap();
            assert_eq!(out.as_slice::<f32>().unwrap(), &[0.75, 1.25, 1.75, 2.25]);
            assert_eq!(input.as_slice::<f32>().unwrap(), &[1.0, 2.0, 3.0, 4.0]);
        }
    }

    #[test]
    fn rejects_forward_references() {
        assert!(Graph::new(
            vec![Node::Unary(UnaryOp::Abs, 0)],
            Output::Node(0),
            "bad".into()
        )
        .is_err());
        assert!(Graph::new(vec![Node::Input(0)], Output::Node(3), "bad".into()).is_err());
    }
}
