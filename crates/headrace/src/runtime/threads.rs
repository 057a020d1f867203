//! Named worker threads that are joined when their owner is dropped.

use std::thread::JoinHandle;

/// The stack of a worker thread: 8 MiB, the main thread's and a Python thread's usual size.
/// Rust's default of 2 MiB is too small for the C code user functions call: numpy's
/// `linalg.inv` of a 600x600 matrix (OpenBLAS's LAPACK) overflowed it and crashed the
/// process. Untouched pages of the stack cost no memory.
pub const WORKER_STACK_BYTES: usize = 8 << 20;

/// The threads a stage started. Dropping it joins them: the owner cancels first, so the
/// join is prompt, and no thread outlives the iterator that started it.
#[derive(Default)]
pub struct Workers {
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    pub fn new() -> Workers {
        Workers::default()
    }

    pub fn spawn(&mut self, name: String, f: impl FnOnce() + Send + 'static) {
        let handle = std::thread::Builder::new()
            .name(name)
            .stack_size(WORKER_STACK_BYTES)
            .spawn(f)
            .expect("spawning a headrace worker thread");
        self.handles.push(handle);
    }

    pub fn len(&self) -> usize {
        self.handles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Joins every thread now.
    pub fn join(&mut self) {
        for h in self.handles.drain(..) {
            // A panicking worker already reported through its stage; joining must not panic.
            let _ = h.join();
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.join();
    }
}
