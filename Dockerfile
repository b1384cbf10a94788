# kubebill for the Helm chart (charts/kubebill: export CronJob, serve Deployment): slim, non-root, no pip cache, no build tools.
# Build: docker build -t kubebill:0.1.0 .    Run: docker run --rm kubebill:0.1.0 export --help
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY core ./core
RUN python -m venv /opt/kubebill \
    && /opt/kubebill/bin/pip install --no-cache-dir ".[aws,azure,gcp]"

FROM python:3.11-slim
ENV PATH=/opt/kubebill/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ARROW_DEFAULT_MEMORY_POOL=system \
    KUBEBILL_LOG_FORMAT=json
RUN groupadd --system --gid 10001 kubebill \
    && useradd --system --no-log-init --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin kubebill
COPY --from=build /opt/kubebill /opt/kubebill
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["kubebill"]
CMD ["export"]
