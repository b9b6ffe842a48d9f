#!/usr/bin/env bash
# Detection quality on a GPU machine: every (seed, row) of bench_quality.py as its own process, all in
# parallel (the demo-size models cannot fill one GPU), then one combined result (bench_quality.py --combine).
#
#   ROWS=conv_ae,conv_ae+pa SEEDS=0,1,2 OUT=bench_quality_gpu LIMIT_S=520 bash benchmarks/gpu_quality.sh [--set K=V ...]
#
# A process still running after LIMIT_S seconds is stopped and its row/seed left out (the combined result
# then fails with the missing ones named, and the parts that finished stay in benchmarks/results/).
# Logs: $LOGS (default /tmp/gpu_quality) or, on the device machine, $OUT_DIR.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
ROWS=${ROWS:?comma-separated rows of bench_quality.py}
SEEDS=${SEEDS:-0,1,2}
OUT=${OUT:-bench_quality_gpu}
LIMIT_S=${LIMIT_S:-520}
LOGS=${LOGS:-/tmp/gpu_quality}
mkdir -p "$LOGS"
parts=()
for seed in ${SEEDS//,/ }; do
  for row in ${ROWS//,/ }; do
    name="${OUT}_part_s${seed}_${row//+/_}"
    parts+=("$name")
    OMP_NUM_THREADS=2 PYTHONUNBUFFERED=1 timeout "$LIMIT_S" "$PY" benchmarks/bench_quality.py --seeds "$seed" \
      --methods "$row" --out "$name" --work "/tmp/gpu_quality_work/$name" "$@" > "$LOGS/$name.log" 2>&1 &
  done
done
wait
done_parts=()
for name in "${parts[@]}"; do
  if [ -f "benchmarks/results/$name.json" ]; then done_parts+=("$name"); else echo "not finished: $name"; fi
done
grep -h "mean scene-norm AUC" "$LOGS"/*.log
if "$PY" benchmarks/bench_quality.py --combine "$(IFS=,; echo "${done_parts[*]}")" --out "$OUT" "$@" \
    > "$LOGS/combine.log" 2>&1; then
  for name in "${done_parts[@]}"; do rm -f "benchmarks/results/$name.json" "benchmarks/results/$name.md"; done
fi
tail -40 "$LOGS/combine.log"
