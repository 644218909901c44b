"""What a VLM pipeline writes instead of calling vdedup: frames with PyAV or decord, JPEG by Pillow.

    python frames_reference.py <pyav|lmms|decord> <video> <out_dir> (--count N | --fps F) [--quality 90]
    python frames_reference.py compare <dir_a> <dir_b>
    python frames_reference.py timeline <video>

--count N: frame indices np.linspace(0, frames - 1, N, dtype=int) (LMMs-Eval's sampler).
  pyav: the usual PyAV recipe for sparse frames: for each target, seek to the keyframe at or
    before it and decode forward to it (thread_type AUTO). The frame count is stream.frames (the
    MP4 sample count) and frame i is taken to be at start + i / average_rate, accepting the first
    frame within half a frame of that time; where stream.frames is 0 (Matroska/WebM) the video
    packets are demuxed once to count them, and their sorted times give each frame's time.
  lmms: LMMs-Eval's read_video_pyav as written (no seek; stream.frames for MP4 and a decode up to
    the last index, which linspace always includes; every frame decoded and kept for WebM/MKV or
    when the MP4 path raises), then to_ndarray("rgb24") per frame; PyAV's default threading.
  decord: VideoReader.get_batch(indices).
--fps F: for k = 0, 1, ... while k / F is before the end of the last frame, the frame on screen
  at k / F seconds from the first frame (the last frame whose time is at or before it: vdedup's
  rule); pyav decodes once (thread_type AUTO) and keeps those.
Prints one JSON line: the frame indices written (decoded order, or the targets for --count pyav),
their times (seconds from the first frame, from the decoded frames' pts), the frame count used,
and the seconds spent. compare: mean absolute difference (0-255) of each pair of images, the two
folders' images paired in name order, as one JSON line. timeline: every frame PyAV decodes (the
definition of frame i), its time from the first frame, and stream.frames, as one JSON line.
"""

import json
import os
import sys
import time

import numpy as np
from PIL import Image


def parse():
    kind = sys.argv[1]
    if kind == "compare":
        return kind, sys.argv[2], sys.argv[3], {}
    if kind == "timeline":
        return kind, sys.argv[2], None, {}
    video, out = sys.argv[2], sys.argv[3]
    args = sys.argv[4:]
    opts = {"quality": 90}
    for i in range(0, len(args), 2):
        opts[args[i].lstrip("-")] = float(args[i + 1])
    return kind, video, out, opts


def save(rgb, out, k, quality):
    Image.fromarray(rgb).save(os.path.join(out, f"frame_{k:05d}.jpg"), quality=int(quality))


def first_pts(s):
    """The stream's first presentation time in ticks (what vdedup calls time 0)."""
    return s.start_time if s.start_time is not None else 0


def packet_times(c, s):
    """Sorted pts of the video packets (a demux, no decode): one per frame."""
    pts = sorted(p.pts for p in c.demux(s) if p.pts is not None and p.size > 0)
    c.seek(0)
    return pts


def pyav_count(video, out, n, quality):
    import av

    with av.open(video) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        tb = s.time_base
        start = first_pts(s)
        half = 0.5 / float(s.average_rate) / float(tb)
        total = s.frames
        pts_of = None
        if total == 0:
            pts_of = packet_times(c, s)
            total = len(pts_of)
        targets = np.linspace(0, total - 1, int(n), dtype=int).tolist()
        done, times = [], []
        for k, idx in enumerate(targets):
            pts_target = pts_of[idx] if pts_of is not None else start + int(round(idx / s.average_rate / tb))
            c.seek(int(pts_target), stream=s, backward=True, any_frame=False)
            for frame in c.decode(s):
                if frame.pts is None or frame.pts < pts_target - half:
                    continue
                save(frame.to_ndarray(format="rgb24"), out, k, quality)
                done.append(idx)
                times.append(float((frame.pts - start) * tb))
                break
        return done, times, total


# LMMs-Eval's loader (lmms_eval/models/*: read_video_pyav and its two helpers), unchanged in
# substance: "This one is faster" / "This one works for all types of video".
def record_video_length_stream(container, indices):
    frames = []
    start_index = indices[0]
    end_index = indices[-1]
    for i, frame in enumerate(container.decode(video=0)):
        if i > end_index:
            break
        if i >= start_index and i in indices:
            frames.append((i, frame))
    return frames


def record_video_length_packet(container):
    frames = []
    for packet in container.demux(video=0):
        for frame in packet.decode():
            frames.append(frame)
    return frames


def lmms_count(video, out, n, quality):
    import av

    def from_packets():
        container = av.open(video)
        frames = record_video_length_packet(container)
        total = len(frames)
        indices = np.linspace(0, total - 1, min(total, int(n)), dtype=int)
        if total - 1 not in indices:
            indices = np.append(indices, total - 1)
        return [(int(i), frames[i]) for i in indices], total, container

    if "webm" not in video and "mkv" not in video:
        try:
            container = av.open(video)
            total = container.streams.video[0].frames
            indices = np.linspace(0, total - 1, min(total, int(n)), dtype=int)
            if total - 1 not in indices:
                indices = np.append(indices, total - 1)
            picked = record_video_length_stream(container, indices)
        except Exception:
            picked, total, container = from_packets()
    else:
        picked, total, container = from_packets()
    s = container.streams.video[0]
    start = first_pts(s)
    done, times = [], []
    for k, (i, frame) in enumerate(picked):
        save(frame.to_ndarray(format="rgb24"), out, k, quality)
        done.append(i)
        times.append(float((frame.pts - start) * s.time_base))
    container.close()
    return done, times, total


def pyav_fps(video, out, fps, quality):
    import av

    with av.open(video) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        tb = s.time_base
        k = 0
        done, times = [], []
        prev, prev_i, first, i = None, -1, None, -1
        # The frame on screen at k / fps is the last one at or before it: known when the next begins.
        for i, frame in enumerate(c.decode(s)):
            if first is None:
                first = frame.pts
            t = float((frame.pts - first) * tb)
            while prev is not None and k / fps < t - 1e-9:
                save(prev.to_ndarray(format="rgb24"), out, k, quality)
                done.append(prev_i)
                times.append(float((prev.pts - first) * tb))
                k += 1
            prev, prev_i = frame, i
        last_t = float((prev.pts - first) * tb)
        step = float(prev.duration * tb) if prev.duration else 1 / float(s.average_rate)
        end = last_t + step
        while k / fps < end - 1e-6:
            save(prev.to_ndarray(format="rgb24"), out, k, quality)
            done.append(prev_i)
            times.append(last_t)
            k += 1
        return done, times, i + 1


def decord_count(video, out, n, quality):
    import decord

    vr = decord.VideoReader(video, ctx=decord.cpu(0))
    targets = np.linspace(0, len(vr) - 1, int(n), dtype=int).tolist()
    batch = vr.get_batch(targets).asnumpy()
    for k, rgb in enumerate(batch):
        save(rgb, out, k, quality)
    stamps = vr.get_frame_timestamp(targets)[:, 0].tolist()
    return targets, [t - float(vr.get_frame_timestamp(0)[0]) for t in stamps], len(vr)


def compare(a, b):
    images = lambda d: sorted(f for f in os.listdir(d) if f.endswith((".jpg", ".png", ".webp")))
    fa, fb = images(a), images(b)
    diffs = []
    for x, y in zip(fa, fb):
        ia = np.asarray(Image.open(os.path.join(a, x)).convert("RGB"), dtype=np.int16)
        ib = np.asarray(Image.open(os.path.join(b, y)).convert("RGB"), dtype=np.int16)
        diffs.append(float(np.abs(ia - ib).mean()) if ia.shape == ib.shape else None)
    return {"pairs": len(diffs), "counts": [len(fa), len(fb)], "meanAbsDiff": diffs}


def timeline(video):
    import av

    with av.open(video) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        pts = [frame.pts for frame in c.decode(s)]
        return {"streamFrames": s.frames, "decoded": len(pts), "times": [float((p - pts[0]) * s.time_base) for p in pts]}


def main():
    kind, video, out, opts = parse()
    if kind == "compare":
        print(json.dumps(compare(video, out)))
        return
    if kind == "timeline":
        print(json.dumps(timeline(video)))
        return
    os.makedirs(out, exist_ok=True)
    start = time.perf_counter()
    if kind == "pyav" and "count" in opts:
        done, times, total = pyav_count(video, out, opts["count"], opts["quality"])
    elif kind == "pyav":
        done, times, total = pyav_fps(video, out, opts["fps"], opts["quality"])
    elif kind == "lmms" and "count" in opts:
        done, times, total = lmms_count(video, out, opts["count"], opts["quality"])
    elif kind == "decord" and "count" in opts:
        done, times, total = decord_count(video, out, opts["count"], opts["quality"])
    else:
        raise SystemExit(f"{kind}: --count only")
    print(json.dumps({"kind": kind, "frames": done, "times": times, "total": total, "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
