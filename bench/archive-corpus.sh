#!/usr/bin/env bash
# The corpus of bench/archive-scan.mjs: the scan-cost corpus x264-720p (bench/corpora/build.sh) with
# two planted copies, shipped the ways web-scale corpora are:
#   loose/                 the 8 training videos: t2..t6, t1 renamed to a YouTube ID (Kq3xT1vDd9A.mp4)
#                          and copy-b1.mp4, copy-b2.mp4 (the first 30 s of bench/b1.mp4 and b2.mp4
#                          re-encoded with libx264 at 960x540)
#   shards/0000{0..2}.tar  the same videos in the same order as WebDataset samples (GNU tar):
#                          <9-digit key>.mp4, .json (the YouTube url, key, caption), .txt (caption);
#                          keys.tsv maps key to name
#   corpus.tar.gz          loose/ gzipped (tar --sort=name -czf)
#   corpus.zip             loose/ as a zip of stored members (Python zipfile, ZIP_STORED)
#   bench.jsonl            the benchmark: x264-720p/bench/b1.mp4 and b2.mp4, and a YouTube ID with no
#                          video (t1's), so every layout also removes one sample by its ID
#   members-100k.tar       50,000 samples of .json + .txt and 5 video samples (t2..t6): 100,015 members
#   members-1k.tar         500 samples of .json + .txt and the same 5 video samples: 1,015 members
# Usage: bash bench/archive-corpus.sh   -> ${VDEDUP_CORPORA_DIR:-~/.cache/vdedup/corpora}/archives-x264-720p
set -euo pipefail
version=2
root=$(cd "$(dirname "$0")/.." && pwd)
corpora=${VDEDUP_CORPORA_DIR:-$HOME/.cache/vdedup/corpora}
src=$corpora/x264-720p
out=$corpora/archives-x264-720p
stamp=$out/.built-v$version
[ -f "$stamp" ] && { echo "archives-x264-720p: built ($out)"; exit 0; }
[ -f "$src/.built-v1" ] || bash "$root/bench/corpora/build.sh" x264-720p >&2
t0=$SECONDS
# Rebuilt from scratch: a half-built corpus from an interrupted run must not be measured.
rm -rf "$out"
mkdir -p "$out/loose" "$out/shards" "$out/stage"

# The YouTube ID of t1, named by the benchmark's manifest (and by nothing it holds on disk).
id=Kq3xT1vDd9A
cp "$src/train/t1.mp4" "$out/loose/$id.mp4"
for t in t2 t3 t4 t5 t6; do cp "$src/train/$t.mp4" "$out/loose/$t.mp4"; done
for b in b1 b2; do
  ffmpeg -nostdin -v error -y -t 30 -i "$src/bench/$b.mp4" -vf scale=960:540 -c:v libx264 -pix_fmt yuv420p -c:a aac -b:a 96k "$out/loose/copy-$b.part.mp4"
  mv "$out/loose/copy-$b.part.mp4" "$out/loose/copy-$b.mp4"
done

# A YouTube-like ID per video (deterministic; only t1's is the benchmark's).
fake_id() { printf %s "$1" | sha256sum | head -c 22 | xxd -r -p | base64 | tr '+/' '-_' | head -c 11; }

# WebDataset shards as video2dataset writes them: key = shard * 10000 + index, 9 digits. Every layout
# holds the videos in the order the loose scan takes them (names in code-unit order), so the scans
# compared start the same videos at the same time (the order decides how busy the last seconds are).
order=("$id.mp4" copy-b1.mp4 copy-b2.mp4 t2.mp4 t3.mp4 t4.mp4 t5.mp4 t6.mp4)
shard_of=(0 0 0 1 1 1 2 2)
: >"$out/keys.tsv"
members=('' '' '')
count=(0 0 0)
for i in "${!order[@]}"; do
  name=${order[$i]}
  s=${shard_of[$i]}
  key=$(printf %09d $((s * 10000 + count[s])))
  count[s]=$((count[s] + 1))
  if [ "$name" = "$id.mp4" ]; then yt=$id; else yt=$(fake_id "$name"); fi
  cp "$out/loose/$name" "$out/stage/$key.mp4"
  printf '{"url": "https://www.youtube.com/watch?v=%s", "key": "%s", "status": "success", "caption": "a video"}\n' "$yt" "$key" >"$out/stage/$key.json"
  printf 'a video' >"$out/stage/$key.txt"
  members[s]="${members[s]} $key.mp4 $key.json $key.txt"
  printf '%s\t%s\n' "$key" "$name" >>"$out/keys.tsv"
done
for s in 0 1 2; do
  # shellcheck disable=SC2086
  tar --format=gnu -cf "$out/shards/0000$s.tar.part" -C "$out/stage" ${members[$s]}
  mv "$out/shards/0000$s.tar.part" "$out/shards/0000$s.tar"
done
rm -rf "$out/stage"

tar --sort=name -czf "$out/corpus.tar.gz.part" -C "$out" loose
mv "$out/corpus.tar.gz.part" "$out/corpus.tar.gz"
python3 - "$out/corpus.zip" "$out" <<'EOF'
import os, sys, zipfile
dest, base = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(dest + ".part", "w", zipfile.ZIP_STORED) as z:
    for f in sorted(os.listdir(os.path.join(base, "loose"))):
        z.write(os.path.join(base, "loose", f), "loose/" + f, zipfile.ZIP_STORED)
os.replace(dest + ".part", dest)
EOF

printf '{"path": "../x264-720p/bench/b1.mp4"}\n{"path": "../x264-720p/bench/b2.mp4"}\n{"id": "youtube-only", "youtube_id": "%s"}\n' "$id" >"$out/bench.jsonl"

# Member-count tars: tiny .json/.txt samples around 5 real video samples, written by Python's tarfile
# (GNU format) straight from memory.
python3 - "$out" "$src/train" <<'EOF'
import io, json, os, sys, tarfile
out, train = sys.argv[1], sys.argv[2]
videos = [os.path.join(train, f"t{i}.mp4") for i in range(2, 7)]
for name, samples in (("members-100k.tar", 50_000), ("members-1k.tar", 500)):
    at = {round((j + 0.5) * samples / len(videos)): v for j, v in enumerate(videos)}
    with tarfile.open(os.path.join(out, name + ".part"), "w", format=tarfile.GNU_FORMAT) as t:
        def add(member, data):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mtime = 1700000000
            t.addfile(info, io.BytesIO(data))
        for k in range(samples):
            key = f"{k:09d}"
            if k in at:
                with open(at[k], "rb") as f:
                    add(f"{key}.mp4", f.read())
            add(f"{key}.json", json.dumps({"url": f"https://www.youtube.com/watch?v={k:011d}", "key": key, "status": "success", "caption": f"sample {k}"}).encode())
            add(f"{key}.txt", f"sample {k}".encode())
    os.replace(os.path.join(out, name + ".part"), os.path.join(out, name))
EOF

touch "$stamp"
echo "archives-x264-720p: built in $((SECONDS - t0)) s ($out)"
