//! The prefilter (`Search::Prefilter`) against the frame scan (the exact path's segments) on the
//! default preset's rule, with 4 benchmark phases, center-crop and inner-half hashes and slanted alignments:
//!   cargo run --release --example prefilter_speed -- [bench seconds] [queries] [scan 1|0] [planted every nth query, 2]
//! Benchmark: scene-structured random hashes (scenes of 3-15 s drifting 0-3 bits a second, the
//! phases between two seconds 0-1 bits a step, like bench/frame-scan.mjs). Queries: 5-minute
//! training videos, every nth (default 2) holding a 20-60 s copy of a random phase of a benchmark
//! video with 0-12 bits flipped per frame: direct, mirrored, center-cropped or inner half, 4 in 7 of them
//! played at 0.9, 0.95, 1.05 or 1.1x. Prints per-query times of both paths (pin to one core with `taskset -c
//! 0` for single-core figures), memory, build time, and the videos each path finds. PREFILTER_BITS=24
//! builds the tables of a 10M-second side on a smaller one.
use std::collections::BTreeSet;
use std::time::Instant;
use vdedup_core::frame_scan::{FrameScan, Search};
use vdedup_core::matching::{MatchParams, Sequence};

const P: usize = 4;

mod common;
use common::{flip, walk};

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect();
    let seconds = *args.first().unwrap_or(&1_000_000);
    let queries = *args.get(1).unwrap_or(&20);
    let with_scan = *args.get(2).unwrap_or(&1) == 1;
    let every = (*args.get(3).unwrap_or(&2)).max(1);
    let mut next = common::rng(0x1234_5678);
    // Per benchmark video: its samples (P per second), then laid out phase after phase.
    let (mut hashes, mut lengths, mut groups, mut fines) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut total = 0;
    while total < seconds {
        let len = 60 + (next() % 241) as usize;
        let secs = walk(len, &mut next);
        let mut fine = Vec::with_capacity(len * P);
        for &h in &secs {
            let mut p = h;
            fine.push(p);
            for _ in 1..P {
                let b = next() % 2;
                p = flip(p, b, &mut next);
                fine.push(p);
            }
        }
        let g = fines.len() as u32;
        for j in 0..P {
            hashes.extend(fine.iter().skip(j).step_by(P));
            lengths.push(len as u32);
            groups.push(g);
        }
        fines.push(fine);
        total += len;
    }
    let center: Vec<u64> = hashes.iter().map(|&h| flip(h, 2 + next() % 7, &mut next)).collect();
    // The inner half: another picture of the same frame, a few bits from the whole frame's hash.
    let inner: Vec<u64> = hashes.iter().map(|&h| flip(h, 4 + next() % 9, &mut next)).collect();
    // Informative flags as a real side holds them (one byte per sample for the whole frame and one
    // for the inner half); about 3% of samples uninformative (flat pictures), left out of the tables.
    let mut flags = || -> Vec<u8> { hashes.iter().map(|_| u8::from(!next().is_multiple_of(33))).collect() };
    let (informative, inner_informative) = (flags(), flags());
    let t = Instant::now();
    let scan = FrameScan::build(&[&hashes, &center], &informative, &lengths)
        .unwrap()
        .with_inner(&inner, &inner_informative)
        .unwrap()
        .with_groups(&groups)
        .unwrap();
    let scan_build = t.elapsed();
    let scan_bytes = scan.heap_bytes();
    let t = Instant::now();
    // PREFILTER_BITS=24: the chunk width of a 10M-second side on a smaller one.
    let scan = match std::env::var("PREFILTER_BITS") {
        Ok(b) => scan.with_prefilter_bits(b.parse().expect("PREFILTER_BITS: a number")),
        Err(_) => scan.with_prefilter(),
    };
    let index_build = t.elapsed();
    println!(
        "{} videos, {total} bench seconds x {P} phases, kernel {}: scan built in {scan_build:?} ({:.1} B/s), index (k = {}) in {index_build:?} (+{:.1} B/s, total {:.1} B/s)",
        fines.len(),
        scan.kernel().name(),
        scan_bytes as f64 / total as f64,
        scan.prefilter_bits().unwrap(),
        scan.prefilter_bytes() as f64 / total as f64,
        scan.heap_bytes() as f64 / total as f64,
    );
    let rule = MatchParams {
        window: 20,
        min_window: 6,
        max_distance: 20,
        min_fraction: 0.7,
        min_informative: 0.5,
        min_distinct: 3,
        distinct_bits: 10,
        static_max_mean: 6.0,
        speed_range: 0.1,
        speed_step: 0.01,
        speed_intercepts: 2,
        speed_max_mean: 12.0,
        short_window: 10,
        short_fraction: 0.9,
        short_max_mean: 12.0,
    };
    let (mut t_scan, mut t_index) = (Vec::new(), Vec::new());
    let (mut pairs_scan, mut pairs_both, mut planted, mut planted_index, mut planted_scan, mut candidates) = (0, 0, 0, 0, 0, 0usize);
    let mut identical = 0;
    // PLANT_BITS=lo,hi: bits flipped per copied frame (default 0,12; overlays leave 12-18).
    let (lo, hi) = std::env::var("PLANT_BITS").map_or((0, 12), |v| {
        let b: Vec<u64> = v.split(',').map(|x| x.parse().expect("PLANT_BITS: lo,hi")).collect();
        (b[0], b[1])
    });
    for q in 0..queries {
        let mut train = walk(300, &mut next);
        let mut flips = walk(300, &mut next);
        let mut train_inner = walk(300, &mut next);
        let mut source = None;
        if q % every == 0 {
            let g = (next() % fines.len() as u64) as usize;
            let secs = fines[g].len() / P;
            let speed = [1.0, 1.0, 1.0, 0.9, 0.95, 1.05, 1.1][(q / every) % 7];
            let len = ((secs - 2) as f64 / 1.1).min(20.0 + (next() % 41) as f64) as usize;
            let b0 = (next() % (secs as f64 - 1.1 * len as f64 - 1.0) as u64) as f64 + (next() % P as u64) as f64 / P as f64;
            let at = (next() % (300 - len + 1) as u64) as usize;
            // Direct, mirrored, center-cropped, or under overlays (its inner half).
            let variant = (q / every) % 4;
            for i in 0..len {
                let k = (P as f64 * (b0 + speed * i as f64)).round() as usize;
                let at_sample = |column: &[u64]| column[scan.offset_of(g * P + k % P) + k / P];
                let h = match variant {
                    2 => at_sample(&center),
                    3 => at_sample(&inner),
                    _ => fines[g][k],
                };
                let b = lo + next() % (hi - lo + 1);
                let target = match variant {
                    1 => &mut flips,
                    3 => &mut train_inner,
                    _ => &mut train,
                };
                target[at + i] = flip(h, b, &mut next);
            }
            source = Some(g as u32);
            planted += 1;
        }
        let (s, f, i) = (Sequence::new(&train, &[]), Sequence::new(&flips, &[]), Sequence::new(&train_inner, &[]));
        let videos = |segs: &[vdedup_core::matching::Segment]| -> BTreeSet<u32> { segs.iter().map(|s| groups[s.bench_video as usize]).collect() };
        let t = Instant::now();
        let got = scan.match_video(&s, Some(&f), Some(&i), &rule, Search::Prefilter).unwrap();
        t_index.push(t.elapsed().as_secs_f64() * 1e3);
        candidates += scan.prefilter_groups(&s, Some(&f), Some(&i), &rule).map_or(0, |c| c.iter().map(Vec::len).sum());
        let by_index = videos(&got);
        if source.is_some_and(|g| by_index.contains(&g)) {
            planted_index += 1;
        }
        if with_scan {
            let t = Instant::now();
            let exact = scan.match_video(&s, Some(&f), Some(&i), &rule, Search::Scan).unwrap();
            t_scan.push(t.elapsed().as_secs_f64() * 1e3);
            let by_scan = videos(&exact);
            pairs_scan += by_scan.len();
            pairs_both += by_scan.intersection(&by_index).count();
            assert!(by_index.is_subset(&by_scan), "the prefilter found a video the scan did not");
            if got == exact {
                identical += 1;
            }
            if source.is_some_and(|g| by_scan.contains(&g)) {
                planted_scan += 1;
            }
            if by_scan != by_index {
                println!("query {q}: scan {by_scan:?}, index {by_index:?} (planted {source:?})");
            }
        }
    }
    let p50 = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if v.is_empty() {
            f64::NAN
        } else {
            v[v.len() / 2]
        }
    };
    println!(
        "indexed: p50 {:.1} ms, max {:.1} ms, {:.1} candidate videos per query (all variants), planted found {planted_index}/{planted}",
        p50(&mut t_index),
        t_index.last().unwrap(),
        candidates as f64 / queries as f64
    );
    if with_scan {
        println!(
            "scan: p50 {:.1} ms; planted found {planted_scan}/{planted}; matched (query, video) pairs: scan {pairs_scan}, indexed {pairs_both} (recall {:.4}); identical segments {identical}/{queries}",
            p50(&mut t_scan),
            pairs_both as f64 / pairs_scan.max(1) as f64
        );
    }
}
