# The Python side of mlotel as one image: the ML API (default), the alert-rule
# service (`python -m alerting`), the console (`python -m console`) and the load
# generator (`python -m ml_api.loadgen`).
#   docker build -t mlotel/python .
ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY instrumentation instrumentation
COPY ml_api ml_api
COPY alerting alerting
COPY backends backends
COPY console console
COPY scripts/render_config.py scripts/render_config.py
RUN uv sync --locked --no-dev
ENV PATH=/app/.venv/bin:$PATH \
    HOST=0.0.0.0 \
    ML_API_MODEL_DIR=/var/lib/mlotel/models
RUN useradd --system --uid 10001 mlotel && mkdir -p /var/lib/mlotel && chown mlotel /var/lib/mlotel
USER mlotel
EXPOSE 8000 8080 8501
CMD ["python", "-m", "ml_api"]
