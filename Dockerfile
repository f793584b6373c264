# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CHEETAH_VAR_DIR=/var/cheetah \
    NUMBA_CACHE_DIR=/var/cheetah/numba-cache
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN mkdir -p /var/cheetah \
 && DEBUG=1 python manage.py collectstatic --noinput \
 && useradd --system --home /app cheetah && chown -R cheetah /var/cheetah
USER cheetah
EXPOSE 8000
CMD ["gunicorn", "cheetah.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4"]
