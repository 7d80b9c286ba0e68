# The Python side of mlotel as one image, every service's console script on PATH:
# the ML API (default, `mlotel-model-server`), the alert-rule service
# (`mlotel-alerting`), the console (`mlotel-console`) and the load generator
# (`mlotel-loadgen`).
#   docker build -t mlotel/python .
ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /app
# The workspace's manifests first, so the dependency layer is rebuilt only when they change.
COPY pyproject.toml uv.lock ./
COPY contract/pyproject.toml contract/
COPY instrumentation/pyproject.toml instrumentation/README.md instrumentation/
COPY backends/pyproject.toml backends/
COPY service_kit/pyproject.toml service_kit/
COPY ml_api/pyproject.toml ml_api/
COPY alerting/pyproject.toml alerting/
COPY console/pyproject.toml console/
# The native span encoder (native/, Rust) is left out: it needs a Rust toolchain to build, and the
# image's mlotel uses its Python encoder instead (the same bytes, more CPU). Copied for uv, which reads the workspace.
COPY native/pyproject.toml native/
RUN uv sync --locked --no-dev --all-packages --no-install-workspace --no-install-package mlotel-native
COPY contract contract
COPY instrumentation instrumentation
COPY backends backends
COPY service_kit service_kit
COPY ml_api ml_api
COPY alerting alerting
COPY console console
COPY native native
COPY scripts/render_config.py scripts/render_config.py
RUN uv sync --locked --no-dev --all-packages --no-install-package mlotel-native
ENV PATH=/app/.venv/bin:$PATH \
    HOST=0.0.0.0 \
    ML_API_MODEL_DIR=/var/lib/mlotel/models
RUN useradd --system --uid 10001 mlotel && mkdir -p /var/lib/mlotel && chown mlotel /var/lib/mlotel
USER mlotel
EXPOSE 8000 8080 8501
CMD ["mlotel-model-server"]
