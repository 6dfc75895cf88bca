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

"""Forward the library's Python ``logging`` records to the node's ROS logger.

The backends and tools log through ``logging.getLogger('logocap_ros....')`` (e.g. "exporting
LOGO-CAP to ONNX ... one-time step"). While the node runs, :func:`install` routes every record
of the ``logocap_ros`` logger tree at INFO and above to the node's logger, so the lines carry
the node's name, reach ``/rosout`` and appear once (not also on Python's stderr fallback).
"""

import logging
from typing import Any

ROOT_LOGGER = 'logocap_ros'


class RosLogHandler(logging.Handler):
    """A ``logging.Handler`` writing to an rclpy logger (``debug``/``info``/``warning``/...).

    :param ros_logger: e.g. ``node.get_logger()``.
    """

    def __init__(self, ros_logger: Any) -> None:
        super().__init__(logging.INFO)
        self._ros = ros_logger

    def emit(self, record: logging.LogRecord) -> None:
        """Send one record to the ROS logger at the matching severity.

        Each severity has its own call line: rclpy fixes a call site's severity at its first
        call and raises ``ValueError`` when one line logs at another severity later.
        """
        try:
            text = ' '.join(self.format(record).split())
            level = record.levelno
            if level >= logging.CRITICAL:
                self._ros.fatal(text)
            elif level >= logging.ERROR:
                self._ros.error(text)
            elif level >= logging.WARNING:
                self._ros.warning(text)
            elif level >= logging.INFO:
                self._ros.info(text)
            else:
                self._ros.debug(text)
        except Exception:  # noqa: BLE001 - logging must never break the caller
            self.handleError(record)


class LogBridge:
    """Route the ``logocap_ros`` Python logger tree to a ROS logger until :meth:`close`.

    :param ros_logger: the node's logger.
    """

    def __init__(self, ros_logger: Any) -> None:
        self._logger = logging.getLogger(ROOT_LOGGER)
        self._handler = RosLogHandler(ros_logger)
        self._saved = (self._logger.level, self._logger.propagate)
        self._logger.addHandler(self._handler)
        if self._logger.getEffectiveLevel() > logging.INFO:
            self._logger.setLevel(logging.INFO)
        self._logger.propagate = False

    def close(self) -> None:
        """Detach the handler and restore the logger's level and propagation."""
        self._logger.removeHandler(self._handler)
        self._logger.setLevel(self._saved[0])
        self._logger.propagate = self._saved[1]
