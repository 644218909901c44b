#!/usr/bin/env bash
# Builds the evaluation set from real footage (fixtures/fetch-real.sh) into
# ${VDEDUP_EVAL_DIR:-~/.cache/vdedup/eval}: benchmark originals in bench/, and in train/ one planted
# copy per (transformation, original) plus hard negatives. Names carry the ground truth:
#   train/copy--<transform>--<original>.mp4    must match bench/<original>.mp4
#   train/neg--<kind>--<name>.mp4              must match nothing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
real=${VDEDUP_REAL_DIR:-$HOME/.cache/vdedup/real}/clips
out=${VDEDUP_EVAL_DIR:-$HOME/.cache/vdedup/eval}
"$here/../../fixtures/fetch-real.sh" >/dev/null
mkdir -p "$out/bench" "$out/train" "$out/tmp"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
enc=(-c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -an)
norm="scale=640:360:force_original_aspect_ratio=disable,setsar=1,fps=25"
font=/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf

# Normalised real clips (640x360, 25 fps) to build from.
for f in "$real"/*; do
  n=$(basename "${f%.*}")
  [ -s "$out/tmp/$n.mp4" ] || ff -i "$f" -vf "$norm" "${enc[@]}" "$out/tmp/$n.mp4"
done
concat() { # out in1 in2 ...
  local o=$1; shift
  local inputs=() filter="" i=0
  for f in "$@"; do inputs+=(-i "$out/tmp/$f.mp4"); filter+="[$i:v]"; i=$((i + 1)); done
  ff "${inputs[@]}" -filter_complex "${filter}concat=n=$i:v=1[v]" -map "[v]" "${enc[@]}" "$o"
}

echo "benchmark originals" >&2
[ -s "$out/bench/street.mp4" ] || ff -i "$out/tmp/street-pedestrians.mp4" -t 40 "${enc[@]}" "$out/bench/street.mp4"
[ -s "$out/bench/tree.mp4" ] || cp "$out/tmp/tree.mp4" "$out/bench/tree.mp4"
[ -s "$out/bench/bird-film.mp4" ] || concat "$out/bench/bird-film.mp4" cockatoo megamind
[ -s "$out/bench/class-webcam.mp4" ] || concat "$out/bench/class-webcam.mp4" ball-throw motion street-pedestrians
# Short benchmark videos (< 20 s): matched with a window as long as they are.
[ -s "$out/bench/megamind-short.mp4" ] || cp "$out/tmp/megamind.mp4" "$out/bench/megamind-short.mp4"
[ -s "$out/bench/ball-short.mp4" ] || cp "$out/tmp/ball-throw.mp4" "$out/bench/ball-short.mp4"

declare -A T=(
  [reencode-crf40]="-vf null -c:v libx264 -preset veryfast -crf 40"
  [downscale-144p]="-vf scale=256:144 -c:v libx264 -preset veryfast -crf 28"
  [letterbox]="-vf scale=480:270,pad=480:360:0:45 -c:v libx264 -preset veryfast -crf 26"
  [pillarbox]="-vf scale=480:360,pad=640:360:80:0 -c:v libx264 -preset veryfast -crf 26"
  [crop-10pct]="-vf crop=iw*0.8:ih*0.8,scale=640:360 -c:v libx264 -preset veryfast -crf 26"
  [color-eq]="-vf eq=brightness=0.08:contrast=1.25:saturation=1.5 -c:v libx264 -preset veryfast -crf 26"
  [logo-overlay]="-vf drawbox=x=iw*0.72:y=ih*0.06:w=iw*0.22:h=ih*0.14:color=white@0.8:t=fill,drawtext=fontfile=$font:text=CHANNEL:x=w*0.74:y=h*0.09:fontsize=22:fontcolor=black -c:v libx264 -preset veryfast -crf 26"
  [fps15-vp9]="-vf fps=15 -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 400k"
  [grayscale]="-vf format=gray,format=yuv420p -c:v libx264 -preset veryfast -crf 26"
  [offset-0.5s]="-ss 0.5 -vf null -c:v libx264 -preset veryfast -crf 26"
  [blur-noise]="-vf gblur=sigma=2,noise=alls=18:allf=t -c:v libx264 -preset veryfast -crf 26"
  [hflip]="-vf hflip -c:v libx264 -preset veryfast -crf 26"
)
echo "planted copies" >&2
for b in "$out"/bench/*.mp4; do
  name=$(basename "${b%.mp4}")
  for t in "${!T[@]}"; do
    ext=mp4; [ "$t" = fps15-vp9 ] && ext=webm
    o="$out/train/copy--$t--$name.$ext"
    [ -s "$o" ] && continue
    # shellcheck disable=SC2086
    if [ "$t" = offset-0.5s ]; then ff -ss 0.5 -i "$b" ${T[$t]#-ss 0.5 } -an "$o"; else ff -i "$b" ${T[$t]} -an "$o"; fi
  done
  # A copy shorter than 20 s: 12 s from the middle of the original.
  o="$out/train/copy--short-12s--$name.mp4"
  [ -s "$o" ] || ff -ss 3 -i "$b" -t 12 "${enc[@]}" "$o"
done

echo "hard negatives" >&2
n="$out/train"
[ -s "$n/neg--real--phone-city.mp4" ] || concat "$n/neg--real--phone-city.mp4" phone-hello city rocket-launch
[ -s "$n/neg--real--rocket-home.mp4" ] || concat "$n/neg--real--rocket-home.mp4" rocket-launch kphotoalbum-demo phone-hello city
[ -s "$n/neg--real-lowq--phone-city.mp4" ] || ff -i "$n/neg--real--phone-city.mp4" -vf scale=320:180 -c:v libx264 -crf 38 "$n/neg--real-lowq--phone-city.mp4"
for card in smptebars smptehdbars pal75bars testsrc rgbtestsrc; do
  [ -s "$n/neg--testcard--$card.mp4" ] || ff -f lavfi -i "$card=size=640x360:rate=25,trim=duration=30" "${enc[@]}" "$n/neg--testcard--$card.mp4"
done
[ -s "$n/neg--black--long-black-then-city.mp4" ] || ff -f lavfi -i "color=black:size=640x360:rate=25,trim=duration=25" -i "$out/tmp/city.mp4" \
  -filter_complex "[1:v]fade=in:0:50[c];[0:v][c]concat=n=2:v=1[v]" -map "[v]" "${enc[@]}" "$n/neg--black--long-black-then-city.mp4"
[ -s "$n/neg--black--fades.mp4" ] || ff -i "$out/tmp/rocket-launch.mp4" -i "$out/tmp/phone-hello.mp4" -f lavfi -i "color=black:size=640x360:rate=25,trim=duration=10" \
  -filter_complex "[0:v]fade=out:st=5:d=3[a];[1:v]fade=in:0:75,fade=out:st=5:d=3[b];[a][2:v][b]concat=n=3:v=1[v]" -map "[v]" "${enc[@]}" "$n/neg--black--fades.mp4"
[ -s "$n/neg--black--near-black-noise.mp4" ] || ff -f lavfi -i "color=0x060606:size=640x360:rate=25,noise=alls=6:allf=t,trim=duration=30" "${enc[@]}" "$n/neg--black--near-black-noise.mp4"
# Screen recordings: text on a plain background, scrolling slowly, and a static slide.
[ -s "$n/neg--screen--terminal.mp4" ] || ff -f lavfi -i "color=0x1e1e1e:size=640x360:rate=25,trim=duration=30" \
  -vf "drawtext=fontfile=$font:textfile=$here/build.sh:fontsize=12:fontcolor=0xd0d0d0:expansion=none:x=10:y=10-t*20" "${enc[@]}" "$n/neg--screen--terminal.mp4"
[ -s "$n/neg--screen--slide.mp4" ] || ff -f lavfi -i "color=white:size=640x360:rate=25,trim=duration=30" \
  -vf "drawtext=fontfile=$font:text='Quarterly results':fontsize=36:x=40:y=40,drawtext=fontfile=$font:text='- revenue up':fontsize=24:x=60:y=120" "${enc[@]}" "$n/neg--screen--slide.mp4"
[ -s "$n/neg--synthetic--mandelbrot.mp4" ] || ff -f lavfi -i "mandelbrot=size=640x360:rate=25,trim=duration=30" "${enc[@]}" "$n/neg--synthetic--mandelbrot.mp4"
echo "eval set in $out: $(ls "$out/bench" | wc -l) benchmark videos, $(ls "$out/train" | grep -c '^copy--') copies, $(ls "$out/train" | grep -c '^neg--') negatives" >&2
