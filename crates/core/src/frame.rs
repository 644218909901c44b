//! Frame -> hash: border trim, area resize to 32x32, DCT, pHash, flip hash, quality.

use std::fmt;

use crate::borders::{detect_borders, detect_borders_in, Rect};
use crate::phash::{dct_low_8x8, flip_hash_from_dct, hash_from_dct};
use crate::quality::frame_quality;
use crate::resize::resize_area_32;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HashOptions {
    /// Trim black letterbox/pillarbox borders before hashing.
    pub trim_borders: bool,
    /// A pixel at or below this counts as black (limited-range video black is 16).
    pub black_level: u8,
    /// Never keep less than this share of either dimension; if trimming would, the frame is not trimmed.
    pub min_content: f32,
    /// Hash only the central fraction (each dimension) of the content, e.g. 0.8: what a copy
    /// cropped by 10% on every side shows. 1.0 hashes the whole content.
    pub center_crop: f32,
    /// Hash only this rectangle of the frame (an active region, `detect_regions`), black lines
    /// inside it trimmed like a frame's. None: the whole frame.
    pub region: Option<Rect>,
    /// Keep only the central vertical strip of the content whose displayed shape is this
    /// width / height (9/16: what a portrait crop of a landscape video shows); 0: off. The
    /// content's own displayed shape comes from `display_aspect`.
    pub strip_aspect: f32,
    /// Displayed width / height of the whole frame (the sampled frame is square whatever the
    /// video's shape).
    pub display_aspect: f32,
}

impl Default for HashOptions {
    fn default() -> Self {
        HashOptions { trim_borders: true, black_level: 32, min_content: 0.25, center_crop: 1.0, region: None, strip_aspect: 0.0, display_aspect: 1.0 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameHash {
    /// pHash of the (trimmed) content.
    pub hash: u64,
    /// pHash of its horizontal mirror, from the same DCT.
    pub flip: u64,
    /// Information measure (see `frame_quality`).
    pub quality: f32,
    /// Region kept after border trimming (the whole frame when nothing was trimmed).
    pub content: Rect,
}

/// Smallest frame side accepted: below this, border detection and the 32x32 grid lose meaning.
pub const MIN_FRAME_SIDE: u32 = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    BadDimensions {
        width: u32,
        height: u32,
    },
    BadLength {
        len: usize,
        frame_bytes: usize,
    },
    /// `HashOptions::region` is empty or reaches outside the frame.
    BadRegion {
        region: Rect,
        width: u32,
        height: u32,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::BadDimensions { width, height } => {
                write!(f, "frame size {width}x{height} is invalid: both sides must be at least {MIN_FRAME_SIDE}")
            }
            FrameError::BadLength { len, frame_bytes } => {
                write!(f, "frame buffer of {len} bytes is not a whole number of frames of {frame_bytes} bytes")
            }
            FrameError::BadRegion { region: r, width, height } => {
                write!(f, "region {}x{} at ({}, {}) is not inside the {width}x{height} frame", r.width, r.height, r.x, r.y)
            }
        }
    }
}

impl std::error::Error for FrameError {}

/// Hash one 8-bit gray frame (row-major, width*height bytes).
pub fn hash_frame(frame: &[u8], width: u32, height: u32, opts: &HashOptions) -> FrameHash {
    let trimmed = match opts.region {
        Some(region) => detect_borders_in(frame, width, region, opts),
        None => detect_borders(frame, width, height, opts),
    };
    let mut content = center_of(trimmed, opts.center_crop);
    if opts.strip_aspect > 0.0 {
        content = strip_of(content, width, height, opts);
    }
    let pixels = resize_area_32(frame, width, height, content);
    let block = dct_low_8x8(&pixels);
    FrameHash { hash: hash_from_dct(&block), flip: flip_hash_from_dct(&block), quality: frame_quality(&pixels), content }
}

/// The central `fraction` of `rect` (at least 1x1 pixel).
fn center_of(rect: Rect, fraction: f32) -> Rect {
    if !(fraction > 0.0 && fraction < 1.0) {
        return rect;
    }
    let w = ((rect.width as f32 * fraction).round() as u32).clamp(1, rect.width);
    let h = ((rect.height as f32 * fraction).round() as u32).clamp(1, rect.height);
    Rect { x: rect.x + (rect.width - w) / 2, y: rect.y + (rect.height - h) / 2, width: w, height: h }
}

/// The central vertical strip of `rect` whose displayed shape is `opts.strip_aspect` (all of
/// `rect` when it is narrower than that already).
fn strip_of(rect: Rect, width: u32, height: u32, opts: &HashOptions) -> Rect {
    let shown = f64::from(opts.display_aspect) * (f64::from(rect.width) / f64::from(width)) / (f64::from(rect.height) / f64::from(height));
    let share = f64::from(opts.strip_aspect) / shown;
    if !(share > 0.0 && share < 1.0) {
        return rect;
    }
    let w = ((f64::from(rect.width) * share).round() as u32).clamp(1, rect.width);
    Rect { x: rect.x + (rect.width - w) / 2, width: w, ..rect }
}

/// Hash N frames stored back to back in one buffer (one native call per batch, not per frame).
pub fn hash_frames(frames: &[u8], width: u32, height: u32, opts: &HashOptions) -> Result<Vec<FrameHash>, FrameError> {
    if width < MIN_FRAME_SIDE || height < MIN_FRAME_SIDE {
        return Err(FrameError::BadDimensions { width, height });
    }
    let frame_bytes = width as usize * height as usize;
    if !frames.len().is_multiple_of(frame_bytes) {
        return Err(FrameError::BadLength { len: frames.len(), frame_bytes });
    }
    if let Some(r) = opts.region {
        let inside = u64::from(r.x) + u64::from(r.width) <= u64::from(width) && u64::from(r.y) + u64::from(r.height) <= u64::from(height);
        if r.width == 0 || r.height == 0 || !inside {
            return Err(FrameError::BadRegion { region: r, width, height });
        }
    }
    Ok(frames.chunks_exact(frame_bytes).map(|f| hash_frame(f, width, height, opts)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hamming::hamming;

    fn scene(w: usize, h: usize) -> Vec<u8> {
        (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f64 / w as f64, (i / w) as f64 / h as f64);
                (128.0 + 60.0 * (7.0 * x).sin() * (5.0 * y).cos() + 50.0 * (x - y)) as u8
            })
            .collect()
    }

    #[test]
    fn uniform_and_black() {
        let o = HashOptions::default();
        assert_eq!(hash_frame(&vec![90u8; 128 * 128], 128, 128, &o).hash, 0x8000_0000_0000_0000);
        let black = hash_frame(&vec![0u8; 128 * 128], 128, 128, &o);
        assert_eq!(black.hash, 0);
        assert_eq!(black.quality, 0.0);
        assert_eq!(black.content, Rect { x: 0, y: 0, width: 128, height: 128 });
    }

    #[test]
    fn letterboxed_copy_hashes_like_the_original() {
        let o = HashOptions::default();
        let orig = scene(128, 128);
        // The same picture squeezed into rows 16..112 with black bars: what a fixed-size downscale
        // of a letterboxed copy looks like.
        let content = scene(128, 96);
        let mut boxed = vec![0u8; 128 * 128];
        boxed[16 * 128..112 * 128].copy_from_slice(&content);
        let a = hash_frame(&orig, 128, 128, &o);
        let b = hash_frame(&boxed, 128, 128, &o);
        assert_eq!(b.content, Rect { x: 0, y: 16, width: 128, height: 96 });
        assert!(hamming(a.hash, b.hash) <= 4, "{}", hamming(a.hash, b.hash));
        // Without trimming the bars dominate the hash.
        let raw = hash_frame(&boxed, 128, 128, &HashOptions { trim_borders: false, ..o });
        assert!(hamming(a.hash, raw.hash) > hamming(a.hash, b.hash));
    }

    #[test]
    fn center_crop_hash_matches_a_cropped_copy() {
        let o = HashOptions::default();
        let full = scene(160, 160);
        // A copy cropped by 10% on every side and scaled back up to the same frame size.
        let mut cropped = vec![0u8; 160 * 160];
        for y in 0..160 {
            for x in 0..160 {
                cropped[y * 160 + x] = full[(16 + y * 128 / 160) * 160 + 16 + x * 128 / 160];
            }
        }
        let a = hash_frame(&full, 160, 160, &HashOptions { center_crop: 0.8, ..o });
        let b = hash_frame(&cropped, 160, 160, &o);
        assert_eq!(a.content, Rect { x: 16, y: 16, width: 128, height: 128 });
        assert!(hamming(a.hash, b.hash) <= 4, "{}", hamming(a.hash, b.hash));
        let whole = hash_frame(&full, 160, 160, &o);
        assert!(hamming(whole.hash, b.hash) > hamming(a.hash, b.hash));
    }

    #[test]
    fn region_hash_matches_the_clip_alone() {
        let o = HashOptions::default();
        let clip = scene(160, 90);
        // The clip shrunk to 80x60 on a white meme canvas of 128x128 (the sampled frame is square).
        let mut meme = vec![235u8; 128 * 128];
        for y in 0..60 {
            for x in 0..80 {
                meme[(50 + y) * 128 + 24 + x] = clip[(y * 90 / 60) * 160 + x * 160 / 80];
            }
        }
        let original = hash_frame(&clip, 160, 90, &o);
        let region = Rect { x: 24, y: 50, width: 80, height: 60 };
        let r = hash_frame(&meme, 128, 128, &HashOptions { region: Some(region), ..o });
        assert_eq!(r.content, region);
        assert!(hamming(original.hash, r.hash) <= 4, "{}", hamming(original.hash, r.hash));
        let whole = hash_frame(&meme, 128, 128, &o);
        assert!(hamming(original.hash, whole.hash) > 12, "{}", hamming(original.hash, whole.hash));
        // Black lines inside the region are trimmed as a frame's are.
        let mut boxed = meme.clone();
        for y in 40..50 {
            boxed[y * 128 + 24..y * 128 + 104].fill(0);
        }
        let b = hash_frame(&boxed, 128, 128, &HashOptions { region: Some(Rect { x: 24, y: 40, width: 80, height: 70 }), ..o });
        assert_eq!(b.content, region);
        assert_eq!(b.hash, r.hash);
    }

    #[test]
    fn strip_hash_matches_a_portrait_crop() {
        let o = HashOptions::default();
        // A 16:9 frame sampled square, and the portrait 9:16 crop of its centre, sampled square.
        let (sw, sh) = (1280usize, 720usize);
        let full = scene(sw, sh);
        let sample = |src: &dyn Fn(usize, usize) -> u8| -> Vec<u8> { (0..128 * 128).map(|i| src(i % 128, i / 128)).collect() };
        let frame = sample(&|x, y| full[(y * sh / 128) * sw + x * sw / 128]);
        let cw = sh * 9 / 16; // 405 px wide
        let x0 = (sw - cw) / 2;
        let crop = sample(&|x, y| full[(y * sh / 128) * sw + x0 + x * cw / 128]);
        let strip = hash_frame(&frame, 128, 128, &HashOptions { strip_aspect: 9.0 / 16.0, display_aspect: 16.0 / 9.0, ..o });
        assert_eq!(strip.content.width, 40); // 128 * (9/16) / (16/9) = 40.5, computed in f64 from f32 shapes
        let portrait = hash_frame(&crop, 128, 128, &o);
        assert!(hamming(strip.hash, portrait.hash) <= 6, "{}", hamming(strip.hash, portrait.hash));
        let whole = hash_frame(&frame, 128, 128, &o);
        assert!(hamming(whole.hash, portrait.hash) > 12, "{}", hamming(whole.hash, portrait.hash));
        // A frame already narrower than the strip is kept whole.
        let narrow = hash_frame(&frame, 128, 128, &HashOptions { strip_aspect: 9.0 / 16.0, display_aspect: 0.5, ..o });
        assert_eq!(narrow, whole);
    }

    #[test]
    fn batch_equals_single_and_checks_sizes() {
        let o = HashOptions::default();
        let a = scene(64, 48);
        let b: Vec<u8> = a.iter().rev().copied().collect();
        let both = [a.clone(), b.clone()].concat();
        let out = hash_frames(&both, 64, 48, &o).unwrap();
        assert_eq!(out, vec![hash_frame(&a, 64, 48, &o), hash_frame(&b, 64, 48, &o)]);
        assert!(hash_frames(&[], 64, 48, &o).unwrap().is_empty());
        let e = hash_frames(&both[1..], 64, 48, &o).unwrap_err();
        assert!(e.to_string().contains("not a whole number of frames"));
        assert_eq!(hash_frames(&both, 0, 48, &o).unwrap_err(), FrameError::BadDimensions { width: 0, height: 48 });
        let outside = HashOptions { region: Some(Rect { x: 40, y: 0, width: 30, height: 10 }), ..o };
        assert!(hash_frames(&both, 64, 48, &outside).unwrap_err().to_string().contains("not inside the 64x48 frame"));
    }
}
