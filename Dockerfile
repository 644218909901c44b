# vdedup: the HTTP API (`vdedup serve`) and the workers (`vdedup worker`) from one image.
# A build stage installs the dependencies and compiles the TypeScript; the native module comes
# either from a Rust stage (NATIVE=source, the default) or from the prebuilt platform package
# vdedup-linux-x64-gnu that `npm run pack:release` makes (NATIVE=prebuilt, no Rust at all); the
# runtime is a slim Node LTS with Debian's ffmpeg, running as a non-root user.
#
#   docker build -t vdedup .                                  # official node and rust images
#   npm run pack:release && docker build --build-arg NATIVE=prebuilt -t vdedup .
#
# The base images are build arguments (test/docker/run.sh builds on a Debian base made with
# debootstrap, because registry images cannot be pulled where it runs). Needs BuildKit (the
# default builder of current Docker): it skips the stage NATIVE does not select.
ARG NODE_IMAGE=node:24-bookworm
ARG NODE_SLIM_IMAGE=node:24-bookworm-slim
ARG RUST_IMAGE=rust:1.95-bookworm
ARG NATIVE=source

# The native module built from crates/ (what `npm run build:native` does, without the CLI).
FROM ${RUST_IMAGE} AS native-source
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
RUN cargo build --release --locked -p vdedup-node \
  && mkdir -p /out/crates/node \
  && cp target/release/libvdedup_node.so /out/crates/node/vdedup.node

# The prebuilt platform package, as npm would install it (release/ holds `npm run pack:release`'s tarballs).
FROM ${NODE_IMAGE} AS native-prebuilt
COPY release/ /tmp/release/
RUN mkdir -p /out/node_modules/vdedup-linux-x64-gnu \
  && tar -xzf /tmp/release/vdedup-linux-x64-gnu-*.tgz --strip-components=1 -C /out/node_modules/vdedup-linux-x64-gnu

FROM native-${NATIVE} AS native

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# node-gyp compiles hnswlib-node against the image's own Node headers (no download).
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
# From the lockfile, install scripts off: ffmpeg-static's would download a binary the runtime does
# not use (it takes Debian's ffmpeg from PATH). Then build only the native modules that need it.
# Optional dependencies stay: sharp's platform binaries are optional dependencies.
# A registry token or a proxy's CA certificate come in as build secrets, never in a layer:
#   docker build --secret id=npmrc,src=$HOME/.npmrc --secret id=ca,src=/path/to/ca.pem ...
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc \
    --mount=type=secret,id=ca,target=/run/secrets/ca \
  if [ -s /run/secrets/ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca; fi \
  && npm ci --no-audit --no-fund --ignore-scripts \
  && npm rebuild hnswlib-node msgpackr-extract
COPY tsconfig.json ./
COPY crates/node/index.d.ts ./crates/node/index.d.ts
COPY src ./src
COPY bin ./bin
RUN npm run build:ts && npm prune --omit=dev && rm -rf node_modules/ffmpeg-static

FROM ${NODE_SLIM_IMAGE} AS runtime
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg tini \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --system vdedup \
  && useradd --system --gid vdedup --home-dir /data --shell /usr/sbin/nologin vdedup \
  && mkdir -p /data \
  && chown vdedup:vdedup /data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/src/benchmarks/lmms-eval-video-tasks.json ./src/benchmarks/lmms-eval-video-tasks.json
# crates/node/vdedup.node (source) or node_modules/vdedup-linux-x64-gnu (prebuilt).
COPY --from=native /out/ ./
# Uploads, fingerprints and extracted frames: a volume the API and every worker share.
# No secret here: VDEDUP_API_KEY and REDIS_URL are given when the container starts.
ENV NODE_ENV=production VDEDUP_DATA_DIR=/data PORT=3000 HOST=0.0.0.0
VOLUME ["/data"]
USER vdedup
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["tini", "--", "node", "/app/bin/vdedup.js"]
CMD ["serve"]
