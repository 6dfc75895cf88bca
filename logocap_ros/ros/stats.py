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

"""Node statistics for diagnostics: rates, latency, drop and bad-input counters (no rclpy)."""

from collections import Counter, deque
import threading
import time
from typing import Callable, Deque, Dict, Optional


class RateMeter:
    """Events per second over a window that stretches for slow event streams.

    The rate is measured over the events of the last ``window_s`` seconds; when fewer than
    ``min_events`` fall in it (a model that needs 11 s per frame), over the last
    ``min_events`` events instead, looking back at most ``max_window_s``. It is 0.0 once
    nothing happened for longer than both ``window_s`` and twice the measured interval (a
    stopped stream), and with fewer than two events.

    :param window_s: normal length of the window [s].
    :param clock: monotonic clock in seconds (injectable for tests).
    :param min_events: events the window is stretched to include.
    :param max_window_s: events older than this are forgotten [s].
    """

    def __init__(self, window_s: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 min_events: int = 3, max_window_s: float = 120.0):
        self._window = window_s
        self._clock = clock
        self._min_events = max(2, int(min_events))
        self._max_window = max(window_s, max_window_s)
        self._times: Deque[float] = deque()

    @property
    def window_s(self) -> float:
        """Return the normal window length [s]."""
        return self._window

    def tick(self) -> None:
        """Record one event now."""
        self._times.append(self._clock())
        self._trim()

    def rate(self) -> float:
        """Return events per second (see the class docstring)."""
        self._trim()
        now = self._clock()
        recent = [t for t in self._times if t >= now - self._window]
        if len(recent) < self._min_events:
            recent = list(self._times)[-self._min_events:]
        if len(recent) < 2 or recent[-1] <= recent[0]:
            return 0.0
        interval = (recent[-1] - recent[0]) / (len(recent) - 1)
        if now - recent[-1] > max(self._window, 2.0 * interval):
            return 0.0
        return 1.0 / interval

    def _trim(self) -> None:
        limit = self._clock() - self._max_window
        while self._times and self._times[0] < limit:
            self._times.popleft()


class RateLimitedLog:
    """Allow one message per key per ``period_s``; count what was suppressed.

    :param period_s: minimum time between two messages with the same key [s].
    :param clock: monotonic clock in seconds.
    """

    def __init__(self, period_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self._period = period_s
        self._clock = clock
        self._last: Dict[str, float] = {}
        self._suppressed: Counter = Counter()

    def allow(self, key: str) -> Optional[int]:
        """Return None when suppressed, else the number suppressed since the last one."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._period:
            self._suppressed[key] += 1
            return None
        self._last[key] = now
        return self._suppressed.pop(key, 0)


class NodeStats:
    """Thread-safe counters and meters shared by the callback and worker threads."""

    def __init__(self, window_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self.input_rate = RateMeter(window_s, clock)
        self.output_rate = RateMeter(window_s, clock)
        self._latencies: Deque[float] = deque(maxlen=100)
        self._processing: Deque[float] = deque(maxlen=100)
        self.received = 0
        self.processed = 0
        self.dropped = 0
        self.dropped_because: Counter = Counter()
        self.bad_input: Counter = Counter()
        self.last_input_time: Optional[float] = None
        self.last_output_time: Optional[float] = None
        self.busy_since: Optional[float] = None

    def on_input(self) -> None:
        """Record one received image."""
        with self._lock:
            self.received += 1
            self.last_input_time = self._clock()
            self.input_rate.tick()

    def on_dropped(self, reason: Optional[str] = None) -> None:
        """Count one image replaced by a newer one before the model got to it.

        :param reason: set when the worker took the image but the backend could not run it
            (e.g. ``building_engine``); also counted as ``frames_dropped.<reason>``.
        """
        with self._lock:
            self.dropped += 1
            if reason is not None:
                self.dropped_because[reason] += 1
                self.busy_since = None

    def on_started(self) -> None:
        """Record that the worker started on an image."""
        with self._lock:
            self.busy_since = self._clock()

    def on_processed(self, latency_s: float, processing_s: float) -> None:
        """Record one processed image, its stamp-to-publish latency and its processing time."""
        with self._lock:
            self.processed += 1
            self.output_rate.tick()
            self._latencies.append(latency_s)
            self._processing.append(processing_s)
            self.last_output_time = self._clock()
            self.busy_since = None

    def on_bad_input(self, reason: str) -> None:
        """Count one rejected image under ``reason``."""
        with self._lock:
            self.bad_input[reason] += 1
            self.busy_since = None

    def busy_seconds(self) -> Optional[float]:
        """Return how long the worker has been on its current image, None when idle."""
        with self._lock:
            since = self.busy_since
        return None if since is None else self._clock() - since

    def recent_frame_seconds(self, frames: int = 10) -> Optional[float]:
        """Return the longest processing time [s] of the last ``frames`` frames (None: none)."""
        with self._lock:
            recent = list(self._processing)[-frames:]
        return max(recent) if recent else None

    def seconds_since_output(self) -> Optional[float]:
        """Return seconds since the last processed image, None if none was processed yet."""
        with self._lock:
            last = self.last_output_time
        return None if last is None else self._clock() - last

    def _output_rate(self, proc: list) -> float:
        """Frames per second out; from the one processing time while only one frame is done."""
        rate = self.output_rate.rate()
        if rate or self.processed != 1 or not proc or proc[0] <= 0 \
                or self.last_output_time is None:
            return rate
        since = self._clock() - self.last_output_time
        stale = since > max(self.output_rate.window_s, 2.0 * proc[0])
        return 0.0 if stale else 1.0 / proc[0]

    def seconds_since_input(self) -> Optional[float]:
        """Return seconds since the last image, None if none arrived yet."""
        with self._lock:
            last = self.last_input_time
        return None if last is None else self._clock() - last

    def snapshot(self) -> Dict[str, object]:
        """Return a flat dict of the current values (rates in Hz, times in ms).

        The counters count since the node started; deactivate/activate does not reset them.
        After the first processed frame (no interval measured yet), the processing rate is
        1 / that frame's processing time until it goes stale.
        """
        with self._lock:
            lat = sorted(self._latencies)
            proc = list(self._processing)
            values: Dict[str, object] = {
                'input_rate_hz': self.input_rate.rate(),
                'processing_rate_hz': self._output_rate(proc),
                'latency_ms_mean': 1e3 * sum(lat) / len(lat) if lat else float('nan'),
                'latency_ms_max': 1e3 * lat[-1] if lat else float('nan'),
                'processing_ms_mean': 1e3 * sum(proc) / len(proc) if proc else float('nan'),
                'frames_received': self.received,
                'frames_processed': self.processed,
                'frames_dropped': self.dropped,
                'bad_input_total': sum(self.bad_input.values()),
            }
            for reason, count in sorted(self.dropped_because.items()):
                values[f'frames_dropped.{reason}'] = count
            for reason, count in sorted(self.bad_input.items()):
                values[f'bad_input.{reason}'] = count
        return values
