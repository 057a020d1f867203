//! Files and globs.

pub mod glob;

use std::path::Path;

use crate::error::{Error, Result};

/// A path given as bytes (a string tensor's value) as the OS takes it. On Unix any bytes
/// are a path; elsewhere they must be UTF-8.
pub fn os_path(raw: &[u8]) -> Result<&Path> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(Path::new(std::ffi::OsStr::from_bytes(raw)))
    }
    #[cfg(not(unix))]
    {
        std::str::from_utf8(raw).map(Path::new).map_err(|_| {
            Error::invalid_argument(format!(
                "path {:?} is not valid UTF-8",
                String::from_utf8_lossy(raw)
            ))
        })
    }
}

/// Opens the file at `raw` for reading; a missing file is a `NotFound` error naming it.
pub fn open(raw: &[u8]) -> Result<std::fs::File> {
    let shown = String::from_utf8_lossy(raw);
    std::fs::File::open(os_path(raw)?).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::not_found(format!("{shown}: no such file or directory"))
        }
        _ => Error::io(&shown, e),
    })
}
