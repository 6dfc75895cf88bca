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

"""The node's health for ``/diagnostics``: level and message from its counters (no rclpy).

:class:`HealthMonitor` is fed the :meth:`NodeStats.snapshot` values once a second and says:

* ``inactive`` / ``unconfigured`` (OK) outside the active state, so the status never goes stale;
* ``warming up`` (OK) during the configure-time warm-up and while the very first frame is
  being processed (the backend may be exporting or compiling: 10-25 s on a CPU);
* ``no images received for N s`` (WARN) when the input is silent for the warn period;
* ``rejecting input: <reason> ...`` (WARN) when images were rejected within the warn period;
* ``no frame processed for N s`` (WARN) when images arrive but nothing comes out for longer
  than the warn period *and* :data:`STUCK_FACTOR` times the recent frame time (a model that
  needs 11 s per frame is slow, not stuck);
* ``processing`` (OK) otherwise.

A warn period of 0 (``no_image_warn_s:=0``) turns both silence warnings off; rejections are
then counted over :data:`DEFAULT_WARN_S`.
"""

from collections import deque
from dataclasses import dataclass
import socket
import sys
from typing import Deque, Dict, Mapping, Optional, Tuple

OK, WARN, ERROR = 0, 1, 2
#: The window [s] of the rejection count when the warn period is 0 (off).
DEFAULT_WARN_S = 5.0
#: A frame is "stuck" once it takes this many times the longest recent frame time.
STUCK_FACTOR = 3.0


@dataclass(frozen=True)
class Activity:
    """What the node is doing, besides its counters.

    :param state: lifecycle state label: ``unconfigured``, ``inactive`` or ``active``.
    :param warming_up: what a configure-time warm-up is doing, None when none runs.
    :param since_input_s: seconds since the last image (since activation when none came).
    :param since_output_s: seconds since the last processed image, None if none yet.
    :param busy_s: seconds the worker has been on its current image, None when idle.
    :param topic: the resolved input topic.
    :param frame_s: the longest of the recent processing times [s], None before the first.
    """

    state: str
    warming_up: Optional[str] = None
    since_input_s: float = 0.0
    since_output_s: Optional[float] = None
    busy_s: Optional[float] = None
    topic: str = ''
    frame_s: Optional[float] = None


class HealthMonitor:
    """Turn counter snapshots into ``(level, message)`` (see the module docstring).

    :param warn_s: the warn period [s] (the node's ``no_image_warn_s``; 0 = no silence
        warnings).
    """

    def __init__(self, warn_s: float = 5.0) -> None:
        self.warn_s = warn_s
        self._history: Deque[Tuple[float, Dict[str, int]]] = deque()

    @property
    def warn_s(self) -> float:
        """Return the warn period in seconds (0 = the silence warnings are off)."""
        return self._warn_s

    @warn_s.setter
    def warn_s(self, value: float) -> None:
        self._warn_s = float(value) if value and value > 0 else 0.0
        self._window_s = self._warn_s or DEFAULT_WARN_S

    def assess(self, now: float, values: Mapping[str, object],
               activity: Activity) -> Tuple[int, str]:
        """Return the diagnostic level (OK/WARN) and a one-line message.

        :param now: monotonic time [s].
        :param values: :meth:`NodeStats.snapshot` (``frames_*``, ``bad_input.*``, ...).
        :param activity: the lifecycle state and timings.
        """
        counts = {k: int(v) for k, v in values.items()
                  if k.startswith('bad_input.') or k in ('frames_received', 'frames_processed')}
        self._history.append((now, counts))
        while len(self._history) > 1 and self._history[1][0] <= now - self._window_s:
            self._history.popleft()
        if activity.warming_up:
            return OK, f'warming up: {activity.warming_up}'
        if activity.state != 'active':
            return OK, f'{activity.state}: not processing (lifecycle state {activity.state})'
        processed = counts.get('frames_processed', 0)
        if processed == 0 and activity.busy_s is not None:
            return OK, (f'warming up: first frame in progress for {activity.busy_s:.0f} s '
                        '(the backend may be exporting or compiling the model; see the log)')
        if self._warn_s and activity.since_input_s > self._warn_s:
            return WARN, (f'no images received for {activity.since_input_s:.0f} s on '
                          f'{activity.topic}')
        rejected = self._recent_rejections(counts)
        if rejected:
            total = sum(rejected.values())
            reasons = ', '.join(f'{reason} x{n}' for reason, n in sorted(rejected.items()))
            return WARN, (f'rejecting input: {total} image(s) in the last {self._window_s:.0f} s '
                          f'({reasons}); see the log for the fix')
        idle, limit = activity.since_output_s, self._stuck_after_s(activity.frame_s)
        if limit and processed and idle is not None and idle > limit and (
                activity.busy_s is None or activity.busy_s > limit):
            took = (f'; recent frames took up to {activity.frame_s:.1f} s'
                    if activity.frame_s else '')
            return WARN, f'no frame processed for {idle:.0f} s although images arrive{took}'
        return OK, 'processing'

    def _stuck_after_s(self, frame_s: Optional[float]) -> float:
        """Seconds without output that mean "stuck": 0 when the warn period is off."""
        if not self._warn_s:
            return 0.0
        return max(self._warn_s, STUCK_FACTOR * (frame_s or 0.0))

    def _recent_rejections(self, counts: Mapping[str, int]) -> Dict[str, int]:
        """Return ``{reason: rejections}`` within the warn period."""
        oldest = self._history[0][1]
        return {key[len('bad_input.'):]: counts[key] - oldest.get(key, 0) for key in counts
                if key.startswith('bad_input.') and counts[key] > oldest.get(key, 0)}


def hardware_id(device: str) -> str:
    """Return ``<host>/<device>``, with the GPU's name for a CUDA device.

    :param device: e.g. ``cpu`` or ``cuda:0``.
    """
    name = device or 'unknown'
    torch = sys.modules.get('torch')  # only when the backend already loaded it
    if device.startswith('cuda') and torch is not None:
        try:
            index = int(device.partition(':')[2] or 0)
            name = f'{device} ({torch.cuda.get_device_name(index)})'
        except Exception:  # noqa: BLE001 - the name is informative only
            pass
    return f'{socket.gethostname()}/{name}'


def status_name(fully_qualified_node_name: str) -> str:
    """Return the status name, e.g. ``/robot/logocap_node: pose estimation``."""
    return f'{fully_qualified_node_name}: pose estimation'
