# herald's image: the pinned dependencies of requirements.lock (hash-checked), then herald with
# its templates, run as an unprivileged user. docker-compose.yml runs every service from it.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# Debian's Chromium for sources behind JavaScript challenges (herald never downloads a browser).
# Without user namespaces (Docker's default seccomp profile) its sandbox cannot start: set
# [browser] sandbox = false in herald.toml, or give the container a profile that allows them.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY templates ./templates
COPY worker ./worker
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 herald \
    && mkdir -p /srv/herald/feeds && chown -R herald /srv/herald
USER herald
WORKDIR /srv/herald
CMD ["celery", "-A", "worker", "worker", "--loglevel", "INFO"]
