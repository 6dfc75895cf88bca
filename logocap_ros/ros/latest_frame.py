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

"""A one-slot mailbox that keeps only the newest frame, and the worker thread draining it."""

import threading
import time
from typing import Any, Callable, Optional


class LatestFrameSlot:
    """Thread-safe single slot: ``put`` replaces an unread item and counts it as dropped.

    The producer (the subscription callback) never blocks; the consumer (the inference
    thread) always gets the newest item, so no backlog can build up.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Any = None
        self._full = False
        self._closed = False
        self.dropped = 0

    def put(self, item: Any) -> bool:
        """Store ``item``; return True when an unread older item was dropped for it."""
        with self._cond:
            dropped = self._full
            if dropped:
                self.dropped += 1
            self._item, self._full = item, True
            self._cond.notify()
            return dropped

    def get(self, timeout: Optional[float] = None) -> Any:
        """Take the newest item; wait up to ``timeout`` s. Return None on timeout or close."""
        with self._cond:
            self._cond.wait_for(lambda: self._full or self._closed, timeout)
            if not self._full:
                return None
            item, self._item, self._full = self._item, None, False
            return item

    def close(self) -> None:
        """Wake the consumer and make further ``get`` calls return None when empty."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """Return True after :meth:`close`."""
        return self._closed


class FrameWorker:
    """Run ``process(item)`` on a daemon thread for every newest item of a slot.

    Exceptions from ``process`` are passed to ``on_error`` and the loop continues.
    """

    def __init__(self, process: Callable[[Any], None],
                 on_error: Callable[[BaseException], None], name: str = 'logocap_worker'):
        self.slot = LatestFrameSlot()
        self._process = process
        self._on_error = on_error
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._finished = threading.Event()

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Close the slot and wait up to ``timeout`` s for the thread (the frame in progress).

        A ``KeyboardInterrupt`` during the wait (a second Ctrl-C) is held back until the thread
        has finished, then re-raised: the caller never goes on while the thread still runs.
        (``Thread.join`` is not used: on Python 3.11 an interrupted join marks the thread as
        stopped while it still runs.)
        """
        self.slot.close()
        if self._thread.ident is None or threading.current_thread() is self._thread:
            return
        deadline = time.monotonic() + timeout
        interrupted: Optional[BaseException] = None
        while not self._finished.is_set() and time.monotonic() < deadline:
            try:
                self._finished.wait(max(0.0, deadline - time.monotonic()))
            except KeyboardInterrupt as exc:
                interrupted = exc
        if interrupted is not None:
            raise interrupted

    @property
    def running(self) -> bool:
        """Return True from :meth:`start` until the thread has left its loop."""
        return self._thread.ident is not None and not self._finished.is_set()

    def _run(self) -> None:
        try:
            while not self.slot.closed:
                item = self.slot.get(timeout=0.5)
                if item is None:
                    continue
                try:
                    self._process(item)
                except Exception as exc:  # noqa: BLE001 - a bad frame must not end the loop
                    self._on_error(exc)
        finally:
            self._finished.set()
