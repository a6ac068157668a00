# carecircle: a slim, non-root image. Settings come from the environment (see .env.example).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/carecircle.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY migrations ./migrations
COPY alembic.ini ./
RUN pip install . \
    && useradd --create-home --uid 10001 carecircle \
    && mkdir -p /data && chown carecircle /data

USER carecircle
VOLUME ["/data"]
# 8080: the webhook (when WEBHOOK_URL is set); 9090: /healthz, /readyz, /metrics.
EXPOSE 8080 9090
# Alive means the event loop answers /healthz on the health port (HEALTH_LISTEN).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('HEALTH_LISTEN', '0.0.0.0:9090').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
CMD ["python", "-m", "bot"]
