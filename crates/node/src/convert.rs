//! What the exported areas share: errors for JavaScript, the panic guard, and the window rule.

use napi::{Error, Result, Status};
use napi_derive::napi;
use vdedup_core::matching::MatchParams;

/// An invalid-argument error for JavaScript, with the reason.
pub fn invalid(msg: impl ToString) -> Error {
    Error::new(Status::InvalidArg, msg.to_string())
}

/// Runs core work, turning a panic (a bug in the core) into a JS error. Unguarded, a panic on the
/// libuv pool or under a N-API callback unwinds into C and aborts the whole process: every job of
/// a worker, not only the one that hit the bug. The core keeps no state across calls that a
/// panic could leave half-written (a task owns its inputs; the benchmark side is read-only), so
/// going on after one is safe.
pub fn guarded<T>(what: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|payload| {
        let reason = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(Error::new(Status::GenericFailure, format!("internal error in the native core while {what} (a bug, please report it): {reason}")))
    })
}

/// The window rule (see vdedup_core::matching::MatchParams; checked there).
#[napi(object)]
#[derive(Clone, Copy)]
pub struct MatchRule {
    pub window: u32,
    pub min_window: u32,
    pub max_distance: u32,
    pub min_fraction: f64,
    pub min_informative: f64,
    /// Distinct bench frames a window's evidence must come from (0: off).
    pub min_distinct: Option<u32>,
    pub distinct_bits: Option<u32>,
    pub static_max_mean: Option<f64>,
    /// Slanted alignments: speeds 1 +- k * speedStep up to speedRange (absent or 0: straight only),
    /// intercepts per benchmark sample step (see vdedup_core::matching::LineGrid).
    pub speed_range: Option<f64>,
    pub speed_step: Option<f64>,
    pub speed_intercepts: Option<u32>,
    /// Slanted windows also need a mean distance over their matching frames at most this (absent: 64).
    pub speed_max_mean: Option<f64>,
    /// Short excerpts: windows of shortWindow frames matching at shortFraction with a mean
    /// distance at most shortMaxMean also count (absent or 0: off).
    pub short_window: Option<u32>,
    pub short_fraction: Option<f64>,
    pub short_max_mean: Option<f64>,
}

pub fn to_params(rule: &MatchRule) -> Result<MatchParams> {
    let params = MatchParams {
        window: rule.window,
        min_window: rule.min_window,
        max_distance: rule.max_distance,
        min_fraction: rule.min_fraction,
        min_informative: rule.min_informative,
        min_distinct: rule.min_distinct.unwrap_or(0),
        distinct_bits: rule.distinct_bits.unwrap_or(0),
        static_max_mean: rule.static_max_mean.unwrap_or(64.0),
        speed_range: rule.speed_range.unwrap_or(0.0),
        speed_step: rule.speed_step.unwrap_or(0.0),
        speed_intercepts: rule.speed_intercepts.unwrap_or(0),
        speed_max_mean: rule.speed_max_mean.unwrap_or(64.0),
        short_window: rule.short_window.unwrap_or(0),
        short_fraction: rule.short_fraction.unwrap_or(1.0),
        short_max_mean: rule.short_max_mean.unwrap_or(64.0),
    };
    params.validate().map_err(invalid)?;
    Ok(params)
}
