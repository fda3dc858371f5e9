# tensionwatch: collector and dashboard from one image.
# Default command runs both (`tensionwatch up`); compose.yaml runs them as two
# services sharing the data volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TENSIONWATCH_DATABASE=/data/tensionwatch.db \
    TENSIONWATCH_DASHBOARD_HOST=0.0.0.0 \
    TENSIONWATCH_DASHBOARD_ALLOW_WITHOUT_LOGIN=true
# The dashboard listens on every interface inside the container, without a
# login: publish its port on the host's loopback only (-p 127.0.0.1:8501:8501,
# as compose.yaml does), or set TENSIONWATCH_DASHBOARD_PASSWORD_HASH and
# TENSIONWATCH_DASHBOARD_ALLOW_WITHOUT_LOGIN=false before publishing it wider.

RUN groupadd --system tensionwatch \
 && useradd --system --gid tensionwatch --home-dir /app --shell /usr/sbin/nologin tensionwatch \
 && mkdir -p /data && chown tensionwatch:tensionwatch /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY model ./model
COPY collectors ./collectors
COPY tagging ./tagging
COPY storage ./storage
COPY indicators ./indicators
COPY alerts ./alerts
COPY dashboard ./dashboard
COPY tensionwatch ./tensionwatch
COPY seeds ./seeds
# editable install: the seeds stay beside the code, where tensionwatch finds them
RUN pip install -e . && python -c "import tensionwatch.cli"

USER tensionwatch
VOLUME ["/data"]
EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)" || exit 1

CMD ["tensionwatch", "up"]
