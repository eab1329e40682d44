#!/usr/bin/env bash
# One vLLM server spread over several GPU nodes, for models too large for one node.
#
# Ray joins the nodes into one cluster; vLLM splits the model with tensor parallelism inside a
# node (--tensor-parallel-size = GPUs per node) and pipeline parallelism across nodes
# (--pipeline-parallel-size = nodes). Every node runs the official vLLM image plus Ray: the image has
# not shipped Ray since vLLM 0.19 (vLLM's docs: "Ray is an optional dependency ... pip install
# ray[cgraph]"), so each node first builds a one-line derived image with the same pinned Ray version.
#
#   on the head node:        deploy/multinode.sh head
#   on every other node:     deploy/multinode.sh worker HEAD_IP
#   then on the head node:   deploy/multinode.sh serve      (waits for all nodes, serves on :8000)
#   anywhere, to stop:       deploy/multinode.sh stop
#
# The studio then talks to it like any vllm serve:
#   LONGWRITER_BACKEND=openai LONGWRITER_BASE_URL=http://HEAD_IP:8000/v1 LONGWRITER_MODEL=$MODEL
#
# Environment: MODEL, NODES, GPUS_PER_NODE, MAX_MODEL_LEN, VLLM_IMAGE, RAY_VERSION (the same on every
# node), HF_CACHE (a folder every node has, ideally shared), HOST_IP (this node's address on the
# network the nodes share), HF_TOKEN, and for NCCL/Gloo on hosts with several interfaces
# NCCL_SOCKET_IFNAME, GLOO_SOCKET_IFNAME, NCCL_IB_HCA (set them when the node starts: they then apply
# to every vLLM worker on it).
set -euo pipefail

IMAGE="${VLLM_IMAGE:-vllm/vllm-openai:v0.33.0}"
MODEL="${MODEL:-THU-KEG/LongWriter-Zero-32B}"
NODES="${NODES:-2}"
GPUS_PER_NODE="${GPUS_PER_NODE:-8}"
MAX_MODEL_LEN="${MAX_MODEL_LEN:-32768}"
HF_CACHE="${HF_CACHE:-$HOME/.cache/huggingface}"
HOST_IP="${HOST_IP:-$(hostname -I | awk '{print $1}')}"
# The Ray version vLLM's CI runs pipeline parallelism with (requirements/test/cuda.txt); every node
# of a cluster must run the same one.
RAY_VERSION="${RAY_VERSION:-2.48.0}"
RAY_IMAGE="longwriter-vllm-ray:local"
RAY_PORT=6379
CONTAINER=longwriter-ray

usage() {  # the comment block at the top of this file
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 2
}

# The vLLM image with Ray added (docker's build cache makes a rebuild instant).
build_image() {
  docker build --quiet --tag "$RAY_IMAGE" - >/dev/null <<EOF
FROM $IMAGE
RUN uv pip install --system "ray[cgraph]==$RAY_VERSION"
EOF
}

# Start this node's Ray process in that image; extra arguments go to `ray start`. --ipc host gives
# the container the host's shared memory (vLLM's docs: --ipc=host or --shm-size, not both).
start_node() {
  build_image
  docker run --detach --name "$CONTAINER" --network host --ipc host --gpus all \
    --volume "$HF_CACHE:/root/.cache/huggingface" \
    --env HF_TOKEN --env VLLM_HOST_IP="$HOST_IP" \
    --env NCCL_SOCKET_IFNAME --env GLOO_SOCKET_IFNAME --env NCCL_IB_HCA \
    --entrypoint ray "$RAY_IMAGE" start --block --node-ip-address="$HOST_IP" "$@"
}

wait_for_nodes() {
  echo "Waiting for $NODES Ray nodes..."
  until docker exec "$CONTAINER" python3 -c "
import ray, sys
ray.init(address='auto', logging_level='ERROR')
sys.exit(sum(node['Alive'] for node in ray.nodes()) < $NODES)" 2>/dev/null; do
    sleep 5
  done
}

case "${1:-}" in
  head)
    start_node --head --port="$RAY_PORT"
    ;;
  worker)
    [ $# -ge 2 ] || usage
    start_node --address="$2:$RAY_PORT"
    ;;
  serve)
    wait_for_nodes
    tty=()
    [ -t 0 ] && tty=(--interactive --tty)  # so that Ctrl-C reaches vllm serve
    exec docker exec "${tty[@]}" "$CONTAINER" vllm serve "$MODEL" \
      --served-model-name "$MODEL" \
      --trust-remote-code \
      --max-model-len "$MAX_MODEL_LEN" \
      --tensor-parallel-size "$GPUS_PER_NODE" \
      --pipeline-parallel-size "$NODES" \
      --distributed-executor-backend ray \
      --host 0.0.0.0 --port 8000
    ;;
  stop)
    docker rm --force "$CONTAINER"
    ;;
  *)
    usage
    ;;
esac
