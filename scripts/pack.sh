#!/usr/bin/env bash
# Packs what would be published, napi-rs style, into release/ (or $1):
#   vdedup-<version>.tgz                the CLI and service (JavaScript only, no native code)
#   vdedup-linux-x64-gnu-<version>.tgz  the prebuilt native module for this platform
# The main package lists the platform packages built here in its optionalDependencies, so
# `npm install vdedup` installs the one matching the user's platform and never runs cargo.
# Only the targets whose binary exists in npm/<target>/ are released; the other targets of
# `napi.targets` need their own machines (see docs/development.md, "Releasing").
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mkdir -p "${1:-release}" && cd "${1:-release}" && pwd)
stage="$out/stage"
rm -rf "$stage" "$out"/*.tgz
mkdir -p "$stage"

# 1. The JavaScript, then the native module for this platform: `napi build --platform` names it
#    vdedup.<platform>.node, `napi artifacts` copies it into npm/<platform>/.
if [ "${VDEDUP_PACK_SKIP_BUILD:-}" != 1 ]; then
  npm run build:ts
  npm run build:platform
fi

# 2. The main package as `npm pack` makes it (package.json `files`), unpacked into a staging
#    copy, where `napi pre-publish` writes the optionalDependencies (the checkout's package.json
#    keeps none: its lockfile cannot name packages that are not on the registry yet).
npm pack --silent --pack-destination "$stage" >/dev/null
tar -xzf "$stage"/vdedup-*.tgz -C "$stage"
rm "$stage"/vdedup-*.tgz
root="$stage/package"
# The release config: package.json's napi config narrowed to the targets built into npm/.
node scripts/napi-built-config.mjs npm "$stage/napi-release.json"
built=($(node -e 'const c = require(process.argv[1]); const { parseTriple } = require("@napi-rs/cli");
  console.log(c.targets.map((t) => parseTriple(t).platformArchABI).join(" "))' "$stage/napi-release.json"))
mkdir -p "$root/npm"
for target in "${built[@]}"; do cp -r "npm/$target" "$root/npm/$target"; done
npx napi pre-publish --cwd "$root" --npm-dir npm --config-path "$stage/napi-release.json" --skip-optional-publish --no-gh-release \
  > "$stage/pre-publish.log" 2>&1 || { cat "$stage/pre-publish.log" >&2; exit 1; }

# 3. The tarballs: the platform packages, then the main package (npm/ is not in its `files`).
for target in "${built[@]}"; do npm pack --silent --pack-destination "$out" "$root/npm/$target" >/dev/null; done
(cd "$root" && npm pack --silent --pack-destination "$out" >/dev/null)
rm -rf "$stage"
for f in "$out"/*.tgz; do
  echo "pack: $(basename "$f") $(stat -c %s "$f") bytes packed, $(tar -tzf "$f" | wc -l) files"
done
