#!/usr/bin/env bash
# Runs `linkcheck check` with the action's inputs; its exit status becomes the output `exit-code`
# (the action's last step turns it into the job's result), and the counts and report paths outputs.
# Exit status 2 (bad input) fails this step at once.
set -euo pipefail
cd "$GITHUB_WORKSPACE"

for pair in "pre-publication=${INPUT_PRE_PUBLICATION:-false}" "archive=${INPUT_ARCHIVE:-true}"; do
  case "${pair#*=}" in
    true | false) ;;
    *) echo "::error::input ${pair%%=*} must be true or false, not '${pair#*=}'"; exit 2 ;;
  esac
done

[[ "$REPORT_DIR" == /* ]] || REPORT_DIR="$PWD/$REPORT_DIR"  # absolute in the outputs
args=(check --state-dir "$STATE_DIR" --report-dir "$REPORT_DIR")
[[ -n "${INPUT_REFERENCES:-}" ]] && args+=(--references "$INPUT_REFERENCES")
for format in ${INPUT_FORMATS//,/ }; do
  args+=(--format "$format")
done
[[ -n "${INPUT_FAIL_ON:-}" ]] && args+=(--fail-on "$INPUT_FAIL_ON")
[[ "${INPUT_PRE_PUBLICATION:-false}" == true ]] && args+=(--pre-publication)
[[ "${INPUT_ARCHIVE:-true}" == false ]] && args+=(--no-archive)
[[ "${EXPECT_HISTORY:-false}" == true ]] && args+=(--expect-history)
# Documents separated by spaces or newlines; none: the references file's documents.
read -r -d '' -a paths <<< "${INPUT_PATHS:-}" || true

# A crash also exits 1: only a run that wrote its report has judged anything.
rm -f "$REPORT_DIR/report.json"
status=0
"$PYTHON" -m linkcheck "${args[@]}" -- "${paths[@]}" || status=$?
echo "exit-code=$status" >> "$GITHUB_OUTPUT"
if ((status >= 2)); then
  exit "$status"
fi
if [[ ! -f "$REPORT_DIR/report.json" ]]; then
  echo "::error::linkcheck check stopped (exit status $status) before writing its report"
  exit 1
fi
"$PYTHON" "$GITHUB_ACTION_PATH/action/steps.py" outputs "$REPORT_DIR" >> "$GITHUB_OUTPUT"
