#![no_main]
use libfuzzer_sys::fuzz_target;

// Placeholder: the real target is being written.
fuzz_target!(|_data: &[u8]| {});
