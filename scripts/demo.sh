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

# make demo: LOGO-CAP pose estimation on one image, on the CPU, with deterministic random
# (untrained) weights, so it needs no download. The skeletons are therefore meaningless; the
# demo shows the whole path (checkpoint loading, inference, drawing, JSON output) working.
# With real weights: logocap-weights download w32, then pass the checkpoint to logocap-infer.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

if ! python -c 'import logocap_ros.tools.infer, logocap_ros.core.checkpoint' 2>/dev/null; then
  echo 'demo: logocap_ros.tools.infer is not available in this checkout yet' >&2
  exit 1
fi

OUT=out/demo
CKPT="${OUT}/random_w32.pth"
mkdir -p "${OUT}"

# Image: the first one in test/data if there is any, else a synthetic 480x640 scene.
IMAGE="$(find test/data -maxdepth 1 \( -name '*.jpg' -o -name '*.png' \) 2>/dev/null \
         | LC_ALL=C sort | head -n 1 || true)"
if [ -z "${IMAGE}" ]; then
  IMAGE="${OUT}/synthetic.png"
fi

python - "${CKPT}" "${IMAGE}" <<'PY'
import os
import sys

import cv2
import numpy as np

from logocap_ros.core.checkpoint import save_random_checkpoint

ckpt, image = sys.argv[1], sys.argv[2]
if not os.path.exists(ckpt):
    save_random_checkpoint(ckpt, arch='w32')
    print(f'demo: wrote deterministic random checkpoint {ckpt}')
if not os.path.exists(image):
    # Two stick figures on a smooth background: deterministic, no data files needed.
    yy, xx = np.mgrid[0:480, 0:640]
    img = np.dstack([(xx * 0.3) % 255, (yy * 0.4) % 255, ((xx + yy) * 0.2) % 255])
    img = img.astype(np.uint8)
    for cx in (200, 440):
        cv2.circle(img, (cx, 120), 28, (40, 40, 200), -1)
        for (x0, y0), (x1, y1) in [((0, 150), (0, 300)), ((0, 180), (-70, 260)),
                                   ((0, 180), (70, 260)), ((0, 300), (-50, 430)),
                                   ((0, 300), (50, 430))]:
            cv2.line(img, (cx + x0, y0), (cx + x1, y1), (30, 160, 30), 14)
    cv2.imwrite(image, img)
    print(f'demo: wrote synthetic image {image}')
PY

echo "demo: running logocap-infer on ${IMAGE}"
python -m logocap_ros.tools.infer --weights "${CKPT}" --arch w32 --device cpu \
  --input-size 256 --out "${OUT}/results.json" --vis "${OUT}" "${IMAGE}"
echo "demo: results (drawn image and JSON) are in $(pwd)/${OUT}/"
ls -l "${OUT}"
