//! The benchmark side, owned in Rust, and the ways a training video is matched against it.

use crate::convert::{guarded, invalid, MatchRule};
use crate::matching::{MatchTask, Mode, TrainSequence};
use napi::bindgen_prelude::{AsyncTask, BigUint64Array, Int32Array, Uint32Array, Uint8Array};
use napi::Result;
use napi_derive::napi;
use std::sync::Arc;
use vdedup_core::frame_scan::{FrameScan, Kernel};

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
    /// Hashes of the frames' central 9:16 strip, to find portrait crops (optional); informative
    /// when the whole frame is.
    pub strip_hashes: Option<BigUint64Array>,
    pub lengths: Uint32Array,
    /// The benchmark video each sequence belongs to, one per length (the sub-second phases of one
    /// video are sequences of their own); absent: every sequence is its own video.
    pub groups: Option<Uint32Array>,
}

/// The benchmark side, owned in Rust: its frame hashes (whole-frame hashes, and center-crop hashes
/// when the bench sequences carry them) and informative flags, and how training videos are matched
/// against it, fixed when it is built (`retrieval`): the exhaustive frame scan (exactly the exact
/// path's segments; see vdedup_core::frame_scan), the approximate prefilter, or every alignment.
/// `exactMatchVideo` and `verifyCandidates` (hnswlib's candidates for the paper preset) are
/// available whatever the retrieval.
#[napi]
pub struct BenchFrameScan {
    inner: Arc<FrameScan>,
    retrieval: Retrieval,
}

/// How `matchVideo` searches.
#[derive(Clone, Copy)]
enum Retrieval {
    Scan,
    Prefilter,
    Exact,
}

impl Retrieval {
    fn from_name(name: &str) -> Option<Retrieval> {
        match name {
            "frame-scan" => Some(Retrieval::Scan),
            "prefilter" => Some(Retrieval::Prefilter),
            "exact" => Some(Retrieval::Exact),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Retrieval::Scan => "frame-scan",
            Retrieval::Prefilter => "prefilter",
            Retrieval::Exact => "exact",
        }
    }
}

#[napi]
impl BenchFrameScan {
    /// `kernel` ("avx512", "avx2", "portable") overrides the detected comparison loop; one the CPU
    /// cannot run is refused. `retrieval` ("frame-scan", the default; "prefilter", which also builds
    /// the prefilter's tables, see vdedup_core::frame_scan::prefilter; "exact") is how `matchVideo`
    /// searches.
    #[napi(constructor)]
    pub fn new(bench: BenchSequences, kernel: Option<String>, retrieval: Option<String>) -> Result<Self> {
        guarded("building the benchmark side", || Self::build(bench, kernel, retrieval))
    }

    fn build(bench: BenchSequences, kernel: Option<String>, retrieval: Option<String>) -> Result<Self> {
        let retrieval = match retrieval.as_deref() {
            None => Retrieval::Scan,
            Some(name) => Retrieval::from_name(name)
                .ok_or_else(|| invalid(format!("unknown retrieval \"{name}\" (expected frame-scan, prefilter or exact)")))?,
        };
        let mut columns: Vec<&[u64]> = vec![&bench.hashes];
        columns.extend(bench.center_hashes.as_deref());
        let mut scan = FrameScan::build(&columns, &bench.informative, &bench.lengths).map_err(invalid)?;
        if let Some(hashes) = &bench.inner_hashes {
            scan = scan.with_inner(hashes, bench.inner_informative.as_deref().unwrap_or(&[])).map_err(invalid)?;
        }
        if let Some(hashes) = &bench.strip_hashes {
            scan = scan.with_strip(hashes).map_err(invalid)?;
        }
        if let Some(groups) = &bench.groups {
            scan = scan.with_groups(groups).map_err(invalid)?;
        }
        if let Some(name) = kernel {
            let k = Kernel::from_name(&name).ok_or_else(|| invalid(format!("unknown scan kernel \"{name}\" (expected avx512, avx2 or portable)")))?;
            scan = scan.with_kernel(k).map_err(invalid)?;
        }
        if let Retrieval::Prefilter = retrieval {
            scan = scan.with_prefilter();
        }
        Ok(BenchFrameScan { inner: Arc::new(scan), retrieval })
    }

    /// How `matchVideo` searches: "frame-scan", "prefilter" or "exact".
    #[napi(getter)]
    pub fn retrieval(&self) -> &'static str {
        self.retrieval.name()
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

    /// Bytes of the prefilter's tables (part of `heapBytes`; 0 without them).
    #[napi(getter)]
    pub fn prefilter_bytes(&self) -> f64 {
        self.inner.prefilter_bytes() as f64
    }

    /// The comparison loop this CPU runs: "avx512", "avx2" or "portable".
    #[napi(getter)]
    pub fn kernel(&self) -> &'static str {
        self.inner.kernel().name()
    }

    fn task(&self, train: TrainSequence, rule: &MatchRule, mode: Mode) -> Result<AsyncTask<MatchTask>> {
        MatchTask::queue(&self.inner, train, rule, mode)
    }

    /// Match one training video by this side's retrieval: the frame scan (the exact path's
    /// segments, with a fraction of its work), the prefilter (the frame scan over only the
    /// benchmark videos its tables name: the exact path's segments on those; it can miss a video),
    /// or every alignment.
    #[napi]
    pub fn match_video(&self, train: TrainSequence, rule: MatchRule) -> Result<AsyncTask<MatchTask>> {
        let mode = match self.retrieval {
            Retrieval::Scan => Mode::Scan,
            Retrieval::Prefilter => Mode::Prefilter,
            Retrieval::Exact => Mode::Exact,
        };
        self.task(train, &rule, mode)
    }

    /// Match one training video at every alignment with every benchmark video (exact: the reference).
    #[napi]
    pub fn exact_match_video(&self, train: TrainSequence, rule: MatchRule) -> Result<AsyncTask<MatchTask>> {
        self.task(train, &rule, Mode::Exact)
    }

    /// Verify given alignments (hnswlib's candidates): `benchVideos[i]` at `offsets[i]` (train frame minus
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
