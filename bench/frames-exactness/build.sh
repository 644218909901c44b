#!/usr/bin/env bash
# Files for the `vdedup frames` exactness harness (bench/frames-exactness/run.mjs), shaped like
# users' files: real clips shipped inside Debian packages (apt-get download + dpkg -x, nothing is
# installed) and ffmpeg-made variants of one real clip (container/codec/timing shapes).
# Idempotent: what exists is kept. Nothing is committed.
#   bash bench/frames-exactness/build.sh   -> ${VDEDUP_EXACT_DIR:-~/.cache/vdedup/exactness}/files + files.tsv
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=${VDEDUP_EXACT_DIR:-$HOME/.cache/vdedup/exactness}
real_debs=${VDEDUP_REAL_DIR:-$HOME/.cache/vdedup/real}/debs # fixtures/fetch-real.sh's downloads, reused
ffmpeg=${FFMPEG_PATH:-ffmpeg}
ffprobe=${FFPROBE_PATH:-ffprobe}
mkdir -p "$dir/debs" "$dir/x" "$dir/files" "$dir/work"
files=$dir/files
work=$dir/work
log=$dir/build.log
: >"$log"
notes=() # what could not be built, and why

ff() { "$ffmpeg" -nostdin -hide_banner -loglevel error -y "$@" >>"$log" 2>&1; }

# Real files: package | path inside it | file name | shape
real=(
  "openboard-common|usr/share/openboard/library/videos/wannaworktogether.mp4|real-wannaworktogether.mp4|H.264+AAC MP4, 29.97 fps, 180 s, 480x352"
  "node-opencv|usr/share/doc/node-opencv/examples/files/motion.mov|real-motion.mov|phone/QuickTime MOV: timescale 600, edit list (242 of 243 samples), audio track first"
  "node-opencv|usr/share/doc/node-opencv/examples/output-1658952956227.avi|real-opencv-output.avi|OpenCV-written MPEG-4 part 2 AVI, no audio"
  "forensics-samples-files|usr/share/forensics-samples/original-files/movie2/movie-hello.mp4|real-movie-hello.mp4|phone MP4, 720p, two edits (empty + media), video starts at 33 ms"
  "forensics-samples-files|usr/share/forensics-samples/original-files/movie2/movie-hello.avi|real-movie-hello.avi|H.264+AAC AVI, 1024x576"
  "forensics-samples-files|usr/share/forensics-samples/original-files/movie2/movie-hello.mpeg|real-movie-hello.mpeg|MPEG-2 PS + MP2, starts at 0.53 s"
  "forensics-samples-files|usr/share/forensics-samples/original-files/movie2/movie-hello.ogg|real-movie-hello.ogg|Theora+Vorbis Ogg, video starts at 33 ms"
  "forensics-samples-files|usr/share/forensics-samples/original-files/movie1/VID_20191220_170832.mp4|real-phone-1080p.mp4|phone MP4, 1080p, 1.5 s, variable frame rate"
  "renpy-demo|usr/share/games/renpy/demo/game/oa4_launch.webm|real-oa4-launch.webm|VP8+Vorbis WebM, video starts at 3 ms"
  "python-nbsphinx-doc|usr/share/doc/python-nbsphinx/html/www/wikimediacommons/Shepard_Calais_1906_FrenchGP.ogv|real-calais-1906.ogv|Theora Ogg, skeleton stream first, 15 fps, 19 s"
  "janus-demos|usr/share/janus/demos/surround/ChID-BLITS-EBU.mp4|real-ebu-ident.mp4|H.264+AAC MP4, video timescale 8 (8 ticks/s), 47 s"
)

declare -A unpacked=()
deb_of() { # package -> path of its .deb (downloaded when neither cache has it), or nothing
  local pkg=$1 f
  for f in "$dir/debs/${pkg}"_*.deb "$real_debs/${pkg}"_*.deb; do
    if [ -s "$f" ]; then echo "$f"; return; fi
  done
  if (cd "$dir/debs" && apt-get download "$pkg" >>"$log" 2>&1); then
    ls "$dir/debs/${pkg}"_*.deb | head -n 1
  fi
}

manifest=$dir/files.tsv
: >"$manifest.tmp"
for entry in "${real[@]}"; do
  IFS='|' read -r pkg inner name shape <<<"$entry"
  if [ ! -s "$files/$name" ]; then
    deb=$(deb_of "$pkg")
    if [ -z "$deb" ]; then notes+=("$name: package $pkg could not be downloaded (skipped)"); continue; fi
    if [ -z "${unpacked[$pkg]:-}" ]; then dpkg -x "$deb" "$dir/x"; unpacked[$pkg]=1; fi
    if [ ! -e "$dir/x/$inner" ]; then notes+=("$name: $inner is not in $(basename "$deb") (skipped)"); continue; fi
    cp -L "$dir/x/$inner" "$files/$name.tmp" && mv "$files/$name.tmp" "$files/$name"
  fi
  printf '%s\treal\t%s (%s)\n' "$name" "$shape" "$pkg" >>"$manifest.tmp"
done

# ---------------------------------------------------------------------------------------------
# Variants: made by ffmpeg from one real clip (motion.mov: webcam motion, every frame distinct),
# at 320x180, ~8 s, so that a full run stays short.
src=$dir/x/usr/share/doc/node-opencv/examples/files/motion.mov
if [ ! -s "$src" ]; then
  deb=$(deb_of node-opencv)
  dpkg -x "$deb" "$dir/x"
fi
master=$work/master.mkv
if [ ! -s "$master" ]; then
  ff -i "$src" -map 0:v:0 -map 0:a:0 -vf scale=320:180 -c:v ffv1 -c:a pcm_s16le "$master.tmp.mkv"
  mv "$master.tmp.mkv" "$master"
fi

variant() { # name shape command... (the command writes "$out")
  local name=$1 shape=$2
  shift 2
  if [ ! -s "$files/$name" ]; then
    out="$work/tmp.$name"
    rm -f "$out"
    if "$@" && [ -s "$out" ]; then
      mv "$out" "$files/$name"
    else
      notes+=("$name: could not be built (see $log)")
      rm -f "$out"
      return 0
    fi
  fi
  printf '%s\tvariant\t%s\n' "$name" "$shape" >>"$manifest.tmp"
}

x264=(-c:v libx264 -preset veryfast -crf 23 -g 60 -pix_fmt yuv420p)
aac=(-c:a aac -b:a 96k)
base=$work/h264-aac.mp4 # the H.264+AAC encode the MP4 edits below start from (moov at the end)
[ -s "$base" ] || ff -i "$master" "${x264[@]}" "${aac[@]}" "$base"

mp4edit() { node "$here/mp4edit.mjs" "$@"; }
decoded() { # decoded frames of the first video stream (the harness's definition)
  "$ffmpeg" -nostdin -hide_banner -loglevel error -i "$1" -map 0:v:0 -fps_mode passthrough -enc_time_base -1 -pix_fmt rgb24 -f framemd5 - 2>>"$log" | grep -vc '^#'
}
samples() { "$ffprobe" -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$1" 2>>"$log"; }
md5s() { "$ffmpeg" -nostdin -hide_banner -loglevel error -i "$1" -map 0:v:0 -fps_mode passthrough -pix_fmt rgb24 -f framemd5 - 2>>"$log" | grep -v '^#' | awk -F, '{print $6}'; }

build_copy() { cp "$base" "$out"; }
build_faststart() { ff -i "$master" "${x264[@]}" "${aac[@]}" -movflags +faststart "$out"; }
build_edit_early_end() { # the video's edit ends 1.5 s before its last sample
  mp4edit trim-end "$base" "$out" 1.5
  local f s
  f=$(decoded "$out") s=$(samples "$out")
  echo "edit-early-end: $f frames of $s samples" >>"$log"
  [ "$f" -lt "$s" ] || { echo "edit-early-end: frames not fewer than samples" >>"$log"; return 1; }
}
build_edit_cut_copy() { # -ss/-t with -c copy from mid-GOP: the muxer writes an edit skipping the pre-roll
  ff -ss 2.1 -i "$base" -t 4 -c copy "$out"
  local f s
  f=$(decoded "$out") s=$(samples "$out")
  echo "edit-cut-copy: $f frames of $s samples" >>"$log"
  [ "$f" -lt "$s" ] || { echo "edit-cut-copy: frames not fewer than samples" >>"$log"; return 1; }
}
build_empty_edit() { # video shown from 0.25 s (audio from 0): an empty edit, then the media
  mp4edit edits "$base" "$out" "0.25:-1,8.0666667:0.0666667"
}
build_irregular_pts() { # -itsoffset + passthrough over a 1 ms source: uneven pts, two samples at one time
  ff -itsoffset 0.25 -i "$master" -i "$master" -map 0:v:0 -map 1:a:0 -fps_mode passthrough "${x264[@]}" "${aac[@]}" "$out"
}
build_two_edits() { # two media edits: media 0-3 s, then 2 s from mid-GOP at frame 150 (5.0 s)
  # x264's B-frame delay puts the first frame at media time 2 frames (1024/15360 s).
  mp4edit edits "$base" "$out" "3:0.0666667,2:5.0666667"
  echo "two-edits: $(decoded "$out") frames of $(samples "$out") samples" >>"$log"
}
build_timescale() { # fps, timescale
  ff -i "$master" -vf "fps=$1" "${x264[@]}" -g $(($1 * 2)) "${aac[@]}" -video_track_timescale "$2" "$out"
}
build_multi_stsd() { # two encodes with different SPS/PPS joined: 2 sample descriptions
  local a=$work/part-a.mp4 b=$work/part-b.mp4 j=$work/joined.mp4 n
  ff -i "$master" -t 4 "${x264[@]}" -profile:v high -bf 3 "${aac[@]}" "$a"
  ff -ss 4 -i "$master" "${x264[@]}" -profile:v baseline "${aac[@]}" "$b"
  printf "file '%s'\nfile '%s'\n" "$a" "$b" >"$work/ab.txt"
  # auto_convert 0: no SPS/PPS copied into the samples, so the second part needs its own description.
  ff -f concat -safe 0 -auto_convert 0 -i "$work/ab.txt" -c copy "$j"
  n=$(samples "$a")
  mp4edit multi-stsd "$j" "$b" "$out" "$n"
  node -e 'const i=JSON.parse(process.argv[1]); if (i.tracks.find((t)=>t.handler==="vide").sampleDescriptions.length!==2) process.exit(1)' "$(mp4edit info "$out")" \
    || { echo "multi-stsd: not 2 sample descriptions" >>"$log"; return 1; }
  # Decoded with the right description per part, the frames are the two encodes' frames.
  if ! diff -q <(md5s "$out") <(md5s "$a"; md5s "$b") >/dev/null; then echo "multi-stsd: frames differ from the parts'" >>"$log"; return 1; fi
}
build_fragmented() { ff -i "$master" "${x264[@]}" "${aac[@]}" -movflags frag_keyframe+empty_moov+default_base_moof "$out"; }
build_rotate() { ff -i "$base" -map 0 -c copy -metadata:s:v:0 rotate=90 "$out"; }
build_vfr() { # every 7th frame dropped and every 5th 10 ms late: variable frame rate, 1/90000 time base
  ff -i "$master" -vf "settb=1/90000,select='not(eq(mod(n\,7)\,3))',setpts='PTS+if(eq(mod(N\,5)\,2)\,900\,0)'" -fps_mode vfr \
    "${x264[@]}" "${aac[@]}" -video_track_timescale 90000 "$out"
}
build_vfr_mkv() { ff -i "$files/v-vfr.mp4" -map 0 -c copy "$out"; }
build_10bit() { ff -i "$master" -c:v libx264 -preset veryfast -crf 23 -g 60 -pix_fmt yuv420p10le "${aac[@]}" "$out"; }
build_hevc() {
  ff -i "$master" -c:v libx265 -preset fast -crf 28 -x265-params open-gop=1:keyint=48:min-keyint=48:bframes=4:scenecut=0:log-level=error -tag:v hvc1 "${aac[@]}" "$out"
}
build_av1() {
  if "$ffmpeg" -hide_banner -encoders 2>/dev/null | grep -q ' libsvtav1 '; then
    ff -i "$master" -c:v libsvtav1 -preset 10 -crf 40 -g 60 "${aac[@]}" "$out"
  else
    ff -i "$master" -c:v libaom-av1 -cpu-used 8 -crf 40 -g 60 "${aac[@]}" "$out"
  fi
}
build_vp9() { ff -i "$master" -c:v libvpx-vp9 -deadline good -cpu-used 5 -row-mt 1 -b:v 0 -crf 36 -g 60 -c:a libopus -b:a 64k "$out"; }
build_mkv_late() { # B-pyramid; audio from 0, video from 7 ms
  ff -itsoffset 0.007 -i "$master" -i "$master" -map 0:v:0 -map 1:a:0 -c:v libx264 -preset veryfast -crf 23 -g 60 \
    -x264-params b-pyramid=normal:bframes=3 -c:a libvorbis -q:a 3 "$out"
}
build_avi_mpeg4() { ff -i "$master" -c:v mpeg4 -q:v 4 -bf 2 -g 60 -c:a libmp3lame -b:a 96k "$out"; }
build_avi_h264() { ff -i "$master" "${x264[@]}" -c:a libmp3lame -b:a 96k "$out"; }
build_theora() { ff -i "$master" -c:v libtheora -q:v 6 -g 60 -c:a libvorbis -q:a 3 "$out"; }
build_mpeg2_ps() { ff -i "$master" -c:v mpeg2video -q:v 4 -bf 2 -g 15 -c:a mp2 -b:a 128k -f mpeg "$out"; }
build_ts() { ff -i "$master" "${x264[@]}" "${aac[@]}" -f mpegts "$out"; }

variant v-h264-aac.mp4 "H.264 (B-frames, GOP 2 s)+AAC MP4, moov at the end, edit list for the B-frame delay" build_copy
variant v-h264-aac-faststart.mp4 "H.264+AAC MP4, faststart (moov first)" build_faststart
variant v-edit-early-end.mp4 "H.264+AAC MP4 whose video edit ends 1.5 s before its last sample (frames < samples)" build_edit_early_end
variant v-edit-cut-copy.mp4 "ffmpeg -ss 2.1 -t 4 -c copy from mid-GOP: edit skips the pre-roll frames" build_edit_cut_copy
variant v-empty-edit.mp4 "H.264+AAC MP4, video shown from 0.25 s (empty edit + media edit)" build_empty_edit
variant v-irregular-pts.mp4 "H.264+AAC MP4 made with -itsoffset 0.25 -fps_mode passthrough: uneven pts, two samples with one pts" build_irregular_pts
variant v-two-edits.mp4 "H.264 MP4 with two media edits (0-3 s, then 2 s from mid-GOP 5.0 s)" build_two_edits
variant v-timescale25.mp4 "H.264+AAC MP4, 25 fps, video timescale 25" build_timescale 25 25
variant v-timescale8.mp4 "H.264+AAC MP4, 8 fps, video timescale 8" build_timescale 8 8
variant v-multi-stsd.mp4 "H.264 MP4 with 2 sample descriptions (High+B-frames, then Baseline), AAC" build_multi_stsd
variant v-fragmented.mp4 "fragmented MP4 (frag_keyframe+empty_moov+default_base_moof), H.264+AAC" build_fragmented
variant v-rotate90.mp4 "H.264+AAC MP4 with rotation metadata 90 (display matrix)" build_rotate
variant v-vfr.mp4 "H.264+AAC MP4, variable frame rate (1 frame in 7 dropped, 1 in 5 late by 10 ms), timescale 90000" build_vfr
variant v-vfr.mkv "the VFR stream remuxed into Matroska (1 ms time base)" build_vfr_mkv
variant v-h264-10bit.mp4 "H.264 High 10 (yuv420p10le)+AAC MP4" build_10bit
variant v-hevc-opengop.mp4 "HEVC (x265 open GOP, keyint 48, 4 B-frames)+AAC MP4, hvc1" build_hevc
variant v-av1.mp4 "AV1+AAC MP4" build_av1
variant v-vp9-opus.webm "VP9 (alt-ref, hidden frames)+Opus WebM" build_vp9
variant v-h264-bpyramid-late.mkv "H.264 B-pyramid (3 B-frames)+Vorbis MKV, video starts a few ms after the audio (-itsoffset 0.007)" build_mkv_late
variant v-mpeg4-bframes.avi "MPEG-4 part 2 with B-frames (packed)+MP3 AVI" build_avi_mpeg4
variant v-h264.avi "H.264 (B-frames)+MP3 AVI" build_avi_h264
variant v-theora.ogv "Theora+Vorbis Ogg" build_theora
variant v-mpeg2.mpg "MPEG-2 video (B-frames, GOP 15)+MP2 program stream" build_mpeg2_ps
variant v-h264-aac.ts "H.264+AAC MPEG-TS (starts at 1.4 s)" build_ts
mv "$manifest.tmp" "$manifest"

# ---------------------------------------------------------------------------------------------
printf '%-28s %-7s %-18s %9s %8s %8s %6s  %s\n' file kind video size packets frames start notes
while IFS=$'\t' read -r name kind _; do
  f=$files/$name
  declare -A s=()
  while IFS='=' read -r k v; do s[$k]=$v; done < <("$ffprobe" -v error -select_streams v:0 -count_packets -count_frames \
    -show_entries stream=codec_name,width,height,nb_read_packets,nb_read_frames,start_time -of default=nw=1 "$f" 2>>"$log")
  extra=()
  rot=$("$ffprobe" -v error -select_streams v:0 -show_entries stream_side_data=rotation -of csv=p=0 "$f" 2>>"$log" | tr -d ',\n' || true)
  [ -n "$rot" ] && [ "$rot" != 0 ] && extra+=("rotation $rot")
  case $name in
    *.mp4 | *.mov)
      info=$(node "$here/mp4edit.mjs" info "$f" 2>/dev/null || true)
      if [ -n "$info" ]; then
        extra+=("$(node -e '
          const i = JSON.parse(process.argv[1]); const v = i.tracks.find((t) => t.handler === "vide");
          const out = [`timescale ${v.mediaScale}`];
          if (v.edits.length) out.push(`edits ${v.edits.map((e) => `${e.seconds.toFixed(3)}s@${e.mediaSeconds < 0 ? "empty" : e.mediaSeconds.toFixed(3)}`).join("+")}`);
          if (v.sampleDescriptions.length > 1) out.push(`${v.sampleDescriptions.length} sample descriptions`);
          if (i.fragmented) out.push("fragmented");
          if (i.tracks[0].handler !== "vide") out.push("video not first");
          console.log(out.join(", "));' "$info")")
      fi
      ;;
  esac
  printf '%-28s %-7s %-18s %9s %8s %8s %6s  %s\n' "$name" "$kind" "${s[codec_name]} ${s[width]}x${s[height]}" "$(du -k "$f" | cut -f1)K" "${s[nb_read_packets]}" "${s[nb_read_frames]}" "${s[start_time]:0:6}" "$(IFS='; '; echo "${extra[*]:-}")"
done <"$manifest"
for n in "${notes[@]}"; do echo "note: $n"; done
echo "files in $files (list: $manifest; log: $log)"
