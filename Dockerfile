# syntax=docker/dockerfile:1
# LongWriter Studio on the vLLM backend: the studio and vLLM's in-process engine in one GPU container.
#
# Built on the official vLLM image, so CUDA, torch and vLLM are exactly the versions vLLM ships and
# tests together; this file only adds the studio around them.
#
#   docker build -t longwriter-studio:gpu .
#   docker run --gpus all --ipc=host -p 7860:7860 \
#     -v longwriter-data:/data -v ~/.cache/huggingface:/root/.cache/huggingface \
#     -e LONGWRITER_MODEL=THUDM/LongWriter-glm4-9b longwriter-studio:gpu
#
# Several GPUs: add -e LONGWRITER_TENSOR_PARALLEL_SIZE=4. A separate `vllm serve` plus a light studio
# is compose.yaml; a CPU-only studio is Dockerfile.cpu.

ARG VLLM_VERSION=v0.33.0
FROM vllm/vllm-openai:${VLLM_VERSION}

ENV PYTHONUNBUFFERED=1 \
    LONGWRITER_BACKEND=vllm \
    LONGWRITER_MODEL=THUDM/LongWriter-glm4-9b \
    LONGWRITER_HOST=0.0.0.0 \
    LONGWRITER_DATA_DIR=/data \
    GRADIO_SERVER_PORT=7860

WORKDIR /opt/longwriter
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# The studio's dependencies, resolved around the environment the image ships: every installed
# package is pinned as an override, so torch, transformers, vLLM and their own dependencies stay
# exactly as vLLM tested them and only what is missing gets installed. Overrides also win over the
# studio's version ranges where they clash (vLLM 0.33 pins transformers <5.21 and pillow >=13, the
# studio asks for transformers >=5.23 and gradio caps pillow <13).
# UV_CACHE_DIR points uv at the cache mount: the vLLM image sets it to /opt/uv/cache, which would
# write the downloads into the image layer instead.
COPY pyproject.toml ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv pip freeze --system | grep '==' > /opt/engine-pins.txt \
 && UV_CACHE_DIR=/root/.cache/uv uv pip install --system --override /opt/engine-pins.txt -r pyproject.toml --extra gpu --extra postgres

COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    UV_CACHE_DIR=/root/.cache/uv uv pip install --system --no-deps . \
 && longwriter --help > /dev/null

VOLUME /data
EXPOSE 7860
# Loading a 9B model (and downloading it on first start) takes minutes before the UI answers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30m --retries=3 \
  CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7860/', timeout=3)"]

# The base image's entrypoint is `vllm serve`; this image runs the studio instead.
ENTRYPOINT []
CMD ["longwriter", "app"]
