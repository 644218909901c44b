//! Segment selection: the strongest alignment of each stretch of a training video.

use super::Segment;

/// Keep, per benchmark video, one alignment per stretch of the training video: segments in order of
/// evidence (`score`, then length, then closeness), each kept unless more than half of its training
/// range is already covered by a kept segment of the same benchmark video. A still shot or a slow
/// pan makes neighbouring offsets match the same stretch, and static footage (a street camera)
/// repeats itself, so one copied stretch can align with several benchmark times; a reviewer acts on
/// the time ranges, so only the strongest alignment of each stretch is reported. A training video
/// that holds the same footage twice, at different times, keeps both.
///
/// Slanted segments (a copy played faster or slower) compete on the same evidence: a copy at 5%
/// can give straight segments on two phases, each over part of it, and one slanted segment over
/// all of it with a stronger best window; the slanted one is reported. On equal evidence (a still
/// shot fits lines of any speed) the straight alignment wins.
///
/// Whole-frame segments come before those on part of the benchmark's picture (`Variant::Inner`,
/// `Variant::Strip`), whatever their evidence: the inner half is a quarter of the picture, so it
/// also meets unrelated frames within the threshold more often (a chance pair at a copy's edge
/// stretches its time range), and a copy whose whole frames match is reported by them. Such a
/// segment is kept where whole frames do not cover its training time (a copy under overlays, a
/// portrait crop). A training region's segments (`Variant::Region`) compare the benchmark's whole
/// picture and rank with the whole-frame ones.
pub fn select_segments(segments: Vec<Segment>) -> Vec<Segment> {
    select_segments_by(segments, |v| v)
}

/// `select_segments`, where several sequences are one benchmark video: `group(bench_video)` names
/// the video (the sub-second phases of one video are sequences of their own).
pub fn select_segments_by(mut segments: Vec<Segment>, group: impl Fn(u32) -> u32) -> Vec<Segment> {
    segments.sort_by(|a, b| {
        group(a.bench_video)
            .cmp(&group(b.bench_video))
            .then(a.variant.partial_bench().cmp(&b.variant.partial_bench()))
            .then(b.score.cmp(&a.score))
            .then((b.train_end - b.train_start).cmp(&(a.train_end - a.train_start)))
            .then(a.mean_distance.total_cmp(&b.mean_distance))
            .then(a.slanted().cmp(&b.slanted()))
            .then(a.bench_video.cmp(&b.bench_video))
            .then(a.speed.cmp(&b.speed))
            .then(a.offset.cmp(&b.offset))
            .then(a.variant.cmp(&b.variant))
            .then(a.train_start.cmp(&b.train_start))
    });
    let mut kept: Vec<Segment> = Vec::new();
    let mut group_start = 0;
    for s in segments {
        if kept.get(group_start).is_some_and(|k| group(k.bench_video) != group(s.bench_video)) {
            group_start = kept.len();
        }
        let covered: u32 = kept[group_start..].iter().map(|k| s.train_end.min(k.train_end).saturating_sub(s.train_start.max(k.train_start))).sum();
        if 2 * covered <= s.train_end - s.train_start {
            kept.push(s);
        }
    }
    kept.sort_by(|a, b| group(a.bench_video).cmp(&group(b.bench_video)).then(a.train_start.cmp(&b.train_start)));
    kept
}
