# The dstack image for people who build with docker buildx. `npm run image` builds the same
# image content without a daemon (byte-reproducibly, and that digest is the one to deploy):
# the build stage runs the same builder to lay out the layer's files (scripts/image.ts
# --rootfs: the binary, glibc from the pinned, sha256-checked libc6 .deb, passwd/group, /tmp),
# and the final stage declares the same owners and config. test/static/image.test.ts compares
# this file with the builder. scripts/image-build-command.ts prints the buildx command.
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
 && node_modules/.bin/bun scripts/image.ts --rootfs /rootfs \
 && rmdir /rootfs/data \
 && mkdir /data \
 && sha256sum /rootfs/usr/local/bin/auditor

FROM scratch
COPY --from=build /rootfs/ /
COPY --from=build --chown=10001:10001 --chmod=0755 /data /data
USER 10001:10001
ENV PATH=/usr/local/bin:/usr/bin:/bin
# dstack only: a missing guest agent socket must stop the container, never fall back to dev keys.
ENV AUDITOR_TEE=dstack
ENV HOST=0.0.0.0
ENV PORT=8787
ENV AUDITOR_DATA_DIR=/data
EXPOSE 8787/tcp
VOLUME /data
WORKDIR /
ENTRYPOINT ["/usr/local/bin/auditor"]
