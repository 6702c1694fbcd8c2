# Demarche web and worker image.
FROM python:3.11-slim-bookworm

# Production: the server refuses to start without a strong DEMARCHE_SECRET_KEY (32+ random
# characters, e.g. `openssl rand -hex 32`), passed at run time (docker-compose.yml does).
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DEMARCHE_DATA_DIR=/data DEMARCHE_ENV=production

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-core fonts-dejavu-core curl \
      tesseract-ocr tesseract-ocr-osd tesseract-ocr-eng tesseract-ocr-fra tesseract-ocr-spa \
      tesseract-ocr-rus tesseract-ocr-ara tesseract-ocr-chi-sim poppler-utils \
      libicu72 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/demarche
COPY pyproject.toml README.md alembic.ini requirements.lock ./
COPY app ./app
COPY migrations ./migrations
COPY letter_templates ./letter_templates
# PyICU (name folding) is built against ICU: headers and a compiler only for the build.
# Every package from the lock, hashes checked: the versions the tests ran against.
RUN apt-get update && apt-get install -y --no-install-recommends libicu-dev pkg-config g++ \
 && pip install --require-hashes -r requirements.lock \
 && pip install --no-deps . \
 && apt-get purge -y --auto-remove libicu-dev pkg-config g++ && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /srv/demarche demarche \
 && mkdir -p /data && chown demarche /data
USER demarche
VOLUME ["/data"]
EXPOSE 8000
CMD ["demarche", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
