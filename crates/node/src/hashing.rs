//! Frame hashing: a batch of gray frames to their hashes, flip hashes, quality and content region.

use crate::convert::{guarded, invalid};
use napi::bindgen_prelude::{AsyncTask, BigUint64Array, Buffer, Float32Array, Uint32Array};
use napi::{Env, Result, Task};
use napi_derive::napi;
use vdedup_core::{hash_frames as core_hash_frames, FrameHash, HashOptions};

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
