//! Frame hashing: a batch of gray frames to their hashes, flip hashes, quality and content region.

use crate::convert::{guarded, invalid};
use napi::bindgen_prelude::{AsyncTask, BigUint64Array, Buffer, Float32Array, Uint32Array};
use napi::{Env, Result, Task};
use napi_derive::napi;
use vdedup_core::{detect_regions, hash_frames as core_hash_frames, FrameHash, HashOptions, Rect};

/// Per-call options; every field falls back to the core default.
#[napi(object)]
#[derive(Default)]
pub struct HashFramesOptions {
    pub trim_borders: Option<bool>,
    pub black_level: Option<u32>,
    pub min_content: Option<f64>,
    /// Hash only the central fraction of the content (e.g. 0.8); 1 or absent: all of it.
    pub center_crop: Option<f64>,
    /// Hash only this rectangle of the frame (an active region, `detectRegions`).
    pub region: Option<RegionRect>,
    /// Keep only the central vertical strip of this displayed shape (width / height, e.g. 9/16).
    pub strip_aspect: Option<f64>,
    /// Displayed width / height of the whole frame (default 1: the frame's own shape).
    pub display_aspect: Option<f64>,
}

/// A rectangle of a frame, in pixels.
#[napi(object)]
pub struct RegionRect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
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
    if let Some(aspect) = options.strip_aspect {
        if !(aspect > 0.0 && aspect <= 100.0) {
            return Err(invalid(format!("stripAspect must be in (0, 100], got {aspect}")));
        }
        core.strip_aspect = aspect as f32;
    }
    if let Some(aspect) = options.display_aspect {
        if !(aspect > 0.0 && aspect <= 100.0) {
            return Err(invalid(format!("displayAspect must be in (0, 100], got {aspect}")));
        }
        core.display_aspect = aspect as f32;
    }
    if let Some(r) = options.region {
        core.region = Some(Rect { x: r.x, y: r.y, width: r.width, height: r.height });
    }
    Ok(core)
}

/// Hash `frames` (N gray frames of width x height, back to back) on the libuv pool.
#[napi]
pub fn hash_frames(frames: Buffer, width: u32, height: u32, options: Option<HashFramesOptions>) -> Result<AsyncTask<HashFramesTask>> {
    let options = to_hash_options(options)?;
    Ok(AsyncTask::new(HashFramesTask { frames, width, height, options }))
}

pub struct DetectRegionsTask {
    frames: Buffer,
    width: u32,
    height: u32,
}

#[napi]
impl Task for DetectRegionsTask {
    type Output = Vec<Rect>;
    type JsValue = Vec<RegionRect>;

    fn compute(&mut self) -> Result<Self::Output> {
        guarded("finding active regions", || {
            let frame_bytes = self.width as usize * self.height as usize;
            if frame_bytes == 0 || !self.frames.len().is_multiple_of(frame_bytes) {
                return Err(invalid(format!("{} bytes are not whole {}x{} frames", self.frames.len(), self.width, self.height)));
            }
            Ok(detect_regions(&self.frames, self.width, self.height))
        })
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output.into_iter().map(|r| RegionRect { x: r.x, y: r.y, width: r.width, height: r.height }).collect())
    }
}

/// The active regions (at most 2, largest first) of a video from its sampled gray frames
/// (`frames`: width x height each, back to back, in order), on the libuv pool; see
/// vdedup_core::detect_regions.
#[napi]
pub fn detect_active_regions(frames: Buffer, width: u32, height: u32) -> AsyncTask<DetectRegionsTask> {
    AsyncTask::new(DetectRegionsTask { frames, width, height })
}
