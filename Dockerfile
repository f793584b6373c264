# One image for web, worker and beat (docker-compose.yml picks the command).
# The build context is the checkout less what .dockerignore lists (.env, var/, databases, .venv).
FROM python:3.11-slim
# The numba cache lives in the image, outside the /var/cheetah volume, so that each image ships
# the kernels compiled for its own sources.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CHEETAH_VAR_DIR=/var/cheetah \
    NUMBA_CACHE_DIR=/opt/cheetah/numba-cache STATIC_ROOT=/opt/cheetah/static
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic with the production storage (DEBUG off), which writes the hashed names' manifest;
# the key only lets settings load for the build.
RUN mkdir -p /var/cheetah "$NUMBA_CACHE_DIR" "$STATIC_ROOT" \
 && DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
 && python -m scoring warm \
 && useradd --system --home /app cheetah && chown -R cheetah /var/cheetah "$NUMBA_CACHE_DIR"
USER cheetah
EXPOSE 8000
CMD ["gunicorn", "cheetah.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4"]
