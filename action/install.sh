#!/usr/bin/env bash
# Installs linkcheck from the action's own files ($GITHUB_ACTION_PATH) into a venv of its own,
# never from the caller's checkout; prints the venv's python as the step output `python`.
set -euo pipefail

if [[ -n "${LINKCHECK_ACTION_PYTHON:-}" ]]; then
  # For the action's own tests only: a python that already has this linkcheck installed.
  python="$LINKCHECK_ACTION_PYTHON"
  echo "using $python (LINKCHECK_ACTION_PYTHON); nothing installed"
else
  venv="$RUNNER_TEMP/linkcheck-venv"
  base="${LINKCHECK_BASE_PYTHON:-python3}"  # setup-python's, else the runner's
  "$base" -m venv "$venv"
  python="$venv/bin/python"
  echo "installing linkcheck from $GITHUB_ACTION_PATH into $venv"
  "$python" -m pip install --quiet --disable-pip-version-check "$GITHUB_ACTION_PATH"
fi
echo "python=$python" >> "$GITHUB_OUTPUT"
