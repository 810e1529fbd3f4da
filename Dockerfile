# Minimal image for dstack: builds dist/auditor from the lockfile (Bun comes pinned from it) and
# runs only that binary. A later issue makes the image itself reproducible.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM debian:bookworm-slim
COPY --from=build /src/dist/auditor /usr/local/bin/auditor
# dstack only: a missing guest agent socket must stop the container, never fall back to dev keys.
ENV AUDITOR_TEE=dstack HOST=0.0.0.0 PORT=8787 AUDITOR_DATA_DIR=/data
VOLUME /data
EXPOSE 8787
ENTRYPOINT ["/usr/local/bin/auditor"]
