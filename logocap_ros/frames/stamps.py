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


"""Time stamps: ``builtin_interfaces/Time`` (rclpy or rosbags messages) <-> integer ns.

The frame pipeline takes integer nanoseconds and turns them into seconds in one place
(:func:`ns_to_seconds`), so the node and ``logocap-offline`` track and smooth at the very
same times.
"""

from typing import Any

NS_PER_S = 1_000_000_000


def stamp_ns(stamp: Any) -> int:
    """Return a ``builtin_interfaces/Time`` (anything with ``sec``, ``nanosec``) in ns."""
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


def stamp_from_ns(ns: int, time_type: Any) -> Any:
    """Return ``time_type(sec=..., nanosec=...)`` for ``ns`` nanoseconds (``ns >= 0``)."""
    return time_type(sec=int(ns) // NS_PER_S, nanosec=int(ns) % NS_PER_S)


def is_unset(stamp: Any) -> bool:
    """Return True for the zero stamp of an unstamped message."""
    return stamp.sec == 0 and stamp.nanosec == 0


def ns_to_seconds(ns: int) -> float:
    """Return ``ns`` nanoseconds in seconds (the one conversion the pipeline uses)."""
    return int(ns) * 1e-9
