# syntax=docker/dockerfile:1
# skinguard-model-sync: copies promoted model versions from S3 into the serving model volume.
# Same package as the model server, but the sync code never imports TensorFlow, so the export
# prunes it (and what only it needs). Build from the repository root:
#   docker build -f services/serving/model-sync.Dockerfile -t skinguard/model-sync .

# Python 3.11 on Debian bookworm, pinned by digest: a rebuild gets the same OS and interpreter.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

FROM ${PYTHON_IMAGE} AS uv
# The Makefile's uv: it reads uv.lock, so the image gets exactly the locked versions.
RUN pip install --no-cache-dir uv==0.13.8

FROM uv AS requirements
WORKDIR /src
COPY . .
# This package's third-party closure (with hashes), and the workspace packages it needs.
RUN uv export --frozen --no-dev --package skinguard-serving --no-emit-workspace --prune tensorflow-cpu -o /requirements.txt \
 && uv export --frozen --no-dev --package skinguard-serving --no-editable --no-hashes --no-header --no-annotate \
    | sed -n 's#^\./#/src/#p' > /workspace.txt

FROM uv AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN uv venv /opt/venv
# Dependencies first: this layer is reused until the locked set itself changes.
COPY --from=requirements /requirements.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/uv \
    uv pip install --python /opt/venv/bin/python --no-deps --require-hashes -r /tmp/requirements.txt
COPY --from=requirements /src /src
COPY --from=requirements /workspace.txt /tmp/workspace.txt
RUN uv pip install --python /opt/venv/bin/python --no-deps \
    --build-constraint /src/deploy/docker/build-constraints.txt -r /tmp/workspace.txt

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 skinguard \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin skinguard
COPY --from=build /opt/venv /opt/venv
# The model volume's mount point, owned by the app user so that a fresh named volume inherits it.
RUN install -d -o 10001 -g 10001 /models
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SKINGUARD_MODEL_REPOSITORY=/models \
    SKINGUARD_MODEL_CONFIG_FILE=/models/models.config \
    SKINGUARD_HEARTBEAT_FILE=/tmp/skinguard-model-sync.alive
USER 10001:10001
ENTRYPOINT ["skinguard-model-sync"]
