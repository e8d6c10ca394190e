#!/usr/bin/env bash
# expect_failure.sh SECONDS PATTERN COMMAND...: passes when COMMAND exits
# non-zero within SECONDS (every rank stopped, none hung) and its output
# matches the extended regular expression PATTERN.
set -uo pipefail
limit=$1 pattern=$2
shift 2
start=$(date +%s)
output=$(timeout --kill-after=5 "$limit" "$@" 2>&1)
status=$?
elapsed=$(($(date +%s) - start))
printf '%s\n' "$output"
echo "expect_failure: exit status $status after ${elapsed}s"
if ((status == 124 || status == 137)); then echo "expect_failure: still running after ${limit}s (a hang)"; exit 1; fi
if ((status == 0)); then echo "expect_failure: exited 0, expected a failure"; exit 1; fi
if ! grep -Eq -- "$pattern" <<<"$output"; then echo "expect_failure: no line matches /$pattern/"; exit 1; fi
