//! vdedup core: everything that touches pixels or hash bits, in pure Rust (no napi), tested with
//! `cargo test`. The napi crate (`crates/node`) only converts types.

mod borders;
mod frame;
pub mod frame_scan;
mod hamming;
pub mod matching;
mod phash;
mod quality;
mod regions;
mod resize;
pub mod window;

pub use borders::{detect_borders, Rect};
pub use frame::{hash_frame, hash_frames, FrameError, FrameHash, HashOptions, MIN_FRAME_SIDE};
pub use hamming::hamming;
pub use phash::{dct_low_8x8, flip_hash_from_dct, from_hex, hash_from_dct, phash_32x32, to_hex, ParseHashError, HASH_SIDE};
pub use quality::frame_quality;
pub use regions::{detect_regions, MAX_REGIONS, MIN_REGION_FRAMES};
pub use resize::resize_area_32;
