# kodo-jobs in a container: `docker build -t kodo-jobs .` from a checkout, then
#   docker run --rm kodo-jobs run manifests/quickstart.yaml         # the quick start (embedded emulator)
#   docker run --rm -v kodo-state:/state -v "$PWD/ops:/config:ro" \
#     -e QINIU_ACCESS_KEY -e QINIU_SECRET_KEY kodo-jobs \
#     run /config/media.yaml --state /state/media.kjstate --report /reports/media.json
# State (the SQLite checkpoint: resume after a crash, the hash cache) and reports belong on the
# /state and /reports volumes: a container's own file system is gone with the container.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# the package from this checkout, installed by the script CI also runs (deploy/docker-install.sh)
COPY pyproject.toml README.md /src/
COPY kodo_jobs /src/kodo_jobs
COPY deploy/docker-install.sh /src/deploy/docker-install.sh
RUN sh /src/deploy/docker-install.sh /src && rm -rf /src

# a non-root user owns the work folder and the volumes; nothing else is writable to it
RUN useradd --create-home --uid 10001 --user-group kodo \
    && mkdir -p /work /state /reports \
    && chown kodo:kodo /work /state /reports
COPY --chown=kodo:kodo manifests /work/manifests
VOLUME ["/state", "/reports"]
USER kodo
WORKDIR /work

ENTRYPOINT ["kodo-jobs"]
CMD ["--help"]
