#!/usr/bin/env bash
# `npm run test:docker`: builds the image (NATIVE=prebuilt, on a Debian bookworm base made with
# debootstrap, since registry images cannot be pulled here), runs Redis, the API and two workers
# as containers with plain `docker run`, posts a collection and a planted copy through the
# published port and checks the match, exercises the health check, then removes everything but
# the images (kept as the build cache; VDEDUP_DOCKER_CLEAN=1 removes the vdedup image too).
# Needs a running Docker daemon (.ci/run installs docker.io and starts dockerd) and, for the
# first run, debootstrap (root).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
line=${VDEDUP_DOCKER_NODE_LINE:-24}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
base=vdedup-local/bookworm:minbase
image=vdedup:test
run=vdedup-test-$$
fail() { echo "test:docker: FAIL: $*" >&2; exit 1; }
say() { echo "test:docker: $*"; }
t0=$(date +%s)

docker info >/dev/null 2>&1 || fail "no Docker daemon answers (start dockerd: docs/service.md, Docker)"
# A client that builds with BuildKit: `docker buildx`, or a client from before Docker 23, which
# drives the daemon's own BuildKit (Debian bookworm's docker.io).
build=()
if docker buildx version >/dev/null 2>&1; then
  build=(docker build)
else
  for c in docker /usr/bin/docker; do
    v=$("$c" version --format '{{.Client.Version}}' 2>/dev/null || true)
    if [ -n "$v" ] && [ "${v%%.*}" -lt 23 ]; then build=(env DOCKER_BUILDKIT=1 "$c" build); break; fi
  done
fi
[ ${#build[@]} -gt 0 ] || fail "no Docker client here builds with BuildKit (install docker-buildx)"

work=$(mktemp -d /tmp/vdedup-docker-test.XXXXXX)
cleanup() {
  docker rm -f "$run-api" "$run-worker-1" "$run-worker-2" "$run-redis" >/dev/null 2>&1 || true
  docker network rm "$run-net" >/dev/null 2>&1 || true
  docker volume rm "$run-data" >/dev/null 2>&1 || true
  [ "${VDEDUP_DOCKER_CLEAN:-}" != 1 ] || docker rmi -f "$image" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# 1. The Debian base: debootstrap's minbase variant, imported (apt's caches left out).
if ! docker image inspect "$base" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || fail "debootstrap missing (apt-get install debootstrap)"
  say "debootstrap --variant=minbase bookworm ($mirror)"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap failed"; }
  tar -C "$work/rootfs" --exclude='./var/cache/apt/archives/*.deb' --exclude='./var/lib/apt/lists/*' -c . \
    | docker import -c 'CMD ["bash"]' - "$base" >/dev/null
  rm -rf "$work/rootfs"
fi
say "base $base: $(docker image inspect -f '{{.Size}}' "$base" | awk '{printf "%.0f MB", $1/1e6}') ($(($(date +%s) - t0)) s)"

# 2. Node images laid out like the official ones, from Node's npm-published build, and Redis.
nodedir=$(bash scripts/node-line.sh "$line")
node_version=$("$nodedir/bin/node" --version)
mkdir -p "$work/node-ctx/node" "$work/node-ctx/npm"
cp -r "$nodedir/bin" "$nodedir/include" "$nodedir/share" "$work/node-ctx/node/"
npm pack --silent --pack-destination "$work" "npm@$(npm --version)" >/dev/null
tar -xzf "$work"/npm-*.tgz -C "$work/node-ctx/npm" --strip-components=1
"${build[@]}" -q -f docker/node-base.Dockerfile --build-arg BASE="$base" --build-arg BUILD_TOOLS=1 \
  -t "vdedup-local/node:$line-bookworm" "$work/node-ctx" >/dev/null
"${build[@]}" -q -f docker/node-base.Dockerfile --build-arg BASE="$base" \
  -t "vdedup-local/node:$line-bookworm-slim" "$work/node-ctx" >/dev/null
"${build[@]}" -q -t vdedup-local/redis:7-bookworm - >/dev/null <<EOF
FROM $base
RUN apt-get update && apt-get install -y --no-install-recommends redis-server && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /data && chown redis:redis /data
USER redis
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/data"]
EOF
say "node $node_version and redis images ready ($(($(date +%s) - t0)) s)"

# 3. The image, with the prebuilt platform package (no Rust stage).
VDEDUP_PACK_SKIP_BUILD=${VDEDUP_PACK_SKIP_BUILD:-0} bash scripts/pack.sh release >/dev/null
# This machine reaches the npm registry through a proxy with its own CA: the build gets it as a
# build secret (not kept in any layer).
secrets=()
ca=${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}
if [ -n "$ca" ] && [ "$ca" != null ] && [ -s "$ca" ]; then secrets=(--secret "id=ca,src=$ca"); fi
tb=$(date +%s)
"${build[@]}" "${secrets[@]}" --build-arg NODE_IMAGE="vdedup-local/node:$line-bookworm" \
  --build-arg NODE_SLIM_IMAGE="vdedup-local/node:$line-bookworm-slim" --build-arg NATIVE=prebuilt \
  -t "$image" . >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; fail "docker build failed"; }
build_s=$(($(date +%s) - tb))
size_mb=$(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f", $1/1e6}')
say "image $image: $size_mb MB, built in $build_s s"

# The image: a non-root user, a health check, no secret in its layers or its configuration.
[ "$(docker image inspect -f '{{.Config.User}}' "$image")" = vdedup ] || fail "the image does not run as vdedup"
docker image inspect -f '{{json .Config.Healthcheck.Test}}' "$image" | grep -q /health || fail "the image has no health check"
if docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$image" | grep -Ei '^[A-Z_]*(KEY|TOKEN|SECRET|PASSWORD|REDIS_URL)[A-Z_]*='; then
  fail "the image's environment holds a secret"
fi
docker run --rm "$image" --version >"$work/version.txt" || fail "vdedup --version in the image"
grep -q '^native: vdedup-core .*(platform package vdedup-linux-x64-gnu@' "$work/version.txt" \
  || fail "the image does not load the platform package: $(cat "$work/version.txt")"
grep -q '^ffmpeg: /usr/bin/ffmpeg (from PATH' "$work/version.txt" || fail "the image does not use Debian's ffmpeg"
leaks=$(docker run --rm --entrypoint sh "$image" -c 'find / -xdev \( -name .npmrc -o -name "*.pem" -path "*/app/*" -o -name .env \) 2>/dev/null' || true)
[ -z "$leaks" ] || fail "files that may hold secrets in the image: $leaks"

# 4. Redis, the API and two workers, sharing a data volume; the API key is given at run time only.
key=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
docker network create "$run-net" >/dev/null
docker volume create "$run-data" >/dev/null
docker run -d --name "$run-redis" --network "$run-net" vdedup-local/redis:7-bookworm >/dev/null
common=(--network "$run-net" -v "$run-data:/data" -e "REDIS_URL=redis://$run-redis:6379" -e LOG_LEVEL=warn)
docker run -d --name "$run-api" "${common[@]}" -e "VDEDUP_API_KEY=$key" -p 127.0.0.1::3000 \
  --health-interval 2s --health-timeout 5s --health-retries 3 "$image" serve >/dev/null
for i in 1 2; do
  docker run -d --name "$run-worker-$i" "${common[@]}" --no-healthcheck "$image" worker --grace 10 >/dev/null
done
if docker history --no-trunc "$image" | grep -qF "$key" || docker image inspect "$image" | grep -qF "$key"; then
  fail "the API key given at run time shows in the image"
fi
addr=$(docker port "$run-api" 3000/tcp | head -n 1)
say "API at $addr (container $run-api), workers $run-worker-1 and $run-worker-2"
[ "$(docker exec "$run-api" id -un)" = vdedup ] || fail "the API does not run as vdedup"
[ "$(docker exec "$run-worker-1" id -u)" != 0 ] || fail "a worker runs as root"

health() { docker inspect -f '{{.State.Health.Status}}' "$run-api"; }
wait_health() {
  local want=$1 s
  for _ in $(seq 1 60); do
    s=$(health)
    [ "$s" = "$want" ] && return 0
    sleep 1
  done
  docker logs --tail 30 "$run-api" >&2 || true
  docker inspect -f '{{json .State.Health}}' "$run-api" >&2
  fail "the API container did not become $want (is $s)"
}
wait_health healthy
say "health check: healthy"
curl -fsS "http://$addr/health" >/dev/null || fail "GET /health through the published port"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/v1/collections")" = 401 ] || fail "the API answers without its key"

# 5. A collection from uploads, then a check of the planted copy (24 s of mandelbrot-zoom.mp4).
auth=(-H "Authorization: Bearer $key")
curl -fsS "${auth[@]}" -X POST "http://$addr/v1/collections/bench/videos?wait=180" \
  -F file=@fixtures/scan/bench/mandelbrot-zoom.mp4 -F file=@fixtures/scan/bench/testsrc2.mp4 >"$work/added.json" \
  || fail "POST /v1/collections/bench/videos"
curl -fsS "${auth[@]}" -X POST "http://$addr/v1/check?wait=180" -F collection=bench \
  -F file=@fixtures/scan/train/compilation.mp4 >"$work/check.json" || fail "POST /v1/check (compilation.mp4)"
curl -fsS "${auth[@]}" -X POST "http://$addr/v1/check?wait=180" -F collection=bench \
  -F file=@fixtures/scan/train/unrelated-life.mp4 >"$work/unrelated.json" || fail "POST /v1/check (unrelated-life.mp4)"
node -e '
  const fs = require("fs");
  const [check, unrelated] = process.argv.slice(1).map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
  const m = check.result?.matches?.find((x) => x.bench === "mandelbrot-zoom.mp4");
  if (check.state !== "completed" || check.result.matched !== true || !m
      || Math.abs(m.trainStart - 10) > 1 || Math.abs(m.trainEnd - 34) > 1 || Math.abs(m.benchStart - 6) > 1) {
    console.error("check of compilation.mp4:", JSON.stringify(check)); process.exit(1);
  }
  if (unrelated.state !== "completed" || unrelated.result.matched !== false) {
    console.error("check of unrelated-life.mp4:", JSON.stringify(unrelated)); process.exit(1);
  }
  console.log(`test:docker: compilation.mp4 ${m.trainStart}-${m.trainEnd}s ~ mandelbrot-zoom.mp4 ${m.benchStart}-${m.benchEnd}s (${m.matchedFrames}/${m.windowFrames} frames); unrelated-life.mp4: no match`);
' "$work/check.json" "$work/unrelated.json" || fail "the service did not find the planted copy"

# 6. The health check follows Redis: unhealthy while it is stopped, healthy again after.
docker stop "$run-redis" >/dev/null
wait_health unhealthy
say "health check: unhealthy with Redis stopped"
docker start "$run-redis" >/dev/null
wait_health healthy
say "health check: healthy again with Redis back"

docker stop -t 20 "$run-api" "$run-worker-1" "$run-worker-2" "$run-redis" >/dev/null
say "ok: image $size_mb MB, built in $build_s s; whole test $(($(date +%s) - t0)) s"
