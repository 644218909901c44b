use super::kernels::close_pairs;
use super::search::Queries;
use super::votes::{line_votes, LineVotes};
use super::*;
use crate::matching::{exact_lines, exact_scan, select_segments, LineGrid, Phased, Sequence, Variant, SPEED_UNIT};

/// xorshift64*: reproducible pseudo-random bits for test data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn flip(&mut self, mut h: u64, bits: u32) -> u64 {
        for _ in 0..bits {
            h ^= 1 << self.below(64);
        }
        h
    }
    /// Another picture of each frame (a crop, an inner half): its hash with `min + [0, span)` bits flipped.
    fn region(&mut self, hashes: &[u64], min: u32, span: u64) -> Vec<u64> {
        hashes
            .iter()
            .map(|&h| {
                let bits = min + self.below(span) as u32;
                self.flip(h, bits)
            })
            .collect()
    }
    /// Scenes of 3-15 frames whose hash drifts 0-3 bits a frame (like 1 fps video).
    fn walk(&mut self, n: usize) -> Vec<u64> {
        let mut h = self.next();
        let mut left = 3 + self.below(13);
        (0..n)
            .map(|_| {
                if left == 0 {
                    h = self.next();
                    left = 3 + self.below(13);
                } else {
                    let bits = self.below(4) as u32;
                    h = self.flip(h, bits);
                }
                left -= 1;
                h
            })
            .collect()
    }
}

fn split<T: Copy>(col: &[T], lengths: &[u32]) -> Vec<Vec<T>> {
    let mut at = 0;
    lengths
        .iter()
        .map(|&l| {
            let s = col[at..at + l as usize].to_vec();
            at += l as usize;
            s
        })
        .collect()
}

fn sorted(mut s: Vec<Segment>) -> Vec<(u32, u32, i64, u32, u32, Variant)> {
    let mut keys: Vec<_> = s.drain(..).map(|s| (s.bench_video, s.speed, s.offset, s.train_start, s.matched_frames, s.variant)).collect();
    keys.sort_by(|a, b| a.partial_cmp(b).unwrap());
    keys
}

/// Bench videos (some shorter than a window), training videos holding copies at 0-12 bits
/// (direct, mirrored, cropped), uninformative frames on both sides: the scan's segments are
/// exactly the exact scan's, with either kernel, for several rules.
#[test]
fn finds_exactly_the_segments_of_the_exact_scan() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let lengths: Vec<u32> = (0..40).map(|v| if v % 9 == 0 { 6 + rng.below(14) as u32 } else { 20 + rng.below(200) as u32 }).collect();
    let total: usize = lengths.iter().map(|&l| l as usize).sum();
    let bench: Vec<u64> = lengths.iter().flat_map(|&l| rng.walk(l as usize)).collect();
    let center: Vec<u64> = bench.iter().map(|&h| rng.flip(h, 5)).collect();
    let inner: Vec<u64> = bench.iter().map(|&h| rng.flip(h, 9)).collect();
    let informative: Vec<u8> = (0..total).map(|_| u8::from(rng.below(20) != 0)).collect();
    // The inner half has its own flags (a flat center is uninformative on its own).
    let inner_informative: Vec<u8> = (0..total).map(|_| u8::from(rng.below(6) != 0)).collect();
    let (b, c, inf) = (split(&bench, &lengths), split(&center, &lengths), split(&informative, &lengths));
    let (n, ninf) = (split(&inner, &lengths), split(&inner_informative, &lengths));
    let benches: Vec<Sequence> = b.iter().zip(&inf).map(|(h, i)| Sequence::new(h, i)).collect();
    let centers: Vec<Sequence> = c.iter().zip(&inf).map(|(h, i)| Sequence::new(h, i)).collect();
    let inners: Vec<Sequence> = n.iter().zip(&ninf).map(|(h, i)| Sequence::new(h, i)).collect();
    let kernels: Vec<FrameScan> = [Kernel::Avx512, Kernel::Avx2, Kernel::Portable]
        .into_iter()
        .filter(|k| k.supported())
        .map(|k| {
            FrameScan::build(&[&bench, &center], &informative, &lengths)
                .unwrap()
                .with_inner(&inner, &inner_informative)
                .unwrap()
                .with_kernel(k)
                .unwrap()
        })
        .collect();
    let default_like = MatchParams {
        window: 20,
        min_window: 6,
        max_distance: 20,
        min_fraction: 0.7,
        min_informative: 0.5,
        min_distinct: 3,
        distinct_bits: 8,
        static_max_mean: 3.0,
        speed_range: 0.0,
        speed_step: 0.0,
        speed_intercepts: 0,
        speed_max_mean: 64.0,
        short_window: 0,
        short_fraction: 1.0,
        short_max_mean: 64.0,
    };
    let low_fraction = MatchParams { min_fraction: 0.4, ..default_like };
    let paper = MatchParams::PAPER;
    // Slanted alignments too (every sequence its own video, one sample per second).
    let speedy = MatchParams { speed_range: 0.1, speed_step: 0.02, speed_intercepts: 2, ..default_like };
    // Short excerpts (10-frame windows at 90%) besides the 20-frame ones.
    let shorts = MatchParams { short_window: 10, short_fraction: 0.9, short_max_mean: 12.0, ..speedy };
    let (mut found, mut inner_found) = (0, 0);
    for (r, rule) in [default_like, low_fraction, paper, speedy, shorts].iter().enumerate() {
        for t in 0..16 {
            // Which variant the copy is of, independent of the training video's length.
            let which = (t + t / 4) % 4;
            let len = [300usize, 90, 25, 12][t % 4];
            let mut train = rng.walk(len);
            let mut flips = rng.walk(len);
            let mut train_inner = rng.walk(len);
            // A copy of 8-40 frames of a random bench video, into one of the four variants.
            let v = rng.below(lengths.len() as u64) as usize;
            let copy = (8 + rng.below(33) as usize).min(b[v].len()).min(len);
            let from = rng.below((b[v].len() - copy + 1) as u64) as usize;
            let at = rng.below((len - copy + 1) as u64) as usize;
            let source = [&b[v], &b[v], &c[v], &n[v]][which];
            let target = match which {
                1 => &mut flips,
                3 => &mut train_inner,
                _ => &mut train,
            };
            for k in 0..copy {
                let bits = rng.below(13) as u32;
                target[at + k] = rng.flip(source[from + k], bits);
            }
            let train_info: Vec<u8> = (0..len).map(|_| u8::from(rng.below(15) != 0)).collect();
            let inner_info: Vec<u8> = (0..len).map(|_| u8::from(rng.below(5) != 0)).collect();
            let seq = Sequence::new(&train, &train_info);
            let fseq = Sequence::new(&flips, &train_info);
            let iseq = Sequence::new(&train_inner, &inner_info);
            // Written out, not through match_variants: the reference must not share the code under test.
            let mut exact = exact_scan(&seq, &benches, rule, Variant::Direct);
            exact.extend(exact_scan(&fseq, &benches, rule, Variant::Flipped));
            exact.extend(exact_scan(&seq, &centers, rule, Variant::Cropped));
            exact.extend(exact_scan(&iseq, &inners, rule, Variant::Inner));
            for (v, ((b, c), n)) in benches.iter().zip(&centers).zip(&inners).enumerate() {
                let v = v as u32;
                exact_lines(&seq, Phased { phases: std::slice::from_ref(b) }, v, rule, Variant::Direct, &mut exact);
                exact_lines(&fseq, Phased { phases: std::slice::from_ref(b) }, v, rule, Variant::Flipped, &mut exact);
                exact_lines(&seq, Phased { phases: std::slice::from_ref(c) }, v, rule, Variant::Cropped, &mut exact);
                exact_lines(&iseq, Phased { phases: std::slice::from_ref(n) }, v, rule, Variant::Inner, &mut exact);
            }
            let expected = sorted(exact);
            found += expected.len();
            inner_found += expected.iter().filter(|s| s.5 == Variant::Inner).count();
            for s in &kernels {
                let got = sorted(s.segments(&seq, Some(&fseq), Some(&iseq), rule, Search::Scan));
                assert_eq!(got, expected, "rule {r}, training video {t}, kernel {:?}", s.kernel());
            }
        }
    }
    assert!(found > 20, "the test data should hold matches ({found})");
    assert!(inner_found > 5, "the test data should hold inner-half matches ({inner_found})");
}

/// Benchmark videos sampled at 4 phases per second (four sequences each, grouped as one video)
/// and training videos holding copies that start a fraction of a second off, sampled at 1 fps:
/// on every kernel the scan's selected segments are the exact search's, each copy is found on
/// the phase nearest its offset, and the phases of one video give one segment per stretch.
#[test]
fn phases_find_fractional_offsets_exactly_like_the_exact_search() {
    const P: usize = 4;
    let mut rng = Rng(0xC0FFEE);
    // Fast footage: the hash moves 6-12 bits per quarter second, so a copy 0.5 s off is ~20
    // bits away from every 1 fps benchmark frame, but within a few bits of the right phase.
    let fine: Vec<Vec<u64>> = (0..8)
        .map(|_| {
            let mut h = rng.next();
            (0..(30 + rng.below(40) as usize) * P)
                .map(|_| {
                    let bits = 6 + rng.below(7) as u32;
                    h = rng.flip(h, bits);
                    h
                })
                .collect()
        })
        .collect();
    let (mut hashes, mut lengths, mut groups) = (Vec::new(), Vec::new(), Vec::new());
    for (v, f) in fine.iter().enumerate() {
        for phase in 0..P {
            let seq: Vec<u64> = f.iter().skip(phase).step_by(P).copied().collect();
            lengths.push(seq.len() as u32);
            groups.push(v as u32);
            hashes.extend(seq);
        }
    }
    let scans: Vec<FrameScan> = [Kernel::Avx512, Kernel::Avx2, Kernel::Portable]
        .into_iter()
        .filter(|k| k.supported())
        .map(|k| FrameScan::build(&[&hashes], &[], &lengths).unwrap().with_groups(&groups).unwrap().with_kernel(k).unwrap())
        .collect();
    assert!(FrameScan::build(&[&hashes], &[], &lengths).unwrap().with_groups(&groups[1..]).is_err());
    let rule = MatchParams { max_distance: 20, min_window: 6, ..MatchParams::PAPER };
    for t in 0..12 {
        let v = t % fine.len();
        let phase = t % P;
        // 24 s of video v from second 3 + phase/4, at 1 fps, 0-4 bits of noise, between unrelated frames.
        let mut train = rng.walk(80);
        for k in 0..24 {
            let bits = rng.below(5) as u32;
            train[30 + k] = rng.flip(fine[v][(3 + k) * P + phase], bits);
        }
        let seq = Sequence::new(&train, &[]);
        let exact = scans[0].match_video(&seq, None, None, &rule, Search::Exact).unwrap();
        let planted: Vec<&Segment> = exact.iter().filter(|s| groups[s.bench_video as usize] == v as u32).collect();
        assert_eq!(planted.len(), 1, "training video {t}: one segment for the copied stretch: {exact:?}");
        assert_eq!(planted[0].bench_video as usize, v * P + phase, "training video {t}: found on the phase of its offset");
        assert_eq!((planted[0].train_start, planted[0].bench_start), (30, 3));
        for scan in &scans {
            assert_eq!(scan.match_video(&seq, None, None, &rule, Search::Scan).unwrap(), exact, "training video {t}, kernel {:?}", scan.kernel());
        }
    }
}

/// The prefilter on synthetic, real-looking sequences: benchmark videos at 4 phases (scenes
/// drifting 0-3 bits a second, phases 0-1 bits a step, center-crop hashes), training videos
/// holding a 20-40 s copy of a random phase (0-12 bits of noise, direct, mirrored or cropped,
/// some played 0.9-1.1x). On every kernel: on the videos it names the segments are exactly the
/// frame scan's; it names every video holding a planted copy the scan finds (all 150 here; a
/// recall of 0.999 needs thousands of copies: example `prefilter_speed`, bench/README.md "Matching
/// at 10M benchmark seconds"); and few of the videos it names hold no match. Chunks of 24 bits,
/// the width of a 10M-second benchmark side.
#[test]
fn prefilter_finds_the_planted_copies_and_exactly_the_scans_segments_on_what_it_names() {
    const P: usize = 4;
    let mut rng = Rng(0x5EED_2100);
    let (mut hashes, mut lengths, mut groups, mut fines) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for g in 0..120u32 {
        let n = 60 + rng.below(180) as usize;
        let secs = rng.walk(n);
        let mut fine = Vec::new();
        for &h in &secs {
            let mut p = h;
            fine.push(p);
            for _ in 1..P {
                let b = rng.below(2) as u32;
                p = rng.flip(p, b);
                fine.push(p);
            }
        }
        for j in 0..P {
            hashes.extend(fine.iter().skip(j).step_by(P));
            lengths.push(secs.len() as u32);
            groups.push(g);
        }
        fines.push(fine);
    }
    let center = rng.region(&hashes, 2, 7);
    let inner = rng.region(&hashes, 4, 9);
    let scans: Vec<FrameScan> = [Kernel::Avx512, Kernel::Avx2, Kernel::Portable]
        .into_iter()
        .filter(|k| k.supported())
        .map(|k| {
            FrameScan::build(&[&hashes, &center], &[], &lengths)
                .unwrap()
                .with_inner(&inner, &[])
                .unwrap()
                .with_groups(&groups)
                .unwrap()
                .with_kernel(k)
                .unwrap()
                .with_prefilter_bits(24)
        })
        .collect();
    let rule = default_rule(true);
    // The center-crop (or inner) column of video g, interleaved like `fines`.
    let column_fine = |column: &[u64], g: usize, k: usize| -> u64 {
        let v = g * P + k % P;
        column[scans[0].offset_of(v) + k / P]
    };
    let (mut planted, mut found, mut named, mut wrong) = (0, 0, 0, 0);
    for t in 0..150 {
        let g = rng.below(fines.len() as u64) as usize;
        let speed = [1.0, 1.0, 1.0, 0.9, 0.95, 1.04, 1.1][t % 7];
        let variant = [Variant::Direct, Variant::Flipped, Variant::Cropped, Variant::Inner][t % 4];
        let secs = fines[g].len() / P;
        let len = (20 + rng.below(21) as usize).min(((secs - 2) as f64 / 1.1) as usize);
        let b0 = rng.below((secs as f64 - 1.1 * len as f64 - 1.0) as u64) as f64 + rng.below(P as u64) as f64 / P as f64;
        let (mut train, mut flips, mut train_inner) = (rng.walk(300), rng.walk(300), rng.walk(300));
        let at = rng.below((300 - len) as u64) as usize;
        for i in 0..len {
            let k = (P as f64 * (b0 + speed * i as f64)).round() as usize;
            let source = match variant {
                Variant::Cropped => column_fine(&center, g, k),
                Variant::Inner => column_fine(&inner, g, k),
                _ => fines[g][k],
            };
            let bits = rng.below(13) as u32;
            let target = match variant {
                Variant::Flipped => &mut flips,
                Variant::Inner => &mut train_inner,
                _ => &mut train,
            };
            target[at + i] = rng.flip(source, bits);
        }
        let (seq, fseq, iseq) = (Sequence::new(&train, &[]), Sequence::new(&flips, &[]), Sequence::new(&train_inner, &[]));
        let scan_segments = scans[0].segments(&seq, Some(&fseq), Some(&iseq), &rule, Search::Scan);
        let named_groups = scans[0].prefilter_groups(&seq, Some(&fseq), Some(&iseq), &rule).expect("within the tables' range");
        let on_named: Vec<Segment> = scan_segments
            .iter()
            .filter(|s| {
                let tag = match s.variant {
                    Variant::Direct => 0,
                    Variant::Flipped => 1,
                    Variant::Cropped => 2,
                    Variant::Inner => 3,
                    Variant::Strip => 4,
                    Variant::Region(k) => 5 + k as usize,
                };
                named_groups[tag].contains(&groups[s.bench_video as usize])
            })
            .copied()
            .collect();
        for scan in &scans {
            assert_eq!(
                sorted(scan.segments(&seq, Some(&fseq), Some(&iseq), &rule, Search::Prefilter)),
                sorted(on_named.clone()),
                "query {t}, kernel {:?}",
                scan.kernel()
            );
        }
        let scan_found = scan_segments.iter().any(|s| groups[s.bench_video as usize] == g as u32 && s.variant == variant);
        if scan_found {
            planted += 1;
            found += usize::from(on_named.iter().any(|s| groups[s.bench_video as usize] == g as u32 && s.variant == variant));
        }
        for list in &named_groups {
            named += list.len();
            wrong += list.iter().filter(|&&n| !scan_segments.iter().any(|s| groups[s.bench_video as usize] == n)).count();
        }
    }
    eprintln!("planted copies the scan finds: {planted}, the prefilter: {found}; videos named {named}, {wrong} without a match");
    assert!(planted >= 120, "the scan should find most planted copies ({planted})");
    assert_eq!(found, planted, "the prefilter missed planted copies the scan finds");
    // A cost, not an error (a named video is only scanned).
    assert!(wrong <= 30, "{wrong} of {named} named videos hold no match");
}

/// The bound's arithmetic: pairs within 5 bits are always found (pigeonhole over two chunks
/// probed within 2 bits), and the per-pair probability falls with the distance; the pigeonhole
/// case is also checked on real tables.
#[test]
fn prefilter_pair_bound() {
    for d in 0..=5 {
        assert!((prefilter::pair_catch(d, 24) - 1.0).abs() < 1e-12, "d {d}");
    }
    let p: Vec<f64> = (6..=20).map(|d| prefilter::pair_catch(d, 24)).collect();
    assert!(p.windows(2).all(|w| w[1] < w[0]));
    assert!((prefilter::pair_catch(8, 24) - 0.669).abs() < 0.002, "{}", prefilter::pair_catch(8, 24));
    // A window whose 14 close pairs are all at 8 bits is missed with probability < 1e-6, at 10
    // bits < 2e-3.
    assert!(prefilter::window_miss_bound(14, 8, 24) < 1e-6);
    assert!(prefilter::window_miss_bound(14, 10, 24) < 2e-3);
    // Monte Carlo: the closed form matches random placements.
    let mut rng = Rng(3);
    let (mut hit, n) = (0, 20000);
    for _ in 0..n {
        let mut x = 0u64;
        while x.count_ones() < 10 {
            x |= 1 << rng.below(64);
        }
        let (a, b) = ((x & 0xFF_FFFF).count_ones(), ((x >> 24) & 0xFF_FFFF).count_ones());
        hit += usize::from(a <= 2 || b <= 2);
    }
    assert!((hit as f64 / n as f64 - prefilter::pair_catch(10, 24)).abs() < 0.02);
    // Tables: 30 frames each within 5 bits of a benchmark frame, on one diagonal, are found.
    let bench: Vec<u64> = (0..400).map(|_| rng.next()).collect();
    let scan = FrameScan::build(&[&bench], &[], &[400]).unwrap().with_prefilter_bits(16);
    let train: Vec<u64> = (0..30).map(|i| rng.flip(bench[100 + i], 5)).collect();
    let rule = default_rule(false);
    assert_eq!(scan.prefilter_groups(&Sequence::new(&train, &[]), None, None, &rule), Some(vec![vec![0]]));
    let random: Vec<u64> = (0..30).map(|_| rng.next()).collect();
    assert_eq!(scan.prefilter_groups(&Sequence::new(&random, &[]), None, None, &rule), Some(vec![vec![]]));
}

/// A copy without one close pair (every frame 14 bits from its benchmark frame, as under boxes
/// or a logo) is named when its found frames show distinct pictures, and then reported exactly
/// as the scan reports it; a still shot 14 bits from a benchmark still shot, one picture
/// repeated, is not named (nor matched by the rule).
#[test]
fn prefilter_names_copies_without_a_core_pair_on_distinct_pictures_only() {
    let mut rng = Rng(17);
    // 14 bits apart, 2 of them in chunk 0 (bits 0-15), none in chunk 1 (16-31): always found,
    // never a core pair.
    let apart = |rng: &mut Rng, h: u64| {
        let mut x = 0u64;
        while x.count_ones() < 2 {
            x |= 1 << rng.below(16);
        }
        while x.count_ones() < 14 {
            x |= 1 << (32 + rng.below(32));
        }
        h ^ x
    };
    let moving: Vec<u64> = (0..400).map(|_| rng.next()).collect();
    let still_picture = rng.next();
    let still: Vec<u64> = (0..100).map(|_| rng.flip(still_picture, 1)).collect();
    let bench: Vec<u64> = moving.iter().chain(&still).copied().collect();
    let scan = FrameScan::build(&[&bench], &[], &[400, 100]).unwrap().with_prefilter_bits(16);
    let rule = default_rule(false);
    let copy: Vec<u64> = moving[100..130].iter().map(|&h| apart(&mut rng, h)).collect();
    let seq = Sequence::new(&copy, &[]);
    assert_eq!(scan.prefilter_groups(&seq, None, None, &rule), Some(vec![vec![0]]));
    let on_named = scan.match_video(&seq, None, None, &rule, Search::Prefilter).unwrap();
    assert!(!on_named.is_empty());
    assert_eq!(on_named, scan.match_video(&seq, None, None, &rule, Search::Scan).unwrap());
    let other_still = apart(&mut rng, still_picture);
    let repeated: Vec<u64> = (0..30).map(|_| rng.flip(other_still, 1)).collect();
    let seq = Sequence::new(&repeated, &[]);
    assert_eq!(scan.prefilter_groups(&seq, None, None, &rule), Some(vec![vec![]]));
    assert!(scan.match_video(&seq, None, None, &rule, Search::Scan).unwrap().is_empty());
}

/// An empty benchmark side (a collection with no member) matches nothing, with either rule,
/// instead of failing (a panic here aborts the whole Node process).
#[test]
fn empty_benchmark_matches_nothing() {
    let scan = FrameScan::build(&[&[]], &[], &[]).unwrap().with_groups(&[]).unwrap();
    let mut rng = Rng(5);
    let train = rng.walk(60);
    let seq = Sequence::new(&train, &[]);
    for speeds in [false, true] {
        for search in [Search::Scan, Search::Exact] {
            assert!(scan.match_video(&seq, None, None, &default_rule(speeds), search).unwrap().is_empty());
        }
    }
}

/// The default preset's rule, with or without slanted alignments.
fn default_rule(speeds: bool) -> MatchParams {
    MatchParams {
        window: 20,
        min_window: 6,
        max_distance: 20,
        min_fraction: 0.7,
        min_informative: 0.5,
        min_distinct: 3,
        distinct_bits: 10,
        static_max_mean: 6.0,
        speed_range: if speeds { 0.1 } else { 0.0 },
        speed_step: if speeds { 0.01 } else { 0.0 },
        speed_intercepts: if speeds { 2 } else { 0 },
        speed_max_mean: 12.0,
        short_window: 0,
        short_fraction: 1.0,
        short_max_mean: 64.0,
    }
}

/// Fast footage at 16 samples per second whose hash moves 5-6 bits a sample (~10 bits in an
/// eighth of a second, ~17 in a quarter, ~25 in half a second).
fn fast_footage(rng: &mut Rng, seconds: usize) -> Vec<u64> {
    let mut h = rng.next();
    (0..seconds * 16)
        .map(|_| {
            let bits = 5 + rng.below(2) as u32;
            h = rng.flip(h, bits);
            h
        })
        .collect()
}

/// Benchmark videos as 4 phases each (samples at m + j/4 s of 16-per-second footage), grouped.
fn phased_bench(footage: &[Vec<u64>]) -> (Vec<u64>, Vec<u32>, Vec<u32>) {
    let (mut hashes, mut lengths, mut groups) = (Vec::new(), Vec::new(), Vec::new());
    for (v, f) in footage.iter().enumerate() {
        for phase in 0..4 {
            let seq: Vec<u64> = f.iter().skip(phase * 4).step_by(16).copied().collect();
            lengths.push(seq.len() as u32);
            groups.push(v as u32);
            hashes.extend(seq);
        }
    }
    (hashes, lengths, groups)
}

/// Copies of fast footage played at 0.9, 0.95, 1.04, 1.05 and 1.1 times (and 1/1.04, 1/1.05),
/// starting a fraction of a second into the benchmark video, at 1 fps with 0-4 bits of noise:
/// straight alignments miss the 10% ones; slanted ones find each on its own benchmark video, at a
/// speed within 0.02 of the true one and at the right benchmark time; unrelated footage
/// matches nothing. On every kernel the scan's segments (before selection) are the exact
/// search's.
#[test]
fn speed_changed_copies_are_found_on_slanted_lines_exactly_like_the_exact_search() {
    let mut rng = Rng(0x5EED_5EED);
    let footage: Vec<Vec<u64>> = (0..6)
        .map(|_| {
            let seconds = 50 + rng.below(40) as usize;
            fast_footage(&mut rng, seconds)
        })
        .collect();
    let (hashes, lengths, groups) = phased_bench(&footage);
    let center: Vec<u64> = hashes.iter().map(|&h| rng.flip(h, 6)).collect();
    let scans: Vec<FrameScan> = [Kernel::Avx512, Kernel::Avx2, Kernel::Portable]
        .into_iter()
        .filter(|k| k.supported())
        .map(|k| FrameScan::build(&[&hashes, &center], &[], &lengths).unwrap().with_groups(&groups).unwrap().with_kernel(k).unwrap())
        .collect();
    let (straight, slanted) = (default_rule(false), default_rule(true));
    let mut found = 0;
    for (t, &speed) in [0.9, 0.95, 1.04, 1.05, 1.1, 1.0 / 1.04, 1.0 / 1.05, 1.0].iter().enumerate() {
        let v = t % footage.len();
        let b0 = 3.0 + 0.3 * t as f64 + 0.07;
        let mut train = rng.walk(90);
        let copy = 30;
        for i in 0..copy {
            let at = (16.0 * (b0 + speed * i as f64)).round() as usize;
            let bits = rng.below(5) as u32;
            train[25 + i] = rng.flip(footage[v][at], bits);
        }
        let flips = rng.walk(90);
        let (seq, fseq) = (Sequence::new(&train, &[]), Sequence::new(&flips, &[]));
        let of_v = |segs: &[Segment]| -> Vec<Segment> { segs.iter().filter(|s| groups[s.bench_video as usize] == v as u32).copied().collect() };
        let plain = of_v(&scans[0].match_video(&seq, Some(&fseq), None, &straight, Search::Exact).unwrap());
        if (speed - 1.0f64).abs() >= 0.09 {
            assert!(plain.is_empty(), "speed {speed}: straight alignments should miss it: {plain:?}");
        }
        let exact = scans[0].match_video(&seq, Some(&fseq), None, &slanted, Search::Exact).unwrap();
        let planted = of_v(&exact);
        assert_eq!(planted.len(), 1, "speed {speed}: one segment for the copy: {exact:?}");
        let s = planted[0];
        assert_eq!(exact.len(), 1, "speed {speed}: nothing else matches: {exact:?}");
        let got = f64::from(s.speed) / f64::from(SPEED_UNIT);
        assert!((got - speed).abs() <= 0.02, "speed {speed}: found at {got}");
        assert!(s.train_start <= 27 && s.train_end >= 53, "speed {speed}: {s:?}");
        // Benchmark time of the first matched frame (a slanted segment counts samples of the
        // video, 4 per second; a straight one seconds of its phase).
        let bench_time = if s.slanted() { f64::from(s.bench_start) / 4.0 } else { f64::from(s.bench_start) + (s.bench_video % 4) as f64 / 4.0 };
        let expected = b0 + speed * f64::from(s.train_start - 25);
        assert!((bench_time - expected).abs() <= 0.26, "speed {speed}: bench time {bench_time}, expected {expected}");
        assert_eq!(s.slanted(), speed != 1.0, "a copy at speed 1 keeps its straight alignment");
        found += 1;
        for scan in &scans {
            assert_eq!(
                sorted(scan.segments(&seq, Some(&fseq), None, &slanted, Search::Scan)),
                sorted(scan.segments(&seq, Some(&fseq), None, &slanted, Search::Exact)),
                "speed {speed}, kernel {:?}",
                scan.kernel()
            );
            assert_eq!(
                scan.match_video(&seq, Some(&fseq), None, &slanted, Search::Scan).unwrap(),
                exact,
                "speed {speed}, kernel {:?}",
                scan.kernel()
            );
        }
    }
    assert_eq!(found, 8);
    // Unrelated fast footage: no alignment of any speed matches.
    for _ in 0..4 {
        let other = fast_footage(&mut rng, 60);
        let train: Vec<u64> = other.iter().step_by(16).copied().collect();
        let seq = Sequence::new(&train, &[]);
        for scan in &scans {
            assert!(scan.match_video(&seq, None, None, &slanted, Search::Exact).unwrap().is_empty());
            assert!(scan.match_video(&seq, None, None, &slanted, Search::Scan).unwrap().is_empty());
        }
    }
}

/// `line_votes` finds every line holding a matching window from the kernel's pairs alone:
/// windows at the extreme speeds (the widest drift from a diagonal) with exactly the 14 close
/// frames of 20 the rule needs, the 6 misses on even frames (4 even close pairs: the fewest the
/// kernel can give), among random frames, always make the line a candidate; random frames
/// alone make none.
#[test]
fn line_votes_keep_every_window_with_enough_pairs() {
    let mut rng = Rng(99);
    let rule = default_rule(true);
    let speeds = rule.speeds();
    let (train_len, fine_len) = (300usize, 1200usize);
    let fine: Vec<u64> = (0..fine_len).map(|_| rng.next()).collect();
    let phases: Vec<Vec<u64>> = (0..4).map(|j| fine.iter().skip(j).step_by(4).copied().collect()).collect();
    let lengths: Vec<u32> = phases.iter().map(|p| p.len() as u32).collect();
    let keys: Vec<u64> = phases.concat();
    let scan = FrameScan::build(&[&keys], &[], &lengths).unwrap().with_groups(&[0, 0, 0, 0]).unwrap();
    let grid = LineGrid { phases: 4, q: 2 };
    let line_w: Vec<Option<u32>> = speeds.iter().map(|&sp| rule.window_for(train_len, grid.frames_at(sp, fine_len))).collect();
    assert_eq!((votes_at(&rule, 20, 2, true), votes_at(&rule, 20, 1, true)), (4, 14));
    let mut scratch = LineScratch::default();
    let mut candidates = |train: &[u64]| -> Vec<(u32, Line)> {
        // The kernel's pairs: even training frames against every sample.
        let pairs: Vec<(i64, i64)> = (0..train_len)
            .step_by(2)
            .flat_map(|i| fine.iter().enumerate().filter(move |(_, &h)| (h ^ train[i]).count_ones() <= 20).map(move |(k, _)| (i as i64, k as i64)))
            .collect();
        let by_frame: Vec<Option<u64>> = train.iter().map(|&h| Some(h)).collect();
        let at = LineVotes {
            g: 0,
            keys: &keys,
            flags: &[],
            phase_starts: scan.columns.phase_starts(0),
            train: &by_frame,
            grid,
            fine_len,
            train_len,
            speeds: &speeds,
            line_w: &line_w,
            step: 2,
        };
        let mut out = Vec::new();
        line_votes(scan.kernel(), &at, &rule, &pairs, &mut scratch, &mut out);
        out
    };
    for t in 0..60 {
        let sp = [9000u32, 11000, 9100, 10900, 9500, 10400][t % 6];
        let i0 = rng.below((train_len - 20) as u64) as i64;
        let k0 = 40 + rng.below(fine_len as u64 - 200) as i64;
        let line = Line { speed: sp, intercept: grid.first_intercept(sp, i0, k0) + rng.below(2) as i64 };
        let mut train: Vec<u64> = (0..train_len).map(|_| rng.next()).collect();
        let evens: Vec<i64> = (i0..i0 + 20).filter(|i| i % 2 == 0).collect();
        for i in i0..i0 + 20 {
            if i % 2 == 1 || evens[4..].iter().all(|&e| e != i) {
                let bits = rng.below(12) as u32;
                train[i as usize] = rng.flip(fine[grid.sample(line, i) as usize], bits);
            }
        }
        assert!(candidates(&train).contains(&(0, line)), "trial {t}: {line:?} from frame {i0} not a candidate");
        let random: Vec<u64> = (0..train_len).map(|_| rng.next()).collect();
        assert!(candidates(&random).is_empty(), "trial {t}: random frames made candidates");
    }
}

#[test]
fn sampling_keeps_at_least_one_close_pair_per_matching_window() {
    let rule = MatchParams::PAPER;
    // 20 frames, 14 needed: 6 may miss, 10 even frames, so 4 close pairs remain.
    assert_eq!(sampling_for(&rule, 20), Sampling { step: 2, votes: 4 });
    // 7 frames, 5 needed: 2 may miss of 3 even frames.
    assert_eq!(sampling_for(&rule, 7), Sampling { step: 2, votes: 1 });
    // 40%: 12 of 20 may miss, more than the 10 even frames: every frame, 8 pairs.
    let low = MatchParams { min_fraction: 0.4, ..rule };
    assert_eq!(sampling_for(&low, 20), Sampling { step: 1, votes: 8 });
    // A short-excerpt window of 10 frames at 90% besides: 5 even frames, 1 miss, 4 pairs.
    let short = MatchParams { short_window: 10, short_fraction: 0.9, short_max_mean: 12.0, ..rule };
    assert_eq!(sampling_for(&short, 20), Sampling { step: 2, votes: 4 });
    // Brute force: every placement of the misses in every window (of every rule) leaves that many.
    for w in 1..=30u32 {
        for r in [rule, low, short] {
            let s = sampling_for(&r, w);
            for (len, core) in r.window_bounds(w, false).chain(r.window_bounds(w, true)) {
                let misses = len - core;
                for first in 0..2u32 {
                    let sampled = (first..first + len).filter(|i| i % s.step as u32 == 0).count() as u32;
                    assert!(sampled.saturating_sub(misses) >= s.votes && s.votes >= 1, "w {w} len {len} first {first} {s:?}");
                }
            }
        }
    }
}

#[test]
fn every_kernel_finds_the_same_close_pairs() {
    let mut rng = Rng(42);
    let keys: Vec<u64> = (0..1000).map(|_| rng.next()).collect();
    let queries: Vec<u64> = (0..37).map(|k| if k % 3 == 0 { rng.flip(keys[k * 20], 9) } else { rng.next() }).collect();
    // Key counts around the AVX-512 loop's 16-key blocks, query counts around its groups of 4.
    for (n, m) in [(0usize, 37usize), (1, 37), (7, 37), (8, 37), (9, 37), (15, 3), (16, 4), (17, 5), (1000, 37), (1000, 3)] {
        let queries = &queries[..m];
        let mut a = Vec::new();
        for (q, &query) in queries.iter().enumerate() {
            for (k, &key) in keys[..n].iter().enumerate() {
                if (query ^ key).count_ones() <= 24 {
                    a.push((q as u32, k as u32));
                }
            }
        }
        a.sort_unstable();
        assert!(n < 1000 || a.len() > 10, "the test data should hold close pairs");
        for kernel in [Kernel::Avx512, Kernel::Avx2, Kernel::Portable].into_iter().filter(|k| k.supported()) {
            let mut b = Vec::new();
            close_pairs(&keys[..n], queries, 24, kernel, &mut b);
            b.sort_unstable();
            assert_eq!(a, b, "{n} keys, {m} queries, {kernel:?}");
        }
    }
}

/// Split over threads by ranges of benchmark videos (more parts than videos included), and
/// scans running at once: the candidates are those of one thread scanning everything.
#[test]
fn split_and_concurrent_scans_find_the_same_candidates() {
    let mut rng = Rng(7);
    let lengths: Vec<u32> = (0..30).map(|_| 10 + rng.below(120) as u32).collect();
    let bench: Vec<u64> = lengths.iter().flat_map(|&l| rng.walk(l as usize)).collect();
    let scan = FrameScan::build(&[&bench], &[], &lengths).unwrap();
    let rule = MatchParams::PAPER;
    let trains: Vec<Vec<u64>> = (0..6)
        .map(|t| {
            // Copies of three stretches of the benchmark (a few bits off) between random frames.
            let mut train = rng.walk(200);
            for k in 0..3 {
                let from = (t * 311 + k * 997) % (bench.len() - 30);
                for i in 0..30 {
                    let bits = rng.below(6) as u32;
                    train[k * 60 + i] = rng.flip(bench[from + i], bits);
                }
            }
            train
        })
        .collect();
    let sampled = |train: &[u64]| -> Queries {
        let pick = |step: usize| (0..train.len()).step_by(step).map(|i| (train[i], i as u32)).unzip();
        [(Vec::new(), Vec::new()), pick(1), pick(2)]
    };
    let mut total = 0;
    for train in &trains {
        let queries = sampled(train);
        let one = scan.candidates_split(train.len(), 0, &queries, &rule, 1).sorted();
        total += one.len();
        for parts in [2, 3, 8, 29, 30, 45] {
            let got = scan.candidates_split(train.len(), 0, &queries, &rule, parts).sorted();
            assert_eq!(got, one, "{parts} parts");
        }
    }
    assert!(total >= 18, "the copies should give candidates ({total})");
    let seqs: Vec<Sequence> = trains.iter().map(|t| Sequence::new(t, &[])).collect();
    let alone: Vec<Candidates> = seqs.iter().map(|s| scan.candidates(s, 0, &rule)).collect();
    std::thread::scope(|scope| {
        let runs: Vec<_> = seqs.iter().map(|s| scope.spawn(|| scan.candidates(s, 0, &rule))).collect();
        for (run, expected) in runs.into_iter().zip(&alone) {
            assert_eq!(&run.join().unwrap(), expected);
        }
    });
}

/// The exact and candidate searches read the same owned sequences as the scan: the exact
/// search equals `exact_scan` over the benchmark written out, the candidate search at the
/// exact segments' offsets finds those segments, and `match_video` refuses bad input.
#[test]
fn exact_and_candidate_searches_agree_with_the_written_out_reference() {
    let mut rng = Rng(11);
    let lengths: Vec<u32> = (0..12).map(|_| 20 + rng.below(60) as u32).collect();
    let bench: Vec<u64> = lengths.iter().flat_map(|&l| rng.walk(l as usize)).collect();
    let scan = FrameScan::build(&[&bench], &[], &lengths).unwrap();
    let b = split(&bench, &lengths);
    let benches: Vec<Sequence> = b.iter().map(|h| Sequence::new(h, &[])).collect();
    let mut train = rng.walk(120);
    for i in 0..30 {
        let bits = rng.below(5) as u32;
        train[40 + i] = rng.flip(b[5][10 + i], bits);
    }
    let seq = Sequence::new(&train, &[]);
    let rule = MatchParams { max_distance: 12, ..MatchParams::PAPER };
    let reference = exact_scan(&seq, &benches, &rule, Variant::Direct);
    assert!(!reference.is_empty(), "the planted copy should match");
    assert_eq!(sorted(scan.segments(&seq, None, None, &rule, Search::Exact)), sorted(reference.clone()));
    let at: Vec<(u32, i64)> = reference.iter().map(|s| (s.bench_video, s.offset)).collect();
    assert_eq!(sorted(scan.segments(&seq, None, None, &rule, Search::Candidates(&at))), sorted(reference.clone()));
    assert_eq!(scan.match_video(&seq, None, None, &rule, Search::Scan).unwrap(), select_segments(reference));
    let bad_rule = MatchParams { max_distance: 65, ..rule };
    assert!(scan.match_video(&seq, None, None, &bad_rule, Search::Scan).unwrap_err().to_string().contains("maxDistance"));
    let short_flags = [1u8; 3];
    assert!(scan.match_video(&Sequence { hashes: &train, informative: &short_flags }, None, None, &rule, Search::Scan).is_err());
    let short_flips = &train[..5];
    assert!(scan.match_video(&seq, Some(&Sequence::new(short_flips, &[])), None, &rule, Search::Scan).is_err());
}

#[test]
fn uninformative_frames_are_left_out_and_bad_columns_refused() {
    let h: Vec<u64> = (0..10).map(|k| k * 0x0101_0101).collect();
    let scan = FrameScan::build(&[&h], &[1, 1, 0, 1, 1, 1, 1, 1, 1, 1], &[4, 6]).unwrap();
    assert_eq!(scan.entries(), 9);
    assert_eq!(scan.videos(), 2);
    assert!(FrameScan::build(&[&h], &[], &[9]).is_err());
    assert!(FrameScan::build(&[&h, &h[..9]], &[], &[10]).is_err());
    assert!(FrameScan::build(&[&h], &[1, 1], &[10]).is_err());
    assert!(FrameScan::build(&[], &[], &[10]).is_err());
    assert!(FrameScan::build(&[&h, &h, &h], &[], &[10]).is_err());
    // Inner-half hashes: one per frame, flags empty or one per frame, added once; their
    // column reads its own flags (an uninformative inner half never matches on it).
    let base = || FrameScan::build(&[&h], &[], &[4, 6]).unwrap();
    assert!(base().with_inner(&h[..9], &[]).err().unwrap().to_string().contains("inner-half hashes"));
    assert!(base().with_inner(&h, &[1, 1]).is_err());
    assert!(base().with_inner(&h, &[]).unwrap().with_inner(&h, &[]).is_err());
    let with_inner = base().with_inner(&h, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    assert_eq!((with_inner.columns(), with_inner.entries()), (2, 10));
    let inner_only = Sequence::new(&h[4..], &[]);
    let rule = MatchParams { window: 6, min_window: 0, ..MatchParams::PAPER };
    assert!(with_inner.match_video(&Sequence::new(&[!0; 6], &[]), None, Some(&inner_only), &rule, Search::Exact).unwrap().is_empty());
    let informative_inner = base().with_inner(&h, &[]).unwrap();
    let found = informative_inner.match_video(&Sequence::new(&[!0; 6], &[]), None, Some(&inner_only), &rule, Search::Scan).unwrap();
    assert!(found.iter().any(|s| s.variant == Variant::Inner && s.bench_video == 1), "{found:?}");
    assert_eq!(scan.frames(), 10);
}

/// Copies that fill part of the picture: training videos whose active regions (two region columns)
/// hold stretches of benchmark videos' whole frames, and whose whole frames hold stretches of the
/// benchmark's central strip column. On every kernel the scan finds exactly the exact path's
/// segments (written out here from `exact_scan`, not through the code under test), labelled with
/// the region or the strip; and the prefilter's tables, which cover the strip column and are
/// queried with the region columns, miss none of them.
#[test]
fn region_and_strip_copies_are_found_exactly_like_the_exact_scan() {
    let mut rng = Rng(0x5EED_1234_ABCD_0042);
    let lengths: Vec<u32> = (0..30).map(|_| 20 + rng.below(150) as u32).collect();
    let total: usize = lengths.iter().map(|&l| l as usize).sum();
    let bench: Vec<u64> = lengths.iter().flat_map(|&l| rng.walk(l as usize)).collect();
    let strip: Vec<u64> = bench.iter().map(|_| rng.next()).collect();
    let informative: Vec<u8> = (0..total).map(|_| u8::from(rng.below(20) != 0)).collect();
    let (b, s, inf) = (split(&bench, &lengths), split(&strip, &lengths), split(&informative, &lengths));
    let benches: Vec<Sequence> = b.iter().zip(&inf).map(|(h, i)| Sequence::new(h, i)).collect();
    let strips: Vec<Sequence> = s.iter().zip(&inf).map(|(h, i)| Sequence::new(h, i)).collect();
    let build = || FrameScan::build(&[&bench], &informative, &lengths).unwrap().with_strip(&strip).unwrap();
    assert!(build().with_strip(&strip).is_err(), "one strip column");
    assert!(FrameScan::build(&[&bench], &informative, &lengths).unwrap().with_strip(&strip[1..]).is_err());
    let kernels: Vec<FrameScan> =
        [Kernel::Avx512, Kernel::Avx2, Kernel::Portable].into_iter().filter(|k| k.supported()).map(|k| build().with_kernel(k).unwrap()).collect();
    let prefiltered = build().with_prefilter();
    let rule = default_rule(false);
    let (mut region_found, mut strip_found) = (0, 0);
    for t in 0..24 {
        let len = [200usize, 60, 30][t % 3];
        let mut train = rng.walk(len);
        let mut regions = [rng.walk(len), rng.walk(len)];
        // Copy 20-40 frames of a benchmark video into region 0, region 1 or the whole frame (from its strip).
        let which = t % 3;
        let v = rng.below(lengths.len() as u64) as usize;
        let copy = (20 + rng.below(21) as usize).min(b[v].len()).min(len);
        let from = rng.below((b[v].len() - copy + 1) as u64) as usize;
        let at = rng.below((len - copy + 1) as u64) as usize;
        for k in 0..copy {
            let bits = rng.below(11) as u32;
            match which {
                2 => train[at + k] = rng.flip(s[v][from + k], bits),
                r => regions[r][at + k] = rng.flip(b[v][from + k], bits),
            }
        }
        let info: Vec<u8> = (0..len).map(|_| u8::from(rng.below(15) != 0)).collect();
        let seq = Sequence::new(&train, &info);
        let region_seqs = [Sequence::new(&regions[0], &info), Sequence::new(&regions[1], &[])];
        let mut exact = exact_scan(&seq, &benches, &rule, Variant::Direct);
        exact.extend(exact_scan(&seq, &strips, &rule, Variant::Strip));
        exact.extend(exact_scan(&region_seqs[0], &benches, &rule, Variant::Region(0)));
        exact.extend(exact_scan(&region_seqs[1], &benches, &rule, Variant::Region(1)));
        let expected = select_segments(exact);
        let planted =
            expected.iter().any(|s| s.bench_video == v as u32 && s.variant == [Variant::Region(0), Variant::Region(1), Variant::Strip][which]);
        assert!(planted, "training video {t}: the planted copy is found: {expected:?}");
        region_found += usize::from(which < 2);
        strip_found += usize::from(which == 2);
        for scan in &kernels {
            for search in [Search::Scan, Search::Exact] {
                let got = scan.match_with_regions(&seq, None, None, &region_seqs, &rule, search).unwrap();
                assert_eq!(got, expected, "training video {t}, {search:?}, kernel {:?}", scan.kernel());
            }
        }
        // The prefilter's segments are the exact path's on the videos it names: the planted one among them.
        let pre = prefiltered.match_with_regions(&seq, None, None, &region_seqs, &rule, Search::Prefilter).unwrap();
        assert!(
            pre.iter().any(|s| s.bench_video == v as u32 && s.variant == expected.iter().find(|e| e.bench_video == v as u32).unwrap().variant),
            "training video {t}: the prefilter missed it"
        );
    }
    assert!(region_found >= 16 && strip_found >= 8);
    // At most two regions, each one hash per frame.
    let seq = Sequence::new(&bench[..30], &[]);
    let three = [Sequence::new(&bench[..30], &[]), Sequence::new(&bench[..30], &[]), Sequence::new(&bench[..30], &[])];
    assert!(kernels[0].match_with_regions(&seq, None, None, &three, &rule, Search::Scan).unwrap_err().to_string().contains("at most 2"));
    let short = [Sequence::new(&bench[..29], &[])];
    assert!(kernels[0].match_with_regions(&seq, None, None, &short, &rule, Search::Scan).unwrap_err().to_string().contains("one per frame"));
}
