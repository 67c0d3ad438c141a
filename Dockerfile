# Build and run the Payment Center on a current LTS Node.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY sandbox ./sandbox
COPY migrations ./migrations
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
# Production fails closed: the app refuses to start on the gateway sandbox (unless
# ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION opts in), without PARTNERS and METRICS_TOKEN, with a placeholder or
# short secret, or with RabbitMQ's guest user (docs/security/failclosed.md).
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Sandbox test keys live here (a volume shared by the app and the sandbox in docker-compose.yml).
RUN mkdir -p /app/var && chown node:node /app/var
USER node
EXPOSE 3000
CMD ["node", "dist/src/main.js"]
# The gateway sandbox runs from the same image: node dist/sandbox/main.js. It listens on 127.0.0.1
# unless SANDBOX_HOST says otherwise (0.0.0.0 in a container, published on the host's loopback only).
