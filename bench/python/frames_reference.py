"""What a VLM pipeline writes instead of calling vdedup: frames with PyAV or decord, JPEG by Pillow.

    python frames_reference.py <pyav|decord> <video> <out_dir> (--count N | --fps F) [--quality 90]

--count N: frame indices np.linspace(0, frames - 1, N, dtype=int) (LMMs-Eval's sampler).
  pyav: for each target, seek to the keyframe at or before it and decode forward to it (the usual
  PyAV recipe for sparse frames); decord: VideoReader.get_batch(indices).
--fps F: frames at t = k / F (the frame on screen then); pyav decodes once and keeps those.
Prints one JSON line: the indices written (for the exactness check) and the seconds spent.
"""

import json
import os
import sys
import time

import numpy as np
from PIL import Image


def parse():
    kind, video, out = sys.argv[1], sys.argv[2], sys.argv[3]
    args = sys.argv[4:]
    opts = {"quality": 90}
    for i in range(0, len(args), 2):
        opts[args[i].lstrip("-")] = float(args[i + 1])
    return kind, video, out, opts


def save(rgb, out, k, quality):
    Image.fromarray(rgb).save(os.path.join(out, f"frame_{k:05d}.jpg"), quality=int(quality))


def pyav_count(video, out, n, quality):
    import av

    with av.open(video) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        total = s.frames
        rate = s.average_rate
        targets = np.linspace(0, total - 1, int(n), dtype=int).tolist()
        done = []
        for k, idx in enumerate(targets):
            pts_target = int(round(idx / rate / s.time_base))
            c.seek(pts_target, stream=s, backward=True, any_frame=False)
            for frame in c.decode(s):
                if frame.pts is None or frame.pts < pts_target:
                    continue
                save(frame.to_ndarray(format="rgb24"), out, k, quality)
                done.append(idx)
                break
        return done


def pyav_fps(video, out, fps, quality):
    import av

    with av.open(video) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        k = 0
        done = []
        for frame in c.decode(s):
            t = float(frame.pts * s.time_base)
            # The frame on screen at k / fps: the first frame at or after it (constant frame rate).
            if t + 1e-6 >= k / fps:
                save(frame.to_ndarray(format="rgb24"), out, k, quality)
                done.append(round(t * float(s.average_rate)))
                k += 1
        return done


def decord_count(video, out, n, quality):
    import decord

    vr = decord.VideoReader(video, ctx=decord.cpu(0))
    targets = np.linspace(0, len(vr) - 1, int(n), dtype=int).tolist()
    batch = vr.get_batch(targets).asnumpy()
    for k, rgb in enumerate(batch):
        save(rgb, out, k, quality)
    return targets


def main():
    kind, video, out, opts = parse()
    os.makedirs(out, exist_ok=True)
    start = time.perf_counter()
    if kind == "pyav" and "count" in opts:
        done = pyav_count(video, out, opts["count"], opts["quality"])
    elif kind == "pyav":
        done = pyav_fps(video, out, opts["fps"], opts["quality"])
    elif kind == "decord" and "count" in opts:
        done = decord_count(video, out, opts["count"], opts["quality"])
    else:
        raise SystemExit("decord: --count only")
    print(json.dumps({"kind": kind, "frames": done, "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
