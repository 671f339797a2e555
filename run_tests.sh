#!/usr/bin/env bash
# The test command: sets up .venv with the dev extra (and, on CI or with TB_TEST_SENTIMENT=1, the
# sentiment extra with CPU torch 2.13.0), then runs the whole suite. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
VENV="${TB_VENV_DIR:-$ROOT/.venv}"
. "$ROOT/scripts/bootstrap.sh"

extras="dev"
if [ "${CI:-}" = "true" ] || [ "${TB_TEST_SENTIMENT:-}" = "1" ]; then
  # torch is pinned: 2.13.0 installs as a CPU build; an unpinned torch pulls gigabytes of CUDA packages
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
    tracer_bootstrap "$ROOT" "$VENV" "$extras"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
  fi
  extras="dev,sentiment"
fi
tracer_bootstrap "$ROOT" "$VENV" "$extras"
exec "$VENV/bin/python" -m pytest -n 2 --dist loadgroup "$@"
