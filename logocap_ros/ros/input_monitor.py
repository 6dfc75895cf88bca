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

"""Which topic the node listens on, and what to tell the user when no image arrives.

Topic rule (as ``image_transport`` users expect): ``raw`` subscribes ``image``; ``compressed``
subscribes ``<image>/compressed``, where ``<image>`` is ``image`` after remapping, so one
``image:=/camera/image_raw`` remap drives both. An explicit ``image/compressed:=...`` remap
still wins.

The "no image" hint depends on what the node sees on the graph (publishers on its topic, on
the other transport's topic, and whether any of them is matched) and is repeated with a
growing interval (:class:`Backoff`).
"""

import os
from typing import Callable, Mapping, Optional, Sequence

from logocap_ros.ros.fastdds_profile import (FASTDDS_VARIABLE, FASTRTPS_VARIABLE,
                                             variables_to_set_and_unset)

#: Environment variables naming a Fast DDS XML profile (Kilted+, and Humble/Jazzy).
FASTDDS_PROFILE_VARS = (FASTDDS_VARIABLE, FASTRTPS_VARIABLE)


def input_topics(transport: str, resolve: Callable[..., str]) -> tuple:
    """Return ``(subscribed topic, other transport's topic)``, both fully resolved.

    :param transport: ``raw`` or ``compressed``.
    :param resolve: ``node.resolve_topic_name(name, only_expand=False)``.
    """
    base = resolve('image')
    explicit = resolve('image/compressed')
    if explicit == resolve('image/compressed', only_expand=True):
        explicit = base.rstrip('/') + '/compressed'  # not remapped itself: follow image:=
    return (base, explicit) if transport == 'raw' else (explicit, base)


class Backoff:
    """Say when to repeat a warning: after ``first_s``, then twice as long each time.

    :param first_s: delay before the first warning [s].
    :param max_s: longest interval between two warnings [s].
    """

    def __init__(self, first_s: float, max_s: float = 300.0) -> None:
        self._first = first_s
        self._max = max_s
        self._next = first_s
        self._interval = first_s

    def due(self, waited_s: float) -> bool:
        """Return True (and plan the next one) when a warning is due after ``waited_s``."""
        if self._first <= 0 or waited_s < self._next:
            return False
        self._interval = min(self._interval * 2, self._max)
        self._next = waited_s + self._interval
        return True

    def reset(self, first_s: Optional[float] = None) -> None:
        """Start over (an image arrived, or the warn period changed)."""
        if first_s is not None:
            self._first = first_s
        self._next = self._interval = self._first


def no_image_hint(topic: str, transport: str, waited_s: float, ever_received: bool,
                  publishers: Sequence[str], matched: int, other_topic: str,
                  other_publishers: Sequence[str], rmw: str = '',
                  profile_share: str = 'config/fastdds_shm.xml') -> str:
    """Return the warning for an input that has been silent for ``waited_s``.

    :param topic: the subscribed topic; ``publishers``: its publishers as text.
    :param matched: publishers whose QoS matches the subscription.
    :param other_topic: the other transport's topic; ``other_publishers`` its publishers.
    :param ever_received: whether any image arrived since activation.
    :param rmw: the RMW implementation identifier (``rmw_fastrtps_cpp`` ...).
    :param profile_share: path of the shipped shared-memory profile.
    """
    seen = ', '.join(publishers) or 'none'
    head = f'no image received on {topic} for {waited_s:.1f} s; publishers seen: {seen}.'
    if matched and not ever_received:
        return f'{head} {_lost_frames_hint(rmw, profile_share)}'
    if ever_received:
        return f'{head} Images arrived before: check that the camera still runs.'
    if publishers:  # seen, but none matches: the QoS warning above says why
        return f'{head} None of them matches the QoS of the subscription (see the warning above).'
    if other_publishers:
        kind = 'raw sensor_msgs/Image' if transport == 'compressed' else 'CompressedImage'
        fix = ('input_transport:=raw' if transport == 'compressed'
               else 'input_transport:=compressed')
        return (f'{head} {kind} publishers are on {other_topic} '
                f"({', '.join(other_publishers)}): set {fix}.")
    if transport == 'compressed':
        return (f'{head} Check that the camera runs and remap image:=<camera image topic>; '
                'the node then listens on <camera image topic>/compressed.')
    return f'{head} Check that the camera runs and remap image:=<camera topic>.'


def _lost_frames_hint(rmw: str, profile_share: str) -> str:
    """Explain matched-but-silent publishers: large frames lost between processes."""
    if rmw and 'fastrtps' not in rmw and 'fastdds' not in rmw:
        return ('A publisher is matched but no frame ever arrived: large frames are being '
                f'lost between the processes ({rmw}); check the DDS transport settings, or '
                'try reliability:=reliable with a reliable camera.')
    mine = next((os.environ[v] for v in FASTDDS_PROFILE_VARS if os.environ.get(v)), None)
    here = (f'this process uses {mine}, so the camera process needs it too' if mine else
            'this process has no profile')
    return ('A publisher is matched but no frame ever arrived: large frames are being lost '
            'between the processes (Fast DDS over UDP drops big best-effort messages). Give '
            'both processes the shared-memory profile: export '
            f'FASTDDS_DEFAULT_PROFILES_FILE={profile_share} (Kilted; '
            'FASTRTPS_DEFAULT_PROFILES_FILE on Humble/Jazzy) before starting the camera and '
            f'this node ({here}).')


def missing_profile_note(rmw: str, profile_share: str,
                         environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """Return a warning when Fast DDS runs without an XML profile, else None.

    Without the shared-memory profile, large best-effort images from a camera in another
    process arrive only in part, or not at all, and nothing else says so.
    """
    environ = os.environ if environ is None else environ
    if (rmw and 'fastrtps' not in rmw and 'fastdds' not in rmw) or any(
            environ.get(v) for v in FASTDDS_PROFILE_VARS):
        return None
    use = variables_to_set_and_unset(environ)[0]
    return (f'Fast DDS without the shared-memory profile ({use} is not set): large images '
            'from a camera in another process arrive only in part or not at all; export '
            f"{use}={profile_share} in the camera's and this node's shell (pose.launch.py "
            'sets it)')


def shm_profile_path() -> str:
    """Return the installed ``fastdds_shm.xml`` (or its source-tree path without an install)."""
    try:
        from ament_index_python.packages import get_package_share_directory
        return os.path.join(get_package_share_directory('logocap_ros'), 'config',
                            'fastdds_shm.xml')
    except Exception:  # noqa: BLE001 - not installed: point at the source tree
        here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        return os.path.join(here, 'config', 'fastdds_shm.xml')
