//! Binary arithmetic: add, subtract, multiply, divide, floordiv, mod, pow, maximum, minimum.
//!
//! TensorFlow's semantics: both operands have one dtype; shapes broadcast; integer arithmetic
//! wraps on overflow; integer floordiv/mod by zero is an error; `divide` on integers is true
//! division in floating point (float32 for 8- and 16-bit integers, float64 otherwise);
//! `mod` is floored (the result takes the divisor's sign); `maximum`/`minimum` propagate NaN.

use half::{bf16, f16};

use super::broadcast::{zip_map, zip_with};
use super::cast::cast;
use super::dispatch::with_numeric_type;
use crate::error::{Error, Result};
use crate::value::{DType, Scalar, Tensor};

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

fn kernel<T: Arith>(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let name = op.name();
    let zero_division = || Error::invalid_argument(format!("{name}: integer division by zero"));
    match op {
        BinaryOp::Add => zip_map::<T, T>(name, a, b, |x, y| x.add(y)),
        BinaryOp::Subtract => zip_map::<T, T>(name, a, b, |x, y| x.sub(y)),
        BinaryOp::Multiply => zip_map::<T, T>(name, a, b, |x, y| x.mul(y)),
        BinaryOp::Divide => zip_map::<T, T>(name, a, b, |x, y| x.div(y)),
        BinaryOp::FloorDiv => {
            zip_with::<T, T>(name, a, b, |x, y| x.floordiv(y).ok_or_else(zero_division))
        }
        BinaryOp::Mod => {
            zip_with::<T, T>(name, a, b, |x, y| x.floormod(y).ok_or_else(zero_division))
        }
        BinaryOp::Pow => zip_with::<T, T>(name, a, b, |x, y| {
            x.pow(y).ok_or_else(|| {
                Error::invalid_argument("pow: integers to negative integer powers are not allowed")
            })
        }),
        BinaryOp::Maximum => zip_with::<T, T>(name, a, b, |x, y| {
            Ok(if x.is_nan() || y.is_nan() {
                if x.is_nan() {
                    x
                } else {
                    y
                }
            } else if y > x {
                y
            } else {
                x
            })
        }),
        BinaryOp::Minimum => zip_with::<T, T>(name, a, b, |x, y| {
            Ok(if x.is_nan() || y.is_nan() {
                if x.is_nan() {
                    x
                } else {
                    y
                }
            } else if y < x {
                y
            } else {
                x
            })
        }),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
