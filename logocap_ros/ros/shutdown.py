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

"""Orderly process exit on SIGINT/SIGTERM for the package's executables.

rclpy's default signal handler shuts the ROS context down the moment the first signal arrives,
while a worker thread may still publish (``Failed to publish: publisher's context is invalid``,
``Failed to publish log message to rosout``), and a second signal (Ctrl-C in a terminal reaches
every process of the group, and ``ros2 launch`` forwards one more) then raises
``KeyboardInterrupt`` in the middle of the cleanup.

Here rclpy is initialised without its handlers (:func:`init_ros`) and :class:`ExitRequest`
takes over: during startup a signal aborts it (``KeyboardInterrupt``, so a long model load can
be interrupted); once the process spins, a signal only asks the spin loop to return. The
caller then stops its threads, destroys its node and shuts rclpy down, in that order, and
exits with code 0; from the start of that cleanup the signals are ignored (``SIG_IGN``, which
also holds while the interpreter exits: Python puts back the default handler, which would
end the process with -2, only for signals that had a Python handler).
"""

import signal
import threading
from types import FrameType
from typing import Any, Callable, Dict, List, Optional, Sequence

import rclpy
from rclpy.signals import SignalHandlerOptions

#: Signals that end a node process (Ctrl-C, and what ``ros2 launch`` sends after a timeout).
EXIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ExitRequest:
    """Turns exit signals into one stop request (see the module docstring).

    Phases: ``starting`` (a signal raises ``KeyboardInterrupt``), ``running`` (a signal sets
    :attr:`requested`), ``stopping`` (signals are ignored). Use from the main thread only.
    """

    def __init__(self, signals: Sequence[int] = EXIT_SIGNALS) -> None:
        self._signals = tuple(signals)
        self._previous: Dict[int, Any] = {}
        self._event = threading.Event()
        self.phase = 'starting'

    def install(self) -> 'ExitRequest':
        """Install the handlers (main thread only); return self."""
        for signum in self._signals:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def restore(self) -> None:
        """Put back the handlers that were installed before :meth:`install`."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    @property
    def requested(self) -> bool:
        """Return True once an exit signal arrived."""
        return self._event.is_set()

    def running(self) -> None:
        """Enter the ``running`` phase: a signal now only sets :attr:`requested`."""
        if self.phase == 'starting':
            self.phase = 'running'

    def stopping(self) -> None:
        """Enter the ``stopping`` phase: the signals are ignored from now on (``SIG_IGN``)."""
        self.phase = 'stopping'
        for signum in self._signals:
            signal.signal(signum, signal.SIG_IGN)

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        self._event.set()
        if self.phase == 'starting':
            self.phase = 'stopping'
            raise KeyboardInterrupt


def init_ros(args: Optional[List[str]]) -> None:
    """``rclpy.init`` without rclpy's signal handlers (:class:`ExitRequest` handles signals)."""
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)


def spin_until_exit(executor: Any, request: ExitRequest,
                    done: Callable[[], bool] = lambda: False, period_s: float = 0.1) -> None:
    """Spin ``executor`` until an exit signal, ``done()``, or the context is shut down.

    The executor waits at most ``period_s`` at a time, so a signal is acted on within that
    time even when nothing else happens.
    """
    request.running()
    context = executor.context
    while not request.requested and not done() and context.ok():
        executor.spin_once(timeout_sec=period_s)
