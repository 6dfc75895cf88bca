#!/usr/bin/env bash
# Copyright 2026 The logocap_ros Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

# Every GPU check of the accelerated backends and the GPU benchmark, results in one folder.
#
# Usage: scripts/gpu_checks.sh [quick|full] [OUTDIR] [--require tensorrt|onnxruntime ...]
#   quick (default): parity checks (PyTorch CUDA FP32/FP16, CUDA graph = eager, no host sync,
#                    device preprocessing = OpenCV, estimator on the GPU; ONNX Runtime CUDA and
#                    TensorRT FP32/FP16/both dynamic-convolution forms/engine reuse where
#                    installed) and the benchmark at the target setting (W32, 640x480 camera =
#                    704x512 input, flip on/off)
#   full:            quick plus 1280x720 and torch.compile rows
# OUTDIR defaults to $OUT when set (device machine), else out/gpu_checks. Files: env.txt,
# summary.md (one table: backend, precision, input, flip, median/p95 ms, speed-up vs PyTorch
# eager FP32, parity vs the CPU in px), results.json, gpu_checks.log (raw log), stdout.txt,
# stderr.txt.
#
# Needs only Python 3 with PyTorch (CUDA), numpy, OpenCV, onnx and onnxruntime: no pytest, no
# ROS, no package index; runs from the source tree. A missing TensorRT (or ONNX Runtime CUDA
# provider) is reported as "unavailable" and does not fail the PyTorch checks, unless it was
# asked for with --require (or REQUIRE="tensorrt ..."): then the run exits 3. Exit status:
# 0 all checks passed, 1 a check failed, 3 a check that was asked for could not run (no CUDA
# GPU, required package missing, time budget), 124 the run hit its time limit (TIME_LIMIT_S,
# default 470 s: the whole script stays under 8 minutes).
# Wheels found in .whl/ are installed first into a private folder (see docs/backends.md).
set -u -o pipefail

MODE=quick
OUT_DIR=${OUT:-out/gpu_checks}
REQUIRE_LIST=${REQUIRE:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --require) shift; REQUIRE_LIST="$REQUIRE_LIST ${1:?--require needs a name}" ;;
    quick|full) MODE=$1 ;;
    -h|--help) sed -n '16,/^set -u/p' "$0" | sed '$d'; exit 0 ;;
    *) OUT_DIR=$1 ;;
  esac
  shift
done
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-python3}
cd "$ROOT" || exit 2
mkdir -p "$OUT_DIR" || exit 2
OUT_DIR=$(cd "$OUT_DIR" && pwd)

if compgen -G '.whl/*.whl' >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/logocap_site .whl/*.whl || { echo 'installing .whl/ failed' >&2; exit 2; }
  export PYTHONPATH=/tmp/logocap_site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
export LOGOCAP_CACHE_DIR=${LOGOCAP_CACHE_DIR:-/tmp/logocap_cache}

{
  date -u
  nvidia-smi 2>&1 || echo 'nvidia-smi not available'
} > "$OUT_DIR/env.txt"

# shellcheck disable=SC2086  # REQUIRE_LIST is a list of words
timeout "${TIME_LIMIT_S:-470}" "$PY" benchmarks/gpu_checks.py --out "$OUT_DIR" --mode "$MODE" \
  --require torch $REQUIRE_LIST --budget-s "${BUDGET_S:-380}" --runs "${RUNS:-50}" \
  ${GPU_CHECKS_ARGS:-} > "$OUT_DIR/stdout.txt" 2> "$OUT_DIR/stderr.txt"
status=$?
if [ ! -s "$OUT_DIR/summary.md" ]; then
  tail -n 5 "$OUT_DIR/stderr.txt" >&2    # e.g. torch missing: say why, not just the status
fi
if [ "$status" -eq 124 ]; then
  echo "gpu_checks: error: stopped after ${TIME_LIMIT_S:-470} s; partial results in" \
    "$OUT_DIR/summary.md" >&2
fi
cat "$OUT_DIR/summary.md" 2>/dev/null
echo "gpu_checks: exit status $status (results in $OUT_DIR)"
exit "$status"
