//! Quick timing of the frame scan against ~1M benchmark windows (scene-structured random hashes):
//!   [KERNEL=avx2|portable] [CONCURRENT=n] cargo run --release --example scan_speed -- [windows] [queries]
//! With CONCURRENT=n, also the throughput of n threads matching at once (as n service jobs do).
use std::time::Instant;
use vdedup_core::frame_scan::{FrameScan, Kernel, Search};
use vdedup_core::matching::{MatchParams, Sequence};

mod common;
use common::walk;

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect();
    let windows = *args.first().unwrap_or(&1_000_000);
    let queries = *args.get(1).unwrap_or(&20);
    let mut next = common::rng(0x1234_5678);
    let (mut lengths, mut bench) = (Vec::new(), Vec::new());
    let mut w = 0;
    while w < windows {
        let len = 60 + (next() % 241) as usize;
        bench.extend(walk(len, &mut next));
        lengths.push(len as u32);
        w += len - 19;
    }
    let center: Vec<u64> = bench.iter().map(|&h| h ^ (1 << (next() % 64))).collect();
    let t = Instant::now();
    let scan = FrameScan::build(&[&bench, &center], &[], &lengths).unwrap();
    let scan = match std::env::var("KERNEL") {
        Ok(name) => scan.with_kernel(Kernel::from_name(&name).expect("KERNEL: avx512, avx2 or portable")).unwrap(),
        Err(_) => scan,
    };
    println!(
        "{} videos, {w} windows: built in {:?}, {} B/window, kernel {}",
        lengths.len(),
        t.elapsed(),
        scan.heap_bytes() / w,
        scan.kernel().name()
    );
    let rule = MatchParams { max_distance: 20, min_window: 6, ..MatchParams::PAPER };
    let mut times = Vec::new();
    for _ in 0..queries {
        let train = walk(300, &mut next);
        let flips = walk(300, &mut next);
        let (s, f) = (Sequence::new(&train, &[]), Sequence::new(&flips, &[]));
        let t = Instant::now();
        let c = [scan.candidates(&s, 0, &rule).len(), scan.candidates(&f, 0, &rule).len(), scan.candidates(&s, 1, &rule).len()];
        let cand = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let segs = scan.match_video(&s, Some(&f), None, &rule, Search::Scan).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        if times.len() <= 3 {
            println!("candidates {cand:.1} ms, match_video {:.1} ms, {} segments", times[times.len() - 1], segs.len());
            println!("candidates {c:?}");
        }
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("candidates for 3 variants per 5-min query: p50 {:.1} ms, max {:.1} ms", times[times.len() / 2], times[times.len() - 1]);
    let concurrent: usize = std::env::var("CONCURRENT").map_or(0, |n| n.parse().expect("CONCURRENT: a number"));
    if concurrent > 0 {
        let videos: Vec<(Vec<u64>, Vec<u64>)> = (0..concurrent * queries).map(|_| (walk(300, &mut next), walk(300, &mut next))).collect();
        let t = Instant::now();
        std::thread::scope(|scope| {
            for chunk in videos.chunks(queries) {
                let scan = &scan;
                scope.spawn(move || {
                    for (train, flips) in chunk {
                        let (s, f) = (Sequence::new(train, &[]), Sequence::new(flips, &[]));
                        scan.match_video(&s, Some(&f), None, &rule, Search::Scan).unwrap();
                    }
                });
            }
        });
        let per_s = videos.len() as f64 / t.elapsed().as_secs_f64();
        println!("{concurrent} threads matching at once: {per_s:.1} queries/s (one at a time: {:.1} queries/s)", 1e3 / times[times.len() / 2]);
    }
}
