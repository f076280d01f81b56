# doithoai in a container: the bot and its web server, the database on a volume, run as a non-root user.
#   docker build -t doithoai .
#   docker run -d --name doithoai --env-file doithoai.env -v doithoai-data:/data \
#       -v "$PWD/config.toml:/etc/doithoai/config.toml:ro" -p 127.0.0.1:8080:8080 doithoai
# In config.toml: database.path = "/data/doithoai.sqlite3" and [web] listen = "0.0.0.0", port = 8080.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin doithoai \
    && install -d -o doithoai -g doithoai -m 0700 /data \
    && install -d -m 0755 /etc/doithoai

WORKDIR /opt/doithoai
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY bench ./bench
RUN pip install --no-compile . \
    && rm -rf /root/.cache

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["doithoai"]
CMD ["run", "--config", "/etc/doithoai/config.toml"]
