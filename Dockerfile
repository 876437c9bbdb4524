# LXC Manager as one container: web server, RQ workers and an embedded Redis, SQLite in /data.
# The same image runs a team's deployment (deploy/compose.yaml): `serve --role web` replicas
# and `serve --role worker` containers on PostgreSQL and a shared Redis.
# The steps mirror `make run`: install the package, then build the frontend for the port and
# public URL it will be served on (the bundle bakes that URL in).
# The Proxmox VE simulator (simulator/, its own distribution) is not part of the image.
FROM python:3.11-slim-bookworm

ARG LXCM_PORT=3000
ARG LXCM_PUBLIC_URL=http://127.0.0.1:3000
ENV LXCM_HOST=0.0.0.0 \
    LXCM_PORT=${LXCM_PORT} \
    LXCM_PUBLIC_URL=${LXCM_PUBLIC_URL} \
    LXCM_DATA_DIR=/data \
    REFLEX_TELEMETRY_ENABLED=false \
    REFLEX_CHECK_LATEST_VERSION=false \
    PYTHONUNBUFFERED=1

RUN apt-get update \
 && apt-get install -y --no-install-recommends npm make \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md rxconfig.py alembic.ini Makefile ./
COPY alembic ./alembic
COPY assets ./assets
COPY reflex.lock ./reflex.lock
COPY lxc_manager ./lxc_manager
RUN make install VENV=/opt/venv \
 && LXCM_DATA_DIR=/tmp/build-data /opt/venv/bin/lxc-manager build \
 && rm -rf /tmp/build-data /app/.web/node_modules /root/.npm

VOLUME ["/data"]
EXPOSE ${LXCM_PORT}
# Ready = the web server answers /readyz (database and Redis too); deploy/compose.yaml runs
# the same image as web replicas and worker containers (`--role worker` checks its workers).
HEALTHCHECK --interval=30s --timeout=5s CMD ["/opt/venv/bin/lxc-manager", "healthcheck"]
STOPSIGNAL SIGTERM
CMD ["/opt/venv/bin/lxc-manager", "serve", "--no-build"]
