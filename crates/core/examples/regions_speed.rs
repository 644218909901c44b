//! Time `detect_regions` on a file of 128x128 gray frames (repeated up to N frames).
//!   cargo run --release --example regions_speed -- <frames.gray> [N]
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let raw = std::fs::read(&args[1]).expect("frames file");
    let n: usize = args.get(2).map_or(600, |v| v.parse().unwrap());
    let frame = 128 * 128;
    let have = raw.len() / frame;
    let frames: Vec<u8> = (0..n).flat_map(|i| raw[(i % have) * frame..(i % have + 1) * frame].iter().copied()).collect();
    let t = std::time::Instant::now();
    let r = vdedup_core::detect_regions(&frames, 128, 128);
    println!("{n} frames: {:.1} ms, {r:?}", t.elapsed().as_secs_f64() * 1000.0);
}
