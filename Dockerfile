# syntax=docker/dockerfile:1
# One image for every role (api, worker, bot, migrate); the command picks the role.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run typecheck && npm run build:web

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    FACEPASS_DATA_DIR=/data \
    MODEL_DIR=/data/models
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/package.json /app/tsconfig.json ./
COPY --from=build /app/bin ./bin
COPY --from=build /app/src ./src
COPY --from=build /app/models ./models
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/web/dist ./web/dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8000
ENTRYPOINT ["node", "bin/facepass.js"]
CMD ["start", "--role", "api"]
