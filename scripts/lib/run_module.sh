# Sourced by the scripts in scripts/: run a `python -m shared.…` command with the project's .venv, from any
# directory (cron, launchd, a shell elsewhere).
# usage: tracer_run_module SCRIPT_NAME ROOT ARGS...   (ARGS start with the module name)
tracer_run_module() {
  local name="$1" root="$2"
  shift 2
  local venv="${TB_VENV_DIR:-$root/.venv}"
  if [ ! -x "$venv/bin/python" ]; then
    echo "$name: no virtual environment at $venv; run $root/start_trading_system.sh once first" >&2
    exit 2
  fi
  # run from / so that a `shared/` folder in the caller's directory cannot shadow ours
  cd /
  export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
  exec "$venv/bin/python" -m "$@"
}
