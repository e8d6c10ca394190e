#!/usr/bin/env bash
# mpirun for the tests: mpirun.sh N PROGRAM ARGS... runs N processes of one
# thread each on however many cores there are (--oversubscribe), adding
# --allow-run-as-root only when run as root. $MPIRUN overrides the launcher.
set -euo pipefail
np=$1
shift
flags=(--oversubscribe)
if [[ "$(id -u)" -eq 0 ]]; then flags+=(--allow-run-as-root); fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
exec "${MPIRUN:-mpirun}" "${flags[@]}" -np "$np" "$@"
