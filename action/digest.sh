#!/usr/bin/env bash
# Emails the digest when asked: send-digest `auto` sends when settings.email is set and SMTP
# credentials are given (input or job-level LINKCHECK_SMTP_USER / LINKCHECK_SMTP_PASSWORD),
# `true` whenever settings.email is set (a relay that needs no login), `false` never.
set -euo pipefail
cd "$GITHUB_WORKSPACE"

mode="${INPUT_SEND_DIGEST:-auto}"
case "$mode" in
  auto | true | false) ;;
  *) echo "::error::input send-digest must be auto, true or false, not '$mode'"; exit 2 ;;
esac
if [[ "$mode" == false ]]; then
  echo "digest: not asked for (send-digest: false)"
  exit 0
fi
# Inputs win over the job's environment; either way the credentials reach linkcheck only here.
export LINKCHECK_SMTP_USER="${INPUT_SMTP_USER:-${LINKCHECK_SMTP_USER:-}}"
export LINKCHECK_SMTP_PASSWORD="${INPUT_SMTP_PASSWORD:-${LINKCHECK_SMTP_PASSWORD:-}}"

references="${INPUT_REFERENCES:-references.yaml}"
if ! "$PYTHON" "$GITHUB_ACTION_PATH/action/steps.py" email-configured "$references"; then
  if [[ "$mode" == true ]]; then
    echo "::error::send-digest is true but $references has no settings.email"
    exit 1
  fi
  echo "digest: not sent, $references has no settings.email"
  exit 0
fi
if [[ "$mode" == auto && ( -z "$LINKCHECK_SMTP_USER" || -z "$LINKCHECK_SMTP_PASSWORD" ) ]]; then
  echo "::notice::digest not sent: no SMTP credentials (pass smtp-user and smtp-password, or set LINKCHECK_SMTP_USER and LINKCHECK_SMTP_PASSWORD for the job; send-digest: true sends without them)"
  exit 0
fi
args=(email --since "${INPUT_DIGEST_SINCE:-7d}" --state-dir "$STATE_DIR" --report-dir "$REPORT_DIR")
[[ -n "${INPUT_REFERENCES:-}" ]] && args+=(--references "$INPUT_REFERENCES")
"$PYTHON" -m linkcheck "${args[@]}"
