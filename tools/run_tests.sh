#!/usr/bin/env bash
# README's test command and CI's (.ci/run), from any directory:
#   bash tools/run_tests.sh [PATH ...] [pytest options ...]
# 1. bash tools/install.sh: installs whatever is missing (a complete environment is only
#    checked, in seconds);
# 2. python -m pytest tests -q -n 2 --dist loadfile [options ...] from the repository root.
#    Leading arguments that do not start with '-' replace 'tests' (repository-relative
#    paths); later options override the defaults, e.g.
#    bash tools/run_tests.sh tests/test_docs -n 0      # one directory, one process
#    bash tools/run_tests.sh -m "not slow"             # the whole suite without end-to-end runs
# PYTHON=/path/to/python selects the interpreter (default: python on PATH);
# CROSSPT_WITH_SPCONV=0 skips the optional spconv backend and its tests (default 1).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PYTHON=${PYTHON:-python}
export CROSSPT_WITH_SPCONV=${CROSSPT_WITH_SPCONV:-1}
log() { printf '[crosspt-tests] %s\n' "$*"; }
fail() { log "error: $*" >&2; exit 1; }

paths=()
while [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; do
  [ -e "${1%%::*}" ] || fail "no test path '$1' under $ROOT (paths are" \
    "relative to the repository root)"
  paths+=("$1")
  shift
done
[ ${#paths[@]} -gt 0 ] || paths=(tests)

bash tools/install.sh || fail "tools/install.sh failed (exit $?): see its messages above;" \
  "fix the cause and re-run bash tools/run_tests.sh"

log "$PYTHON -m pytest ${paths[*]} -q -n 2 --dist loadfile $*"
exec "$PYTHON" -m pytest "${paths[@]}" -q -n 2 --dist loadfile "$@"
