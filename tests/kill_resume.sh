#!/bin/sh
# Kill test: `retrograd train` killed with SIGKILL at several moments (while
# loading, training, saving), then resumed until it finishes, must end exactly
# where an uninterrupted run ends: the same best.safetensors byte for byte,
# the same evaluation of last.safetensors, a whole metrics.csv, and no
# temporary file left behind. Where the kills land depends on the machine's
# speed; the checks hold wherever they land.
# Usage: kill_resume.sh RETROGRAD WORKDIR
set -eu
cli=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1  # one thread: the same sums in every process
args="train --epochs 16 --limit 1200 --test-limit 100 --batch 32"

"$cli" $args --out "$work/straight" > "$work/straight.log" 2>&1

# Each round resumes, waits for the next epoch line (printed after that
# epoch's files are written), then kills after a delay that walks across the
# following epoch, its saves included. The first round is killed while loading.
kills=0
round=0
for delay in load 0 0.01 0.02 0.03 0.045 0.06 0.08 0.1 0.13; do
  round=$((round + 1))
  log="$work/killed-$round.log"
  "$cli" $args --out "$work/killed" --resume > "$log" 2>&1 &
  pid=$!
  if [ "$delay" = load ]; then
    sleep 0.3
  else
    waited=0
    while ! grep -q '^epoch ' "$log" 2>/dev/null && kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 6000 ]; do
      sleep 0.01
      waited=$((waited + 1))
    done
    sleep "$delay"
  fi
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
done
"$cli" $args --out "$work/killed" --resume > "$work/final.log" 2>&1 || {
  echo "kill_resume: the final resume failed:"; cat "$work/final.log"; exit 1; }

fail() { echo "kill_resume: $*"; exit 1; }
cmp "$work/straight/best.safetensors" "$work/killed/best.safetensors" ||
  fail "best.safetensors differs from the uninterrupted run's"
"$cli" eval --checkpoint "$work/straight/last.safetensors" | tail -1 | sed 's/^[^(]*//' > "$work/straight.eval"
"$cli" eval --checkpoint "$work/killed/last.safetensors" | tail -1 | sed 's/^[^(]*//' > "$work/killed.eval"
cmp "$work/straight.eval" "$work/killed.eval" || fail "last.safetensors evaluates differently: $(cat "$work/killed.eval")"
[ "$(cut -d, -f1 "$work/killed/metrics.csv" | tr '\n' ' ')" = "epoch 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 " ] ||
  fail "metrics.csv does not list epochs 1 to 16: $(cut -d, -f1 "$work/killed/metrics.csv" | tr '\n' ' ')"
leftover=$(find "$work/killed" -name '*.tmp-*')
[ -z "$leftover" ] || fail "temporary files left: $leftover"
echo "kill_resume: $kills kills, then the same results as an uninterrupted run"
echo "rounds that resumed: $(cat "$work"/killed-*.log | grep -c 'resuming after' || true)"
echo "temporary files removed: $(cat "$work"/killed-*.log "$work/final.log" | grep -c 'temporary file' || true)"
echo "best.safetensors rewritten: $(cat "$work"/killed-*.log "$work/final.log" | grep -c 'rewrote' || true)"
