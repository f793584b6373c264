# One image for web, worker and beat (docker-compose.yml picks the command).
# The build context is the checkout less what .dockerignore lists (.env, var/, databases, .venv).
FROM python:3.11-slim
# The numba cache lives in the image, outside the /var/cheetah volume, so that each image ships
# the kernels compiled for its own sources.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CHEETAH_VAR_DIR=/var/cheetah \
    NUMBA_CACHE_DIR=/opt/cheetah/numba-cache
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN mkdir -p /var/cheetah "$NUMBA_CACHE_DIR" \
 && DEBUG=1 python manage.py collectstatic --noinput \
 && python -m scoring warm \
 && useradd --system --home /app cheetah && chown -R cheetah /var/cheetah "$NUMBA_CACHE_DIR"
USER cheetah
EXPOSE 8000
CMD ["gunicorn", "cheetah.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4"]
