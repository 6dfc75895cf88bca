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

"""QoS profiles of the node and the check against the publishers seen on the input topic."""

from typing import Any, List, Optional

from rclpy.qos import (DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy)


def image_qos(reliability: str) -> QoSProfile:
    """Return the image subscription QoS: keep last 1, volatile, the given reliability.

    :param reliability: ``best_effort`` (sensor-data default) or ``reliable``.
    """
    policy = (ReliabilityPolicy.RELIABLE if reliability == 'reliable'
              else ReliabilityPolicy.BEST_EFFORT)
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=policy,
                      durability=DurabilityPolicy.VOLATILE)


def output_qos() -> QoSProfile:
    """Return the QoS of ``poses``, ``markers`` and ``image_annotated`` (reliable, depth 5)."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=5,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)


def latched_qos() -> QoSProfile:
    """Return the QoS of ``skeleton_info``: reliable, transient local, depth 1."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)


def describe_endpoint(info: Any) -> str:
    """Return ``'/ns/node (reliable, volatile)'`` for a ``TopicEndpointInfo``."""
    ns = info.node_namespace.rstrip('/')
    qos = info.qos_profile
    return (f'{ns}/{info.node_name} ({_name(qos.reliability)}, {_name(qos.durability)})')


def incompatibility(pub_qos: Any, sub_qos: QoSProfile) -> Optional[str]:
    """Return why a publisher's QoS cannot feed our subscription, or None when it can.

    DDS matches a reliable reader only with reliable writers, and a transient-local reader
    only with transient-local writers.
    """
    if (sub_qos.reliability == ReliabilityPolicy.RELIABLE
            and pub_qos.reliability == ReliabilityPolicy.BEST_EFFORT):
        return ('publisher is best_effort but the node subscribes reliable; set '
                'reliability:=best_effort')
    if (sub_qos.durability == DurabilityPolicy.TRANSIENT_LOCAL
            and pub_qos.durability == DurabilityPolicy.VOLATILE):
        return 'publisher is volatile but the subscription is transient_local'
    return None


def incompatible_publishers(infos: List[Any], sub_qos: QoSProfile) -> List[str]:
    """Return ``'<publisher>: <reason>'`` for every publisher that cannot match ``sub_qos``."""
    found = []
    for info in infos:
        reason = incompatibility(info.qos_profile, sub_qos)
        if reason:
            found.append(f'{describe_endpoint(info)}: {reason}')
    return found


def _name(policy: Any) -> str:
    return getattr(policy, 'name', str(policy)).lower()
