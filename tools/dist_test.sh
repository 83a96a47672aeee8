#!/usr/bin/env bash
# Distributed testing with torchrun.
#   bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py args...]
set -e
if [ $# -lt 3 ]; then echo "usage: $0 CONFIG CHECKPOINT NUM_PROCS [test.py args...]" >&2; exit 2; fi
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PYTHON=${PYTHON:-python}
# CROSSPT_PYTHON (optional): the command each process runs the tool with instead of python
# (split into words, e.g. "python -X faulthandler"), as in tools/benchmarks/*.py
WORKER=()
if [ -n "${CROSSPT_PYTHON:-}" ]; then WORKER=(--no-python $CROSSPT_PYTHON); fi

PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
$PYTHON -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "${WORKER[@]}" "$(dirname "$0")/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
