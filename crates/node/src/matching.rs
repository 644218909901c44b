//! A training video matched against the benchmark side on the libuv pool, and the segments it
//! gives as JavaScript sees them.

use crate::convert::{guarded, invalid, to_params, MatchRule};
use napi::bindgen_prelude::{AsyncTask, BigUint64Array, Uint8Array};
use napi::{Env, Result, Task};
use napi_derive::napi;
use std::sync::Arc;
use vdedup_core::frame_scan::{check_inner, check_regions, check_train, FrameScan, Search};
use vdedup_core::matching::{MatchParams, Segment, Sequence, Variant, SPEED_UNIT};

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
    /// Hashes of the training video's active regions (at most 2), region after region, one per
    /// frame each, compared with the benchmark's whole-frame hashes; with their informative flags
    /// in the same layout (empty or absent: all).
    pub region_hashes: Option<BigUint64Array>,
    pub region_informative: Option<Uint8Array>,
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
    /// Matched on the central 9:16 strip of the benchmark's frames (a portrait crop).
    pub strip: bool,
    /// Matched on the training video's active region k (0: its main picture, 1: an inset);
    /// absent: on its whole frame.
    pub region: Option<u32>,
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
            strip: s.variant == Variant::Strip,
            region: match s.variant {
                Variant::Region(k) => Some(u32::from(k)),
                _ => None,
            },
            speed: 1.0,
            bench_per_second: 1,
            window_bench: Vec::new(),
        }
    }
}

/// The training video's active-region columns (`regionHashes`, region after region), as sequences.
fn region_sequences(train: &TrainSequence) -> Result<Vec<Sequence<'_>>> {
    let hashes: &[u64] = train.region_hashes.as_deref().unwrap_or(&[]);
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let n = train.hashes.len();
    let info: &[u8] = train.region_informative.as_deref().unwrap_or(&[]);
    if n == 0 || !hashes.len().is_multiple_of(n) || (!info.is_empty() && info.len() != hashes.len()) {
        return Err(invalid(format!(
            "regionHashes must hold one hash per frame for each region ({} frames), with regionInformative empty or as long; got {} hashes and {} flags",
            n,
            hashes.len(),
            info.len()
        )));
    }
    Ok((0..hashes.len() / n)
        .map(|k| Sequence::new(&hashes[k * n..(k + 1) * n], if info.is_empty() { &[] } else { &info[k * n..(k + 1) * n] }))
        .collect())
}

/// How a `MatchTask` searches (vdedup_core::frame_scan::Search, with owned candidates).
pub enum Mode {
    Scan,
    Prefilter,
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
    /// `train` against `bench` under `rule`, the way `mode` says, on the libuv pool; the rule and
    /// the training columns are checked first, on the calling thread.
    pub fn queue(bench: &Arc<FrameScan>, train: TrainSequence, rule: &MatchRule, mode: Mode) -> Result<AsyncTask<MatchTask>> {
        let params = to_params(rule)?;
        check_train(&train.hashes, train.flips.as_deref(), &train.informative).map_err(invalid)?;
        if let Some(h) = &train.inner_hashes {
            check_inner(train.hashes.len(), h, train.inner_informative.as_deref().unwrap_or(&[])).map_err(invalid)?;
        }
        check_regions(train.hashes.len(), &region_sequences(&train)?).map_err(invalid)?;
        Ok(AsyncTask::new(MatchTask { bench: Arc::clone(bench), train, params, mode }))
    }

    fn match_now(&self) -> Result<Vec<Segment>> {
        let info: &[u8] = &self.train.informative;
        let direct = Sequence::new(&self.train.hashes, info);
        let flips = self.train.flips.as_ref().map(|f| Sequence::new(f, info));
        let inner_info: &[u8] = self.train.inner_informative.as_deref().unwrap_or(&[]);
        let inner = self.train.inner_hashes.as_ref().map(|h| Sequence::new(h, inner_info));
        let regions = region_sequences(&self.train)?;
        let search = match &self.mode {
            Mode::Scan => Search::Scan,
            Mode::Prefilter => Search::Prefilter,
            Mode::Exact => Search::Exact,
            Mode::Candidates(c) => Search::Candidates(c),
        };
        self.bench.match_with_regions(&direct, flips.as_ref(), inner.as_ref(), &regions, &self.params, search).map_err(invalid)
    }
}
