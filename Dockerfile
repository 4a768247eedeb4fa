FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY worker ./worker
RUN pip install --no-cache-dir '.[monitor]' && useradd --create-home herald
USER herald
WORKDIR /srv/herald
CMD ["celery", "-A", "worker", "worker", "--loglevel", "INFO"]
