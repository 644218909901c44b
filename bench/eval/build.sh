#!/usr/bin/env bash
# Builds the evaluation set from real footage (fixtures/fetch-real.sh: clips and music shipped in
# Debian packages) into ${VDEDUP_EVAL_DIR:-~/.cache/vdedup/eval}. The plan is bench/eval/build.py,
# seeded (rebuilding gives the same set):
#   bench/<original>.mp4                          21 benchmark originals, 14 of them fast motion
#   train/copy--<family>--<original>--<n>.<ext>   must match bench/<original>.mp4
#   train/neg--<kind>--<name>.<ext>               must match nothing (no footage of any original)
#   truth.json                                    per training file: family, original, the copy's start and
#                                                 end in the original and in the training video, speed,
#                                                 filler; the originals and their tuning/held-out split
# At most 2 ffmpeg processes run at a time. Outputs already made are kept (delete the folder to rebuild).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/../../fixtures/fetch-real.sh" >/dev/null
exec python3 "$here/build.py"
