# One image for every Paystream service. compose.yaml chooses the service with
# `command: ["serve", ...]` and declares each service's health check, so there
# is no HEALTHCHECK here.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 paystream \
    && useradd --system --uid 10001 --gid paystream --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin paystream

WORKDIR /app

# Pinned dependencies first, so a code change does not reinstall them.
COPY requirements.lock ./
RUN pip install -r requirements.lock

# The project itself; .dockerignore keeps tests, local state and secrets out.
COPY . .
RUN pip install --no-deps . && rm -rf build ./*.egg-info

USER 10001:10001
ENTRYPOINT ["paystream"]
CMD ["--help"]
