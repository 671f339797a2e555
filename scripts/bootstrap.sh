#!/usr/bin/env bash
# Sourced by start_trading_system.sh and run_tests.sh: make sure .venv exists and holds the project.
# Idempotent: reinstalls only when pyproject.toml (or the extras asked for) changed since the last install.

tracer_find_python() {
  local candidate
  for candidate in "${TB_PYTHON:-}" python3.13 python3.12 python3.11 python3.10 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "error: Python 3.10 or newer is needed (set TB_PYTHON to its path)" >&2
  return 1
}

# tracer_bootstrap ROOT VENV EXTRAS
tracer_bootstrap() {
  local root="$1" venv="$2" extras="${3:-}" py stamp want
  if [ ! -x "$venv/bin/python" ]; then
    py=$(tracer_find_python) || return 1
    echo "creating virtual environment in $venv"
    "$py" -m venv "$venv" || return 1
  fi
  want="$(cat "$root/pyproject.toml" | sha256sum | cut -d' ' -f1) extras=[$extras] root=$root"
  stamp="$venv/.tracer-install-stamp"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "installing Tracer${extras:+ [$extras]} into $venv (first run takes a minute)"
    local log="$venv/tracer-install.log"
    "$venv/bin/python" -m pip install --quiet --upgrade pip >"$log" 2>&1 || true
    # the build backend's chatter goes to the log; it is shown only when the install fails
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root${extras:+[$extras]}" >>"$log" 2>&1; then
      tail -n 30 "$log" >&2
      echo "error: installing the dependencies failed (full log: $log)" >&2
      return 1
    fi
    echo "$want" > "$stamp"
  fi
}
