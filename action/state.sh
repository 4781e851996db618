#!/usr/bin/env bash
# Keeps the state dir (history.sqlite, archive/*.warc.gz, last-report.json) between runs.
#   state.sh restore: fills $STATE_DIR; outputs `expected` (an earlier state should exist) and
#                     `commit` (the state branch's head that was restored, if any)
#   state.sh save:    commits $STATE_DIR to the state branch and pushes it, re-parenting onto a
#                     concurrent push and pushing again when one got there first
# Environment: STATE_MODE (branch|artifact|none), STATE_BRANCH, STATE_ARTIFACT, STATE_DIR,
# STATE_TOKEN (for pushing when the checkout kept no credentials, and for the artifact API),
# PYTHON (the action's python), RESTORED_COMMIT (save only).
set -euo pipefail

ref="refs/heads/${STATE_BRANCH}"
fetched="refs/linkcheck/state"
attempts="${LINKCHECK_PUSH_ATTEMPTS:-5}"

say() { printf '%s\n' "$*"; }
output() { printf '%s=%s\n' "$1" "$2" >> "$GITHUB_OUTPUT"; }

use_token() {
  # A checkout without persisted credentials (persist-credentials: false) gets the token as an
  # extra header, through the environment rather than the command line or a config file.
  [[ -n "${STATE_TOKEN:-}" ]] || return 0
  if git config --get-regexp '^http\..*\.extraheader$' > /dev/null 2>&1; then
    return 0  # the checkout's own credentials; a second Authorization header would be refused
  fi
  local basic
  basic=$(printf 'x-access-token:%s' "$STATE_TOKEN" | base64 | tr -d '\n')
  echo "::add-mask::$basic"
  export GIT_CONFIG_COUNT=1
  export GIT_CONFIG_KEY_0="http.${GITHUB_SERVER_URL:-https://github.com}/.extraheader"
  export GIT_CONFIG_VALUE_0="AUTHORIZATION: basic $basic"
}

# 0: the branch exists, 2: it does not; anything else (no network, no access) stops the step,
# so that a failure to look is never taken for a first run.
branch_exists() {
  local status=0
  git ls-remote --exit-code --heads origin "$STATE_BRANCH" > /dev/null || status=$?
  case "$status" in
    0) return 0 ;;
    2) return 1 ;;
    *) say "::error::cannot read the state branch $STATE_BRANCH from origin (git ls-remote exit $status)"; exit 1 ;;
  esac
}

fetch_branch() {
  git fetch --quiet --no-tags --depth=1 origin "+${ref}:${fetched}"
  git rev-parse "$fetched"
}

restore_branch() {
  if branch_exists; then
    local commit
    commit=$(fetch_branch)
    git archive "$fetched" | tar -x -C "$STATE_DIR"
    say "state restored from branch $STATE_BRANCH at ${commit:0:12}"
    output expected true
    output commit "$commit"
  else
    say "no branch $STATE_BRANCH yet: this is the first run, it will be created"
    output expected false
  fi
}

restore_artifact() {
  export GH_TOKEN="${STATE_TOKEN:-${GH_TOKEN:-}}"
  local latest run_id expired workflow runs
  latest=$(gh api "repos/${GITHUB_REPOSITORY}/actions/artifacts?name=${STATE_ARTIFACT}&per_page=1" \
    --jq '.artifacts[0] | select(. != null) | "\(.workflow_run.id) \(.expired)"')
  if [[ -n "$latest" ]]; then
    read -r run_id expired <<< "$latest"
    output expected true
    if [[ "$expired" == "false" ]]; then
      gh run download "$run_id" --repo "$GITHUB_REPOSITORY" --name "$STATE_ARTIFACT" --dir "$STATE_DIR"
      say "state restored from artifact $STATE_ARTIFACT of run $run_id"
    else
      say "::warning::the artifact $STATE_ARTIFACT of run $run_id has expired"
    fi
    return
  fi
  # No artifact at all: if this workflow has run before, its state was expected all the same.
  workflow="${GITHUB_WORKFLOW_REF#*/.github/workflows/}"
  workflow="${workflow%%@*}"
  runs=$(gh api "repos/${GITHUB_REPOSITORY}/actions/workflows/${workflow}/runs?status=success&per_page=1" \
    --jq '.total_count' || echo 0)
  if [[ "${runs:-0}" -gt 0 ]]; then
    output expected true
  else
    say "no artifact $STATE_ARTIFACT yet: this is the first run"
    output expected false
  fi
}

checkpoint() {
  # Everything in the database file itself, so that no -wal file is needed to read it.
  "$PYTHON" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.close()' "$1"
}

save_branch() {
  if [[ ! -f "$STATE_DIR/history.sqlite" ]]; then
    say "nothing to save: $STATE_DIR has no history.sqlite"
    return
  fi
  checkpoint "$STATE_DIR/history.sqlite"
  local gitdir index tree parent commit attempt message
  gitdir=$(git rev-parse --absolute-git-dir)
  index="${RUNNER_TEMP}/linkcheck-state.index"
  rm -f "$index"
  # A private index and the state dir as work tree: the caller's checkout, index and HEAD stay untouched.
  (cd "$STATE_DIR" && GIT_INDEX_FILE="$index" git --git-dir="$gitdir" --work-tree=. \
    add --all --force -- . ':(exclude)*-wal' ':(exclude)*-shm' ':(exclude)*.tmp')
  tree=$(GIT_INDEX_FILE="$index" git --git-dir="$gitdir" write-tree)
  rm -f "$index"
  export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-linkcheck}"
  export GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-41898282+github-actions[bot]@users.noreply.github.com}"
  export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME}"
  export GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}"
  message="linkcheck state after run ${GITHUB_RUN_ID:-local} of ${GITHUB_SHA:-HEAD}"
  parent="${RESTORED_COMMIT:-}"
  for ((attempt = 1; ; attempt++)); do
    if [[ -n "$parent" ]]; then
      commit=$(git commit-tree "$tree" -p "$parent" -m "$message")
    else
      commit=$(git commit-tree "$tree" -m "$message")  # the branch's first commit: an orphan
    fi
    if git push --quiet origin "${commit}:${ref}"; then
      say "state saved to branch $STATE_BRANCH at ${commit:0:12}"
      output commit "$commit"
      return
    fi
    if ((attempt >= attempts)); then
      say "::error::could not push the state to branch $STATE_BRANCH after $attempt attempts"
      exit 1
    fi
    # Another run pushed first: its commit becomes the parent and this run's state dir, the
    # newer one, replaces its tree.
    say "::notice::the branch $STATE_BRANCH moved while this run went on; pushing this run's state on top of it (attempt $((attempt + 1)))"
    sleep "$attempt"
    if branch_exists; then parent=$(fetch_branch); else parent=""; fi
  done
}

main() {
  cd "$GITHUB_WORKSPACE"
  mkdir -p "$STATE_DIR"
  case "${STATE_MODE}:$1" in
    branch:restore) use_token; restore_branch ;;
    branch:save) use_token; save_branch ;;
    artifact:restore) restore_artifact ;;
    artifact:save | none:save) ;;  # the artifact is uploaded by the action's next step
    none:restore) output expected false ;;
    *) say "::error::state must be branch, artifact or none, not '${STATE_MODE}'"; exit 2 ;;
  esac
}

main "$@"
