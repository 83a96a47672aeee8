#!/usr/bin/env bash
# One idempotent set-up path for crosspt on Linux + Python 3.11 (CPU or CUDA).
#   bash tools/install.sh
# - keeps an already-installed torch (installs torch==2.13.0 only when none is present);
# - builds mmcv 2.1.0 with compiled ops from source (FORCE_CUDA=0 unless CUDA is visible);
# - installs mmdet 3.3.0 and mmdet3d 1.4.0 (--no-deps + the list that makes it import);
# - with CROSSPT_WITH_SPCONV=1, installs spconv 2.3.8 (optional SRUNet backend);
# - installs crosspt in editable mode.
# First it checks, in one interpreter and without pip, that everything below is already
# installed (tools/misc/check_install.py); when it is, it stops there (seconds: importing
# mmdet3d is most of it).
# CROSSPT_INSTALL_CHECK_ONLY=1: only that check; exit 1 listing what is missing, install
# nothing (the tests use it so that they never change the environment).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
PIP="$PY -m pip --disable-pip-version-check"
log() { printf '[crosspt-install] %s\n' "$*"; }
have() { $PY -c "$1" >/dev/null 2>&1; }

if ! $PY -c 'import sys' >/dev/null 2>&1; then
  log "error: '$PY' is not a runnable Python interpreter; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
log "python: $($PY --version 2>&1) ($($PY -c 'import sys; print(sys.executable)'))"
spconv_flag=()
[ "${CROSSPT_WITH_SPCONV:-0}" = "1" ] && spconv_flag=(--with-spconv)
if $PY tools/misc/check_install.py "${spconv_flag[@]}"; then
  log "everything is installed (spconv: ${CROSSPT_WITH_SPCONV:-0}); nothing to do"
  exit 0
fi
if [ "${CROSSPT_INSTALL_CHECK_ONLY:-0}" = "1" ]; then
  log "error: the environment above is incomplete and CROSSPT_INSTALL_CHECK_ONLY=1;" \
    "run bash tools/install.sh without it to install what is missing" >&2
  exit 1
fi
log "installing what is missing"
have "import ninja, wheel" || $PIP install -q ninja wheel

if have "import torch"; then
  log "torch $($PY -c 'import torch; print(torch.__version__)') already installed: keeping it"
else
  log "installing torch==2.13.0"
  $PIP install -q "torch==2.13.0"
fi

$PIP install -q -r requirements/runtime.txt -r requirements/tests.txt

if have "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'"; then
  log "mmcv 2.1.0 with ops already installed"
else
  # mmcv 2.1.0's setup.py imports pkg_resources (gone from setuptools>=70; torch may upgrade it).
  have "import pkg_resources" || $PIP install -q "setuptools<70"
  cuda=$($PY -c "import torch; print(int(torch.cuda.is_available()))")
  log "building mmcv 2.1.0 from source (FORCE_CUDA=$cuda); about 9 minutes on 2 CPU cores"
  MMCV_WITH_OPS=1 FORCE_CUDA=$cuda MAX_JOBS=${MAX_JOBS:-2} \
    $PIP install -q --no-build-isolation "mmcv==2.1.0"
fi

have "import mmdet; assert mmdet.__version__ == '3.3.0'" || $PIP install -q "mmdet==3.3.0"

if have "import mmdet3d.models, mmdet3d.datasets, mmdet3d.structures, mmdet3d.evaluation"; then
  log "mmdet3d $($PY -c 'import mmdet3d; print(mmdet3d.__version__)') imports"
else
  log "installing mmdet3d 1.4.0 (--no-deps) and its import-time dependencies"
  $PIP install -q --no-deps "mmdet3d==1.4.0" lyft-dataset-sdk nuscenes-devkit
  $PIP install -q -r requirements/mmdet3d.txt
  $PY -c "import mmdet3d.models, mmdet3d.datasets, mmdet3d.structures, mmdet3d.evaluation"
fi

# Optional spconv backend for SRUNet (CROSSPT_WITH_SPCONV=1): inference on CPU, training on
# CUDA only.  --no-deps keeps the installed torch; these are its import-time dependencies.
if [ "${CROSSPT_WITH_SPCONV:-0}" = "1" ]; then
  if have "import spconv.pytorch"; then
    log "spconv $($PY -c 'import spconv; print(spconv.__version__)') imports"
  else
    log "installing spconv 2.3.8 (CPU wheel; --no-deps)"
    $PIP install -q --no-deps "spconv==2.3.8" "cumm==0.7.11" "pccm==0.4.16" \
      "ccimport==0.4.4" "fire==0.7.1" "lark==1.3.1" "portalocker==4.4.2" \
      "pybind11==3.1.0" requests
  fi
fi

$PIP install -q --no-deps --no-build-isolation -e .
if ! $PY tools/misc/check_install.py "${spconv_flag[@]}"; then
  log "error: still incomplete after installing (lines above); please report it" >&2
  exit 1
fi
$PY -c "import crosspt; print('[crosspt-install] crosspt', crosspt.__version__, 'ready')"
