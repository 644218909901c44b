//! Thin napi-rs binding over `vdedup-core`: type conversion only, no logic.
//!
//! CPU work runs on the libuv thread pool (`AsyncTask`), so the JS event loop never waits for
//! hashing or matching, and one call handles a whole batch (frames, or one training video against
//! every benchmark video). Typed arrays cross the boundary without per-element conversion; the JS
//! side hands them over and does not write to them while a task runs.
//!
//! One file per exported area: `hashing` (frame hashes), `bench_scan` (the benchmark side,
//! `BenchFrameScan`), `matching` (a training video matched against it), `window` (window
//! embeddings), `info` (version and kernel); `convert` holds what they share. The areas are public
//! so that their exports count as used where napi's registration is compiled out (`cargo clippy
//! --all-targets`).

// Before `bench_scan`: napi-derive learns what a task resolves to (`impl Task for MatchTask`) as it
// expands the crate in order, and types `bench_scan`'s methods that return one from it.
pub mod matching;

pub mod bench_scan;
mod convert;
pub mod hashing;
pub mod info;
pub mod window;
