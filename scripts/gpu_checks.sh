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

# Every GPU check of the accelerated backends, end to end, results written to one folder.
#
# Usage: scripts/gpu_checks.sh [quick|full] [OUTDIR]
#   quick (default): environment, GPU + backend tests, one engine build through the CLI, and
#                    the target benchmark (W32, 640x480 camera = 704x512 input, flip on, every
#                    backend and precision, PyTorch eager baseline in the same run)
#   full:            quick plus the whole benchmark grid (W32/W48, 640x480/1280x720, flip on/off)
# OUTDIR defaults to $OUT when set (device machine), else out/gpu_checks. Files written (at most
# 8, flat): env.txt pytest.txt build_engine.txt bench_target.txt bench_target.json
# bench_full.txt bench_full.json summary.txt.
#
# Runs from a source checkout without installing it (PYTHONPATH), needs no ROS and no network.
# Wheels found in .whl/ (e.g. tensorrt-cu13*, onnxruntime-gpu) are installed first into a
# private folder, for machines without a package index (see docs/backends.md).
set -u -o pipefail

MODE=${1:-quick}
OUT_DIR=${2:-${OUT:-out/gpu_checks}}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-python3}
cd "$ROOT" || exit 2
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

if compgen -G '.whl/*.whl' >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/logocap_site .whl/*.whl || { echo 'installing .whl/ failed' >&2; exit 2; }
  export PYTHONPATH=/tmp/logocap_site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
export LOGOCAP_CACHE_DIR=${LOGOCAP_CACHE_DIR:-/tmp/logocap_cache}
# No ROS node is started here; kept local anyway should a test start one.
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-77}

status=0
step() { echo "== $*" | tee -a "$OUT_DIR/summary.txt"; }
: > "$OUT_DIR/summary.txt"

step "environment -> env.txt"
{
  date -u
  nvidia-smi || echo 'nvidia-smi not available'
  "$PY" - <<'PYEOF'
import importlib
import torch
print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())
if torch.cuda.is_available():
    print('gpu', torch.cuda.get_device_name(), torch.cuda.get_device_capability())
for name in ('onnx', 'onnxruntime', 'tensorrt'):
    try:
        mod = importlib.import_module(name)
        extra = ''
        if name == 'onnxruntime':
            extra = ' providers=' + ','.join(mod.get_available_providers())
        print(name, mod.__version__ + extra)
    except ImportError as exc:
        print(name, 'MISSING', exc)
PYEOF
} > "$OUT_DIR/env.txt" 2>&1
grep -E '^(torch|gpu|onnx|onnxruntime|tensorrt) ' "$OUT_DIR/env.txt" | tee -a "$OUT_DIR/summary.txt"

step "tests (GPU parity, ONNX, engine cache, registry) -> pytest.txt"
"$PY" -m pytest -q -rs -p no:cacheprovider test/test_backends_gpu.py \
  test/test_backends_onnx.py test/test_backends_tensorrt.py test/test_backends_registry.py \
  > "$OUT_DIR/pytest.txt" 2>&1 || status=1
tail -n 15 "$OUT_DIR/pytest.txt" | tee -a "$OUT_DIR/summary.txt"

step "engine build through the CLI (W32, 480x640 camera, FP16) -> build_engine.txt"
if "$PY" -c 'import tensorrt' 2>/dev/null; then
  /usr/bin/time -v "$PY" -m logocap_ros.backends.build_engine --arch w32 --weights random \
    --image-size 480x640 > "$OUT_DIR/build_engine.txt" 2>&1 || status=1
  "$PY" -m logocap_ros.backends.build_engine --arch w32 --weights random \
    --image-size 480x640 >> "$OUT_DIR/build_engine.txt" 2>&1 || status=1   # must reuse
  grep -E 'engine:|built in|using cached|Elapsed|Maximum resident|error' \
    "$OUT_DIR/build_engine.txt" | tee -a "$OUT_DIR/summary.txt"
else
  echo 'tensorrt not importable: skipped (put TensorRT wheels in .whl/)' \
    | tee "$OUT_DIR/build_engine.txt" | tee -a "$OUT_DIR/summary.txt"
fi

step "target benchmark (W32, 704x512, flip on) -> bench_target.txt/.json"
"$PY" benchmarks/bench_backends.py --device cuda --archs w32 --images 640x480 --flip on \
  --runs "${RUNS:-100}" --warmup 10 --json "$OUT_DIR/bench_target.json" \
  > "$OUT_DIR/bench_target.txt" 2>&1 || status=1
grep -E '^\|' "$OUT_DIR/bench_target.txt" | tee -a "$OUT_DIR/summary.txt"

if [ "$MODE" = full ]; then
  step "full benchmark grid -> bench_full.txt/.json"
  "$PY" benchmarks/bench_backends.py --device cuda --runs "${RUNS:-30}" --warmup 5 \
    --json "$OUT_DIR/bench_full.json" > "$OUT_DIR/bench_full.txt" 2>&1 || status=1
  grep -E '^\|' "$OUT_DIR/bench_full.txt" | tee -a "$OUT_DIR/summary.txt"
fi

step "done, status $status (results in $OUT_DIR)"
exit $status
