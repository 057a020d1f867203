//! Composite values: `RaggedTensor` (rows of varying length) and `SparseTensor`
//! (coordinates and values), as `tf.RaggedTensor` and `tf.sparse.SparseTensor`. They batch
//! and unbatch as tf.data's do: a batch of ragged values is ragged one level deeper, a
//! batch of sparse values is sparse with a leading batch dimension.

use super::dtype::DType;
use super::tensor::Tensor;
use crate::error::{Error, Result};

/// `values` partitioned into rows by `row_splits`, outermost partition first: row `i` of a
/// partition is `[splits[i], splits[i + 1])` of the level below. With no partition
/// (`ragged_rank` 0) it is a dense tensor that batches into a ragged one, as tf.data's
/// unbatched ragged elements do.
#[derive(Clone, PartialEq, Debug)]
pub struct RaggedTensor {
    values: Tensor,
    row_splits: Vec<Tensor>,
}

fn splits_of(t: &Tensor) -> Result<&[i64]> {
    if t.dtype() != DType::Int64 || t.rank() != 1 || t.shape()[0] == 0 {
        return Err(Error::invalid_argument(format!(
            "row_splits must be a non-empty 1-D int64 tensor, got {} {:?}",
            t.dtype(),
            t.shape()
        )));
    }
    t.as_slice::<i64>()
}

impl RaggedTensor {
    /// Checks that each partition starts at 0, never decreases and ends at the number of
    /// rows of the level below.
    pub fn new(values: Tensor, row_splits: Vec<Tensor>) -> Result<RaggedTensor> {
        if values.rank() == 0 {
            return Err(Error::invalid_argument(
                "a RaggedTensor's values need rank >= 1, got a scalar",
            ));
        }
        for (level, splits) in row_splits.iter().enumerate() {
            let s = splits_of(splits)?;
            let below = match row_splits.get(level + 1) {
                Some(next) => splits_of(next)?.len() - 1,
                None => values.shape()[0],
            };
            if s[0] != 0 || s.windows(2).any(|w| w[0] > w[1]) || *s.last().unwrap() != below as i64
            {
                return Err(Error::invalid_argument(format!(
                    "row_splits (partition {level}) must start at 0, never decrease and end at \
                     {below}, the number of rows below; got {:?}",
                    &s[..s.len().min(16)]
                )));
            }
        }
        Ok(RaggedTensor { values, row_splits })
    }

    /// A ragged value of ragged rank 0: a dense tensor that batches raggedly.
    pub fn from_dense(values: Tensor) -> Result<RaggedTensor> {
        RaggedTensor::new(values, Vec::new())
    }

    /// The innermost values.
    pub fn values(&self) -> &Tensor {
        &self.values
    }

    /// The partitions, outermost first.
    pub fn row_splits(&self) -> &[Tensor] {
        &self.row_splits
    }

    pub fn ragged_rank(&self) -> usize {
        self.row_splits.len()
    }

    pub fn dtype(&self) -> DType {
        self.values.dtype()
    }

    /// The number of rows (of the outermost partition).
    pub fn nrows(&self) -> usize {
        match self.row_splits.first() {
            Some(s) => s.shape()[0] - 1,
            None => self.values.shape()[0],
        }
    }

    /// The shape with ragged dimensions as `None`: `[nrows, None, …, values' inner dims]`.
    pub fn shape(&self) -> Vec<Option<usize>> {
        let mut shape = vec![Some(self.nrows())];
        shape.extend(std::iter::repeat_n(None, self.ragged_rank()));
        shape.extend(self.values.shape()[1..].iter().map(|&d| Some(d)));
        shape
    }

    /// Row `index`: ragged one level less; a row of a ragged-rank-1 value is its slice of
    /// the values (ragged rank 0).
    pub fn row(&self, index: usize) -> Result<RaggedTensor> {
        if self.row_splits.is_empty() {
            return Err(Error::invalid_argument(
                "a ragged value of ragged rank 0 has dense rows",
            ));
        }
        if index >= self.nrows() {
            return Err(Error::invalid_argument(format!(
                "row {index} is out of range for a ragged value of {} rows",
                self.nrows()
            )));
        }
        let outer = splits_of(&self.row_splits[0])?;
        let (mut lo, mut hi) = (outer[index] as usize, outer[index + 1] as usize);
        let mut row_splits = Vec::with_capacity(self.row_splits.len() - 1);
        for splits in &self.row_splits[1..] {
            let s = splits_of(splits)?;
            let base = s[lo];
            let rebased: Vec<i64> = s[lo..=hi].iter().map(|v| v - base).collect();
            row_splits.push(Tensor::from_vec(&[rebased.len()], rebased)?);
            (lo, hi) = (s[lo] as usize, s[hi] as usize);
        }
        Ok(RaggedTensor {
            values: self.values.rows(lo..hi)?,
            row_splits,
        })
    }

    /// Batches values of one dtype, ragged rank and inner shape into one ragged a level
    /// deeper.
    pub fn stack(parts: &[&RaggedTensor]) -> Result<RaggedTensor> {
        let first = parts
            .first()
            .ok_or_else(|| Error::invalid_argument("cannot batch zero ragged values"))?;
        for (i, p) in parts.iter().enumerate() {
            if p.dtype() != first.dtype()
                || p.ragged_rank() != first.ragged_rank()
                || p.values.shape()[1..] != first.values.shape()[1..]
            {
                return Err(Error::invalid_argument(format!(
                    "cannot batch ragged values of different dtypes, ragged ranks or inner \
                     shapes: element 0 is {} {:?} and element {i} is {} {:?}",
                    first.dtype(),
                    first.shape(),
                    p.dtype(),
                    p.shape()
                )));
            }
        }
        let mut outer = Vec::with_capacity(parts.len() + 1);
        outer.push(0i64);
        for p in parts {
            outer.push(outer.last().unwrap() + p.nrows() as i64);
        }
        let mut row_splits = vec![Tensor::from_vec(&[outer.len()], outer)?];
        for level in 0..first.ragged_rank() {
            let mut joined = vec![0i64];
            for p in parts {
                let s = splits_of(&p.row_splits[level])?;
                let offset = *joined.last().unwrap();
                joined.extend(s[1..].iter().map(|v| v + offset));
            }
            row_splits.push(Tensor::from_vec(&[joined.len()], joined)?);
        }
        let values: Vec<&Tensor> = parts.iter().map(|p| &p.values).collect();
        Ok(RaggedTensor {
            values: Tensor::concat(&values)?,
            row_splits,
        })
    }
}

/// Non-zero `values` at `indices` (int64 `[nnz, rank]`, in row-major order) of a dense
/// tensor of shape `dense_shape` (int64 `[rank]`).
#[derive(Clone, PartialEq, Debug)]
pub struct SparseTensor {
    indices: Tensor,
    values: Tensor,
    dense_shape: Tensor,
}

impl SparseTensor {
    /// Checks the components' dtypes and shapes, and that every index is inside
    /// `dense_shape`.
    pub fn new(indices: Tensor, values: Tensor, dense_shape: Tensor) -> Result<SparseTensor> {
        let bad = |what: String| Err(Error::invalid_argument(format!("SparseTensor: {what}")));
        if dense_shape.dtype() != DType::Int64 || dense_shape.rank() != 1 {
            return bad(format!(
                "dense_shape must be a 1-D int64 tensor, got {} {:?}",
                dense_shape.dtype(),
                dense_shape.shape()
            ));
        }
        let rank = dense_shape.shape()[0];
        if indices.dtype() != DType::Int64 || indices.rank() != 2 || indices.shape()[1] != rank {
            return bad(format!(
                "indices must be an int64 tensor of shape [nnz, {rank}], got {} {:?}",
                indices.dtype(),
                indices.shape()
            ));
        }
        let nnz = indices.shape()[0];
        if values.rank() != 1 || values.shape()[0] != nnz {
            return bad(format!(
                "values must be a 1-D tensor of {nnz} values, got shape {:?}",
                values.shape()
            ));
        }
        let shape = dense_shape.as_slice::<i64>()?;
        if shape.iter().any(|&d| d < 0) {
            return bad(format!("dense_shape must not be negative, got {shape:?}"));
        }
        if rank > 0 {
            for (n, index) in indices.as_slice::<i64>()?.chunks_exact(rank).enumerate() {
                if index.iter().zip(shape).any(|(&i, &d)| i < 0 || i >= d) {
                    return bad(format!(
                        "index {n}, {index:?}, is outside dense_shape {shape:?}"
                    ));
                }
            }
        }
        Ok(SparseTensor {
            indices,
            values,
            dense_shape,
        })
    }

    pub fn indices(&self) -> &Tensor {
        &self.indices
    }

    pub fn values(&self) -> &Tensor {
        &self.values
    }

    pub fn dense_shape(&self) -> &Tensor {
        &self.dense_shape
    }

    pub fn dtype(&self) -> DType {
        self.values.dtype()
    }

    pub fn rank(&self) -> usize {
        self.dense_shape.shape()[0]
    }

    fn shape_values(&self) -> &[i64] {
        self.dense_shape
            .as_slice::<i64>()
            .expect("checked by SparseTensor::new")
    }

    fn index_values(&self) -> &[i64] {
        self.indices
            .as_slice::<i64>()
            .expect("checked by SparseTensor::new")
    }

    /// The number of rows (the first dimension of the dense shape).
    pub fn nrows(&self) -> Option<usize> {
        self.shape_values().first().map(|&d| d as usize)
    }

    /// Row `index`: the entries whose first coordinate is `index`, one rank lower.
    pub fn row(&self, index: usize) -> Result<SparseTensor> {
        let rank = self.rank();
        let rows = self.nrows().ok_or_else(|| {
            Error::invalid_argument("cannot take a row of a sparse scalar: it needs rank >= 1")
        })?;
        if index >= rows {
            return Err(Error::invalid_argument(format!(
                "row {index} is out of range for a sparse value of shape {:?}",
                self.shape_values()
            )));
        }
        let positions: Vec<usize> = self
            .index_values()
            .chunks_exact(rank)
            .enumerate()
            .filter(|(_, ix)| ix[0] == index as i64)
            .map(|(n, _)| n)
            .collect();
        let inner_indices: Vec<i64> = positions
            .iter()
            .flat_map(|&n| {
                self.index_values()[n * rank + 1..(n + 1) * rank]
                    .iter()
                    .copied()
            })
            .collect();
        let contiguous = positions.windows(2).all(|w| w[1] == w[0] + 1);
        let values = match (positions.first(), positions.last()) {
            (Some(&a), Some(&b)) if contiguous => self.values.rows(a..b + 1)?,
            (None, _) => self.values.rows(0..0)?,
            _ => {
                let rows: Vec<Tensor> = positions
                    .iter()
                    .map(|&n| self.values.rows(n..n + 1))
                    .collect::<Result<_>>()?;
                Tensor::concat(&rows)?
            }
        };
        let shape = &self.shape_values()[1..];
        Ok(SparseTensor {
            indices: Tensor::from_vec(&[positions.len(), rank - 1], inner_indices)?,
            values,
            dense_shape: Tensor::from_vec(&[rank - 1], shape.to_vec())?,
        })
    }

    /// Batches sparse values of one dtype and rank: indices gain the batch position, and
    /// the dense shape is the batch size then the largest of each dimension.
    pub fn stack(parts: &[&SparseTensor]) -> Result<SparseTensor> {
        let first = parts
            .first()
            .ok_or_else(|| Error::invalid_argument("cannot batch zero sparse values"))?;
        let rank = first.rank();
        let mut shape = vec![0i64; rank];
        let mut indices = Vec::new();
        for (b, p) in parts.iter().enumerate() {
            if p.dtype() != first.dtype() || p.rank() != rank {
                return Err(Error::invalid_argument(format!(
                    "cannot batch sparse values of different dtypes or ranks: element 0 is {} \
                     of rank {rank} and element {b} is {} of rank {}",
                    first.dtype(),
                    p.dtype(),
                    p.rank()
                )));
            }
            for (d, &n) in shape.iter_mut().zip(p.shape_values()) {
                *d = (*d).max(n);
            }
            for index in p
                .index_values()
                .chunks_exact(rank.max(1))
                .take(p.values.shape()[0])
            {
                indices.push(b as i64);
                indices.extend_from_slice(&index[..rank]);
            }
        }
        let nnz: usize = parts.iter().map(|p| p.values.shape()[0]).sum();
        let values: Vec<&Tensor> = parts.iter().map(|p| &p.values).collect();
        let mut dense_shape = vec![parts.len() as i64];
        dense_shape.extend(shape);
        Ok(SparseTensor {
            indices: Tensor::from_vec(&[nnz, rank + 1], indices)?,
            values: Tensor::concat(&values)?,
            dense_shape: Tensor::from_vec(&[rank + 1], dense_shape)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn i64s(v: &[i64]) -> Tensor {
        Tensor::from_vec(&[v.len()], v.to_vec()).unwrap()
    }

    fn ragged(rows: &[Vec<i64>]) -> RaggedTensor {
        let mut splits = vec![0i64];
        let mut values = Vec::new();
        for r in rows {
            values.extend_from_slice(r);
            splits.push(values.len() as i64);
        }
        RaggedTensor::new(i64s(&values), vec![i64s(&splits)]).unwrap()
    }

    #[test]
    fn bad_row_splits_are_refused() {
        assert!(RaggedTensor::new(i64s(&[1, 2]), vec![i64s(&[0, 3])]).is_err());
        assert!(RaggedTensor::new(i64s(&[1, 2]), vec![i64s(&[1, 2])]).is_err());
        assert!(RaggedTensor::new(i64s(&[1, 2]), vec![i64s(&[0, 2, 1, 2])]).is_err());
        assert!(RaggedTensor::new(i64s(&[1, 2]), vec![i64s(&[])]).is_err());
        assert!(RaggedTensor::new(Tensor::scalar(1i64), vec![]).is_err());
    }

    #[test]
    fn rows_of_a_two_level_ragged_value() {
        // [[[1, 2], []], [[3]]]
        let r = RaggedTensor::new(
            i64s(&[1, 2, 3]),
            vec![i64s(&[0, 2, 3]), i64s(&[0, 2, 2, 3])],
        )
        .unwrap();
        assert_eq!(r.shape(), vec![Some(2), None, None]);
        let row0 = r.row(0).unwrap();
        assert_eq!(row0.ragged_rank(), 1);
        assert_eq!(
            row0.row(0).unwrap().values().as_slice::<i64>().unwrap(),
            &[1, 2]
        );
        assert_eq!(row0.row(1).unwrap().values().shape(), &[0]);
        let row1 = r.row(1).unwrap();
        assert_eq!(row1.row_splits()[0].as_slice::<i64>().unwrap(), &[0, 1]);
        assert_eq!(row1.values().as_slice::<i64>().unwrap(), &[3]);
        assert!(r.row(2).is_err());
    }

    #[test]
    fn sparse_indices_outside_the_shape_are_refused() {
        let idx = Tensor::from_vec(&[1, 1], vec![5i64]).unwrap();
        let err = SparseTensor::new(idx, i64s(&[1]), i64s(&[3])).unwrap_err();
        assert!(err.to_string().contains("outside dense_shape"), "{err}");
    }

    proptest! {
        #[test]
        fn ragged_stack_then_row_gives_back_each_part(
            rows in proptest::collection::vec(proptest::collection::vec(proptest::collection::vec(-9i64..9, 0..4), 0..4), 1..5)
        ) {
            let parts: Vec<RaggedTensor> = rows.iter().map(|r| ragged(r)).collect();
            let refs: Vec<&RaggedTensor> = parts.iter().collect();
            let batch = RaggedTensor::stack(&refs).unwrap();
            prop_assert_eq!(batch.nrows(), parts.len());
            prop_assert_eq!(batch.ragged_rank(), 2);
            for (i, p) in parts.iter().enumerate() {
                prop_assert_eq!(&batch.row(i).unwrap(), p);
            }
        }

        #[test]
        fn sparse_stack_then_row_gives_back_each_part(
            parts in proptest::collection::vec(proptest::collection::btree_set(0i64..6, 0..5), 1..5)
        ) {
            let sparse: Vec<SparseTensor> = parts.iter().map(|set| {
                let idx: Vec<i64> = set.iter().copied().collect();
                let vals: Vec<f32> = idx.iter().map(|&i| i as f32 * 0.5).collect();
                SparseTensor::new(
                    Tensor::from_vec(&[idx.len(), 1], idx.clone()).unwrap(),
                    Tensor::from_vec(&[vals.len()], vals).unwrap(),
                    i64s(&[6]),
                ).unwrap()
            }).collect();
            let refs: Vec<&SparseTensor> = sparse.iter().collect();
            let batch = SparseTensor::stack(&refs).unwrap();
            prop_assert_eq!(batch.dense_shape().as_slice::<i64>().unwrap(), &[parts.len() as i64, 6]);
            for (i, p) in sparse.iter().enumerate() {
                prop_assert_eq!(&batch.row(i).unwrap(), p);
            }
        }
    }
}
