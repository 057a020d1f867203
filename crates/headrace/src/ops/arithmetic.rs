//! Binary arithmetic: add, subtract, multiply, divide, floordiv, mod, pow, maximum, minimum.
//!
//! TensorFlow's semantics: both operands have one dtype; shapes broadcast; integer arithmetic
//! wraps on overflow; integer floordiv/mod by zero is an error; `divide` on integers is true
//! division in floating point (float32 for 8- and 16-bit integers, float64 otherwise);
//! `mod` is floored (the result takes the divisor's sign); `maximum`/`minimum` propagate NaN.

use half::{bf16, f16};

use super::broadcast::{broadcasts_into, zip_map, zip_map_into, zip_with, zip_with_into};
use super::cast::cast;
use super::dispatch::with_numeric_type;
use crate::error::{Error, Result};
use crate::value::{DType, Scalar, Shape, Tensor};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BinaryOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    FloorDiv,
    Mod,
    Pow,
    Maximum,
    Minimum,
}

impl BinaryOp {
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Subtract => "subtract",
            BinaryOp::Multiply => "multiply",
            BinaryOp::Divide => "divide",
            BinaryOp::FloorDiv => "floordiv",
            BinaryOp::Mod => "mod",
            BinaryOp::Pow => "pow",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Minimum => "minimum",
        }
    }

    pub fn from_name(name: &str) -> Option<BinaryOp> {
        use BinaryOp::*;
        [
            Add, Subtract, Multiply, Divide, FloorDiv, Mod, Pow, Maximum, Minimum,
        ]
        .into_iter()
        .find(|op| op.name() == name)
    }
}

/// Element arithmetic with TensorFlow's semantics for one Rust type.
pub(crate) trait Arith: Scalar + PartialOrd {
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// `None`: division by zero (integers only).
    fn floordiv(self, o: Self) -> Option<Self>;
    fn floormod(self, o: Self) -> Option<Self>;
    /// `None`: a negative integer exponent.
    fn pow(self, o: Self) -> Option<Self>;
    fn is_nan(self) -> bool;
    /// True division; only called for floating types.
    fn div(self, o: Self) -> Self;
}

macro_rules! signed_arith {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            fn sub(self, o: Self) -> Self { self.wrapping_sub(o) }
            fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            fn floordiv(self, o: Self) -> Option<Self> {
                if o == 0 { return None; }
                let q = self.wrapping_div(o);
                Some(if self.wrapping_rem(o) != 0 && ((self < 0) != (o < 0)) { q - 1 } else { q })
            }
            fn floormod(self, o: Self) -> Option<Self> {
                if o == 0 { return None; }
                let r = self.wrapping_rem(o);
                Some(if r != 0 && ((r < 0) != (o < 0)) { r + o } else { r })
            }
            fn pow(self, o: Self) -> Option<Self> {
                if o < 0 { return None; }
                Some(self.wrapping_pow(u32::try_from(o).unwrap_or(u32::MAX)))
            }
            fn is_nan(self) -> bool { false }
            fn div(self, o: Self) -> Self { self.wrapping_div(o) }
        }
    )*};
}

macro_rules! unsigned_arith {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            fn sub(self, o: Self) -> Self { self.wrapping_sub(o) }
            fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            fn floordiv(self, o: Self) -> Option<Self> { self.checked_div(o) }
            fn floormod(self, o: Self) -> Option<Self> { self.checked_rem(o) }
            fn pow(self, o: Self) -> Option<Self> {
                Some(self.wrapping_pow(u32::try_from(o).unwrap_or(u32::MAX)))
            }
            fn is_nan(self) -> bool { false }
            fn div(self, o: Self) -> Self { self / o }
        }
    )*};
}

macro_rules! float_arith {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            fn add(self, o: Self) -> Self { self + o }
            fn sub(self, o: Self) -> Self { self - o }
            fn mul(self, o: Self) -> Self { self * o }
            fn floordiv(self, o: Self) -> Option<Self> { Some((self / o).floor()) }
            fn floormod(self, o: Self) -> Option<Self> {
                let r = self % o;
                Some(if r != 0.0 && ((r < 0.0) != (o < 0.0)) { r + o } else { r })
            }
            fn pow(self, o: Self) -> Option<Self> { Some(self.powf(o)) }
            fn is_nan(self) -> bool { <$t>::is_nan(self) }
            fn div(self, o: Self) -> Self { self / o }
        }
    )*};
}

/// Half-precision types compute in f32 and round back, as TensorFlow's CPU kernels do.
macro_rules! half_arith {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            fn add(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() + o.to_f32()) }
            fn sub(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() - o.to_f32()) }
            fn mul(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() * o.to_f32()) }
            fn floordiv(self, o: Self) -> Option<Self> {
                self.to_f32().floordiv(o.to_f32()).map(<$t>::from_f32)
            }
            fn floormod(self, o: Self) -> Option<Self> {
                self.to_f32().floormod(o.to_f32()).map(<$t>::from_f32)
            }
            fn pow(self, o: Self) -> Option<Self> { Some(<$t>::from_f32(self.to_f32().powf(o.to_f32()))) }
            fn is_nan(self) -> bool { <$t>::is_nan(self) }
            fn div(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() / o.to_f32()) }
        }
    )*};
}

signed_arith!(i8, i16, i32, i64);
unsigned_arith!(u8, u16, u32, u64);
float_arith!(f32, f64);
half_arith!(f16, bf16);

/// How a kernel applies an op's element function: into a new tensor, or over its first
/// operand. [`element_op`] holds the one table of element functions both use, so the
/// in-place path computes exactly what the allocating one does.
trait Apply<T: Arith> {
    type Out;
    /// Applies an element function that cannot fail.
    fn map(self, f: impl Fn(T, T) -> T) -> Self::Out;
    /// Applies an element function that can fail (integer division by zero and the like).
    fn try_map(self, f: impl Fn(T, T) -> Result<T>) -> Self::Out;
}

/// Into a new tensor of the broadcast shape.
struct Allocate<'a> {
    name: &'static str,
    a: &'a Tensor,
    b: &'a Tensor,
}

impl<T: Arith> Apply<T> for Allocate<'_> {
    type Out = Result<Tensor>;
    fn map(self, f: impl Fn(T, T) -> T) -> Result<Tensor> {
        zip_map::<T, T>(self.name, self.a, self.b, f)
    }
    fn try_map(self, f: impl Fn(T, T) -> Result<T>) -> Result<Tensor> {
        zip_with::<T, T>(self.name, self.a, self.b, f)
    }
}

/// Over the first operand's elements, `b` broadcasting into its shape.
struct InPlace<'a, T> {
    shape: &'a [usize],
    out: &'a mut [T],
    b_shape: &'a [usize],
    b: &'a [T],
}

impl<T: Arith> Apply<T> for InPlace<'_, T> {
    type Out = Result<()>;
    fn map(self, f: impl Fn(T, T) -> T) -> Result<()> {
        zip_map_into(self.shape, self.out, self.b_shape, self.b, f);
        Ok(())
    }
    fn try_map(self, f: impl Fn(T, T) -> Result<T>) -> Result<()> {
        zip_with_into(self.shape, self.out, self.b_shape, self.b, f)
    }
}

/// `op`'s element function for `T`, handed to `apply`.
fn element_op<T: Arith, A: Apply<T>>(op: BinaryOp, apply: A) -> A::Out {
    let name = op.name();
    let zero_division = || Error::invalid_argument(format!("{name}: integer division by zero"));
    match op {
        BinaryOp::Add => apply.map(|x: T, y| x.add(y)),
        BinaryOp::Subtract => apply.map(|x: T, y| x.sub(y)),
        BinaryOp::Multiply => apply.map(|x: T, y| x.mul(y)),
        BinaryOp::Divide => apply.map(|x: T, y| x.div(y)),
        BinaryOp::FloorDiv => apply.try_map(|x: T, y| x.floordiv(y).ok_or_else(zero_division)),
        BinaryOp::Mod => apply.try_map(|x: T, y| x.floormod(y).ok_or_else(zero_division)),
        BinaryOp::Pow => apply.try_map(|x: T, y| {
            x.pow(y).ok_or_else(|| {
                Error::invalid_argument("pow: integers to negative integer powers are not allowed")
            })
        }),
        BinaryOp::Maximum => apply.map(|x: T, y| {
            if x.is_nan() || y.is_nan() {
                if x.is_nan() {
                    x
                } else {
                    y
                }
            } else if y > x {
                y
            } else {
                x
            }
        }),
        BinaryOp::Minimum => apply.map(|x: T, y| {
            if x.is_nan() || y.is_nan() {
                if x.is_nan() {
                    x
                } else {
                    y
                }
            } else if y < x {
                y
            } else {
                x
            }
        }),
    }
}

fn kernel<T: Arith>(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    element_op::<T, _>(
        op,
        Allocate {
            name: op.name(),
            a,
            b,
        },
    )
}

/// [`kernel`] written over `a`'s elements when nothing else can see them; `a` back
/// unchanged (`Err(a)`) when its buffer is shared, so the caller allocates instead.
fn kernel_in_place<T: Arith>(
    op: BinaryOp,
    mut a: Tensor,
    b: &Tensor,
) -> std::result::Result<Result<Tensor>, Tensor> {
    let shape = Shape::from_slice(a.shape());
    let Ok(bv) = b.as_slice::<T>() else {
        return Err(a);
    };
    let Some(out) = a.as_mut_slice::<T>() else {
        return Err(a);
    };
    let apply = InPlace {
        shape: &shape,
        out,
        b_shape: b.shape(),
        b: bv,
    };
    Ok(element_op::<T, _>(op, apply).map(|()| a))
}

/// The floating dtype TensorFlow's true division uses for integer operands.
fn true_division_dtype(dtype: DType) -> DType {
    match dtype {
        DType::Int8 | DType::Int16 | DType::UInt8 | DType::UInt16 => DType::Float32,
        _ => DType::Float64,
    }
}

/// `op(a, b)` element-wise with broadcasting.
pub fn binary(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let name = op.name();
    if a.dtype() != b.dtype() {
        return Err(Error::invalid_argument(format!(
            "{name}: operands have different dtypes, {} and {}: cast one with hr.cast",
            a.dtype(),
            b.dtype()
        )));
    }
    if op == BinaryOp::Divide && a.dtype().is_integer() {
        let to = true_division_dtype(a.dtype());
        return binary(op, &cast(a, to)?, &cast(b, to)?);
    }
    with_numeric_type!(a.dtype(), T => kernel::<T>(op, a, b), Err(Error::invalid_argument(format!(
        "{name}: not defined for {} tensors",
        a.dtype()
    ))))
}

/// `op(a, b)` as [`binary`] computes it, bit for bit and with the same errors, but written
/// over `a`'s buffer instead of a new one when it can be: TensorFlow's
/// `forward_input_or_allocate_output`. That needs `a` to be the only reference to its
/// buffer (not a clone's, a batch row's or borrowed bytes: see
/// [`Tensor::as_mut_slice`]), the result to keep `a`'s dtype and shape (`b` of `a`'s
/// shape, a scalar, or broadcasting into `a` without growing it). Otherwise it allocates
/// as [`binary`] does. Integer `divide` computes in floating point: the cast of `a` is
/// then the buffer written over.
pub fn binary_owned(op: BinaryOp, a: Tensor, b: &Tensor) -> Result<Tensor> {
    if a.dtype() != b.dtype() || !broadcasts_into(a.shape(), b.shape()) {
        return binary(op, &a, b);
    }
    if op == BinaryOp::Divide && a.dtype().is_integer() {
        let to = true_division_dtype(a.dtype());
        return binary_owned(op, cast(&a, to)?, &cast(b, to)?);
    }
    let a = match with_numeric_type!(a.dtype(), T => kernel_in_place::<T>(op, a, b), Err(a)) {
        Ok(result) => return result,
        Err(a) => a,
    };
    binary(op, &a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::broadcast::broadcasts_into;

    fn t<T: Scalar>(v: Vec<T>) -> Tensor {
        Tensor::from_vec(&[v.len()], v).unwrap()
    }

    #[test]
    fn integer_semantics() {
        let a = t(vec![7i32, -7, 7, -7, i32::MAX]);
        let b = t(vec![2i32, 2, -2, -2, 1]);
        let floordiv = binary(BinaryOp::FloorDiv, &a, &b).unwrap();
        assert_eq!(
            floordiv.as_slice::<i32>().unwrap(),
            &[3, -4, -4, 3, i32::MAX]
        );
        let m = binary(BinaryOp::Mod, &a, &b).unwrap();
        assert_eq!(m.as_slice::<i32>().unwrap(), &[1, 1, -1, -1, 0]);
        let sum = binary(BinaryOp::Add, &a, &t(vec![0, 0, 0, 0, 1])).unwrap();
        assert_eq!(sum.as_slice::<i32>().unwrap()[4], i32::MIN, "wraps");
        let div = binary(BinaryOp::Divide, &a, &b).unwrap();
        assert_eq!(div.dtype(), DType::Float64);
        assert_eq!(div.as_slice::<f64>().unwrap()[0], 3.5);
        let err = binary(BinaryOp::FloorDiv, &a, &t(vec![0i32; 5])).unwrap_err();
        assert!(err.to_string().contains("division by zero"));
        assert!(binary(BinaryOp::Pow, &a, &t(vec![-1i32; 5])).is_err());
    }

    #[test]
    fn nan_propagates_through_maximum() {
        let a = t(vec![f32::NAN, 1.0, 2.0]);
        let b = t(vec![0.0f32, f32::NAN, 1.0]);
        let m = binary(BinaryOp::Maximum, &a, &b).unwrap();
        let v = m.as_slice::<f32>().unwrap();
        assert!(v[0].is_nan() && v[1].is_nan());
        assert_eq!(v[2], 2.0);
    }

    const OPS: [BinaryOp; 9] = [
        BinaryOp::Add,
        BinaryOp::Subtract,
        BinaryOp::Multiply,
        BinaryOp::Divide,
        BinaryOp::FloorDiv,
        BinaryOp::Mod,
        BinaryOp::Pow,
        BinaryOp::Maximum,
        BinaryOp::Minimum,
    ];
    const DTYPES: [DType; 5] = [
        DType::Float32,
        DType::Float64,
        DType::Int32,
        DType::UInt8,
        DType::Int64,
    ];
    /// Same shapes, scalars on either side, broadcasting into `a`, broadcasting that grows
    /// `a`, shapes that do not broadcast, and empty tensors, in every pairing.
    const SHAPES: [&[usize]; 16] = [
        &[],
        &[1],
        &[3],
        &[4],
        &[2, 3],
        &[2, 1],
        &[1, 3],
        &[3, 1],
        &[1, 1, 3],
        &[2, 3, 4],
        &[2, 1, 4],
        &[1, 3, 4],
        &[3, 4],
        &[2, 3, 1],
        &[0],
        &[2, 0],
    ];

    /// A test value: small integers, with the ends of `i8` standing for NaN and infinity
    /// in floating tensors, and -1 for -0.0 (scaled, so floats get fractions).
    fn float(x: i8) -> f64 {
        match x {
            i8::MIN => f64::NAN,
            i8::MAX => f64::INFINITY,
            -1 => -0.0,
            x => f64::from(x) * 0.75,
        }
    }

    fn make(dtype: DType, shape: &[usize], values: &[i8]) -> Tensor {
        let n: usize = shape.iter().product();
        let v = values.iter().copied().cycle().take(n);
        match dtype {
            DType::Float32 => Tensor::from_vec(shape, v.map(|x| float(x) as f32).collect()),
            DType::Float64 => Tensor::from_vec(shape, v.map(float).collect()),
            DType::Int32 => Tensor::from_vec(shape, v.map(i32::from).collect()),
            DType::Int64 => Tensor::from_vec(shape, v.map(i64::from).collect()),
            DType::UInt8 => Tensor::from_vec(shape, v.map(|x| x as u8).collect()),
            _ => unreachable!(),
        }
        .unwrap()
    }

    /// How `a` is held when handed to `binary_owned`.
    #[derive(Clone, Copy, Debug)]
    enum Held {
        /// Nothing else refers to it: written over.
        Exclusive,
        /// A clone is kept: must not be written.
        Cloned,
        /// A row of a batch that was dropped since: exclusive, a window at an offset.
        Window,
        /// Over `Bytes` (`Storage::Shared`), a clone of which is kept: never written.
        Bytes,
    }

    /// `binary_owned(op, a, b)` against `binary(op, a, b)`: the same values bit for bit,
    /// dtype, shape and error text; `a`'s buffer reused exactly when it may be; a held
    /// clone or bytes untouched.
    fn check(
        op: BinaryOp,
        dtype: DType,
        sa: &[usize],
        sb: &[usize],
        va: &[i8],
        vb: &[i8],
        held: Held,
    ) {
        let reference = make(dtype, sa, va);
        let b = make(dtype, sb, vb);
        let expected = binary(op, &reference, &b);
        let mut kept = None;
        let mut kept_bytes = None;
        let a = match held {
            Held::Exclusive => make(dtype, sa, va),
            Held::Cloned => {
                let a = make(dtype, sa, va);
                kept = Some(a.clone());
                a
            }
            Held::Window => {
                let batch = Tensor::stack(&[make(dtype, sa, vb), make(dtype, sa, va)]).unwrap();
                batch.row(1).unwrap()
            }
            Held::Bytes => {
                let bytes = bytes::Bytes::copy_from_slice(reference.data_bytes().unwrap());
                kept_bytes = Some(bytes.clone());
                Tensor::from_bytes(dtype, sa, bytes).unwrap()
            }
        };
        let before = a.data_bytes().unwrap().as_ptr();
        let a_exclusive = matches!(held, Held::Exclusive | Held::Window);
        let got = binary_owned(op, a, &b);
        let what = format!("{op:?} {dtype} {sa:?} {sb:?} {held:?}");
        match (&got, &expected) {
            (Ok(g), Ok(e)) => {
                assert_eq!(g, e, "{what}: values, dtype and shape (bitwise)");
                let reusable = a_exclusive
                    && !sa.is_empty()
                    && !sa.contains(&0)
                    && broadcasts_into(sa, sb)
                    && !(op == BinaryOp::Divide && dtype.is_integer());
                if reusable {
                    assert_eq!(g.data_bytes().unwrap().as_ptr(), before, "{what}: reused");
                }
            }
            (Err(g), Err(e)) => assert_eq!(g.to_string(), e.to_string(), "{what}"),
            _ => panic!("{what}: {got:?} against {expected:?}"),
        }
        if let Some(kept) = kept {
            assert_eq!(kept, reference, "{what}: the held clone was written");
        }
        if let Some(kept) = kept_bytes {
            assert_eq!(
                &kept[..],
                reference.data_bytes().unwrap(),
                "{what}: the bytes were written"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn binary_owned_equals_binary(
            op in 0..OPS.len(),
            dtype in 0..DTYPES.len(),
            sa in 0..SHAPES.len(),
            sb in 0..SHAPES.len(),
            held in 0..4usize,
            va in proptest::collection::vec(
                proptest::prop_oneof![-5i8..=5, proptest::strategy::Just(i8::MIN), proptest::strategy::Just(i8::MAX)],
                1..24,
            ),
            vb in proptest::collection::vec(
                proptest::prop_oneof![-5i8..=5, proptest::strategy::Just(i8::MIN), proptest::strategy::Just(i8::MAX)],
                1..24,
            ),
        ) {
            let held = [Held::Exclusive, Held::Cloned, Held::Window, Held::Bytes][held];
            check(OPS[op], DTYPES[dtype], SHAPES[sa], SHAPES[sb], &va, &vb, held);
        }
    }

    /// Every op, dtype, shape pair and way of holding `a`, on fixed values that include
    /// zero divisors and negative exponents.
    #[test]
    fn binary_owned_equals_binary_everywhere() {
        let va = [3, -5, 0, 4, i8::MAX, -1, 2, i8::MIN, 5, -3, 1];
        let vb = [2, 0, -2, 3, -1, 5, i8::MIN, 1, -4];
        let vb_nonzero = [2, -2, 3, 5, 1, -4, i8::MAX];
        for op in OPS {
            for dtype in DTYPES {
                for sa in SHAPES {
                    for sb in SHAPES {
                        for held in [Held::Exclusive, Held::Cloned, Held::Window, Held::Bytes] {
                            check(op, dtype, sa, sb, &va, &vb, held);
                            check(op, dtype, sa, sb, &va, &vb_nonzero, held);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn binary_owned_writes_over_an_exclusive_buffer() {
        let a = Tensor::from_vec(&[2, 3], vec![0.0f32, 51.0, 102.0, 153.0, 204.0, 255.0]).unwrap();
        let ptr = a.data_bytes().unwrap().as_ptr();
        let out = binary_owned(BinaryOp::Divide, a, &Tensor::scalar(255.0f32)).unwrap();
        assert_eq!(
            out.data_bytes().unwrap().as_ptr(),
            ptr,
            "scalar divisor: in place"
        );
        assert_eq!(
            out.as_slice::<f32>().unwrap(),
            &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
        );
        let b = Tensor::from_vec(&[2, 3], vec![1.0f32; 6]).unwrap();
        let out = binary_owned(BinaryOp::Add, out, &b).unwrap();
        assert_eq!(
            out.data_bytes().unwrap().as_ptr(),
            ptr,
            "same shape: in place"
        );
        let mean = Tensor::from_vec(&[3], vec![1.0f32, 2.0, 3.0]).unwrap();
        let out = binary_owned(BinaryOp::Subtract, out, &mean).unwrap();
        assert_eq!(
            out.data_bytes().unwrap().as_ptr(),
            ptr,
            "per-channel: in place"
        );
        assert_eq!(out.shape(), &[2, 3]);

        // Growing `a`, or a dtype change, allocates.
        let grown = binary_owned(
            BinaryOp::Add,
            out.clone(),
            &Tensor::from_vec(&[2, 2, 3], vec![0f32; 12]).unwrap(),
        )
        .unwrap();
        assert_eq!(grown.shape(), &[2, 2, 3]);
        let ints = Tensor::from_vec(&[2], vec![1i32, 2]).unwrap();
        let halves = binary_owned(BinaryOp::Divide, ints, &Tensor::scalar(2i32)).unwrap();
        assert_eq!(halves.as_slice::<f64>().unwrap(), &[0.5, 1.0]);
    }

    #[test]
    fn binary_owned_leaves_shared_data_alone() {
        let a = Tensor::from_vec(&[3], vec![1.0f32, 2.0, 3.0]).unwrap();
        let held = a.clone();
        let out = binary_owned(BinaryOp::Multiply, a, &Tensor::scalar(10.0f32)).unwrap();
        assert_eq!(out.as_slice::<f32>().unwrap(), &[10.0, 20.0, 30.0]);
        assert_eq!(held.as_slice::<f32>().unwrap(), &[1.0, 2.0, 3.0]);

        // Over `Bytes` (`Storage::Shared`): never written, even with no other tensor.
        let bytes = bytes::Bytes::from(bytemuck::cast_slice::<f32, u8>(&[1.0, 2.0, 3.0]).to_vec());
        let a = Tensor::from_bytes(DType::Float32, &[3], bytes.clone()).unwrap();
        assert_eq!(
            a.data_bytes().unwrap().as_ptr(),
            bytes.as_ptr(),
            "shared, not copied"
        );
        let out = binary_owned(BinaryOp::Multiply, a, &Tensor::scalar(10.0f32)).unwrap();
        assert_eq!(out.as_slice::<f32>().unwrap(), &[10.0, 20.0, 30.0]);
        assert_ne!(out.data_bytes().unwrap().as_ptr(), bytes.as_ptr());
        assert_eq!(bytemuck::cast_slice::<u8, f32>(&bytes), &[1.0, 2.0, 3.0]);
    }

    #[test]
    fn binary_owned_errors_like_binary() {
        let cases = [
            (
                Tensor::from_vec(&[2], vec![1i32, 2]).unwrap(),
                Tensor::scalar(1.0f32),
            ),
            (Tensor::bool_scalar(true), Tensor::bool_scalar(false)),
            (Tensor::string_scalar("a"), Tensor::string_scalar("b")),
            (
                Tensor::from_vec(&[2], vec![1u8, 2]).unwrap(),
                Tensor::scalar(0u8),
            ),
        ];
        for (a, b) in cases {
            for op in OPS {
                let e = binary(op, &a, &b).map_err(|e| e.to_string());
                let g = binary_owned(op, a.clone(), &b).map_err(|e| e.to_string());
                assert_eq!(g, e, "{op:?} {a:?} {b:?}");
            }
        }
    }

    /// `cargo test -p headrace --release --lib -- --ignored --nocapture divide_in_place_timing`
    ///
    /// Each call gets a freshly written input, as the resize output it follows is; only
    /// the op is timed. `held` outputs are kept alive at once, as a batch keeps its rows
    /// until it is stacked: with 1 the allocator hands the allocating path the block it
    /// just freed (warm in cache); with 32 it cannot.
    #[test]
    #[ignore]
    fn divide_in_place_timing() {
        use std::time::{Duration, Instant};
        let shape = [224, 224, 3];
        let base: Vec<f32> = (0..224 * 224 * 3).map(|i| (i % 256) as f32).collect();
        let divisor = Tensor::scalar(255.0f32);
        let rounds = 64;
        let time = |owned: bool, held: usize| {
            let mut total = Duration::ZERO;
            for _ in 0..rounds {
                let mut batch = Vec::with_capacity(held);
                for _ in 0..held {
                    let a = Tensor::from_vec(&shape, base.clone()).unwrap();
                    let start = Instant::now();
                    let out = if owned {
                        binary_owned(BinaryOp::Divide, a, &divisor)
                    } else {
                        binary(BinaryOp::Divide, &a, &divisor)
                    };
                    total += start.elapsed();
                    batch.push(out.unwrap());
                }
                std::hint::black_box(batch);
            }
            total.as_secs_f64() * 1e6 / (rounds * held) as f64
        };
        for _ in 0..3 {
            for held in [1, 32] {
                let allocating = time(false, held);
                let in_place = time(true, held);
                println!(
                    "224x224x3 f32 / 255, {held:>2} held: allocating {allocating:.1} µs, in place {in_place:.1} µs per call"
                );
            }
        }
    }

    #[test]
    fn mismatched_dtypes_and_shapes_name_the_op() {
        let e = binary(BinaryOp::Add, &t(vec![1i32]), &t(vec![1.0f32]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("add: ") && e.contains("int32") && e.contains("float32"),
            "{e}"
        );
        let e = binary(BinaryOp::Multiply, &t(vec![1i32; 3]), &t(vec![1i32; 4]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("multiply") && e.contains("[3]") && e.contains("[4]"),
            "{e}"
        );
    }
}
