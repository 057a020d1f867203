//! `headrace._native`: the PyO3 module. It only translates: Python values to elements and
//! back (`convert`), Python callables to engine functions (`function`), engine errors to
//! exceptions (`errors`); the engine is the `headrace` crate.

use pyo3::prelude::*;

mod convert;
mod dataset;
mod errors;
mod example;
mod function;
mod graph;
mod image;
mod iterator;
mod ops;
mod records;
mod template;

/// The number of cores the engine uses when told AUTOTUNE.
#[pyfunction]
fn available_cores() -> usize {
    headrace::runtime::autotune::available_cores()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<dataset::NativeDataset>()?;
    m.add_class::<iterator::NativeIterator>()?;
    m.add_class::<convert::TensorOwner>()?;
    m.add_class::<graph::NativeGraph>()?;
    m.add_class::<function::CancelFlag>()?;
    m.add_class::<template::NativeTemplateFn>()?;
    m.add_class::<records::NativeTfRecordWriter>()?;
    m.add_function(wrap_pyfunction!(records::tfrecord_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(records::text_line_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(records::fixed_length_record_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(template::param_source, m)?)?;
    m.add_function(wrap_pyfunction!(available_cores, m)?)?;
    m.add_function(wrap_pyfunction!(ops::binary_op, m)?)?;
    m.add_function(wrap_pyfunction!(ops::unary_op, m)?)?;
    m.add_function(wrap_pyfunction!(ops::cast_op, m)?)?;
    m.add_function(wrap_pyfunction!(ops::reduce_op, m)?)?;
    m.add_function(wrap_pyfunction!(ops::arg_op, m)?)?;
    m.add_function(wrap_pyfunction!(ops::random_op, m)?)?;
    m.add_function(wrap_pyfunction!(ops::array_op, m)?)?;
    m.add_function(wrap_pyfunction!(ops::text_op, m)?)?;
    m.add_function(wrap_pyfunction!(image::image_op, m)?)?;
    m.add_function(wrap_pyfunction!(image::set_max_pixels, m)?)?;
    m.add_function(wrap_pyfunction!(image::random_image_op, m)?)?;
    m.add_function(wrap_pyfunction!(ops::split_op, m)?)?;
    m.add_function(wrap_pyfunction!(ops::constant, m)?)?;
    m.add_function(wrap_pyfunction!(example::parse_op, m)?)?;
    m.add_function(wrap_pyfunction!(example::encode_example_op, m)?)?;
    m.add_function(wrap_pyfunction!(example::decode_example_op, m)?)?;
    m.add_function(wrap_pyfunction!(example::encode_sequence_example_op, m)?)?;
    m.add_function(wrap_pyfunction!(example::decode_sequence_example_op, m)?)?;
    m.add("AUTOTUNE", dataset::AUTOTUNE)?;
    m.add("INFINITE_CARDINALITY", headrace::Cardinality::INFINITE)?;
    m.add("UNKNOWN_CARDINALITY", headrace::Cardinality::UNKNOWN)?;
    errors::register(m)?;
    Ok(())
}
