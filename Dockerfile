# One Dockerfile for every deployable package of the workspace: the three services
# (@swarm-oauth/oauth-clients, @swarm-oauth/oauth-client-tokens, @swarm-oauth/auto-registration) and
# the two demo examples (@swarm-oauth/demo-api, @swarm-oauth/demo-caller). Every image is the same
# shape: the package's compiled dist/src plus its production dependencies only, in /app, run as an
# unprivileged user with `node .`, which runs the start file its package.json names as "main".
#
# Two ways to build it (docs/deploy.md has the details; scripts/build-images.sh does either):
#
#   1. With a registry (the usual way): everything happens inside the build.
#        docker build --build-arg PACKAGE=@swarm-oauth/oauth-clients -t swarm-oauth/oauth-clients:1.0 .
#      Stages: prune the workspace to the package (turbo prune --docker), install, build, then
#      `pnpm deploy --prod` into a tree that holds production dependencies only.
#
#   2. Offline (no registry reachable, as on this project's test machines): the same pruned tree is
#      made on the host and becomes the build context of the `prebuilt` target.
#        pnpm --filter @swarm-oauth/oauth-clients deploy --prod --legacy .local/images/oauth-clients
#        docker build -f Dockerfile --target prebuilt \
#          --build-arg BASE_IMAGE=swarm-oauth/node-base:local .local/images/oauth-clients
#
# Targets: `service` (default, HTTP services, with a HEALTHCHECK on /healthz) and `worker` (no HTTP
# server, no HEALTHCHECK: the demo caller); `prebuilt` and `prebuilt-worker` are their offline twins.
#
# Only instructions the classic builder understands (no BuildKit syntax), so this builds on any engine,
# Docker 20.10 included. The classic builder builds every stage up to --target, in file order: that is
# why the offline stages come first and never need a registry.

# The official image of the Node.js LTS line the project runs on (.node-version: 26); the offline build
# passes the image scripts/build-base-image.sh makes from that same Node (busybox inside, user
# `node` = 1000).
ARG BASE_IMAGE=node:26-trixie-slim

# ---------------------------------------------------------------------------------------------------
# runtime-base: what every image is, before the application is in it.
FROM ${BASE_IMAGE} AS runtime-base
ENV NODE_ENV=production
# The package's own commands (/app/bin: oauthctl in the oauth-clients image, with that container's
# settings) and every command of its production dependencies (/app/node_modules/.bin, where pnpm
# deploy links them: the store's swarm-oauth-rotate-store-key, ...), so `docker exec <task> <command>`
# finds them by name. /app/bin comes first: its oauthctl, not the plain one of packages/cli, answers.
ENV PATH=/app/bin:/app/node_modules/.bin:$PATH
WORKDIR /app
# /clients is where the shared `clients` volume is mounted. Docker initialises an empty named volume
# from the image's directory, owner included, so the unprivileged user can write to a fresh volume.
# /run/secrets exists so a container without secrets still has the path the settings default to.
RUN mkdir -p /clients /run/secrets && chown 1000:1000 /clients && chmod 0750 /clients
# Numeric uid:gid (the `node` user of the official image and of the offline base): no passwd lookup
# needed, and Kubernetes-style "runAsNonRoot" checks can see it is not root.
USER 1000:1000
# Swarm stops tasks with SIGTERM; every service drains its connections and exits 0 on it.
STOPSIGNAL SIGTERM
EXPOSE 80
# `node .` starts the file package.json names as "main" (dist/src/main.js, or main.cjs for the token
# service, which must size the thread pool before any ES module loads).
CMD ["node", "."]

# service-base: the HTTP services add a health check. A stage of its own, before the application is
# copied in, so it is built once and cached, and the per-image layers are the application alone.
FROM runtime-base AS service-base
# No curl in the image: node itself asks /healthz on the port the service listens on (PORT, default
# 80). Every 10 s; a task counts as started only once healthy, so the first check comes soon. The
# check starts a node process, which a busy node can take seconds to do: a generous timeout and three
# misses in a row before swarm replaces the task, so only a service that stopped answering is killed.
HEALTHCHECK --interval=10s --timeout=10s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||80)+'/healthz',{signal:AbortSignal.timeout(8000)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]

# ---------------------------------------------------------------------------------------------------
# Offline targets: the build context IS the host-prepared tree (package.json, dist/src, node_modules).
# `prebuilt` first: the classic builder builds every earlier stage, and it is the one built most.
FROM service-base AS prebuilt
# Owned by root: the service user can read its code but not change it.
COPY . /app

FROM runtime-base AS prebuilt-worker
COPY . /app

# ---------------------------------------------------------------------------------------------------
# Registry targets: prune, install, build and deploy inside the build.
FROM ${BASE_IMAGE} AS workspace
ARG PNPM_VERSION=10.34.9
ARG TURBO_VERSION=2.11.11
# pnpm (the version package.json pins) and turbo (for `prune`) from npm. Not corepack: the corepack
# bundled with a given Node image may not know the registry's current signing keys.
RUN npm install --global --no-fund --no-audit "pnpm@${PNPM_VERSION}" "turbo@${TURBO_VERSION}"
WORKDIR /src

FROM workspace AS pruned
ARG PACKAGE
COPY . .
# out/json: the package.json files and the pruned lockfile (cached install layer); out/full: sources.
RUN test -n "${PACKAGE}" || { echo "set --build-arg PACKAGE=<workspace package name>" >&2; exit 1; } \
  && turbo prune "${PACKAGE}" --docker

FROM workspace AS build
ARG PACKAGE
COPY --from=pruned /src/out/json/ .
RUN pnpm install --frozen-lockfile
COPY --from=pruned /src/out/full/ .
# turbo prune copies packages, not root configuration the packages extend.
COPY tsconfig.base.json ./
# Deployed to /app, the path it runs from: the command links pnpm writes (node_modules/.bin) name it.
RUN turbo run build --filter="${PACKAGE}..." \
  && pnpm --filter "${PACKAGE}" deploy --prod --legacy /app

FROM runtime-base AS worker
COPY --from=build /app /app

# The default target (last): an HTTP service.
FROM service-base AS service
COPY --from=build /app /app
