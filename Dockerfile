# Meedoen in a container. docs/going-live.md ("Run it with Docker") says how to use it:
#   docker compose up -d            (compose.yaml: the database volume, .env, the port)
# Any other meedoen command runs in the same image, e.g.
#   docker compose run --rm meedoen series list
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A user of its own: the service needs no root. Its uid is fixed, so that a folder on the
# host (for backups) can be given to it: sudo chown 10001:10001 backups
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin meedoen

# Only what the package needs (see .dockerignore); README.md is its long description.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY dialogs ./dialogs
COPY scheduler ./scheduler
COPY locales ./locales
RUN pip install . && rm -rf /src/build /src/*.egg-info

# The database lives in the volume /data; settings come from the environment (compose: .env).
# Inside a container the web server must listen on every interface to be reachable at all;
# compose.yaml publishes it on the host's 127.0.0.1 only.
RUN install -d -o meedoen -g meedoen -m 0700 /data
ENV MEEDOEN_DATABASE_URL=sqlite+aiosqlite:////data/meedoen.db \
    MEEDOEN_HTTP_HOST=0.0.0.0 \
    MEEDOEN_HTTP_PORT=8080 \
    MPLCONFIGDIR=/tmp/matplotlib
VOLUME ["/data"]
WORKDIR /data
USER meedoen
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('MEEDOEN_HTTP_PORT', '8080'), timeout=3)"]

ENTRYPOINT ["meedoen"]
CMD ["run"]
