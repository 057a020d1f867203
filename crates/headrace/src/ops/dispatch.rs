//! Calling a generic kernel with the Rust type of a runtime dtype.

/// Expands `$body` with `$t` bound to the Rust type of an integer `$dtype`; other dtypes
/// evaluate `$otherwise`.
macro_rules! with_int_type {
    ($dtype:expr, $t:ident => $body:expr, $otherwise:expr) => {{
        use $crate::value::DType;
        match $dtype {
            DType::Int8 => {
                type $t = i8;
                $body
            }
            DType::Int16 => {
                type $t = i16;
                $body
            }
            DType::Int32 => {
                type $t = i32;
                $body
            }
            DType::Int64 => {
                type $t = i64;
                $body
            }
            DType::UInt8 => {
                type $t = u8;
                $body
            }
            DType::UInt16 => {
                type $t = u16;
                $body
            }
            DType::UInt32 => {
                type $t = u32;
                $body
            }
            DType::UInt64 => {
                type $t = u64;
                $body
            }
            _ => $otherwise,
        }
    }};
}

/// Expands `$body` with `$t` bound to the Rust type of a floating-point `$dtype`; other
/// dtypes evaluate `$otherwise`.
macro_rules! with_float_type {
    ($dtype:expr, $t:ident => $body:expr, $otherwise:expr) => {{
        use $crate::value::DType;
        match $dtype {
            DType::Float16 => {
                type $t = half::f16;
                $body
            }
            DType::BFloat16 => {
                type $t = half::bf16;
                $body
            }
            DType::Float32 => {
                type $t = f32;
                $body
            }
            DType::Float64 => {
                type $t = f64;
                $body
            }
            _ => $otherwise,
        }
    }};
}

/// Expands `$body` with `$t` bound to the Rust type of each numeric `$dtype`; bool and
/// string evaluate `$otherwise`.
macro_rules! with_numeric_type {
    ($dtype:expr, $t:ident => $body:expr, $otherwise:expr) => {{
        let dtype = $dtype;
        $crate::ops::dispatch::with_int_type!(
            dtype,
            $t => $body,
            $crate::ops::dispatch::with_float_type!(dtype, $t => $body, $otherwise)
        )
    }};
}

pub(crate) use {with_float_type, with_int_type, with_numeric_type};
