# syntax=docker/dockerfile:1
# hit-bridge container image: Node.js 24 LTS, production dependencies only, non-root.
# Not built on the project's machines (no Docker engine there); issue 6 adds linting and the
# rest of the hardening (read-only root filesystem is set by the Helm chart).

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --no-save, not `npm ci`: see .ci/run (the lock lacks optional binaries of other platforms).
RUN npm install --no-save --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY mappings ./mappings
RUN npm run build

FROM node:24-bookworm-slim AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-save --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini=0.19.* \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production PORT=8080
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY contracts ./contracts
COPY profiles ./profiles
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/main.js"]
LABEL org.opencontainers.image.title="hit-bridge" \
  org.opencontainers.image.description="HIT sessions, fitness tests and exercise prescriptions to FHIR R4 (OBAB00), Kafka events and discharge handover" \
  org.opencontainers.image.licenses="UNLICENSED"
