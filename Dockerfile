# syntax=docker/dockerfile:1
# One image for every role (api, worker, bot, migrate); the command picks the role.
# Node 24 (LTS). The build stage compiles dist/ and prunes to production dependencies; the runtime
# stage gets dist/, the built console (web/dist), those node_modules and package.json (its "type":
# "module" makes dist/ ESM), no sources.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# package.json's allowScripts decides which install scripts run (not onnxruntime-node's CUDA download).
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-build-assets.js ./scripts/
COPY src ./src
COPY models ./models
COPY migrations ./migrations
COPY web ./web
# The server compiles into dist/, the console into web/dist. onnxruntime-node ships every
# platform's binaries (~290 MB): keep this platform's only.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && arch="$(node -p process.arch)" \
 && find node_modules/onnxruntime-node/bin -mindepth 2 -maxdepth 2 -type d ! -name linux -exec rm -rf {} + \
 && find node_modules/onnxruntime-node/bin -mindepth 3 -maxdepth 3 -type d ! -name "$arch" -exec rm -rf {} + \
 && ls node_modules/onnxruntime-node/bin/napi-v*/linux/"$arch"/onnxruntime_binding.node

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    FACEPASS_DATA_DIR=/data \
    MODEL_DIR=/data/models
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
# A named volume mounted on /data or /data/models starts with this ownership, so the node user can
# write the generated model pack there.
RUN mkdir -p /data/models && chown -R node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8000
ENTRYPOINT ["node", "dist/src/bin.js"]
CMD ["start", "--role", "api"]
