//! `Options`: pipeline-wide settings, as `tf.data.Options`. Every field is optional; an unset
//! field takes its default, and `merge` lets a later `with_options` override a set one.

/// Pipeline-wide settings. Later features add their fields here.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct Options {
    /// Whether stages that run in parallel keep element order when their own
    /// `deterministic` argument is not given (default: true).
    pub deterministic: Option<bool>,
    /// Whether traced functions may trade exactness for speed in image ops: a JPEG decode
    /// followed by a large downscale decodes at a reduced DCT scale (default: false).
    pub approximate_image_ops: Option<bool>,
    /// Whether the Python API runs the whole pipeline in a child process and hands its
    /// elements over through shared memory (default: false). The engine itself ignores it:
    /// it is kept and merged so that `options()` reports it.
    pub pipeline_process: Option<bool>,
}

impl Options {
    /// `self` with every field that `other` sets taken from `other`.
    pub fn merge(&self, other: &Options) -> Options {
        Options {
            deterministic: other.deterministic.or(self.deterministic),
            approximate_image_ops: other.approximate_image_ops.or(self.approximate_image_ops),
            pipeline_process: other.pipeline_process.or(self.pipeline_process),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_options_win_where_set() {
        let a = Options {
            deterministic: Some(false),
            ..Options::default()
        };
        assert_eq!(a.merge(&Options::default()), a);
        let b = Options {
            deterministic: Some(true),
            ..Options::default()
        };
        assert_eq!(a.merge(&b).deterministic, Some(true));
        let c = Options {
            pipeline_process: Some(true),
            ..Options::default()
        };
        let merged = a.merge(&c).merge(&b);
        assert_eq!(merged.pipeline_process, Some(true));
        assert_eq!(merged.deterministic, Some(true));
    }
}
