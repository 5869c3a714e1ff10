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
CMD ["sh", "-c", "python manage.py migrate --noinput && python manage.py seed_demo && exec daphne -b \"$HOST\" -p \"$PORT\" --proxy-headers trading_demo.asgi:application"]
