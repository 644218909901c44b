//! Window embeddings for the approximate (hnswlib) index.

use crate::convert::{guarded, invalid, to_params, MatchRule};
use napi::bindgen_prelude::{BigUint64Array, Float32Array, Uint32Array, Uint8Array};
use napi::Result;
use napi_derive::napi;
use vdedup_core::frame_scan::check_train;
use vdedup_core::matching::Sequence;
use vdedup_core::window::{window_embeddings, EMBED_DIM};

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
