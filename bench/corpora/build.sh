#!/usr/bin/env bash
# Three scan-cost corpora from real footage (fixtures/fetch-real.sh), each 2 benchmark and 6
# training videos of 40 s with an audio track, encoded the way corpora usually are:
#   x264-720p        H.264 at x264's defaults (B-frames, B-pyramid, CRF 23), AAC, MP4
#   x264-bpyr-1080p  H.264 1080p at 29.97 fps, 5 B-frames in a pyramid (preset fast), AAC, MP4
#   vp9-720p         VP9 + Opus in WebM (every frame a reference: nothing can be left out)
# Usage: bash bench/corpora/build.sh [corpus ...]   -> ${VDEDUP_CORPORA_DIR:-~/.cache/vdedup/corpora}/<corpus>/{bench,train}
set -euo pipefail
version=1
real=${VDEDUP_REAL_DIR:-$HOME/.cache/vdedup/real}
out=${VDEDUP_CORPORA_DIR:-$HOME/.cache/vdedup/corpora}
[ -d "$real/clips" ] || { echo "no real clips in $real/clips: run bash fixtures/fetch-real.sh first" >&2; exit 1; }
corpora=("$@")
[ ${#corpora[@]} -gt 0 ] || corpora=(x264-720p x264-bpyr-1080p vp9-720p)

# name | first 20 s: clip@offset | second 20 s: clip@offset | music
videos=(
  "bench/b1|wanna-work-together.mp4@0|fillets-intro.mpg@0|sing-journey.ogg"
  "bench/b2|street-pedestrians.avi@0|tree.avi@0|sing-nebula.ogg"
  "train/t1|wanna-work-together.mp4@60|ebu-ident.mp4@0|sing-awakening.ogg"
  "train/t2|fillets-intro.mpg@30|glines-demo.ogv@0|sing-coherence.ogg"
  "train/t3|street-pedestrians.avi@40|dual-monitors.webm@0|fillets-menu.ogg"
  "train/t4|wanna-work-together.mp4@120|diver.mov@0|sing-byproduct.ogg"
  "train/t5|cockatoo.mp4@0|megamind.avi@0|fillets-rybky01.ogg"
  "train/t6|fillets-intro.mpg@50|phone-hello.mp4@0|sing-deprecation.ogg"
)

encode() { # corpus name clip1@off clip2@off music
  local corpus=$1 name=$2 a=$3 b=$4 music=$5 w h rate ext venc aenc
  case $corpus in
    x264-720p) w=1280 h=720 rate=25 ext=mp4 venc=(-c:v libx264 -pix_fmt yuv420p) aenc=(-c:a aac -b:a 96k) ;;
    x264-bpyr-1080p) w=1920 h=1080 rate=30000/1001 ext=mp4 venc=(-c:v libx264 -preset fast -bf 5 -x264-params b-pyramid=normal -pix_fmt yuv420p) aenc=(-c:a aac -b:a 96k) ;;
    vp9-720p) w=1280 h=720 rate=25 ext=webm venc=(-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -row-mt 1 -b:v 2M -pix_fmt yuv420p) aenc=(-c:a libopus -b:a 96k) ;;
    *) echo "unknown corpus $corpus" >&2; exit 1 ;;
  esac
  local dest="$out/$corpus/$name.$ext"
  [ -s "$dest" ] && return
  mkdir -p "$(dirname "$dest")"
  local fit="scale=$w:$h:force_original_aspect_ratio=decrease,pad=$w:$h:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=$rate"
  ffmpeg -nostdin -v error -y \
    -stream_loop -1 -ss "${a#*@}" -t 20 -i "$real/clips/${a%@*}" \
    -stream_loop -1 -ss "${b#*@}" -t 20 -i "$real/clips/${b%@*}" \
    -stream_loop -1 -i "$real/music/$music" \
    -filter_complex "[0:v]$fit[a];[1:v]$fit[b];[a][b]concat=n=2:v=1:a=0[v]" \
    -map '[v]' -map 2:a -t 40 "${venc[@]}" "${aenc[@]}" "$dest.part.$ext"
  mv "$dest.part.$ext" "$dest"
}

for corpus in "${corpora[@]}"; do
  stamp="$out/$corpus/.built-v$version"
  [ -f "$stamp" ] && { echo "$corpus: built ($out/$corpus)"; continue; }
  t0=$SECONDS
  for v in "${videos[@]}"; do
    IFS='|' read -r name a b music <<<"$v"
    encode "$corpus" "$name" "$a" "$b" "$music"
  done
  touch "$stamp"
  echo "$corpus: built in $((SECONDS - t0)) s ($out/$corpus)"
done
