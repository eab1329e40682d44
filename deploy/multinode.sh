#!/usr/bin/env bash
# One vLLM server spread over several GPU nodes, for models too large for one node.
#
# Ray joins the nodes into one cluster; vLLM splits the model with tensor parallelism inside a
# node (--tensor-parallel-size = GPUs per node) and pipeline parallelism across nodes
# (--pipeline-parallel-size = nodes). Every node runs the same official vLLM image.
#
#   on the head node:        deploy/multinode.sh head
#   on every other node:     deploy/multinode.sh worker HEAD_IP
#   then on the head node:   deploy/multinode.sh serve      (waits for all nodes, serves on :8000)
#   anywhere, to stop:       deploy/multinode.sh stop
#
# The studio then talks to it like any vllm serve:
#   LONGWRITER_BACKEND=openai LONGWRITER_BASE_URL=http://HEAD_IP:8000/v1 LONGWRITER_MODEL=$MODEL
#
# Environment: MODEL, NODES, GPUS_PER_NODE, MAX_MODEL_LEN, VLLM_IMAGE, HF_CACHE (a folder every node
# has, ideally shared), HOST_IP (this node's address on the network the nodes share), HF_TOKEN.
set -euo pipefail

IMAGE="${VLLM_IMAGE:-vllm/vllm-openai:v0.33.0}"
MODEL="${MODEL:-THU-KEG/LongWriter-Zero-32B}"
NODES="${NODES:-2}"
GPUS_PER_NODE="${GPUS_PER_NODE:-8}"
MAX_MODEL_LEN="${MAX_MODEL_LEN:-32768}"
HF_CACHE="${HF_CACHE:-$HOME/.cache/huggingface}"
HOST_IP="${HOST_IP:-$(hostname -I | awk '{print $1}')}"
RAY_PORT=6379
CONTAINER=longwriter-ray

usage() {  # the comment block at the top of this file
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 2
}

# Start this node's Ray process in the vLLM image; extra arguments go to `ray start`.
start_node() {
  docker run --detach --name "$CONTAINER" --network host --ipc host --gpus all --shm-size 10g \
    --volume "$HF_CACHE:/root/.cache/huggingface" \
    --env HF_TOKEN --env VLLM_HOST_IP="$HOST_IP" \
    --entrypoint ray "$IMAGE" start --block --node-ip-address="$HOST_IP" "$@"
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
    exec docker exec "$CONTAINER" vllm serve "$MODEL" \
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
