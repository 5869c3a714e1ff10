# Trading Demo: one image for every process (web, and the services added by later capabilities).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATA_DIR=/data \
    PORT=8000 \
    HOST=0.0.0.0

RUN groupadd --system app && useradd --system --gid app --home /app app \
    && mkdir -p /app /data && chown app:app /data

WORKDIR /app
COPY pyproject.toml README.md ./
RUN pip install --upgrade pip && pip install .
COPY --chown=app:app . .

# collectstatic runs at build time with a throwaway key; the real one comes from the environment.
RUN SECRET_KEY=build-only-not-secret DEBUG=0 python manage.py collectstatic --noinput \
    && chown -R app:app /data

USER app
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --retries=3 \
    CMD python -c "import urllib.request,os; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT','8000'), timeout=4)"
# HTTP: Granian's WSGI workers (measured: README "Serving"). The socket server is the same image
# with `daphne … trading_demo.asgi:application` as its command (docker-compose.yml, `sockets`).
# The workers count their metrics into one fresh directory, so /metrics sums all of them.
CMD ["sh", "-c", "python manage.py migrate --noinput && python manage.py seed_demo && export PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus && rm -rf \"$PROMETHEUS_MULTIPROC_DIR\" && mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\" && exec granian --interface wsgi --host \"$HOST\" --port \"$PORT\" --workers \"${WEB_CONCURRENCY:-4}\" --blocking-threads \"${WEB_THREADS:-4}\" --respawn-failed-workers --log-level warning trading_demo.wsgi:application"]
