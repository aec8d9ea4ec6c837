# syntax=docker/dockerfile:1
# Frontdesk's container image. One image runs the server, the migrator and the admin CLI:
#   docker run IMAGE                               the server (node dist/server.js)
#   docker run IMAGE dist/cli.js db migrate        apply migrations (compose's migrate job, Helm's Job)
#   docker run IMAGE dist/cli.js --help            any admin command
# The entrypoint is node itself (exec form, no shell): SIGTERM from the runtime reaches the server.
# Run it with a read-only root filesystem: it writes only to the VOLUME paths below (compose
# mounts them as tmpfs, the Helm chart as emptyDir). tests/integration/image-build.test.ts
# reproduces these steps from this file and checks that nothing else is written.

ARG NODE_IMAGE=node:20.20-bookworm-slim

# Build: all dependencies, the Prisma client, the Next.js build and the compiled server (dist/).
# pkcs11js (the PKCS#11 key source) is a native addon: npm ci compiles it with node-gyp, against the
# headers the node image ships (/usr/local/include/node, so nothing is downloaded). The compilers
# exist in this stage and in prod-deps only; the runtime stage gets the compiled module by copy.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV NEXT_TELEMETRY_DISABLED=1 npm_config_nodedir=/usr/local
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && rm -rf .next/cache

# Production dependencies only: no dev dependencies; the compilers stay in this stage. pkcs11js is
# an optional dependency (npm would skip it quietly if it failed to build), so its loading is checked.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
ENV npm_config_nodedir=/usr/local
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force && node -e "require('pkcs11js')"

# Runtime: what the server, migrator and CLI need, owned by root and read-only to the app user.
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
# The V8 old-space limit `npm start` sets too (docs/operations.md "Memory": without it V8 sizes the
# heap for the host's memory and an instance keeps hundreds of MB of garbage); `-e NODE_OPTIONS=...`
# replaces it.
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 PORT=3000 NODE_OPTIONS=--max-old-space-size=1536
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/next.config.ts ./next.config.ts
COPY --from=build /app/dist ./dist
COPY --from=build /app/.next ./.next
COPY --from=build /app/prisma/migrations ./prisma/migrations
# The vendored ext_authz protos the gRPC listener loads at run time (lib/egress/proto/README.md).
COPY --from=build /app/lib/egress/proto ./lib/egress/proto
# The only writable paths: node's temporary files and Next's cache (a plain `docker run --read-only`
# gets an anonymous volume for each).
VOLUME ["/tmp", "/app/.next/cache"]
# The unprivileged user of the official node image (uid 1000).
USER node
EXPOSE 3000 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node"]
CMD ["dist/server.js", "--hostname", "0.0.0.0"]
