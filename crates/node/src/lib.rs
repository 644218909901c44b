//! Thin napi-rs binding over `vdedup-core`: type conversion only, no logic.
//!
//! CPU work runs on the libuv thread pool (`AsyncTask`), so the JS event loop never waits for
//! hashing or matching, and one call handles a whole batch (frames, or one training video against
//! every benchmark video). Typed arrays cross the boundary without per-element conversion; the JS
//! side hands them over and does not write to them while a task runs.

use napi::bindgen_prelude::{AsyncTask, BigUint64Array, Buffer, Float32Array, Int32Array, Uint32Array, Uint8Array};
use napi::{Env, Error, Result, Status, Task};
use napi_derive::napi;
use std::sync::Arc;
use vdedup_core::frame_scan::{check_inner, check_train, FrameScan, Kernel, Search};
use vdedup_core::matching::{MatchParams, Segment, Sequence, Variant, SPEED_UNIT};
use vdedup_core::window::{window_embeddings, EMBED_DIM};
use vdedup_core::{hash_frames as core_hash_frames, FrameHash, HashOptions};

fn invalid(msg: impl ToString) -> Error {
    Error::new(Status::InvalidArg, msg.to_string())
}

/// Runs core work, turning a panic (a bug in the core) into a JS error. Unguarded, a panic on the
/// libuv pool or under a N-API callback unwinds into C and aborts the whole process: every job of
/// a worker, not only the one that hit the bug. The core keeps no state across calls that a
/// panic could leave half-written (a task owns its inputs; the benchmark side is read-only), so
/// going on after one is safe.
fn guarded<T>(what: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|payload| {
        let reason = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(Error::new(Status::GenericFailure, format!("internal error in the native core while {what} (a bug, please report it): {reason}")))
    })
}

// ---------------------------------------------------------------------------------------------
// Frame hashing

/// Per-call options; every field falls back to the core default.
#[napi(object)]
#[derive(Default)]
pub struct HashFramesOptions {
    pub trim_borders: Option<bool>,
    pub black_level: Option<u32>,
    pub min_content: Option<f64>,
    /// Hash only the central fraction of the content (e.g. 0.8); 1 or absent: all of it.
    pub center_crop: Option<f64>,
}

/// Column-wise results: element i of each array belongs to frame i.
#[napi(object)]
pub struct HashedFrames {
    pub hashes: BigUint64Array,
    pub flips: BigUint64Array,
    pub quality: Float32Array,
    /// x, y, width, height of the kept content region, 4 values per frame.
    pub content: Uint32Array,
}

pub struct HashFramesTask {
    frames: Buffer,
    width: u32,
    height: u32,
    options: HashOptions,
}

#[napi]
impl Task for HashFramesTask {
    type Output = Vec<FrameHash>;
    type JsValue = HashedFrames;

    fn compute(&mut self) -> Result<Self::Output> {
        guarded("hashing frames", || core_hash_frames(&self.frames, self.width, self.height, &self.options).map_err(invalid))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        let mut hashes = Vec::with_capacity(output.len());
        let mut flips = Vec::with_capacity(output.len());
        let mut quality = Vec::with_capacity(output.len());
        let mut content = Vec::with_capacity(output.len() * 4);
        for f in &output {
            hashes.push(f.hash);
            flips.push(f.flip);
            quality.push(f.quality);
            content.extend_from_slice(&[f.content.x, f.content.y, f.content.width, f.content.height]);
        }
        Ok(HashedFrames { hashes: hashes.into(), flips: flips.into(), quality: quality.into(), content: content.into() })
    }
}

fn to_hash_options(options: Option<HashFramesOptions>) -> Result<HashOptions> {
    let options = options.unwrap_or_default();
    let mut core = HashOptions::default();
    if let Some(trim) = options.trim_borders {
        core.trim_borders = trim;
    }
    if let Some(level) = options.black_level {
        core.black_level = u8::try_from(level).map_err(|_| invalid(format!("blackLevel must be 0..255, got {level}")))?;
    }
    if let Some(min) = options.min_content {
        if !(min > 0.0 && min <= 1.0) {
            return Err(invalid(format!("minContent must be in (0, 1], got {min}")));
        }
        core.min_content = min as f32;
    }
    if let Some(c) = options.center_crop {
        if !(c > 0.0 && c <= 1.0) {
            return Err(invalid(format!("centerCrop must be in (0, 1], got {c}")));
        }
        core.center_crop = c as f32;
    }
    Ok(core)
}

/// Hash `frames` (N gray frames of width x height, back to back) on the libuv pool.
#[napi]
pub fn hash_frames(frames: Buffer, width: u32, height: u32, options: Option<HashFramesOptions>) -> Result<AsyncTask<HashFramesTask>> {
    let options = to_hash_options(options)?;
    Ok(AsyncTask::new(HashFramesTask { frames, width, height, options }))
}

// ---------------------------------------------------------------------------------------------
// Matching

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

fn to_params(rule: &MatchRule) -> Result<MatchParams> {
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

/// One training video: its hashes, optional flip hashes, and informative-frame flags (empty: all);
/// optionally the hashes of its frames' inner half with their own flags (compared with the
/// benchmark's inner-half hashes, when it holds them).
#[napi(object)]
pub struct TrainSequence {
    pub hashes: BigUint64Array,
    pub flips: Option<BigUint64Array>,
    pub informative: Uint8Array,
    pub inner_hashes: Option<BigUint64Array>,
    pub inner_informative: Option<Uint8Array>,
}

/// All benchmark videos, concatenated; `lengths[i]` frames belong to video i.
#[napi(object)]
pub struct BenchSequences {
    pub hashes: BigUint64Array,
    /// Hashes of the frames' central part, to find copies cropped at the edges (optional).
    pub center_hashes: Option<BigUint64Array>,
    pub informative: Uint8Array,
    /// Hashes of the frames' inner half, to find copies with overlays at the edges (optional),
    /// with their own informative flags (empty or absent: all).
    pub inner_hashes: Option<BigUint64Array>,
    pub inner_informative: Option<Uint8Array>,
    pub lengths: Uint32Array,
    /// The benchmark video each sequence belongs to, one per length (the sub-second phases of one
    /// video are sequences of their own); absent: every sequence is its own video.
    pub groups: Option<Uint32Array>,
}

/// A matched segment. Straight (`speed` 1): `benchVideo` is a benchmark sequence (one phase of a
/// video), `benchStart`/`benchEnd`/`windowBench` count its frames (one per second). Slanted (a copy
/// played faster or slower): `benchVideo` is the video's first sequence, and they count samples of
/// the video, `benchPerSecond` a second (all its phases); `offset` is the line's intercept.
#[napi(object)]
pub struct MatchSegment {
    pub bench_video: u32,
    pub offset: i32,
    pub train_start: u32,
    pub train_end: u32,
    pub bench_start: u32,
    pub bench_end: u32,
    pub matched_frames: u32,
    pub window_frames: u32,
    pub mean_distance: f64,
    pub best_train_start: u32,
    /// The training video is a mirrored copy.
    pub flipped: bool,
    /// The training video is a copy cropped at the edges.
    pub cropped: bool,
    /// Matched on the inner half of both frames (a copy with overlays at the edges).
    pub inner: bool,
    /// Benchmark seconds per training second (1: straight; 1.04: the copy plays 4% faster).
    pub speed: f64,
    /// Units of `benchStart`, `benchEnd` and `windowBench` per second (1 for straight segments).
    pub bench_per_second: u32,
    /// The benchmark frame (or sample) aligned with each training frame of the best window.
    pub window_bench: Vec<u32>,
}

/// A core segment, with its best window's benchmark frames, as JavaScript sees it.
fn to_js(s: Segment, scan: &FrameScan, params: &MatchParams) -> MatchSegment {
    MatchSegment {
        speed: f64::from(s.speed) / f64::from(SPEED_UNIT),
        bench_per_second: if s.slanted() { scan.phases_of(s.bench_video) } else { 1 },
        window_bench: scan.window_bench(&s, params),
        ..MatchSegment::from(s)
    }
}

impl From<Segment> for MatchSegment {
    fn from(s: Segment) -> Self {
        MatchSegment {
            bench_video: s.bench_video,
            offset: s.offset as i32,
            train_start: s.train_start,
            train_end: s.train_end,
            bench_start: s.bench_start,
            bench_end: s.bench_end,
            matched_frames: s.matched_frames,
            window_frames: s.window_frames,
            mean_distance: f64::from(s.mean_distance),
            best_train_start: s.best_train_start,
            flipped: s.variant == Variant::Flipped,
            cropped: s.variant == Variant::Cropped,
            inner: s.variant == Variant::Inner,
            speed: 1.0,
            bench_per_second: 1,
            window_bench: Vec::new(),
        }
    }
}

/// How a `MatchTask` searches (vdedup_core::frame_scan::Search, with owned candidates).
enum Mode {
    Scan,
    Indexed,
    Exact,
    Candidates(Vec<(u32, i64)>),
}

pub struct MatchTask {
    bench: Arc<FrameScan>,
    train: TrainSequence,
    params: MatchParams,
    mode: Mode,
}

#[napi]
impl Task for MatchTask {
    type Output = Vec<Segment>;
    type JsValue = Vec<MatchSegment>;

    fn compute(&mut self) -> Result<Self::Output> {
        guarded("matching a video", || self.match_now())
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output.into_iter().map(|s| to_js(s, &self.bench, &self.params)).collect())
    }
}

impl MatchTask {
    fn match_now(&self) -> Result<Vec<Segment>> {
        let info: &[u8] = &self.train.informative;
        let direct = Sequence::new(&self.train.hashes, info);
        let flips = self.train.flips.as_ref().map(|f| Sequence::new(f, info));
        let inner_info: &[u8] = self.train.inner_informative.as_deref().unwrap_or(&[]);
        let inner = self.train.inner_hashes.as_ref().map(|h| Sequence::new(h, inner_info));
        let search = match &self.mode {
            Mode::Scan => Search::Scan,
            Mode::Indexed => Search::Indexed,
            Mode::Exact => Search::Exact,
            Mode::Candidates(c) => Search::Candidates(c),
        };
        self.bench.match_video(&direct, flips.as_ref(), inner.as_ref(), &self.params, search).map_err(invalid)
    }
}

/// The benchmark side, owned in Rust: its frame hashes (whole-frame hashes, and center-crop hashes
/// when the bench sequences carry them) and informative flags. Training videos are matched against
/// it by the exhaustive frame scan (`matchVideo`, exactly the exact path's segments; see
/// vdedup_core::frame_scan), every alignment (`exactMatchVideo`), or given alignments
/// (`verifyCandidates`, hnswlib's candidates for the paper preset).
#[napi]
pub struct BenchFrameScan {
    inner: Arc<FrameScan>,
}

#[napi]
impl BenchFrameScan {
    /// `kernel` ("avx512", "avx2", "portable") overrides the detected comparison loop; one the CPU
    /// cannot run is refused. `index`: also build the approximate prefilter's tables
    /// (`indexedMatchVideo`; see vdedup_core::frame_scan::prefilter).
    #[napi(constructor)]
    pub fn new(bench: BenchSequences, kernel: Option<String>, index: Option<bool>) -> Result<Self> {
        guarded("building the benchmark side", || Self::build(bench, kernel, index))
    }

    fn build(bench: BenchSequences, kernel: Option<String>, index: Option<bool>) -> Result<Self> {
        let mut columns: Vec<&[u64]> = vec![&bench.hashes];
        columns.extend(bench.center_hashes.as_deref());
        let mut scan = FrameScan::build(&columns, &bench.informative, &bench.lengths).map_err(invalid)?;
        if let Some(hashes) = &bench.inner_hashes {
            scan = scan.with_inner(hashes, bench.inner_informative.as_deref().unwrap_or(&[])).map_err(invalid)?;
        }
        if let Some(groups) = &bench.groups {
            scan = scan.with_groups(groups).map_err(invalid)?;
        }
        if let Some(name) = kernel {
            let k = Kernel::from_name(&name).ok_or_else(|| invalid(format!("unknown scan kernel \"{name}\" (expected avx512, avx2 or portable)")))?;
            scan = scan.with_kernel(k).map_err(invalid)?;
        }
        if index == Some(true) {
            scan = scan.with_index();
        }
        Ok(BenchFrameScan { inner: Arc::new(scan) })
    }

    /// Entries that can match (informative frames x columns).
    #[napi(getter)]
    pub fn entries(&self) -> u32 {
        self.inner.entries() as u32
    }

    /// Benchmark videos held.
    #[napi(getter)]
    pub fn videos(&self) -> u32 {
        self.inner.videos() as u32
    }

    /// Bytes held (outside the JS heap): the benchmark's hash columns and informative flags.
    #[napi(getter)]
    pub fn heap_bytes(&self) -> f64 {
        self.inner.heap_bytes() as f64
    }

    /// Whether the approximate prefilter's tables are built (`indexedMatchVideo` uses them).
    #[napi(getter)]
    pub fn indexed(&self) -> bool {
        self.inner.index_bits().is_some()
    }

    /// Bytes of the prefilter's tables (part of `heapBytes`; 0 without them).
    #[napi(getter)]
    pub fn index_bytes(&self) -> f64 {
        self.inner.index_bytes() as f64
    }

    /// The comparison loop this CPU runs: "avx512", "avx2" or "portable".
    #[napi(getter)]
    pub fn kernel(&self) -> &'static str {
        self.inner.kernel().name()
    }

    fn task(&self, train: TrainSequence, rule: &MatchRule, mode: Mode) -> Result<AsyncTask<MatchTask>> {
        let params = to_params(rule)?;
        check_train(&train.hashes, train.flips.as_deref(), &train.informative).map_err(invalid)?;
        if let Some(h) = &train.inner_hashes {
            check_inner(train.hashes.len(), h, train.inner_informative.as_deref().unwrap_or(&[])).map_err(invalid)?;
        }
        Ok(AsyncTask::new(MatchTask { bench: Arc::clone(&self.inner), train, params, mode }))
    }

    /// Match one training video by the frame scan (the exact path's segments, with a fraction of its work).
    #[napi]
    pub fn match_video(&self, train: TrainSequence, rule: MatchRule) -> Result<AsyncTask<MatchTask>> {
        self.task(train, &rule, Mode::Scan)
    }

    /// Match one training video by the approximate prefilter: the frame scan over only the
    /// benchmark videos its tables name (the exact path's segments on those; it can miss a video).
    /// Without tables (built with `index` unset), the frame scan.
    #[napi]
    pub fn indexed_match_video(&self, train: TrainSequence, rule: MatchRule) -> Result<AsyncTask<MatchTask>> {
        self.task(train, &rule, Mode::Indexed)
    }

    /// Match one training video at every alignment with every benchmark video (exact: the reference).
    #[napi]
    pub fn exact_match_video(&self, train: TrainSequence, rule: MatchRule) -> Result<AsyncTask<MatchTask>> {
        self.task(train, &rule, Mode::Exact)
    }

    /// Verify the alignments proposed by an index: `benchVideos[i]` at `offsets[i]` (train frame minus
    /// bench frame). Flip hashes, when given, are verified at the same candidates.
    #[napi]
    pub fn verify_candidates(
        &self,
        train: TrainSequence,
        bench_videos: Uint32Array,
        offsets: Int32Array,
        rule: MatchRule,
    ) -> Result<AsyncTask<MatchTask>> {
        if bench_videos.len() != offsets.len() {
            return Err(invalid("benchVideos and offsets must have the same length"));
        }
        let candidates = bench_videos.iter().zip(offsets.iter()).map(|(&b, &o)| (b, i64::from(o))).collect();
        self.task(train, &rule, Mode::Candidates(candidates))
    }
}

#[napi(object)]
pub struct WindowVectors {
    /// `starts.length` vectors of `dim` floats, back to back.
    pub vectors: Float32Array,
    pub starts: Uint32Array,
    pub dim: u32,
}

/// Embeddings of a video's windows for the approximate index (fast: synchronous).
#[napi]
pub fn window_vectors(hashes: BigUint64Array, informative: Uint8Array, rule: MatchRule, stride: u32) -> Result<WindowVectors> {
    guarded("embedding windows", || {
        check_train(&hashes, None, &informative).map_err(invalid)?;
        let params = to_params(&rule)?;
        let (vectors, starts) = window_embeddings(&Sequence::new(&hashes, &informative), &params, stride as usize);
        Ok(WindowVectors { vectors: vectors.into(), starts: starts.into(), dim: EMBED_DIM as u32 })
    })
}

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
