# The image dstack runs: dist/auditor built from the lockfile (Bun comes pinned from it, so no
# other toolchain is fetched), then a minimal Debian runtime holding only that binary.
# Reproducible: base images pinned by digest, no network but the npm registry, file times set
# from SOURCE_DATE_EPOCH. scripts/image-build-command.ts prints the exact buildx command.
ARG SOURCE_DATE_EPOCH=0

FROM node:20-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0 AS build
ARG SOURCE_DATE_EPOCH
ENV SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH} CI=true NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force
COPY . .
# The binary is byte-identical to `npm run build` on any linux/amd64 machine (scripts/verify-build.ts).
RUN npm run build \
 && mkdir -p /out/data \
 && cp dist/auditor /out/auditor \
 && touch --no-dereference --date="@${SOURCE_DATE_EPOCH}" /out/auditor /out/data \
 && sha256sum /out/auditor

FROM debian:bookworm-slim@sha256:88200866dfff7ea7f5cbcb6ec7c8a701889efe6fe859fe64d6990e4b07ea4171
COPY --from=build --chown=0:0 --chmod=0555 /out/auditor /usr/local/bin/auditor
COPY --from=build --chown=10001:10001 /out/data /data
# A non-root user (no login, no home): the binary needs nothing else.
USER 10001:10001
# dstack only: a missing guest agent socket must stop the container, never fall back to dev keys.
ENV AUDITOR_TEE=dstack HOST=0.0.0.0 PORT=8787 AUDITOR_DATA_DIR=/data
VOLUME /data
EXPOSE 8787
ENTRYPOINT ["/usr/local/bin/auditor"]
