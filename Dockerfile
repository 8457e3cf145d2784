# news-monitor: the daemon, installed with uv from the locked dependencies.
FROM python:3.11-slim

RUN pip install --no-cache-dir "uv>=0.8"

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1

WORKDIR /app
# Dependencies first, so editing the code does not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-group bench --no-install-project
COPY monitor ./monitor
COPY alembic ./alembic
COPY alembic.ini sources.yaml ./
RUN uv sync --frozen --no-dev --no-group bench

RUN useradd --system --uid 10001 --home-dir /data monitor && mkdir -p /data && chown monitor /data
USER monitor
WORKDIR /data
ENV MONITOR_CONFIG=/app/sources.yaml

EXPOSE 9100
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9100/healthz', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["monitor"]
CMD ["run", "--http", "0.0.0.0:9100"]
