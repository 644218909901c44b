# vdedup: the HTTP API (`vdedup serve`) and the workers (`vdedup worker`) from one image.
# Stage 1 builds the Rust core (napi-rs) and the TypeScript; stage 2 is a slim Node LTS runtime
# with Debian's ffmpeg, running as a non-root user.

FROM node:20-bookworm AS build
# Rust for the napi module (the image already has g++, make and python3 for node-gyp).
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:$PATH
RUN curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain 1.95.0
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts off: ffmpeg-static's would download a binary the runtime does not use (it takes
# Debian's ffmpeg from PATH). Then build only the native modules that need it. Optional
# dependencies stay: sharp's platform binaries are optional dependencies.
RUN npm install --no-audit --no-fund --ignore-scripts \
  && npm rebuild hnswlib-node msgpackr-extract
COPY Cargo.toml Cargo.lock tsconfig.json ./
COPY crates ./crates
COPY src ./src
COPY bin ./bin
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
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
COPY --from=build /app/crates/node/vdedup.node ./crates/node/vdedup.node
COPY --from=build /app/src/benchmarks/lmms-eval-video-tasks.json ./src/benchmarks/lmms-eval-video-tasks.json
# Uploads, fingerprints and extracted frames: a volume the API and every worker share.
ENV NODE_ENV=production VDEDUP_DATA_DIR=/data PORT=3000 HOST=0.0.0.0
VOLUME ["/data"]
USER vdedup
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["tini", "--", "node", "/app/bin/vdedup.js"]
CMD ["serve"]
