#!/usr/bin/env bash
# Bounds the archive before the state is saved: `linkcheck archive prune` with the prune inputs.
set -euo pipefail
cd "$GITHUB_WORKSPACE"

args=(archive prune --state-dir "$STATE_DIR")
[[ -n "${INPUT_REFERENCES:-}" ]] && args+=(--references "$INPUT_REFERENCES")
[[ -n "${INPUT_KEEP_RUNS:-}" ]] && args+=(--keep-runs "$INPUT_KEEP_RUNS")
[[ -n "${INPUT_OLDER_THAN:-}" ]] && args+=(--older-than "$INPUT_OLDER_THAN")
if [[ -z "${INPUT_KEEP_RUNS:-}${INPUT_OLDER_THAN:-}" ]]; then
  echo "archive prune: not asked for (neither keep-runs nor older-than is set)"
  exit 0
fi
if [[ ! -f "$STATE_DIR/history.sqlite" ]]; then
  echo "archive prune: no history yet"
  exit 0
fi
"$PYTHON" -m linkcheck "${args[@]}"
