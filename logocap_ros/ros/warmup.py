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

"""Configure-time warm-up: run the estimator once on a blank image of the camera's size.

The first call for a new input shape can take long (ONNX export, TensorRT or CUDA kernel
selection); doing it at configure keeps that out of the first real frame. While it runs, a
heartbeat thread calls ``tick`` once a second (the node publishes "warming up" diagnostics
from it, since the executor is busy with the transition). A backend that prepares the size in
the background (:class:`BackendBusy`, e.g. a TensorRT engine build) is waited for here: at
configure, unlike in the frame thread, waiting is the point.
"""

import threading
import time
from typing import Any, Callable, Tuple

from logocap_ros.backends.base import BackendBusy
import numpy as np


def run_warmup(estimator: Callable[..., Any], hw: Tuple[int, int],
               tick: Callable[[float], None], period_s: float = 1.0) -> float:
    """Run ``estimator`` on a black ``(h, w, 3)`` BGR image; return the seconds it took.

    :param estimator: ``estimator(image_bgr, color='bgr')``.
    :param hw: ``(height, width)`` in px.
    :param tick: called with the elapsed seconds right away and every ``period_s`` until done.
    """
    done = threading.Event()
    start = time.monotonic()

    def heartbeat() -> None:
        while not done.wait(period_s):
            tick(time.monotonic() - start)

    tick(0.0)
    thread = threading.Thread(target=heartbeat, name='logocap_warmup_heartbeat', daemon=True)
    thread.start()
    try:
        image = np.zeros((int(hw[0]), int(hw[1]), 3), np.uint8)
        while True:
            try:
                estimator(image, color='bgr')
                break
            except BackendBusy:
                time.sleep(min(period_s, 0.2))
    finally:
        done.set()
        thread.join(5.0)
    return time.monotonic() - start
