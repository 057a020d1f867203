//! Per-stage counters. Each iterator stage owns one [`StageStats`], registered with the
//! pipeline's [`StatsRegistry`] so the whole pipeline's counters can be read at any time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct StageStats {
    pub stage: String,
    elements: AtomicU64,
    errors: AtomicU64,
    dropped_errors: AtomicU64,
    skipped_files: AtomicU64,
    skipped_bytes: AtomicU64,
}

/// A snapshot of one stage's counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageSnapshot {
    pub stage: String,
    /// Elements the stage produced (errors not included).
    pub elements: u64,
    /// Error elements the stage produced.
    pub errors: u64,
    /// Error elements the stage dropped (`ignore_errors`).
    pub dropped_errors: u64,
    /// Files a reading stage gave up on (missing, unreadable or damaged), and how many of
    /// their bytes it did not read (for a compressed file, compressed bytes).
    pub skipped_files: u64,
    pub skipped_bytes: u64,
}

impl StageStats {
    pub fn add_elements(&self, n: u64) {
        self.elements.fetch_add(n, Ordering::Relaxed);
    }

    pub fn record_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_dropped_error(&self) {
        self.dropped_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A reading stage gave up on a file with `bytes` of it unread.
    pub fn record_skipped_file(&self, bytes: u64) {
        self.skipped_files.fetch_add(1, Ordering::Relaxed);
        self.skipped_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> StageSnapshot {
        StageSnapshot {
            stage: self.stage.clone(),
            elements: self.elements.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            dropped_errors: self.dropped_errors.load(Ordering::Relaxed),
            skipped_files: self.skipped_files.load(Ordering::Relaxed),
            skipped_bytes: self.skipped_bytes.load(Ordering::Relaxed),
        }
    }
}

/// Every stage of one running pipeline, in the order their iterators were first built.
///
/// Stages are keyed, so a stage whose iterator is built again (each epoch of `repeat`, each
/// inner dataset of `interleave`) adds to the same counters instead of growing the list.
#[derive(Default, Debug)]
pub struct StatsRegistry {
    stages: Mutex<Vec<(String, Arc<StageStats>)>>,
}

impl StatsRegistry {
    /// The counters for `key`, created under the name `stage` the first time.
    pub fn register(&self, key: &str, stage: &str) -> Arc<StageStats> {
        let mut stages = self.stages.lock().unwrap();
        if let Some((_, s)) = stages.iter().find(|(k, _)| k == key) {
            return s.clone();
        }
        let s = Arc::new(StageStats {
            stage: stage.to_string(),
            elements: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            dropped_errors: AtomicU64::new(0),
            skipped_files: AtomicU64::new(0),
            skipped_bytes: AtomicU64::new(0),
        });
        stages.push((key.to_string(), s.clone()));
        s
    }

    pub fn snapshot(&self) -> Vec<StageSnapshot> {
        self.stages
            .lock()
            .unwrap()
            .iter()
            .map(|(_, s)| s.snapshot())
            .collect()
    }
}
