# The application image: web (gunicorn), worker, beat and the optional fake SP-API all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

WORKDIR /app
RUN groupadd --system app && useradd --system --gid app --home /app app

# The source (.dockerignore keeps out tests, benchmarks, the venv, local data and secrets).
COPY . .
RUN pip install . && mkdir -p /app/var && chown -R app:app /app/var

# Static files are part of the image (whitenoise serves them, with hashed names): collected at
# build time, under the production settings, which need these values only to start.
RUN SECRET_KEY=collectstatic-only \
    DATABASE_URL=postgres://unused@localhost/unused \
    CELERY_BROKER_URL=redis://localhost:6379/0 \
    FIELD_ENCRYPTION_KEY=collectstatic-only \
    python manage.py collectstatic --noinput

USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60"]
