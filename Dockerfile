# Minping's production image: the app with the exact dependency versions its tests passed with.
# Build: docker build -t minping .   Run with compose.yaml (PostgreSQL, Redis, nginx); docs/deployment.md.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MINPING_DATA_DIR=/data

# pg_dump/pg_restore for `minping backup`/`restore` (Debian 12's client is PostgreSQL 15, as compose.yaml's server).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first, so a code change does not reinstall them.
COPY requirements/app.txt requirements/app.txt
RUN pip install --require-hashes -r requirements/app.txt

COPY pyproject.toml README.md CHANGES.md LICENSE ./
COPY analysis analysis
COPY survey_app survey_app
COPY templates templates
COPY questionnaires questionnaires
COPY schemes schemes
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin minping \
    && mkdir -p /data && chown minping:minping /data

USER minping
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/favicon.ico', timeout=4)"
# `serve` migrates once, then forks the workers (one per core); 2 suits a small VM.
CMD ["minping", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
