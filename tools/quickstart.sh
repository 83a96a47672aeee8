#!/usr/bin/env bash
# README's quick start in one command, from any directory:
#   bash tools/quickstart.sh [tools/train.py options ...]
# 1. bash tools/install.sh: installs whatever is missing (a complete environment is only
#    checked, in seconds);
# 2. python tools/train.py configs/tap/pointmlp_synthetic.py [options ...], run from the
#    repository root (relative paths in the options are taken from there), e.g.
#    bash tools/quickstart.sh --work-dir work_dirs/try --cfg-options train_cfg.max_epochs=1
# 3. prints where the run's view grids and scalars are.
# PYTHON=/path/to/python selects the interpreter (default: python on PATH);
# CROSSPT_WITH_SPCONV=0 skips the optional spconv backend (default 1, as in .ci/run).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PYTHON=${PYTHON:-python}
export CROSSPT_WITH_SPCONV=${CROSSPT_WITH_SPCONV:-1}
CONFIG=configs/tap/pointmlp_synthetic.py
log() { printf '[crosspt-quickstart] %s\n' "$*"; }
fail() { log "error: $*" >&2; exit 1; }

bash tools/install.sh || fail "tools/install.sh failed (exit $?): see its messages above;" \
  "fix the cause and re-run bash tools/quickstart.sh"

# the work dir tools/train.py uses: --work-dir, else work_dirs/<config name>
work_dir=work_dirs/$(basename "$CONFIG" .py)
args=("$@")
for i in "${!args[@]}"; do
  case ${args[$i]} in
    --work-dir=*) work_dir=${args[$i]#--work-dir=} ;;
    --work-dir) if [ $((i + 1)) -lt ${#args[@]} ]; then work_dir=${args[$((i + 1))]}; fi ;;
  esac
done
case $work_dir in /*) ;; *) work_dir=$ROOT/$work_dir ;; esac

log "training: $PYTHON tools/train.py $CONFIG $*"
"$PYTHON" tools/train.py "$CONFIG" "$@" || fail "tools/train.py $CONFIG failed (exit $?):" \
  "see the traceback above"

run_dir=$(find "$work_dir" -mindepth 1 -maxdepth 1 -type d -name '2*' 2>/dev/null \
  | sort | tail -n 1)
grid=$(find "$work_dir/view_grids" -name 'iter_*.png' 2>/dev/null | sort | tail -n 1)
val_grid=$(find "$work_dir/view_grids" -name 'val_iter_*.png' 2>/dev/null | sort | tail -n 1)
[ -n "$run_dir" ] && [ -f "$run_dir/vis_data/scalars.json" ] \
  || fail "the run finished but $work_dir/<timestamp>/vis_data/scalars.json is missing"
# the last validation's silhouette IoU and its constant-image floor
val_iou=$("$PYTHON" - "$run_dir/vis_data/scalars.json" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if 'view/fg_iou' in line]
if rows:
    r = rows[-1]
    print(f"{r['view/fg_iou']:.3f} (constant-image floor {r['view/fg_iou_floor']:.3f}, "
          f"epoch {r['step']})")
PY
)
log "done. Results in $work_dir:"
log "  validation view/fg_iou on held-out objects: ${val_iou:-no validation ran}"
log "  held-out objects' views (ground truth above, generated below): ${val_grid:-none written}"
log "  training view grids: $work_dir/view_grids/ (last: ${grid:-none written})"
log "  scalars (loss, view/fg_iou, ...): $run_dir/vis_data/scalars.json"
log "  log: $(find "$run_dir" -maxdepth 1 -name '*.log' | sort | tail -n 1)"
