#!/usr/bin/env bash
# `npm run test:pack`: installs vdedup as a user would, from the two tarballs `scripts/pack.sh`
# makes (main package + prebuilt linux-x64-gnu package), into an empty project, with cargo and
# rustc NOT on PATH; then runs the README's main job there and `vdedup --version`.
# VDEDUP_PACK_SKIP_BUILD=1 reuses dist/ and npm/<platform>/*.node as they are.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
work=$(mktemp -d /tmp/vdedup-pack-test.XXXXXX)
# The scan's fingerprint store, out of the user's ~/.cache.
export VDEDUP_CACHE_DIR="$work/cache" VDEDUP_DATA_DIR="$work/cache"
trap 'rm -rf "$work"' EXIT
fail() { echo "test:pack: FAIL: $*" >&2; exit 1; }
t0=$(date +%s)

bash scripts/pack.sh "$work/release"
main_tgz=$(ls "$work"/release/vdedup-[0-9]*.tgz)
platform_tgz=$(ls "$work"/release/vdedup-linux-x64-gnu-*.tgz)

# What the main tarball holds: the CLI's JavaScript and its data file, no native code, no sources
# of the Rust core, no fixtures, tests, benchmarks or build output.
tar -tzf "$main_tgz" | sed 's|^package/||' | sort > "$work/main-files.txt"
bad=$(grep -E '^(crates|fixtures|test|bench|target|npm|src/.*\.ts$|dist/.*\.(map|d\.ts)$)|\.node$' "$work/main-files.txt" || true)
[ -z "$bad" ] || fail "main tarball holds files a user does not need: $bad"
grep -qx 'bin/vdedup.js' "$work/main-files.txt" || fail "main tarball lacks bin/vdedup.js"
grep -qx 'dist/cli/main.js' "$work/main-files.txt" || fail "main tarball lacks dist/cli/main.js"
grep -qx 'src/benchmarks/lmms-eval-video-tasks.json' "$work/main-files.txt" || fail "main tarball lacks the benchmark registry"
tar -xzOf "$main_tgz" package/package.json | node -e '
  const p = JSON.parse(require("fs").readFileSync(0, "utf8"));
  if (p.optionalDependencies?.["vdedup-linux-x64-gnu"] !== p.version) {
    console.error("main package.json does not list vdedup-linux-x64-gnu@" + p.version + " in optionalDependencies");
    process.exit(1);
  }'
[ "$(tar -tzf "$platform_tgz" | sort | tr '\n' ' ')" = "package/README.md package/package.json package/vdedup.linux-x64-gnu.node " ] \
  || fail "platform tarball: unexpected contents: $(tar -tzf "$platform_tgz" | tr '\n' ' ')"

# A PATH without cargo and rustc (the directories holding them are left out).
clean_path=""
IFS=: read -r -a dirs <<< "$PATH"
for d in "${dirs[@]}"; do
  [ -n "$d" ] || continue
  if [ -e "$d/cargo" ] || [ -e "$d/rustc" ]; then
    [ -e "$d/node" ] && fail "$d holds both node and cargo/rustc: cannot hide the Rust toolchain"
    continue
  fi
  clean_path="${clean_path:+$clean_path:}$d"
done
export PATH="$clean_path"
unset CARGO_HOME RUSTUP_HOME CARGO_TARGET_DIR
if command -v cargo >/dev/null 2>&1 || command -v rustc >/dev/null 2>&1; then fail "cargo or rustc still on PATH"; fi

user="$work/user"
mkdir -p "$user"
cd "$user"
# An empty project, as `npm init -y` makes it. Its install-script policy: hnswlib-node compiles
# its addon with node-gyp and g++, msgpackr-extract picks its prebuilt binary; ffmpeg-static's
# script downloads an ffmpeg from GitHub, which vdedup does not need with ffmpeg on PATH.
npm init -y >/dev/null
node -e '
  const fs = require("fs");
  const p = JSON.parse(fs.readFileSync("package.json", "utf8"));
  p.allowScripts = { "hnswlib-node": true, "msgpackr-extract": true, "ffmpeg-static": false };
  fs.writeFileSync("package.json", JSON.stringify(p, null, 2) + "\n");'
t1=$(date +%s)
npm install --no-audit --no-fund "$platform_tgz" "$main_tgz" 2>&1 | tee "$work/install.log"
t2=$(date +%s)
if grep -q EBADENGINE "$work/install.log"; then
  case "$(node --version)" in
    v22.*|v24.*|v26.*) fail "EBADENGINE warning on a supported Node line ($(node --version))" ;;
  esac
fi
[ -d node_modules/vdedup-linux-x64-gnu ] || fail "the platform package was not installed"
[ ! -e node_modules/vdedup/crates ] || fail "the installed package holds crates/"

version=$(npx --no-install vdedup --version)
echo "$version"
echo "$version" | grep -Eq '^native: vdedup-core .* \(platform package vdedup-linux-x64-gnu@[0-9.]+: .*/node_modules/vdedup-linux-x64-gnu/vdedup\.linux-x64-gnu\.node\)$' \
  || fail "vdedup --version does not name the platform package"

# The README's main job.
npx --no-install vdedup scan --train "$repo/fixtures/scan/train" --bench "$repo/fixtures/scan/bench" --out report.json | tee scan.txt
grep -Eq 'compilation\.mp4 [0-9]+-[0-9]+s +~ +mandelbrot-zoom\.mp4' scan.txt || fail "the scan did not report the planted copy"
node -e '
  const r = JSON.parse(require("fs").readFileSync("report.json", "utf8"));
  const want = ["Ab3dE_fG9hK.mp4", "compilation.mp4"];
  if (JSON.stringify(r.removed) !== JSON.stringify(want)) { console.error("report.removed:", r.removed); process.exit(1); }
  const m = r.matches.find((x) => x.train === "compilation.mp4" && x.bench === "mandelbrot-zoom.mp4");
  if (!m || Math.abs(m.trainStart - 10) > 1 || Math.abs(m.benchStart - 6) > 1) { console.error("match:", m); process.exit(1); }'

# Without the platform package (an unsupported platform), the CLI says what is missing.
mv node_modules/vdedup-linux-x64-gnu "$work/platform-aside"
npx --no-install vdedup --version | grep -q '^native: not available (native module not available for linux-x64-gnu: the platform package vdedup-linux-x64-gnu is not installed' \
  || fail "without the platform package, --version does not say so"
mv "$work/platform-aside" node_modules/vdedup-linux-x64-gnu

echo "test:pack: ok on node $(node --version): $(basename "$main_tgz") $(stat -c %s "$main_tgz") bytes ($(wc -l < "$work/main-files.txt") files), $(basename "$platform_tgz") $(stat -c %s "$platform_tgz") bytes; install without cargo $((t2 - t1)) s, whole test $(($(date +%s) - t0)) s"
