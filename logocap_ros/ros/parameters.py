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

"""The node's parameters: one table, declared with descriptors, read into a frozen config.

:func:`declare_parameters` declares every entry of :data:`PARAMETERS` with a description, a
range where one applies, and ``read_only`` for what needs a reconfigure (model, backend,
device, QoS). :class:`NodeConfig` holds the values; :meth:`NodeConfig.validate` is pure Python.
"""

from dataclasses import dataclass, fields
import re
from typing import Any, Callable, Dict, Iterable, Mapping, NamedTuple, Optional, Tuple

ARCHS = ('w32', 'w48')
BACKENDS = ('auto', 'torch', 'onnxruntime', 'tensorrt', 'triton')
PRECISIONS = ('fp32', 'fp16')
TRANSPORTS = ('raw', 'compressed')
RELIABILITIES = ('best_effort', 'reliable')
_DEVICE_RE = re.compile(r'^(auto|cpu|cuda(:\d+)?)$')


class ParamSpec(NamedTuple):
    """One parameter: default (its type fixes the ROS type), help text, access, range."""

    default: Any
    description: str
    read_only: bool
    limits: Optional[Tuple[float, float, float]] = None  # (from, to, step); step 0 = any


PARAMETERS: Dict[str, ParamSpec] = {
    'arch': ParamSpec('w32', 'HRNet backbone: w32 or w48 (must match the weights)', True),
    'weights': ParamSpec('', 'checkpoint path, short name (w32, w48) or "random"/"random:w48" '
                         'for untrained demo weights; required (unused by backend triton)',
                         True),
    'backend': ParamSpec('auto', 'inference backend: auto, torch, onnxruntime, tensorrt, or '
                         'triton (a Triton server runs the network; see triton_*)', True),
    'device': ParamSpec('auto', 'auto (cuda:0 if available, else cpu), cpu, cuda or cuda:N',
                        True),
    'precision': ParamSpec('fp32', 'numeric precision: fp32 or fp16 (fp16 needs a GPU)', True),
    'input_size': ParamSpec(0, 'short side of the network input in px, multiple of 64; 0 = '
                            'model default (512 for w32, 640 for w48)', True, (0, 2048, 64)),
    'flip_test': ParamSpec(True, 'average with the horizontally flipped image (slower, more '
                           'accurate)', True),
    'max_people': ParamSpec(30, 'maximum number of people per image', True, (1, 100, 1)),
    'input_transport': ParamSpec('raw', 'raw: subscribe sensor_msgs/Image on "image"; '
                                 'compressed: sensor_msgs/CompressedImage on "image/compressed"',
                                 True),
    'reliability': ParamSpec('best_effort', 'QoS reliability of the image subscription: '
                             'best_effort (sensor data, depth 1) or reliable', True),
    'autostart': ParamSpec(True, 'configure and activate the lifecycle node on startup', True),
    'pose_threshold': ParamSpec(0.05, 'people with a lower pose score are not published '
                                '(changeable at run time)', False, (0.0, 1.0, 0.0)),
    'keypoint_threshold': ParamSpec(0.1, 'joints with a lower score are not drawn in markers '
                                    'and the annotated image (changeable at run time)', False,
                                    (0.0, 1.0, 0.0)),
    'publish_markers': ParamSpec(True, 'publish visualization_msgs/MarkerArray on "markers"',
                                 False),
    'publish_annotated_image': ParamSpec(True, 'publish "image_annotated" (only computed while '
                                         'someone subscribes)', False),
    'marker_scale': ParamSpec(0.001, 'metres per image pixel for markers (0.001: 1 px = 1 mm)',
                              False, (1e-6, 1.0, 0.0)),
    'marker_z': ParamSpec(0.0, 'z [m] of the marker plane in the image frame', False,
                          (-100.0, 100.0, 0.0)),
    'max_image_pixels': ParamSpec(7680 * 4320, 'images with more pixels are rejected',
                                  False, (1, 1 << 30, 1)),
    'no_image_warn_s': ParamSpec(5.0, 'warn when no image arrived for this long [s]; 0 = off',
                                 False, (0.0, 3600.0, 0.0)),
}

# --- backend 'triton': the network runs on a Triton Inference Server (README "Many cameras,
# one server"); arch, weights, flip_test and the input size then come from the server's model.
TRITON_PARAMETERS: Dict[str, ParamSpec] = {
    'triton_url': ParamSpec('127.0.0.1:8000', "backend triton: the server's HTTP endpoint, "
                            'host:port', True),
    'triton_model': ParamSpec('logocap', 'backend triton: model name on the server', True),
    'triton_model_version': ParamSpec('', "backend triton: model version ('' = the server's "
                                      'latest)', True),
    'triton_timeout_s': ParamSpec(10.0, 'backend triton: connect/answer timeout per request '
                                  '[s]', True, (0.1, 600.0, 0.0)),
}
PARAMETERS.update(TRITON_PARAMETERS)

#: Parameters that may change while the node runs.
DYNAMIC = frozenset(name for name, spec in PARAMETERS.items() if not spec.read_only)


@dataclass(frozen=True)
class NodeConfig:
    """All parameter values of the node (see :data:`PARAMETERS` for meanings)."""

    arch: str = 'w32'
    weights: str = ''
    backend: str = 'auto'
    device: str = 'auto'
    precision: str = 'fp32'
    input_size: int = 0
    flip_test: bool = True
    max_people: int = 30
    input_transport: str = 'raw'
    reliability: str = 'best_effort'
    autostart: bool = True
    pose_threshold: float = 0.05
    keypoint_threshold: float = 0.1
    publish_markers: bool = True
    publish_annotated_image: bool = True
    marker_scale: float = 0.001
    marker_z: float = 0.0
    max_image_pixels: int = 7680 * 4320
    no_image_warn_s: float = 5.0
    # backend 'triton' (TRITON_PARAMETERS)
    triton_url: str = '127.0.0.1:8000'
    triton_model: str = 'logocap'
    triton_model_version: str = ''
    triton_timeout_s: float = 10.0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> 'NodeConfig':
        """Build from a name -> value mapping; unknown names are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    def validate(self, names: Optional[Iterable[str]] = None) -> 'NodeConfig':
        """Check the values of ``names`` (default: all); return self.

        :raises ValueError: listing every invalid parameter and how to fix it.
        """
        names = PARAMETERS if names is None else names
        if self.backend == 'triton':  # the server has the model: no local weights needed
            names = [n for n in names if n != 'weights']
        problems = [p for p in (_check(name, getattr(self, name)) for name in names) if p]
        if problems:
            raise ValueError('; '.join(problems))
        return self

    @property
    def estimator_input_size(self) -> Optional[int]:
        """Return ``input_size`` for the estimator (None = model default)."""
        return self.input_size or None


def _check(name: str, value: Any) -> Optional[str]:
    choices = {'arch': ARCHS, 'backend': BACKENDS, 'precision': PRECISIONS,
               'input_transport': TRANSPORTS, 'reliability': RELIABILITIES}.get(name)
    if choices is not None and value not in choices:
        return f"{name}:='{value}' is invalid; use one of {', '.join(choices)}"
    if name == 'device' and not _DEVICE_RE.match(str(value)):
        return f"device:='{value}' is invalid; use auto, cpu, cuda or cuda:N"
    if name == 'weights' and not str(value).strip():
        return ('weights is empty; pass weights:=<checkpoint path>, w32, w48, or random '
                '(untrained, for demos)')
    limits = PARAMETERS[name].limits
    if limits is not None:
        low, high, step = limits
        if not low <= value <= high:
            return f'{name}:={value} is out of range [{low}, {high}]'
        if step and (value - low) % step:
            return f'{name}:={value} must be a multiple of {step}'
    return None


def declare_parameters(node: Any) -> None:
    """Declare every parameter of :data:`PARAMETERS` on ``node`` with its descriptor.

    :raises rclpy.exceptions.ParameterException: for an override of the wrong type or out of
        range (rclpy checks the descriptor ranges on declare).
    """
    for name, spec in PARAMETERS.items():
        node.declare_parameter(name, spec.default, _descriptor(name, spec))


def read_config(get_value: Callable[[str], Any]) -> NodeConfig:
    """Read every parameter through ``get_value(name)`` into a (not yet validated) config."""
    return NodeConfig.from_mapping({name: get_value(name) for name in PARAMETERS})


def _descriptor(name: str, spec: ParamSpec) -> Any:
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
    text = spec.description + (' (read-only: set at startup or reconfigure)'
                               if spec.read_only else '')
    desc = ParameterDescriptor(name=name, description=text, read_only=spec.read_only)
    if spec.limits is not None:
        low, high, step = spec.limits
        if isinstance(spec.default, bool):
            pass
        elif isinstance(spec.default, int):
            desc.integer_range = [IntegerRange(from_value=int(low), to_value=int(high),
                                               step=int(step))]
        else:
            desc.floating_point_range = [FloatingPointRange(from_value=float(low),
                                                            to_value=float(high),
                                                            step=float(step))]
    return desc
