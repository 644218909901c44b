use super::*;

/// A hash at exactly `d` bits from `base` (flips the lowest d bits).
fn at_distance(base: u64, d: u32) -> u64 {
    if d == 0 {
        base
    } else {
        base ^ (u64::MAX >> (64 - d))
    }
}

fn pseudo_random(n: usize, seed: u64) -> Vec<u64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        })
        .collect()
}

/// Train = bench with `matching` frames of the 20 at distance `near`, the rest at distance 64.
fn window_pair(matching: usize, near: u32) -> (Vec<u64>, Vec<u64>) {
    let bench = pseudo_random(20, 99);
    let train = bench.iter().enumerate().map(|(i, &h)| if i < matching { at_distance(h, near) } else { !h }).collect();
    (train, bench)
}

fn run(train: &[u64], bench: &[u64], p: &MatchParams) -> Vec<Segment> {
    let mut out = Vec::new();
    verify_offset(&Sequence::new(train, &[]), &Sequence::new(bench, &[]), 0, 0, p, Variant::Direct, &mut out);
    out
}

#[test]
fn paper_rule_fraction_boundary_14_of_20() {
    let p = MatchParams::PAPER;
    assert_eq!(p.needed(20), 14);
    let (t, b) = window_pair(14, 30);
    let s = run(&t, &b, &p);
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].matched_frames, s[0].window_frames), (14, 20));
    assert!((s[0].mean_distance - 30.0).abs() < 1e-6);
    let (t, b) = window_pair(13, 30);
    assert!(run(&t, &b, &p).is_empty(), "13 of 20 is below 70%");
}

#[test]
fn paper_rule_distance_boundary_30_bits() {
    let p = MatchParams::PAPER;
    let (t, b) = window_pair(20, 30);
    assert_eq!(run(&t, &b, &p)[0].matched_frames, 20);
    let (t, b) = window_pair(20, 31);
    assert!(run(&t, &b, &p).is_empty(), "31 bits is above the threshold");
    // 14 frames at 30 and the rest at 31: still a match, with 14 matched frames.
    let bench = pseudo_random(20, 5);
    let train: Vec<u64> = bench.iter().enumerate().map(|(i, &h)| at_distance(h, if i < 14 { 30 } else { 31 })).collect();
    assert_eq!(run(&train, &bench, &p)[0].matched_frames, 14);
}

/// A 12-frame excerpt of a long benchmark video inside a long training video cannot fill 14
/// of a 20-frame window; the short-excerpt window finds it, also where the alignment overlaps
/// the benchmark video by fewer frames than the main window (the excerpt is its last seconds),
/// and reports it with its own window length. Its mean-distance cap holds.
#[test]
fn short_excerpt_window_finds_a_12_frame_copy_inside_long_videos() {
    let bench = pseudo_random(60, 3);
    let excerpt = |from: usize, d: u32| -> Vec<u64> {
        let mut train = pseudo_random(40, 4);
        for k in 0..12 {
            train[10 + k] = at_distance(bench[from + k], d);
        }
        train
    };
    let base = MatchParams { max_distance: 20, min_distinct: 3, distinct_bits: 10, static_max_mean: 6.0, ..MatchParams::PAPER };
    let short = MatchParams { short_window: 10, short_fraction: 0.9, short_max_mean: 12.0, ..base };
    assert_eq!(short.validate(), Ok(()));
    assert_eq!((short.shortest_window(20, false), short.shortest_window(20, true)), (10, 20));
    let find = |train: &[u64], p: &MatchParams| exact_scan(&Sequence::new(train, &[]), &[Sequence::new(&bench, &[])], p, Variant::Direct);
    for from in [5usize, 48] {
        let train = excerpt(from, 8);
        assert!(find(&train, &base).is_empty(), "the 20-frame rule alone misses a 12-frame copy");
        let s = find(&train, &short);
        assert_eq!(s.len(), 1, "from {from}: {s:?}");
        assert_eq!((s[0].offset, s[0].train_start, s[0].train_end, s[0].window_frames, s[0].matched_frames), (10 - from as i64, 10, 22, 10, 10));
        assert!(find(&excerpt(from, 14), &short).is_empty(), "mean 14 is above shortMaxMean 12");
    }
    assert!(MatchParams { short_window: 20, ..short }.validate().is_err(), "not shorter than the window");
    assert!(MatchParams { short_fraction: 0.0, ..short }.validate().is_err());
}

#[test]
fn paper_rule_ignores_videos_shorter_than_the_window() {
    let b = pseudo_random(19, 1);
    assert!(run(&b, &b, &MatchParams::PAPER).is_empty());
    let short = MatchParams { min_window: 8, ..MatchParams::PAPER };
    let s = run(&b, &b, &short);
    assert_eq!((s[0].matched_frames, s[0].window_frames), (19, 19));
    let tiny = pseudo_random(7, 1);
    assert!(run(&tiny, &tiny, &short).is_empty(), "below min_window");
}

#[test]
fn consecutive_windows_merge_into_one_trimmed_segment() {
    // Bench of 60 frames; train holds bench[10..50] starting at train frame 100.
    let bench = pseudo_random(60, 3);
    let mut train = pseudo_random(200, 4);
    train[100..140].copy_from_slice(&bench[10..50]);
    // Random neighbours fall within 30 bits a third of the time and would legitimately extend
    // the segment under the paper rule; a tight threshold keeps this test about merging.
    let p = MatchParams { max_distance: 8, ..MatchParams::PAPER };
    let mut out = Vec::new();
    verify_offset(&Sequence::new(&train, &[]), &Sequence::new(&bench, &[]), 7, 90, &p, Variant::Direct, &mut out);
    assert_eq!(out.len(), 1);
    let s = out[0];
    assert_eq!((s.train_start, s.train_end, s.bench_start, s.bench_end), (100, 140, 10, 50));
    assert_eq!((s.bench_video, s.offset, s.matched_frames, s.window_frames), (7, 90, 20, 20));
    assert_eq!(s.mean_distance, 0.0);
}

#[test]
fn uninformative_frames_never_count() {
    let bench = vec![0u64; 30]; // black frames hash to 0
    let train = vec![0u64; 30];
    let all = vec![1u8; 30];
    let none = vec![0u8; 30];
    let p = MatchParams { min_informative: 0.5, ..MatchParams::PAPER };
    let mut out = Vec::new();
    verify_offset(&Sequence::new(&train, &all), &Sequence::new(&bench, &all), 0, 0, &p, Variant::Direct, &mut out);
    assert!(!out.is_empty());
    out.clear();
    verify_offset(&Sequence::new(&train, &none), &Sequence::new(&bench, &all), 0, 0, &p, Variant::Direct, &mut out);
    assert!(out.is_empty());
}

#[test]
fn exact_scan_finds_every_copy_at_its_offset() {
    let b0 = pseudo_random(25, 10);
    let b1 = pseudo_random(40, 11);
    let mut train = pseudo_random(300, 12);
    train[50..75].copy_from_slice(&b0);
    train[200..240].copy_from_slice(&b1);
    train[260..285].copy_from_slice(&b0[..25]);
    let benches = [Sequence::new(&b0, &[]), Sequence::new(&b1, &[])];
    // Random 64-bit hashes fall within 30 bits 35% of the time, so the paper rule can fire on
    // noise; a tight threshold makes this test about the offsets only.
    let p = MatchParams { max_distance: 8, ..MatchParams::PAPER };
    let found = select_segments(exact_scan(&Sequence::new(&train, &[]), &benches, &p, Variant::Direct));
    let summary: Vec<(u32, u32, u32)> = found.iter().map(|s| (s.bench_video, s.train_start, s.train_end)).collect();
    assert_eq!(summary, vec![(0, 50, 75), (0, 260, 285), (1, 200, 240)]);
}

#[test]
fn a_still_shot_needs_near_identical_frames() {
    // Two unrelated still shots that happen to hash 16 bits apart: 20 "matching" frames that
    // are one coincidence. Distinct-evidence rule: rejected; a near-identical copy: accepted.
    let p = MatchParams { max_distance: 20, min_fraction: 0.6, min_distinct: 3, distinct_bits: 10, static_max_mean: 6.0, ..MatchParams::PAPER };
    let bench = vec![0x0f0f_0f0f_0f0f_0f0fu64; 20];
    let coincidence = vec![at_distance(0x0f0f_0f0f_0f0f_0f0f, 16); 20];
    assert!(run(&coincidence, &bench, &p).is_empty());
    let copy = vec![at_distance(0x0f0f_0f0f_0f0f_0f0f, 4); 20];
    assert_eq!(run(&copy, &bench, &p).len(), 1);
    // A moving shot at the same distances has distinct evidence and matches.
    let moving = pseudo_random(20, 77);
    let moving_copy: Vec<u64> = moving.iter().map(|&h| at_distance(h, 16)).collect();
    assert_eq!(run(&moving_copy, &moving, &p).len(), 1);
}

/// Static footage repeats itself: one copied stretch aligns with the true benchmark time and,
/// more weakly, with two others. Only the strongest alignment of the stretch is reported; the
/// same footage copied again later in the training video is reported too.
#[test]
fn one_training_range_keeps_its_strongest_alignment() {
    let seg = |offset: i64, train: (u32, u32), bench_start: u32, matched: u32, mean: f32| Segment {
        bench_video: 3,
        offset,
        train_start: train.0,
        train_end: train.1,
        bench_start,
        bench_end: bench_start + (train.1 - train.0),
        matched_frames: matched,
        window_frames: 20,
        mean_distance: mean,
        best_train_start: train.0,
        score: (matched as f32 * (21.0 - mean)) as u32,
        variant: Variant::Direct,
        speed: SPEED_UNIT,
    };
    let true_alignment = seg(10, (20, 50), 10, 20, 2.1);
    let echo_a = seg(-30, (18, 48), 48, 20, 12.3);
    let echo_b = seg(40, (22, 52), 0, 19, 10.6);
    let again_later = seg(100, (130, 160), 30, 18, 4.0);
    let other_video = Segment { bench_video: 4, ..echo_a };
    let kept = select_segments(vec![echo_a, true_alignment, other_video, again_later, echo_b]);
    assert_eq!(kept, vec![true_alignment, again_later, other_video]);
    // Grouped: sequences 3 and 4 are one video (two phases of it); the echo on 4 goes too.
    let grouped = select_segments_by(vec![echo_a, true_alignment, other_video, again_later, echo_b], |v| v.min(3));
    assert_eq!(grouped, vec![true_alignment, again_later]);
}

/// A copy whose whole frames match is reported by them even where its inner half scores higher
/// over a longer range (a chance pair past the copy's end); inner-half segments stand where
/// whole frames cover nothing (a stretch under overlays).
#[test]
fn whole_frame_segments_come_before_inner_half_ones() {
    let seg = |train: (u32, u32), matched: u32, mean: f32, variant: Variant| Segment {
        bench_video: 0,
        offset: 4,
        train_start: train.0,
        train_end: train.1,
        bench_start: train.0 - 4,
        bench_end: train.1 - 4,
        matched_frames: matched,
        window_frames: 20,
        mean_distance: mean,
        best_train_start: train.0,
        score: (matched as f32 * (21.0 - mean)) as u32,
        variant,
        speed: SPEED_UNIT,
    };
    let whole = seg((10, 34), 18, 6.0, Variant::Direct);
    let inner_longer = seg((10, 40), 20, 5.3, Variant::Inner);
    let inner_elsewhere = seg((60, 90), 16, 9.0, Variant::Inner);
    assert!(inner_longer.score > whole.score);
    assert_eq!(select_segments(vec![inner_longer, whole, inner_elsewhere]), vec![whole, inner_elsewhere]);
    assert_eq!(select_segments(vec![inner_longer]), vec![inner_longer]);
}

/// The bound of `LineGrid`: for any speed in [0.9, 1.1], any start and any 20-frame window,
/// some line of the grid (4 phases, 2 intercepts per sample, speeds 0.01 apart; speed 1 being
/// the straight diagonals) meets, at every frame of the window, a benchmark sample at most
/// 1/8 + 1/16 + 0.01 * 19 / 4 = 0.235 s from the time the copy shows; and the bound is nearly
/// reached (it is not loose).
#[test]
fn slanted_lines_stay_near_every_speed_in_the_range() {
    let p = MatchParams { speed_range: 0.1, speed_step: 0.01, speed_intercepts: 2, ..MatchParams::PAPER };
    let (phases, q, w) = (4u32, 2u32, 20i64);
    let bound = 1.0 / (2.0 * f64::from(phases)) + 1.0 / (2.0 * f64::from(phases * q)) + p.speed_step * (w - 1) as f64 / 4.0;
    assert!((bound - 0.235).abs() < 1e-9);
    let speeds = p.speeds();
    assert_eq!((speeds.len(), speeds[0], speeds[19]), (20, 9000, 11000));
    let mut worst: f64 = 0.0;
    for s_star in (9000..=11000).step_by(13) {
        let s = f64::from(s_star) / f64::from(SPEED_UNIT);
        for b0 in [0.0, 3.37, 7.9, 12.125, 40.61] {
            for t0 in [0i64, 13, 57, 240] {
                let mut best = f64::MAX;
                // The two grid speeds either side of s* (speed 1: the straight diagonals, one
                // intercept per sample).
                for &sp in speeds.iter().chain(&[SPEED_UNIT]) {
                    if (f64::from(sp) - f64::from(s_star)).abs() > 100.0 {
                        continue;
                    }
                    let grid = LineGrid { phases, q: if sp == SPEED_UNIT { 1 } else { q } };
                    let mid = b0 + s * (t0 as f64 + 9.5) - f64::from(sp) / f64::from(SPEED_UNIT) * (t0 as f64 + 9.5);
                    let c_mid = (mid * f64::from(phases * grid.q)).round() as i64;
                    for intercept in c_mid - 8..=c_mid + 8 {
                        let line = Line { speed: sp, intercept };
                        let err =
                            (t0..t0 + w).map(|i| (grid.sample(line, i) as f64 / f64::from(phases) - (b0 + s * i as f64)).abs()).fold(0.0, f64::max);
                        best = best.min(err);
                    }
                }
                assert!(best <= bound + 1e-9, "speed {s} start {b0} window {t0}: nearest line {best} s off");
                worst = worst.max(best);
            }
        }
    }
    assert!(worst > 0.18, "the bound should be nearly reached ({worst})");
}

/// The grid's integer geometry: the lines through a point are exactly `q` consecutive
/// intercepts, `span` is where a line meets the video, and `intercepts` holds every line that
/// meets it.
#[test]
fn line_grid_geometry_is_consistent() {
    for grid in [LineGrid { phases: 4, q: 2 }, LineGrid { phases: 1, q: 3 }, LineGrid { phases: 4, q: 1 }] {
        for speed in [9000u32, 9500, 9900, 10100, 10400, 11000] {
            let (t_len, fine_len) = (37usize, 50usize);
            let range = grid.intercepts(speed, t_len, fine_len);
            for i in 0..t_len as i64 {
                for k in 0..fine_len as i64 {
                    let c0 = grid.first_intercept(speed, i, k);
                    assert!(range.contains(&c0) && range.contains(&(c0 + i64::from(grid.q) - 1)));
                    for c in c0 - 2..c0 + i64::from(grid.q) + 2 {
                        let on = grid.sample(Line { speed, intercept: c }, i) == k;
                        assert_eq!(on, (c0..c0 + i64::from(grid.q)).contains(&c), "{grid:?} speed {speed} ({i}, {k}) c {c}");
                    }
                }
            }
            for c in *range.start() - 3..=*range.end() + 3 {
                let line = Line { speed, intercept: c };
                let inside: Vec<i64> = (0..t_len as i64).filter(|&i| (0..fine_len as i64).contains(&grid.sample(line, i))).collect();
                let (a, b) = grid.span(line, t_len, fine_len);
                assert_eq!(inside, (a as i64..b as i64).collect::<Vec<_>>(), "{grid:?} speed {speed} c {c}");
                assert_eq!(!inside.is_empty(), range.contains(&c), "{grid:?} speed {speed} c {c}");
                assert!(inside.len() <= grid.frames_at(speed, fine_len) + 1);
            }
        }
    }
}

#[test]
fn speed_settings_are_checked() {
    let p = MatchParams { speed_range: 0.1, speed_step: 0.01, speed_intercepts: 2, ..MatchParams::PAPER };
    assert!(p.validate().is_ok());
    assert!(MatchParams { speed_step: 0.000_05, ..p }.validate().is_err());
    assert!(MatchParams { speed_intercepts: 0, ..p }.validate().is_err());
    assert!(MatchParams { speed_range: 0.6, ..p }.validate().is_err());
    assert!(MatchParams::PAPER.speeds().is_empty());
    assert_eq!(MatchParams { speed_range: 0.05, speed_step: 0.025, ..p }.speeds(), vec![9500, 9750, 10250, 10500]);
}

#[test]
fn select_segments_drops_overlapping_neighbours() {
    // A still shot: the same hash for 40 frames matches at many offsets.
    let bench = vec![0x1234_5678_9abc_def0u64; 40];
    let train = vec![0x1234_5678_9abc_def0u64; 40];
    let segs = exact_scan(&Sequence::new(&train, &[]), &[Sequence::new(&bench, &[])], &MatchParams::PAPER, Variant::Direct);
    assert!(segs.len() > 10);
    let kept = select_segments(segs);
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].offset, kept[0].train_start, kept[0].train_end), (0, 0, 40));
}
