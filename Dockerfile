# The interview worker: `python -m agent start` as a non-root user.
# Sizing (docs/PERFORMANCE.md, section 4): give a container 2 CPUs and 3 GiB for 16
# concurrent interviews; the worker takes 8 interviews per CPU of its limit
# (WORKER_MAX_INTERVIEWS overrides it) and reports itself full to LiveKit at that count.
# deploy/kubernetes/ runs it on Kubernetes with those requests (a StatefulSet: each worker
# keeps its outbox volume) and deploy/docker-compose.yml next to a LiveKit server.
# Ports: 8081 the worker's health endpoint (HEALTH_PORT, GET /), 9100 Prometheus metrics
# when METRICS_PORT is set.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin interviewer
WORKDIR /app

COPY pyproject.toml constraints.txt README.md ./
COPY agent ./agent
COPY stages ./stages
COPY prompts ./prompts
COPY persistence ./persistence
COPY feedback ./feedback
COPY interview ./interview
COPY contracts ./contracts
COPY observability ./observability
COPY providers ./providers
COPY byok ./byok
COPY commands ./commands
RUN pip install -c constraints.txt . \
    && mkdir -p /app/data && chown interviewer:interviewer /app/data

USER interviewer
# model files (VAD, turn detector) are fetched at build time, not at job start
RUN python -m agent download-files

ENV INTERVIEW_DB_PATH=/app/data/interviews.db
EXPOSE 8081 9100
# the image has no curl: Python asks the worker's health endpoint, which answers 200 once
# the worker runs and 503 when it lost LiveKit or its inference process
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HEALTH_PORT', '8081') + '/', timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["python", "-m", "agent", "start"]
