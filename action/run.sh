#!/usr/bin/env bash
# The GitHub Action's run step (#19), a script so that it can be tested outside Actions.
# Runs `pbideploy plan` or `pbideploy apply` and reports to the runner: outputs `exitcode`,
# `changes` (plan only), `plan-file` and `markdown` (the Markdown plan, for the PR comment),
# and (written by pbideploy itself when GITHUB_STEP_SUMMARY is set) the job summary. A plan with changes (exit code 2) is a success;
# an error (exit code 1) fails the step after the outputs are written.
#
# Environment: PBIDEPLOY_COMMAND (plan | apply), PBIDEPLOY_MANIFEST, PBIDEPLOY_ENVIRONMENT,
# PBIDEPLOY_PLAN_FILE (plan: where to save it; apply: the saved plan to apply),
# PBIDEPLOY_ARGS (extra flags, split on spaces, e.g. "--auth github-oidc"),
# GITHUB_OUTPUT, RUNNER_TEMP (set by the runner).
set -euo pipefail

command="${PBIDEPLOY_COMMAND:-}"
manifest="${PBIDEPLOY_MANIFEST:-pbideploy.yaml}"
plan_file="${PBIDEPLOY_PLAN_FILE:-}"
out="${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
args=(-f "$manifest")
if [ -n "${PBIDEPLOY_ENVIRONMENT:-}" ]; then args+=(--env "$PBIDEPLOY_ENVIRONMENT"); fi
read -r -a extra <<<"${PBIDEPLOY_ARGS:-}"

case "$command" in
  plan)
    markdown="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/pbideploy-plan.md"
    if [ -n "$plan_file" ]; then args+=(--out "$plan_file"); fi
    set +e
    pbideploy plan "${args[@]}" "${extra[@]}" --detailed-exitcode --format markdown >"$markdown"
    code=$?
    set -e
    echo "exitcode=$code" >>"$out"
    case "$code" in
      0) echo "changes=false" >>"$out" ;;
      2) echo "changes=true" >>"$out" ;;
    esac
    echo "plan-file=$plan_file" >>"$out"
    echo "markdown=$markdown" >>"$out"
    if [ "$code" -ne 0 ] && [ "$code" -ne 2 ]; then exit "$code"; fi
    ;;
  apply)
    set +e
    if [ -n "$plan_file" ]; then
      pbideploy apply "$plan_file" "${args[@]}" "${extra[@]}" --auto-approve
    else
      pbideploy apply "${args[@]}" "${extra[@]}" --auto-approve
    fi
    code=$?
    set -e
    echo "exitcode=$code" >>"$out"
    echo "plan-file=$plan_file" >>"$out"
    exit "$code"
    ;;
  "") ;; # install only
  *)
    echo "error: input 'command' must be plan or apply (or empty to install only), got '$command'" >&2
    exit 2
    ;;
esac
