# carecircle: a slim, non-root image. Settings come from the environment (see .env.example).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/carecircle.db

# The locked dependencies first, in a layer of their own: a change to the code rebuilds only
# the layers below, in seconds. Hash-checked, so the image runs exactly what CI tested.
WORKDIR /src
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

# Then carecircle itself, migrations included, without resolving anything again. The sources
# go once it is installed: the bot runs from the installed package, as a pip install would.
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install --no-deps . \
    && cd / && rm -rf /src \
    && useradd --create-home --uid 10001 carecircle \
    && mkdir -p /data && chown carecircle /data

USER carecircle
WORKDIR /data
VOLUME ["/data"]
# 8080: the webhook (when WEBHOOK_URL is set); 9090: /healthz, /readyz, /metrics.
EXPOSE 8080 9090
# Alive means the event loop answers /healthz on the health port (HEALTH_LISTEN).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('HEALTH_LISTEN', '0.0.0.0:9090').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
CMD ["python", "-m", "bot"]
