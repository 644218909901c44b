//! Version and CPU information for health and `--version` output.

use napi_derive::napi;
use vdedup_core::frame_scan::Kernel;

/// The core crate's version, for health and `--version` output.
#[napi]
pub fn native_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// The frame scan's comparison loop on this CPU ("avx512", "avx2" or "portable"), for version and
/// health output: the portable loop is several times slower.
#[napi]
pub fn scan_kernel() -> &'static str {
    Kernel::detect().name()
}
