//! Helpers shared by the transformations' tests: int64 values read back, scripted sources
//! of elements, errors and interruptions, and a way to read back every outcome.

/// The elements of a dataset of int64 scalars.
pub fn values(ds: &Dataset) -> Vec<i64> {
    ds.collect()
        .unwrap()
        .into_iter()
        .map(|e| e.into_tensor().unwrap().scalar_value::<i64>().unwrap())
        .collect()
}

/// The elements of a dataset of string scalars, as text.
pub fn strings(ds: &Dataset) -> Vec<String> {
    ds.collect()
        .unwrap()
        .into_iter()
        .map(|e| {
            let t = e.into_tensor().unwrap();
            assert_eq!((t.dtype(), t.rank()), (crate::DType::String, 0));
            String::from_utf8(t.string_values().unwrap()[0].to_vec()).unwrap()
        })
        .collect()
}

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::{BoxIterator, Cardinality, Context, Dataset, DatasetNode, ElementIterator};
use crate::error::{Error, Result};
use crate::value::{DType, PartialShape, Tensor, TensorSpec};
use crate::value::{Element, ElementSpec};
use crate::ErrorKind;

/// One scripted outcome.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Item {
    /// An int64 scalar element.
    V(i64),
    /// An error element (`InvalidArgument` with this message).
    E(&'static str),
    /// An interrupted wait, as Ctrl-C makes one: the next call goes on.
    Interrupt,
}

/// What an outcome reads back as: the value, or the error's message
/// (`"<interrupted>"` for an interruption).
pub type Outcome = std::result::Result<i64, String>;

struct ScriptNode {
    epochs: Vec<Vec<Item>>,
    iterations: AtomicUsize,
    pulled: Arc<AtomicUsize>,
}

impl DatasetNode for ScriptNode {
    fn kind(&self) -> &'static str {
        "Script"
    }

    fn element_spec(&self) -> ElementSpec {
        ElementSpec::Tensor(TensorSpec {
            dtype: DType::Int64,
            shape: PartialShape::known(&[]),
        })
    }

    fn cardinality(&self) -> Cardinality {
        Cardinality::Unknown
    }

    fn iterate(&self, _ctx: &Context) -> Result<BoxIterator> {
        let k = self.iterations.fetch_add(1, Ordering::Relaxed);
        let items = self.epochs[k.min(self.epochs.len() - 1)].clone();
        Ok(Box::new(ScriptIter {
            items: items.into_iter(),
            pulled: self.pulled.clone(),
        }))
    }
}

struct ScriptIter {
    items: std::vec::IntoIter<Item>,
    pulled: Arc<AtomicUsize>,
}

impl ElementIterator for ScriptIter {
    fn next(&mut self) -> Option<Result<Element>> {
        let item = self.items.next()?;
        self.pulled.fetch_add(1, Ordering::Relaxed);
        Some(match item {
            Item::V(v) => Ok(Tensor::scalar(v).into()),
            Item::E(m) => Err(Error::invalid_argument(m)),
            Item::Interrupt => Err(Error::interrupted()),
        })
    }
}

/// A source yielding `items` each time it is iterated (cardinality unknown).
pub fn script(items: &[Item]) -> Dataset {
    script_epochs(vec![items.to_vec()])
}

/// A source whose k-th iterator yields `epochs[k]` (the last one once k runs past).
pub fn script_epochs(epochs: Vec<Vec<Item>>) -> Dataset {
    script_counting(epochs).0
}

/// `script_epochs`, with the number of items its iterators were asked for so far.
pub fn script_counting(epochs: Vec<Vec<Item>>) -> (Dataset, Arc<AtomicUsize>) {
    assert!(!epochs.is_empty());
    let pulled = Arc::new(AtomicUsize::new(0));
    let ds = Dataset::from_node(ScriptNode {
        epochs,
        iterations: AtomicUsize::new(0),
        pulled: pulled.clone(),
    });
    (ds, pulled)
}

/// The outcome of a result of int64 scalars.
pub fn outcome(item: Result<Element>) -> Outcome {
    match item {
        Ok(e) => Ok(e.into_tensor().unwrap().scalar_value::<i64>().unwrap()),
        Err(e) if e.kind() == ErrorKind::Interrupted => Err("<interrupted>".into()),
        Err(e) => Err(e.message().to_string()),
    }
}

/// Every outcome of one iteration of a dataset of int64 scalars, errors included.
pub fn outcomes(ds: &Dataset) -> Vec<Outcome> {
    ds.iter().unwrap().map(outcome).collect()
}

/// The outcomes that `items` stand for.
pub fn expect(items: &[Item]) -> Vec<Outcome> {
    items
        .iter()
        .map(|i| match *i {
            Item::V(v) => Ok(v),
            Item::E(m) => Err(m.to_string()),
            Item::Interrupt => Err("<interrupted>".into()),
        })
        .collect()
}
