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

"""The node's optional standard-interface outputs: vision_msgs detections and REP-155 bodies.

Both message packages are optional: they are imported only when their feature is on
(``publish_detections``, ``hri_enable``), and :func:`require_packages` turns a missing one into
a one-line :class:`StartupError` that names what to install. The node uses this module through
a few hook lines: :func:`require_packages` in configure, :class:`InteropOutputs` with the
publishers, :meth:`InteropOutputs.update` after each ``poses`` message,
:meth:`InteropOutputs.reset` at deactivate and :meth:`InteropOutputs.destroy` at cleanup.
"""

import importlib
from typing import Any, Iterable, List

from logocap_ros.ros.startup import StartupError

#: Feature parameter -> the ROS message package it needs.
OPTIONAL_PACKAGES = {'publish_detections': 'vision_msgs', 'hri_enable': 'hri_msgs'}
_INSTALL_NOTES = {'hri_msgs': ' (released for Humble, Jazzy, Rolling; on Kilted build '
                              'https://github.com/ros4hri/hri_msgs from source)'}


def missing_package_message(parameter: str, package: str) -> str:
    """Return the one-line error for ``parameter:=true`` without ``package`` installed."""
    apt = 'ros-$ROS_DISTRO-' + package.replace('_', '-')
    return (f'{parameter}:=true needs the ROS 2 message package {package}, which is not '
            f'installed: sudo apt install {apt}{_INSTALL_NOTES.get(package, "")}, or rosdep '
            f'install --from-paths <workspace>/src -i; or set {parameter}:=false')


def require_packages(cfg: Any) -> None:
    """Check that every enabled feature's message package imports.

    :param cfg: the node's :class:`~logocap_ros.ros.parameters.NodeConfig`.
    :raises StartupError: naming the first missing package and how to install it.
    """
    for parameter, package in OPTIONAL_PACKAGES.items():
        if getattr(cfg, parameter):
            try:
                importlib.import_module(f'{package}.msg')
            except ImportError as exc:
                raise StartupError(missing_package_message(parameter, package)) from exc


class InteropOutputs:
    """The enabled interop outputs of one node (empty, and free, when both are off).

    :param node: the rclpy node that owns the publishers.
    :param cfg: validated config (``publish_detections``, ``hri_*``); call
        :func:`require_packages` first.
    :param qos_profile: QoS of every interop topic (the node's output QoS: reliable, volatile).
    """

    def __init__(self, node: Any, cfg: Any, qos_profile: Any) -> None:
        self.detections = None
        self.hri = None
        if cfg.publish_detections:
            from logocap_ros.ros.vision_bridge import DetectionPublisher
            self.detections = DetectionPublisher(node, qos_profile)
        if cfg.hri_enable:
            from logocap_ros.ros.hri_bridge import auto_body_id_prefix, HriBridge
            self.hri = HriBridge(node, qos_profile, cfg.hri_prefix,
                                 cfg.hri_body_id_prefix or auto_body_id_prefix())

    def describe(self) -> List[str]:
        """Return one line per enabled output, for the configure log."""
        lines = []
        if self.detections is not None:
            lines.append('vision_msgs detections on detections (and detections_3d)')
        if self.hri is not None:
            lines.append(f'REP-155 bodies: {self.hri.tracked_topic}, body ids '
                         f'{self.hri.body_id_prefix}<track id>')
        return lines

    def update(self, msg: Any, live_ids: Iterable[int]) -> None:
        """Publish the outputs of one ``poses`` message.

        :param msg: the filled ``PersonPoseArray`` just published on ``poses``.
        :param live_ids: confirmed, not yet removed track ids (empty without tracking).
        """
        if self.detections is not None:
            self.detections.publish(msg)
        if self.hri is not None:
            self.hri.update(msg, live_ids)

    def reset(self) -> None:
        """Forget every body (``tracked`` goes out empty); call when processing stops."""
        if self.hri is not None:
            self.hri.reset()

    def destroy(self) -> None:
        """Destroy every publisher (after an empty ``tracked``)."""
        if self.detections is not None:
            self.detections.destroy()
        if self.hri is not None:
            self.hri.destroy()
        self.detections = self.hri = None
