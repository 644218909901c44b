#!/usr/bin/env python3
"""The pHash pipeline a researcher would write with the Python reference library:
ffmpeg samples 1 frame per second (same fps=1:round=up filter) as raw RGB on a pipe, Pillow wraps
each frame, imagehash.phash hashes it. Prints one hex hash per line.
Usage: reference_phash.py [--jobs N] <video> [video ...]
Several videos are hashed one after another in this process (a researcher's loop), or N at a time
with a multiprocessing pool (--jobs N); each video's hashes are followed by a blank line.
"""
import json
import subprocess
import sys
from multiprocessing import Pool

import imagehash
from PIL import Image


def phash_video(path: str) -> str:
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "json", path],
        check=True, capture_output=True).stdout)
    w, h = probe["streams"][0]["width"], probe["streams"][0]["height"]
    proc = subprocess.Popen(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", path, "-vf", "fps=1:round=up", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
        stdout=subprocess.PIPE)
    size = w * h * 3
    out = []
    while True:
        buf = proc.stdout.read(size)
        if len(buf) < size:
            break
        out.append(str(imagehash.phash(Image.frombytes("RGB", (w, h), buf))))
    proc.wait()
    return "\n".join(out)


def main(argv: list) -> None:
    jobs = 1
    if argv[:1] == ["--jobs"]:
        jobs, argv = int(argv[1]), argv[2:]
    if jobs > 1:
        with Pool(jobs) as pool:
            results = pool.map(phash_video, argv)
    else:
        results = [phash_video(path) for path in argv]
    print("\n\n".join(results))


if __name__ == "__main__":
    main(sys.argv[1:])
