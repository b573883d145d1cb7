# ledgerdesk production image.
#
#   docker build -t ledgerdesk .
#   docker run --rm -p 8000:8000 -v ledgerdesk-data:/var/lib/ledgerdesk ledgerdesk
#       (the embedded default: SQLite and SqliteHuey in the volume; good for a try-out)
#
# docker-compose.yml runs the same image as `migrate`, `api` and `worker` against
# PostgreSQL and Redis; docs/deploy.md explains the whole stack.
#
# Two stages: the first builds the ledgerdesk wheel from the source tree, the second
# installs only that wheel (the equivalent of `pip install .`, without dev extras), so the
# runtime image carries no source checkout, no tests and no build backend.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------- build
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# The repository root is the package itself (pyproject maps "ledgerdesk" = "."), so the
# whole build context is the source; .dockerignore keeps .venv, var/, tests and .env out.
COPY . .
RUN pip wheel --no-deps --wheel-dir /wheels .

# -------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    LEDGERDESK_DATA_DIR=/var/lib/ledgerdesk

# A fixed, unprivileged uid/gid, so file ownership in volumes and in backups restored on
# another host stays predictable.
RUN groupadd --system --gid 10001 ledgerdesk \
 && useradd --system --uid 10001 --gid ledgerdesk \
        --home-dir /var/lib/ledgerdesk --no-create-home --shell /usr/sbin/nologin ledgerdesk \
 && install -d -o ledgerdesk -g ledgerdesk -m 0750 /var/lib/ledgerdesk

# Every dependency ships manylinux wheels for CPython 3.11 (psycopg[binary], argon2-cffi,
# duckdb, uvloop, ...), so no compiler is needed here.
COPY --from=build /wheels /tmp/wheels
RUN pip install /tmp/wheels/*.whl \
 && rm -rf /tmp/wheels

# The data directory holds blobs (attachments, raw mail) and, on the embedded default,
# the SQLite event store and the generated secret key. It exists in the image owned by
# ledgerdesk so that a fresh named volume mounted here inherits that ownership. (No VOLUME
# instruction: it would leave an anonymous volume behind every `docker compose run`.)
WORKDIR /var/lib/ledgerdesk
USER ledgerdesk:ledgerdesk

EXPOSE 8000

# The slim image has no curl: ask /health with the standard library. urlopen raises on
# an error status (503 when the event store does not answer) or no answer at all, and the
# uncaught exception exits non-zero.
# Only `serve` listens on 8000; docker-compose.yml turns this off for `worker` and `migrate`.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

# No ENTRYPOINT: `docker compose run --rm api ledgerdesk users add ...` (or `... api tar`,
# for backups) replaces the command as a whole.
CMD ["ledgerdesk", "serve", "--host", "0.0.0.0", "--port", "8000"]
