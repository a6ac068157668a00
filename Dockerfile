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
CMD ["python", "-m", "bot"]
